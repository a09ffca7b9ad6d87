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
    folders = {
        "r01": [SHARED_REAL / "wearables" / "fit", SHARED_REAL / "wearables" / "fitbit"],
        "r02": sorted((SHARED_REAL / "foodlogs" / "cronometer").iterdir()),
    }
    # every other real folder is a participant of its own (one export family each)
    for group in ("wearables", "foodlogs"):
        for folder in sorted((SHARED_REAL / group).iterdir()):
            if folder.is_dir() and folder.name not in ("fit", "fitbit", "cronometer"):
                folders[folder.name] = [folder]
    config = root / "restless.toml"
    config.write_text(
        '[participants.r01]\ntimezone = "America/Chicago"\n'
        '[participants.r02]\ntimezone = "America/New_York"\nsex = "male"\nbirth_year = 1980\n'
        + "".join(
            f'[participants.{pid}]\ntimezone = "Europe/London"\n'
            for pid in folders
            if pid not in ("r01", "r02")
        ),
        encoding="utf-8",
    )
    for pid, sources in folders.items():
        for source in sources:
            shutil.copytree(source, inbox / pid / source.name)
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
    counts, files, con = real_run
    on_disk = sum(1 for p in SHARED_REAL.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    top_level = con.execute("SELECT count(*) FROM ops.files WHERE path NOT LIKE '%!%'").fetchone()
    # every file on disk is recorded once (archive members in addition), or was a byte-for-byte
    # duplicate of one already recorded
    assert top_level[0] + counts["files_unchanged"] >= on_disk
    assert counts["files_seen"] == len(files) + counts["files_unchanged"]
    for name, (status, error) in files.items():
        assert status in ("loaded", "partial", "rejected", "skipped"), name
        assert (status == "loaded") == (error is None), (name, status, error)
        if error is not None:
            assert len(error) > 20, (name, error)
    assert counts["files_loaded"] >= 40


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
    by_suffix = {k.split("/", 1)[1] if "/" in k else k: v for k, v in files.items()}
    for loaded in (
        "respironics_rpx_csv/test_sample_rpx_eng.csv",
        "mesa_csv/test_sample_mesa.csv",
        "whoop/maximumpeaches__tracking/sleeps.csv",
        "oura/marcus-furius__health-intel/daily_sleep_2025-03-08_2026-03-08.json",
        "myfitnesspal/marcus-furius__health-intel/Nutrition-Summary-2024-07-02-to-2026-03-02.csv",
        "actigraph_agd/test_sample.agd",
    ):
        assert by_suffix[loaded][0] == "loaded", (loaded, by_suffix[loaded])
    assert "1918" in by_suffix["actiwatch_awd/example_01.AWD"][1]


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
