"""Raw accelerometer CSV through the pipeline: reader, load-time scoring, nightly PLM columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from restless.flows.pipeline import parse_file, validate_file
from restless.flows.raw_scoring import ankle_side
from restless.ingest.base import ReadContext
from restless.ingest.registry import detect_format
from tests.builders import fitbit_classic_log, inbox_file, run_nightly, series_events
from tests.plm_simulator import START_AT, SimConfig, _synthesise

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
AX3_CSV = REAL / "wearables" / "axivity_csv" / "ax3_testfile_unix_timestamps.csv"


def test_only_raw_csv_files_are_sniffed_as_raw_accel_csv() -> None:
    grabbed = []
    for path in sorted(REAL.rglob("*")):
        if path.is_file():
            fmt = detect_format(path)
            if fmt is not None and fmt.name == "raw_accel_csv":
                grabbed.append(path)
    assert grabbed == [AX3_CSV]


def test_ankle_side_from_folders() -> None:
    assert ankle_side("p1/left/night.csv") == "left"
    assert ankle_side("p1/Right_Ankle/2026/night.csv") == "right"
    assert ankle_side("p1/night.csv") == "unknown"
    assert ankle_side("p1/left/right/night.csv") == "unknown"
    assert ankle_side("p1/exports.zip!left_ankle/night.csv") == "left"


def test_real_axivity_csv_through_parse_and_validate(tmp_path: Path) -> None:
    fmt = detect_format(AX3_CSV)
    assert fmt is not None and fmt.source == "raw_csv"
    record = parse_file(
        inbox_file(AX3_CSV, "p1/ax3.csv"), fmt, ReadContext("p1", "UTC", "f-ax3"), tmp_path
    )
    assert record.status == "loaded", record.error
    assert any("Hz estimated from the timestamps" in w for w in record.warnings)
    assert any("onset" in w and "offset" in w for w in record.warnings)  # thresholds recorded
    record = validate_file(record, tmp_path)
    assert record.status == "loaded", record.error
    parts = {t.table: t for t in record.tables}
    epochs = pl.read_parquet(parts["movement_epochs"].parquet)
    assert epochs.height == 1 and epochs["source"][0] == "raw_csv"
    # 210 samples at about 99.2 Hz: one part-epoch of its real length, clearly worn
    assert epochs["epoch_s"][0] == pytest.approx(2.12, abs=0.01)
    assert 0 < epochs["mean_accel_mg"][0] < 1000 and epochs["is_wear"][0] is True
    # 2.1 s is shorter than one 5-s z-angle epoch: no sleep/wake rows, said in a warning
    assert "sleep_epochs" not in parts
    assert any("van_hees_sib) not scored" in w for w in record.warnings)


# --- synthetic night through the real flow ----------------------------------------------------

FS = 50.0
SERIES_ONSETS_S = [600.0 + 20.0 * i for i in range(6)]


def _write_raw_night(path: Path) -> None:
    """40 min at 50 Hz, one ankle, a PLM series of 6 movements 20 s apart (hand truth: 6)."""
    config = SimConfig(fs=FS, duration_s=40 * 60.0, noise_g=0.005)
    xyz, _, _ = _synthesise(
        np.random.default_rng(7), config, series_events(SERIES_ONSETS_S), "left"
    )
    t0 = START_AT.timestamp()
    stamps = (
        pl.Series(np.round((t0 + np.arange(len(xyz)) / FS) * 1e6).astype(np.int64))
        .cast(pl.Datetime("us", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
    pl.DataFrame({"timestamp": stamps, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).write_csv(
        path, float_precision=5
    )


def _fitbit_sleep_log(path: Path) -> None:
    """The night's Fitbit log: 36 min asleep from 2 min after the recording starts."""
    fitbit_classic_log(path, START_AT + timedelta(minutes=2), 36, 4242)


def _flow_night(tmp_path: Path, write_night: Callable[[Path], None] = _write_raw_night) -> Path:
    """A left-ankle CSV written by ``write_night`` and the night's Fitbit log through the flow."""
    inbox = tmp_path / "inbox"
    (inbox / "p1" / "left").mkdir(parents=True)
    write_night(inbox / "p1" / "left" / "ankle_night.csv")
    _fitbit_sleep_log(inbox / "p1" / "sleep-2026-03-01.json")
    return run_nightly(tmp_path, inbox)


def test_synthetic_raw_night_gives_raw_accel_plms(prefect_harness, tmp_path: Path) -> None:
    db = _flow_night(tmp_path)

    con = duckdb.connect(str(db), read_only=True)
    try:
        files = con.execute("SELECT format, source, status, error FROM ops.files").fetchall()
        assert ("raw_accel_csv", "raw_csv_left", "loaded", None) in files, files
        sides = con.execute("SELECT DISTINCT side, source FROM core.leg_movements").fetchall()
        assert sides == [("left", "raw_csv_left")]
        epochs = con.execute(
            "SELECT count(*) FROM core.movement_epochs WHERE source = 'raw_csv_left'"
        ).fetchone()[0]
        assert epochs == 80  # 40 min of 30-s epochs
        sib = con.execute(
            "SELECT count(*) FROM core.sleep_epochs WHERE method = 'van_hees_sib'"
        ).fetchone()[0]
        assert sib == 480  # 40 min of 5-s epochs
        row = con.execute(
            "SELECT restlessness_method, plms_count, lm_count, periodicity_index,"
            " movement_source, plms_index FROM features.nightly WHERE participant_id = 'p1'"
        ).fetchone()
    finally:
        con.close()
    method, plms, lms, periodicity, source, plms_index = row
    assert method == "raw_accel"
    assert plms == 6
    assert lms >= 6
    assert periodicity == pytest.approx(1.0)  # 5 IMIs of 20 s, all periodic
    assert source == "raw_csv_left"
    assert plms_index == pytest.approx(6 / 0.6)  # 6 PLMS in 36 min of sleep


