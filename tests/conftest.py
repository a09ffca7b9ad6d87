"""Shared test fixtures: the real-file folder, one Prefect harness, the demo inbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO_ROOT / ".." / "shared" / "data" / "real"


def real_file(*parts: str) -> Path:
    """A file from ../shared/data/real, or skip the test when the folder is absent."""
    path = SHARED_REAL.joinpath(*parts)
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present (a user's clone has no shared data)")
    if not path.exists():
        pytest.skip(f"real sample {'/'.join(parts)} is not present")
    return path


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for every flow run of the session (real flow runs)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory: pytest.TempPathFactory):
    """The generated demo inbox and its restless.toml (generated once per session)."""
    from restless.flows.demo import prepare_demo

    return prepare_demo(tmp_path_factory.mktemp("demo"))
