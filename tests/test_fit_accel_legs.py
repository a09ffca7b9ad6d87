"""FIT ``accelerometer_data`` as raw acceleration: grid, gaps, both backends, leg movements.

No real FIT file holds accelerometer_data (SOURCES.md), so every file here is written with
``restless.demo.fit_writer`` from simulated ankle acceleration with planted leg movements
(``tests/plm_simulator.py``); expected values are the planted samples and events.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from restless.demo.fit_writer import (
    AccelCalibration,
    MonitoringEpoch,
    write_accelerometer_file,
    write_monitoring_file,
)
from restless.flows.pipeline import parse_file
from restless.ingest.base import ReadContext, ReadResult
from restless.ingest.fit import FORMATS, read
from restless.ingest.fit import accel as fit_accel
from tests.builders import inbox_file, run_nightly, series_events
from tests.plm_simulator import START_AT, SimConfig, _synthesise, match_events, seconds_since

FS = 25
BACKENDS = ("sdk", "fitparse")
COUNTS_G = 1 / 2048  # one count of the writer's default calibration
ROTATED = AccelCalibration(orientation_matrix=(0, 1, 0, -1, 0, 0, 0, 0, 1), offset_cal=(5, -9, 2))
ONSETS_S = [300.0 + 20.0 * i for i in range(6)] + [900.0, 1500.3]  # a PLM series, 2 isolated


def ctx(backend: str = "sdk") -> ReadContext:
    return ReadContext(participant_id="p1", timezone="UTC", fit_backend=backend)


def planted(minutes: float, onsets: list[float] = ONSETS_S, seed: int = 7) -> np.ndarray:
    """(n, 3) g at 25 Hz of one ankle with 1.5-s leg movements at ``onsets`` (s)."""
    config = SimConfig(fs=float(FS), duration_s=minutes * 60.0, noise_g=0.005)
    events = series_events([t for t in onsets if t + 1.5 < minutes * 60.0])
    xyz, _, _ = _synthesise(np.random.default_rng(seed), config, events, "left")
    return xyz


def write(path: Path, xyz: np.ndarray, start: datetime = START_AT, **kwargs) -> Path:
    kwargs.setdefault("sample_rate_hz", FS)
    write_accelerometer_file(
        path,
        start_utc=start,
        samples_g=[tuple(row) for row in xyz.tolist()],
        time_created_utc=start,
        **kwargs,
    )
    return path


def samples(result: ReadResult) -> np.ndarray:
    assert result.raw is not None
    return np.concatenate(list(result.raw.chunks()))


# ---------------------------------------------------------------- decoded samples


@pytest.mark.parametrize(
    ("calibration", "tolerance_g"),
    [(ROTATED, COUNTS_G / 2), (None, 1e-6)],  # counts + calibration; calibrated_accel float32
    ids=["counts", "calibrated"],
)
def test_decoded_g_equal_the_planted_samples_on_both_backends(
    tmp_path: Path, calibration: AccelCalibration | None, tolerance_g: float
) -> None:
    xyz = planted(6)
    start = START_AT + timedelta(milliseconds=200)  # not on a whole second
    path = write(tmp_path / "ankle.fit", xyz, start, calibration=calibration)
    got = {}
    for backend in BACKENDS:
        result = read(path, ctx(backend))
        assert result.raw is not None and result.warnings == []
        assert result.tables == {}  # no movement epochs of the reader's own
        assert result.raw.fs == 25.0
        assert result.raw.start_at == start
        assert result.raw.n_samples == len(xyz)
        assert result.raw.device == "FIT accelerometer_data (Garmin, product 1837)"
        got[backend] = samples(result)
    assert np.array_equal(got["sdk"], got["fitparse"])
    np.testing.assert_allclose(got["sdk"], xyz, rtol=0, atol=tolerance_g)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_acceleration_gives_raw_samples_and_flow_epochs(
    tmp_path: Path, backend: str
) -> None:
    """The cases of test_fit_reader's constant-acceleration test, now as raw samples: the
    flow's 30-s epochs (flows/raw_scoring.py) start at the first sample and give the same
    mean | |a| - 1 g |."""
    from restless.flows.raw_scoring import raw_tables

    start = datetime(2024, 3, 2, 3, 0, 10, tzinfo=UTC)
    for name, calibration, sample, mg in [
        ("still", AccelCalibration(), (0.0, 0.0, 1.5), 500.0),  # |1.5 g| - 1 g
        ("gravity", ROTATED, (0.6, 0.0, 0.8), 0.0),  # magnitude 1 g (to one count)
        ("calibrated", None, (0.0, 0.3, 0.4), 500.0),  # 1 g - 0.5 g, float32 g fields
    ]:
        xyz = np.tile(sample, (FS * 65, 1))
        path = write(tmp_path / f"{name}.fit", xyz, start, calibration=calibration)
        result = read(path, ctx(backend))
        assert result.tables == {} and result.raw.start_at == start
        np.testing.assert_allclose(samples(result), xyz, rtol=0, atol=COUNTS_G / 2)
        epochs = raw_tables(result.raw, "unknown", time_zone="UTC")[0]["movement_epochs"]
        assert epochs["epoch_start_at"].to_list() == [
            start + timedelta(seconds=s) for s in (0, 30, 60)
        ]
        assert epochs["epoch_s"].to_list() == [30.0, 30.0, 5.0]
        assert epochs["mean_accel_mg"].to_list() == pytest.approx([mg] * 3, abs=0.5), name


@pytest.mark.parametrize("rate", [26, 100])
def test_rate_is_inferred_from_sample_time_offsets(tmp_path: Path, rate: int) -> None:
    # 26 Hz: offsets are whole ms (0, 38, 76, ...), the rate still comes out whole
    xyz = np.tile([0.0, 0.0, 1.0], (rate * 20, 1))
    result = read(write(tmp_path / "r.fit", xyz, sample_rate_hz=rate), ctx())
    assert result.raw is not None and result.raw.fs == float(rate)
    assert result.raw.n_samples == len(xyz) and result.warnings == []


def test_chunks_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fit_accel.CHUNK_SAMPLES <= 2**18
    xyz = planted(2)
    result = read(write(tmp_path / "c.fit", xyz), ctx())
    monkeypatch.setattr(fit_accel, "CHUNK_SAMPLES", 1000)
    sizes = [len(c) for c in result.raw.chunks()]
    assert max(sizes) == 1000 and sum(sizes) == len(xyz)
    assert np.array_equal(samples(result), samples(result))  # a fresh iterator each call


# ---------------------------------------------------------------- gaps


def test_a_lost_message_is_filled_with_the_last_sample(tmp_path: Path) -> None:
    xyz = planted(2)
    cut = 60 * FS  # the device skips one 1-s message after a minute
    path = write(tmp_path / "g.fit", xyz, pauses_ms={cut: 1000})
    for backend in BACKENDS:
        result = read(path, ctx(backend))
        got = samples(result)
        assert result.raw.start_at == START_AT and len(got) == len(xyz) + FS
        assert np.array_equal(got[:cut], samples_g(xyz[:cut]))
        assert (got[cut : cut + FS] == got[cut - 1]).all()  # repeated last sample
        assert np.array_equal(got[cut + FS :], samples_g(xyz[cut:]))  # times stay right
        assert result.warnings == [
            "accelerometer_data: 25 missing samples (1.00 s) in 1 gaps of at most 2 s filled"
            " with the last sample"
        ]


def samples_g(xyz: np.ndarray) -> np.ndarray:
    """What the default calibration gives back for ``xyz`` (whole counts, exact here)."""
    return np.round(xyz * 2048) / 2048


def test_a_long_pause_keeps_the_longest_run_and_counts_the_rest(tmp_path: Path) -> None:
    xyz = planted(5)
    cut = 2 * 60 * FS  # 2 min, a 60-s pause, then 3 min
    path = write(tmp_path / "p.fit", xyz, pauses_ms={cut: 60_000})
    for backend in BACKENDS:
        result = read(path, ctx(backend))
        assert result.raw.start_at == START_AT + timedelta(minutes=3)
        assert np.array_equal(samples(result), samples_g(xyz[cut:]))
        assert result.warnings == [
            "accelerometer_data: logging paused over 2 s (or the clock jumped) 1 times; kept"
            " the longest run, 2026-03-01 22:03:00 to 2026-03-01 22:05:59 UTC; 3000 of 7500"
            " samples in the other runs dropped"
        ]


def test_regular_grid_by_hand() -> None:
    # 25 Hz = 40 ms: a 1-sample gap (filled), a duplicate (dropped), jitter of a few ms,
    # then the clock jumps back 10 s (a new run, shorter: dropped)
    t = np.array([0, 40, 80, 160, 160, 203, 238, 280, -9720, -9680], dtype=np.int64)
    grid = fit_accel.regular_grid(t, 25.0)
    assert grid.source.tolist() == [0, 1, 2, 2, 3, 5, 6, 7]
    assert (grid.start_ms, grid.runs, grid.filled, grid.gaps_filled) == (0, 2, 1, 1)
    assert (grid.overlapping, grid.dropped) == (1, 2)
    # a gap of 2 s is filled, one of 2.08 s splits
    assert fit_accel.regular_grid(np.array([0, 2040]), 25.0).runs == 1
    assert fit_accel.regular_grid(np.array([0, 2120]), 25.0).runs == 2


def test_a_single_sample_has_no_rate_and_falls_back_to_epochs(tmp_path: Path) -> None:
    result = read(write(tmp_path / "one.fit", np.array([[0.0, 0.0, 1.5]])), ctx())
    assert result.raw is None
    assert result.tables["movement_epochs"]["mean_accel_mg"].to_list() == pytest.approx([500.0])
    assert "sampling rate cannot be inferred" in result.warnings[0]


# ---------------------------------------------------------------- other tables of the file


def heart_rates(minutes: int, start: datetime = START_AT) -> list[tuple[datetime, int]]:
    return [(start + timedelta(minutes=m, seconds=5), 50 + m % 7) for m in range(minutes)]


def test_heart_rate_of_the_same_file_is_unchanged(tmp_path: Path) -> None:
    xyz = planted(4)
    with_hr = write(tmp_path / "hr.fit", xyz, heart_rates=heart_rates(4))
    for backend in BACKENDS:
        result = read(with_hr, ctx(backend))
        assert set(result.tables) == {"heart_rate"}
        hr = result.tables["heart_rate"]
        assert hr["measured_at"].to_list() == [at for at, _ in heart_rates(4)]
        assert hr["bpm"].to_list() == [bpm for _, bpm in heart_rates(4)]
    without = read(write(tmp_path / "a.fit", xyz), ctx())
    assert np.array_equal(samples(result), samples(without))


def test_ankle_folder_leaves_the_files_vendor_rows_alone(tmp_path: Path) -> None:
    """A FIT file in a left/ folder with accelerometer, heart-rate and monitoring data:
    only the rows scored from the samples belong to the ankle."""
    path = write(tmp_path / "night.fit", planted(8), heart_rates=heart_rates(8))
    monitoring = tmp_path / "monitoring.fit"
    epochs = [
        MonitoringEpoch(START_AT + timedelta(minutes=m), 60, "sedentary", 1, 0, None)
        for m in range(4)
    ]
    write_monitoring_file(monitoring, epochs=epochs, local_offset_s=0, time_created_utc=START_AT)
    from_accel = read(path, ctx())
    combined = replace(  # one FIT file holding all three (the writer writes them apart)
        from_accel,
        tables={**read(monitoring, ctx()).tables, **from_accel.tables},
    )
    fmt = replace(FORMATS[0], read=lambda _path, _ctx: combined)
    record = parse_file(inbox_file(path, "p1/left/night.fit"), fmt, ctx(), tmp_path / "w")
    assert record.status == "loaded", record.error
    parts = {t.table: pl.read_parquet(t.parquet) for t in record.tables if t.parquet}
    assert parts["leg_movements"]["source"].unique().to_list() == ["garmin_fit_left"]
    assert parts["heart_rate"]["source"].unique().to_list() == ["garmin_fit"]
    by_source = parts["movement_epochs"].group_by("source").len().sort("source").rows()
    assert by_source == [("garmin_fit", 4), ("garmin_fit_left", 16)]


# ---------------------------------------------------------------- the real flow


def test_fit_accelerometer_night_gives_the_planted_leg_movements(
    prefect_harness, tmp_path: Path
) -> None:
    start = START_AT + timedelta(seconds=10)  # raw epochs from here, not UTC :00/:30
    minutes = 30
    xyz = planted(minutes)
    inbox = tmp_path / "inbox"
    (inbox / "p1").mkdir(parents=True)
    write(inbox / "p1" / "ankle.fit", xyz, start, heart_rates=heart_rates(minutes, start))
    db = run_nightly(tmp_path, inbox)

    con = duckdb.connect(str(db), read_only=True)
    try:
        files = con.execute("SELECT format, source, status, error FROM ops.files").fetchall()
        moves = con.sql("SELECT * FROM core.leg_movements ORDER BY start_at").pl()
        epochs = con.sql("SELECT * FROM core.movement_epochs ORDER BY epoch_start_at").pl()
        hr = con.sql("SELECT * FROM core.heart_rate ORDER BY measured_at").pl()
        sib = con.execute(
            "SELECT count(*) FROM core.sleep_epochs WHERE method = 'van_hees_sib'"
        ).fetchone()[0]
    finally:
        con.close()
    assert files == [("garmin_fit", "garmin_fit", "loaded", None)]
    assert moves["side"].unique().to_list() == ["unknown"]
    # the ankle's rows keep a source of their own, apart from the vendor's rows
    assert moves["source"].unique().to_list() == ["garmin_fit_unknown"]
    onsets = np.array(ONSETS_S)
    found = match_events(
        onsets + 10.0,  # seconds since START_AT
        onsets + 11.5,
        seconds_since(START_AT, moves["start_at"]),
        seconds_since(START_AT, moves["end_at"]),
        tolerance_s=0.5,
    )
    assert found.true_positives == found.n_true == found.n_detected == len(ONSETS_S)
    # the flow's 30-s epochs only (from the first sample), none of the reader's UTC-aligned
    assert epochs.height == 2 * minutes
    assert {t.second % 30 for t in epochs["epoch_start_at"].to_list()} == {10}
    assert sib == 12 * minutes
    # the file's heart rate, as written
    assert hr["source"].unique().to_list() == ["garmin_fit"]
    assert list(zip(hr["measured_at"].to_list(), hr["bpm"].to_list(), strict=True)) == [
        (at.astimezone(UTC), bpm) for at, bpm in heart_rates(minutes, start)
    ]
