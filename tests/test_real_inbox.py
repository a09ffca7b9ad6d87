"""Every real shared file of the foundation's formats through one real flow run.

Each file must end loaded, partial, rejected or skipped, with a reason whenever it is not
loaded; the run must complete. The shared files are copied into a temporary inbox (the
repository never holds them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from restless.flows.nightly import nightly

from .conftest import SHARED_REAL


@pytest.fixture(scope="module")
def real_run(prefect_harness, tmp_path_factory):
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present (a user's clone has no shared data)")
    root = tmp_path_factory.mktemp("real")
    inbox = root / "inbox"
    wear = SHARED_REAL / "wearables"
    for sub in ("fit", "fitbit"):
        shutil.copytree(wear / sub, inbox / "r01" / sub)
    for folder in sorted((SHARED_REAL / "foodlogs" / "cronometer").iterdir()):
        shutil.copytree(folder, inbox / "r02" / folder.name)
    config = root / "restless.toml"
    config.write_text(
        '[participants.r01]\ntimezone = "America/Chicago"\n'
        '[participants.r02]\ntimezone = "America/New_York"\nsex = "male"\nbirth_year = 1980\n',
        encoding="utf-8",
    )
    db = root / "w.duckdb"
    counts = nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))
    con = duckdb.connect(str(db), read_only=True)
    files = {
        Path(path).name if "/fit/" in path or "/fitbit/" in path else path: (status, error)
        for path, status, error in con.execute(
            "SELECT path, status, error FROM ops.files"
        ).fetchall()
    }
    yield counts, files, con
    con.close()


def test_every_real_file_has_an_outcome_and_a_reason(real_run) -> None:
    counts, files, _con = real_run
    expected = (
        sum(1 for p in SHARED_REAL.joinpath("wearables", "fit").iterdir())
        + sum(1 for p in SHARED_REAL.joinpath("wearables", "fitbit").iterdir())
        + sum(1 for p in SHARED_REAL.joinpath("foodlogs", "cronometer").rglob("*") if p.is_file())
    )
    assert len(files) == expected == counts["files_seen"]
    for name, (status, error) in files.items():
        assert status in ("loaded", "partial", "rejected", "skipped"), name
        assert (status == "loaded") == (error is None), (name, status, error)
        if error is not None:
            assert len(error) > 20, (name, error)


def test_specific_real_outcomes(real_run) -> None:
    _counts, files, _con = real_run
    assert files["MonitoringFile.fit"][0] == "loaded"
    assert files["nick.fit"][0] == "partial"
    assert "CRC mismatch" in files["activity-filecrc.fit"][1]
    assert files["Settings.fit"][0] == "skipped"
    assert files["sleep-1995-06-23_Fitbit.json"][0] == "loaded"
    assert "calories" in files["calories-1995-06-23_Fitbit.json"][1]
    cron = {k: v for k, v in files.items() if k.startswith("r02/")}
    assert {v[0] for k, v in cron.items() if k.endswith(("servings.csv", "summary.csv"))} == {
        "loaded"
    }


def test_real_values_reach_the_features(real_run) -> None:
    """davidgma 2020-07-15: food magnesium summed by hand from the CSV (csv module)."""
    import csv

    _counts, _files, con = real_run
    path = SHARED_REAL / "foodlogs" / "cronometer" / "davidgma__cron-csv" / "servings.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Day"] == "2020-07-15"]
    known = [float(r["Magnesium (mg)"]) for r in rows if r["Magnesium (mg)"]]
    got = con.execute(
        "SELECT magnesium_food_mg + coalesce(magnesium_supplement_mg, 0),"
        " magnesium_unknown_items + 0 FROM features.daily_intake"
        " WHERE participant_id = 'r02' AND local_date = DATE '2020-07-15'"
    ).fetchone()
    assert got[0] == pytest.approx(sum(known), abs=1e-6)
    assert got[1] == len(rows) - len(known)
    # the real Fitbit classic log (1995-06-24 22:47 local) is a night with 5 restless minutes
    night = con.execute(
        "SELECT restless_min, restlessness_method FROM features.nightly"
        " WHERE participant_id = 'r01' AND night_date = DATE '1995-06-24'"
    ).fetchone()
    assert night == (5.0, "vendor_restless")
