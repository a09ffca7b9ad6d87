"""End-to-end: real Prefect flow runs on the demo inbox into a real DuckDB file."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from restless.flows.nightly import nightly

TABLES = (
    "core.sleep_periods",
    "core.sleep_stages",
    "core.movement_epochs",
    "core.heart_rate",
    "core.intake_items",
    "core.daily_nutrition",
    "core.supplement_doses",
    "features.daily_intake",
    "features.nightly",
    "ops.files",
    "ops.quarantine",
)


def _snapshot(db: Path) -> dict[str, object]:
    """Row counts of every table plus a content hash of the feature tables."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        snap: dict[str, object] = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES
        }
        for table in ("features.nightly", "features.daily_intake"):
            snap[f"{table}#hash"] = con.execute(
                f"SELECT sum(hash(t::VARCHAR)) FROM (SELECT * FROM {table}) t"
            ).fetchone()[0]
        return snap
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_run(prefect_harness, demo_inbox, tmp_path_factory):
    info, config = demo_inbox
    db = tmp_path_factory.mktemp("wh") / "restless.duckdb"
    first = nightly(inbox=str(info.inbox), warehouse=str(db), config_path=str(config))
    return info, config, db, first


def test_demo_run_loads_everything_and_computes_the_nights(demo_run) -> None:
    _info, _config, db, counts = demo_run
    assert counts["files_rejected"] == 0, counts
    assert counts["files_loaded"] > 60
    con = duckdb.connect(str(db), read_only=True)
    nights = con.execute(
        "SELECT count(*), min(night_date), max(night_date) FROM features.nightly"
    ).fetchone()
    assert nights[0] >= 60
    methods = dict(
        con.execute(
            "SELECT restlessness_method, count(*) FROM features.nightly GROUP BY 1"
        ).fetchall()
    )
    assert set(methods) >= {"vendor_restless", "epoch_movement"}
    run = con.execute("SELECT status, files_loaded, params FROM ops.runs").fetchall()
    assert run[0][0] == "completed" and run[0][2] is not None
    recorded = json.loads(run[0][2])
    assert recorded["night_boundary_hour"] == 12
    assert recorded["leg_movements"]["clm_max_monolateral_s"] == 10.0  # WASM 2016
    assert {"leg_movements", "actigraphy_sleep", "oakley"} <= set(recorded)
    con.close()


def test_ankle_nights_score_the_planted_plms(demo_run) -> None:
    """The demo's left-ankle nights are scored from the raw samples ('raw_accel') inside the
    Garmin sleep window, and their PLMS count is the number of planted PLM-series movements
    with onset in that window (the generator's plan: an independent truth)."""
    info, _config, db, _ = demo_run
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT night_date, sleep_source, sleep_onset_at, sleep_offset_at, plms_count,"
        " plms_index, movement_source FROM features.nightly"
        " WHERE restlessness_method = 'raw_accel' ORDER BY night_date"
    ).fetchall()
    con.close()
    assert [r[0] for r in rows] == sorted(info.ankle_nights)
    for night, source, onset, offset, plms, plms_index, movement_source in rows:
        assert source == "garmin_fit", night  # the wrist's window, not the ankle's own
        assert movement_source == "axivity_left"  # the AX3 .cwa in left/
        planted = [t for t in info.ankle_nights[night].onsets_utc() if onset <= t < offset]
        assert planted, night
        assert abs(plms - len(planted)) <= 1, (night, plms, len(planted))
        assert plms_index > 0


def test_features_match_a_hand_sum_of_the_export(demo_run) -> None:
    """Food magnesium of one day from the Cronometer CSV, summed with the csv module."""
    info, _config, db, _ = demo_run
    servings = next(Path(info.inbox).rglob("servings.csv"))
    with servings.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    day = rows[len(rows) // 2]["Day"]
    food = [r for r in rows if r["Day"] == day and r.get("Category", "") != "Supplements"]
    expected_food = sum(float(r["Magnesium (mg)"]) for r in food if r["Magnesium (mg)"])
    unknown = sum(1 for r in food if not r["Magnesium (mg)"])
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute(
        "SELECT magnesium_food_mg, magnesium_unknown_items FROM features.daily_intake"
        " WHERE local_date = ?",
        [dt.date.fromisoformat(day)],
    ).fetchone()
    con.close()
    assert got[0] == pytest.approx(expected_food, abs=1e-6)
    assert got[1] == unknown


def test_rerun_changes_nothing(demo_run) -> None:
    info, config, db, _ = demo_run
    before = _snapshot(db)
    again = nightly(inbox=str(info.inbox), warehouse=str(db), config_path=str(config))
    assert again["files_loaded"] == 0 and again["files_unchanged"] == again["files_seen"]
    assert _snapshot(db) == before


def test_overlapping_cronometer_reexport_adds_days_without_duplicates(
    prefect_harness, demo_inbox, tmp_path
) -> None:
    info, config = demo_inbox
    inbox = tmp_path / "inbox"
    shutil.copytree(info.inbox, inbox)
    servings = next(inbox.rglob("servings.csv"))
    lines = servings.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    days = sorted({line.split(",", 1)[0] for line in body})
    early = [line for line in body if line.split(",", 1)[0] in days[:20]]
    servings.write_text(header + "".join(early), encoding="utf-8")  # first export: 20 days
    db = tmp_path / "w.duckdb"
    nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))
    # the re-export holds all days (the 20 again, plus the rest) under a new name
    (servings.parent / "servings-reexport.csv").write_text(header + "".join(body), "utf-8")
    nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))
    con = duckdb.connect(str(db), read_only=True)
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT (local_date, row_number, item_name))"
        " FROM core.intake_items"
    ).fetchone()
    per_day = con.execute(
        "SELECT count(DISTINCT file_id) FROM core.intake_items GROUP BY local_date"
        " ORDER BY 1 DESC LIMIT 1"
    ).fetchone()[0]
    con.close()
    assert total == len(body) == distinct
    assert per_day == 1


def test_a_corrupt_fit_file_is_rejected_and_the_rest_of_the_run_succeeds(
    prefect_harness, demo_inbox, tmp_path
) -> None:
    info, config = demo_inbox
    inbox = tmp_path / "inbox"
    shutil.copytree(info.inbox, inbox)
    good = sorted(inbox.rglob("*.fit"))[0]
    data = bytearray(good.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8  # damage the middle
    (good.parent / "damaged.fit").write_bytes(bytes(data[: len(data) - 30]))
    (good.parent / "not-a-fit.fit").write_bytes(b"this is not a FIT file at all")
    db = tmp_path / "w.duckdb"
    counts = nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))
    con = duckdb.connect(str(db), read_only=True)
    rows = dict(
        con.execute(
            "SELECT regexp_extract(path, '[^/]+$'), status || ': ' || coalesce(error, '')"
            " FROM ops.files WHERE path LIKE '%damaged.fit' OR path LIKE '%not-a-fit.fit'"
        ).fetchall()
    )
    nights = con.execute("SELECT count(*) FROM features.nightly").fetchone()[0]
    con.close()
    assert rows["damaged.fit"].split(":")[0] in ("rejected", "partial")
    assert len(rows["damaged.fit"]) > len("rejected: ") + 10  # a reason is given
    assert rows["not-a-fit.fit"].startswith("skipped: not a recognised")
    assert counts["files_loaded"] > 60 and nights >= 60
