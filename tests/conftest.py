"""Shared test fixtures: the real-file folder, one Prefect harness, the demo inbox, and the
check every reader test applies to a reader's frames."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

from restless.ingest.base import ReadResult
from restless.schemas.core import CORE_MODELS, polars_schema, reader_columns

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


def validate(result: ReadResult, source: str) -> None:
    """Reader columns in canonical dtypes, and every frame passes its pandera model."""
    for table, frame in result.tables.items():
        assert frame.columns == reader_columns(table)
        schema = polars_schema(table)
        assert frame.schema == {c: schema[c] for c in frame.columns}
        full = frame.with_columns(
            participant_id=pl.lit("p1"), source=pl.lit(source), file_id=pl.lit("f")
        )
        CORE_MODELS[table].validate(full, lazy=True)


def _hold_lock(db: str, ready, release) -> None:
    from restless.warehouse.connection import writer_lock

    with writer_lock(Path(db), wait_s=0):
        ready.set()
        release.wait(20)


@contextmanager
def lock_held_elsewhere(db: Path) -> Iterator[None]:
    """The warehouse writer lock of ``db``, held by another process while the block runs."""
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(db), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        yield
    finally:
        release.set()
        holder.join(20)


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