def test_iso_layout_with_local_times_and_a_gap(tmp_path: Path) -> None:
    from restless.ingest.raw_csv import read

    rows = ["timestamp,x,y,z"]
    for k in range(500):  # 25 Hz, local Berlin time (UTC+1 in March), a 5-s gap after 250
        t = 2.0 * k / 50 + (5.0 if k >= 250 else 0.0)
        rows.append(f"2026-03-01T23:00:{t:06.3f},0.0,0.0,1.0")
    path = tmp_path / "raw.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert detect_format(path).name == "raw_accel_csv"
    result = read(path, ReadContext("p1", "Europe/Berlin"))
    assert result.tables == {} and result.raw is not None
    assert result.raw.fs == pytest.approx(25.0)  # median interval: the span includes the gap
    assert result.raw.start_at.isoformat() == "2026-03-01T22:00:00+00:00"
    assert any("1 gaps" in w for w in result.warnings)
    assert sum(len(c) for c in result.raw.chunks()) == 500


def test_leg_nights_merge_both_ankles_and_prefer_raw_accel() -> None:
    from datetime import date

    from restless.models.leg_nights import apply_leg_nights

    onset = START_AT
    rows = []
    for i in range(5):  # both legs move together 20 s apart: 5 bilateral CLMs, one series
        for side, lag in (("left", 0.0), ("right", 0.2)):
            t = onset + timedelta(seconds=600 + 20 * i + lag)
            rows.append(("p1", f"raw_csv_{side}", side, t, t + timedelta(seconds=1.5), 1.5))
    moves = pl.DataFrame(
        rows,
        schema=["participant_id", "source", "side", "start_at", "end_at", "duration_s"],
        orient="row",
    )
    nights = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "night_date": [date(2026, 3, 1)],
            "sleep_source": ["fitbit"],
            "sleep_onset_at": [onset],
            "sleep_offset_at": [onset + timedelta(hours=1)],
            "lm_count": pl.Series([None], dtype=pl.Int64),
            "lm_index": pl.Series([None], dtype=pl.Float64),
            "plms_count": pl.Series([None], dtype=pl.Int64),
            "plms_index": pl.Series([None], dtype=pl.Float64),
            "periodicity_index": pl.Series([None], dtype=pl.Float64),
            "plmw_index": pl.Series([None], dtype=pl.Float64),
            "lm_pre_sleep_count": pl.Series([None], dtype=pl.Int64),
            "restless_min": [3.0],
            "restless_count": [2],
            "restlessness_method": ["vendor_restless"],
            "movement_source": pl.Series([None], dtype=pl.String),
        }
    )
    epochs = pl.DataFrame(
        schema={
            "participant_id": pl.String,
            "source": pl.String,
            "epoch_start_at": pl.Datetime("us", "UTC"),
            "epoch_s": pl.Float64,
            "is_asleep": pl.Boolean,
            "method": pl.String,
        }
    )
    out = apply_leg_nights(nights, moves, epochs)[0].row(0, named=True)
    assert out["restlessness_method"] == "raw_accel"
    assert (out["lm_count"], out["plms_count"]) == (5, 5)  # pairs merged, not 10
    assert out["movement_source"] == "raw_csv_left+raw_csv_right"
    assert out["lm_pre_sleep_count"] == 0 and out["plms_index"] == pytest.approx(5.0)


def test_imi_histogram_of_a_periodic_series_hand_counted() -> None:
    """Six leg movements 20 s apart inside sleep: five IMIs of 20 s, all in the [20, 22) bin."""
    from restless.models.leg_nights import leg_night_rows

    onset = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    starts = [onset + timedelta(minutes=10, seconds=20 * i) for i in range(6)]
    moves = pl.DataFrame(
        {
            "participant_id": "p1",
            "source": "raw_csv_left",
            "file_id": "f1",
            "side": "left",
            "start_at": starts,
            "end_at": [s + timedelta(seconds=2) for s in starts],
            "duration_s": 2.0,
            "peak_g": 0.1,
            "area_g_s": 0.1,
            "onset_threshold_g": 0.02,
            "offset_threshold_g": 0.01,
        }
    )
    nights = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "night_date": [date(2026, 1, 10)],
            "sleep_source": ["fitbit"],
            "sleep_onset_at": [onset],
            "sleep_offset_at": [onset + timedelta(hours=7)],
        }
    )
    empty_epochs = pl.DataFrame(
        schema={
            "participant_id": pl.String,
            "source": pl.String,
            "method": pl.String,
            "epoch_start_at": pl.Datetime("us", "UTC"),
            "epoch_s": pl.Float64,
            "is_asleep": pl.Boolean,
        }
    )
    rows, hist, _ = leg_night_rows(nights, moves, empty_epochs)
    assert rows["plms_count"][0] == 6
    linear = hist.filter(pl.col("scale") == "linear")
    assert linear.filter(pl.col("imi_count") > 0).select("bin_lo_s", "imi_count").rows() == [
        (20.0, 5)
    ]
    assert linear["imi_count"].sum() == 5
