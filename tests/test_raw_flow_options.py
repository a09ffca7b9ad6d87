"""Raw acceleration in the flow: auto-calibration pass, ankle side from config, raw Parquet."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from restless.flows.config import ConfigError, load_settings
from restless.flows.pipeline import parse_file
from restless.flows.raw_calibration import calibrate_raw
from restless.flows.raw_options import RawOptions, resolve_side, sensor_side
from restless.flows.raw_scoring import raw_tables
from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult
from restless.ingest.inbox import make_file_id, sha256_of
from restless.ingest.registry import detect_format
from tests.builders import inbox_file
from tests.plm_simulator import START_AT, SimConfig, simulate_night

PLANTED_OFFSET_X_G = 0.05
PLANTED_SCALE_Z = 1.03


def _raw(xyz: np.ndarray, fs: float, chunk: int = 100_000) -> RawAcceleration:
    return RawAcceleration(
        fs=fs,
        start_at=START_AT,
        chunks=lambda: (xyz[i : i + chunk] for i in range(0, len(xyz), chunk)),
        device="simulated",
        range_g=8.0,
        n_samples=len(xyz),
    )


@pytest.fixture(scope="module")
def sphere_night() -> tuple[np.ndarray, np.ndarray, float]:
    """6 h at 50 Hz visiting all six faces (many posture changes): clean samples and the
    same samples with +0.05 g offset on x and gain 1.03 on z planted."""
    night = simulate_night(
        4,
        SimConfig(
            postures="sphere", noise_g=0.003, gain_sd=0.0, offset_sd_g=0.0, duration_s=6 * 3600.0
        ),
    )
    clean = night.xyz["left"]
    planted = clean.copy()
    planted[:, 0] += PLANTED_OFFSET_X_G
    planted[:, 2] *= PLANTED_SCALE_Z
    return clean, planted, night.fs


# --- 1. auto-calibration --------------------------------------------------------------------


def test_calibration_recovers_a_planted_offset_and_scale(sphere_night) -> None:
    clean, planted, fs = sphere_night
    fed: list[int] = []
    fixed, cal, notes = calibrate_raw(_raw(planted, fs), sink=lambda c: fed.append(len(c)))
    assert cal.applied, cal.status
    # measured = gain * a + offset, calibrated = (measured + offset_g) * scale
    assert np.allclose(cal.offset_g, (-PLANTED_OFFSET_X_G, 0.0, 0.0), atol=0.003)
    assert np.allclose(cal.scale, (1.0, 1.0, 1 / PLANTED_SCALE_Z), atol=0.003)
    assert cal.error_after_g < 0.003 < 0.01 < cal.error_before_g
    assert sum(fed) == len(planted)  # the sink saw every decoded sample once
    (note,) = notes
    assert note.startswith("auto-calibration (van Hees 2014) applied from")
    assert re.search(r"offset x/y/z -0\.0[45]\d\d/[-+]0\.00\d\d/[-+]0\.00\d\d g", note)
    assert re.search(r"scale x/y/z (0\.99|1\.00)\d\d/(0\.99|1\.00)\d\d/0\.97\d\d;", note)
    assert re.search(r"error \d+\.\d mg -> 0\.\d mg$", note)
    # the wrapper applies the fit lazily, per chunk, with a fresh iterator each call
    out = np.concatenate(list(fixed.chunks()))
    assert np.concatenate(list(fixed.chunks())).shape == out.shape == planted.shape
    assert np.abs(out - clean).max() < 0.01
    assert (fixed.fs, fixed.start_at, fixed.n_samples) == (fs, START_AT, len(planted))


def test_calibration_is_skipped_with_a_reason_for_one_posture() -> None:
    fs, n = 50.0, 3600 * 50
    rng = np.random.default_rng(2)
    lying = np.array([0.0, 0.6, 0.8]) + np.array([0.05, 0.0, 0.0]) + rng.normal(0, 0.003, (n, 3))
    raw = _raw(lying, fs)
    fixed, cal, (note,) = calibrate_raw(raw)
    assert not cal.applied and "sphere" in cal.status
    assert fixed is raw  # scored as decoded
    assert "not done: still windows do not cover the sphere" in note
    assert note.endswith("error 1.3 mg; samples scored as decoded")  # |(.05,.6,.8)| - 1 g
    restless = np.random.default_rng(3).normal(0, 0.2, (n // 6, 3)) + np.array([0, 0, 1.0])
    _, cal, (note,) = calibrate_raw(_raw(restless, fs))
    assert not cal.applied and "no still 10-s windows" in note
    _, cal, (note,) = calibrate_raw(_raw(lying[:500], 5.0))
    assert "not attempted: 5.00 Hz is below 10 Hz" in note


def test_scores_of_calibrated_data_agree_with_the_clean_recording(sphere_night) -> None:
    clean, planted, fs = sphere_night
    fixed, cal, _ = calibrate_raw(_raw(planted, fs))
    assert cal.applied
    truth, _ = raw_tables(_raw(clean, fs), "left", time_zone="UTC")
    mine, _ = raw_tables(fixed, "left", time_zone="UTC")
    as_is, _ = raw_tables(_raw(planted, fs), "left", time_zone="UTC")
    lm_truth, lm_mine = truth["leg_movements"], mine["leg_movements"]
    assert lm_truth.height > 50
    assert lm_mine.height == lm_truth.height
    onsets = (lm_mine["start_at"] - lm_truth["start_at"]).dt.total_microseconds().abs()
    assert onsets.max() <= 100_000  # within 0.1 s, movement for movement
    durations = (lm_mine["duration_s"] - lm_truth["duration_s"]).abs()
    assert durations.max() <= 0.1
    ep_truth = truth["movement_epochs"]["mean_accel_mg"]
    err_mine = (mine["movement_epochs"]["mean_accel_mg"] - ep_truth).abs().median()
    err_as_is = (as_is["movement_epochs"]["mean_accel_mg"] - ep_truth).abs().median()
    assert err_mine < 0.1 < 3.0 < err_as_is  # ENMO-like epochs need the calibration
    assert mine["sleep_epochs"].height == truth["sleep_epochs"].height


# --- 2. ankle side from config --------------------------------------------------------------


def _write_csv(path: Path, xyz: np.ndarray, fs: float) -> None:
    t0 = START_AT.timestamp()
    stamps = (
        pl.Series(np.round((t0 + np.arange(len(xyz)) / fs) * 1e6).astype(np.int64))
        .cast(pl.Datetime("us", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
    pl.DataFrame({"timestamp": stamps, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).write_csv(
        path, float_precision=5
    )


def _short_recording(minutes: float = 10.0, fs: float = 25.0) -> np.ndarray:
    night = simulate_night(11, SimConfig(fs=fs, duration_s=minutes * 60.0, noise_g=0.005))
    return night.xyz["left"]


def test_sensor_patterns_match_names_paths_and_report_clashes() -> None:
    sensors = {"left_ankle.cwa": "left", "AX3_12345*": "right", "2026/*/r.csv": "right"}
    assert sensor_side(sensors, "p1/Left_Ankle.CWA") == ("left", "config sensors 'left_ankle.cwa'")
    assert sensor_side(sensors, "p1/sub/ax3_12345_0001.cwa")[0] == "right"
    assert sensor_side(sensors, "p1/2026/03/r.csv")[0] == "right"
    assert sensor_side(sensors, "p1/r.csv") == (None, "")
    assert sensor_side(sensors, "p1/exports.zip!AX3_12345.cwa")[0] == "right"
    side, how = sensor_side({"*.cwa": "left", "ax3*": "right"}, "p1/ax3.cwa")
    assert side is None and "disagree" in how and "'*.cwa' = left" in how
    assert resolve_side({}, "p1/left/a.cwa", "left") == (
        "left",
        "ankle side left from the folder name",
    )
    side, how = resolve_side({}, "p1/a.cwa", "unknown")
    assert side == "unknown" and "no sensors entry" in how


def test_config_side_wins_over_the_folder_name(tmp_path: Path) -> None:
    folder = tmp_path / "p1" / "left"
    folder.mkdir(parents=True)
    path = folder / "ankle_night.csv"
    _write_csv(path, _short_recording(), 25.0)
    fmt = detect_format(path)
    assert fmt is not None and fmt.name == "raw_accel_csv"
    options = RawOptions(sensors={"p1": {"ankle_*.csv": "right"}, "p2": {"*": "left"}})
    record = parse_file(
        inbox_file(path, "p1/left/ankle_night.csv"),
        fmt,
        ReadContext("p1", "UTC", "f-ankle_night"),
        tmp_path / "work",
        options,
    )
    assert record.status == "loaded", record.error
    assert record.source == "raw_csv_right"
    assert "ankle side right from config sensors 'ankle_*.csv'" in record.warnings
    assert any(w.startswith("auto-calibration (van Hees 2014)") for w in record.warnings)
    moves = pl.read_parquet(tmp_path / "work" / "f-ankle_night" / "raw_leg_movements.parquet")
    assert set(moves["side"]) <= {"right"} and set(moves["source"]) <= {"raw_csv_right"}
    # without a matching entry the folder name decides, as before
    record = parse_file(
        inbox_file(path, "p1/left/ankle_night.csv"),
        fmt,
        ReadContext("p1", "UTC", "f-ankle_night"),
        tmp_path / "work2",
    )
    assert record.source == "raw_csv_left"
    assert "ankle side left from the folder name" in record.warnings


def _toml(tmp_path: Path, text: str, name: str = "restless.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sensor_sides_are_read_and_a_bad_side_is_a_config_error(tmp_path: Path) -> None:
    good = _toml(
        tmp_path,
        '[participants.p01]\ntimezone = "UTC"\n[participants.p01.sensors]\n'
        '"left_ankle.cwa" = "left"\n"AX3_12345*" = "right"\n',
    )
    settings = load_settings(good)
    assert settings.participants["p01"].sensors == {
        "left_ankle.cwa": "left",
        "AX3_12345*": "right",
    }
    assert RawOptions.from_settings(settings).sensors == {
        "p01": {"left_ankle.cwa": "left", "AX3_12345*": "right"}
    }
    bad = _toml(tmp_path, '[participants.p01.sensors]\n"ankle.cwa" = "both"\n')
    with pytest.raises(ConfigError, match=r"sensors\.'ankle\.cwa'.*'left' or 'right'.*'both'"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="a table of file name = side"):
        load_settings(_toml(tmp_path, '[participants.p01]\nsensors = "left"\n', "flat.toml"))
    from restless.flows.cli import app

    refused = CliRunner().invoke(
        app,
        ["run", "--inbox", str(tmp_path), "--config", str(bad)],
    )
    assert refused.exit_code == 2 and "'left' or 'right'" in refused.output


# --- 3. optional raw Parquet ----------------------------------------------------------------


def test_keep_raw_parquet_setting_flag_env_and_toml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RESTLESS_KEEP_RAW_PARQUET", raising=False)
    plain = _toml(tmp_path, "[restless]\n")
    assert load_settings(plain).keep_raw_parquet is False
    assert RawOptions.from_settings(load_settings(plain)).parquet_dir is None
    on = _toml(
        tmp_path, '[restless]\nkeep_raw_parquet = true\nwarehouse = "wh/r.duckdb"\n', "on.toml"
    )
    assert RawOptions.from_settings(load_settings(on)).parquet_dir == Path("wh/raw")
    assert load_settings(on, keep_raw_parquet=False).keep_raw_parquet is False  # flag wins
    monkeypatch.setenv("RESTLESS_KEEP_RAW_PARQUET", "0")
    assert load_settings(on).keep_raw_parquet is False  # environment beats the file
    monkeypatch.setenv("RESTLESS_KEEP_RAW_PARQUET", "maybe")
    with pytest.raises(ConfigError, match="RESTLESS_KEEP_RAW_PARQUET"):
        load_settings(plain)
    monkeypatch.delenv("RESTLESS_KEEP_RAW_PARQUET")
    with pytest.raises(ConfigError, match="keep_raw_parquet: use true or false"):
        load_settings(_toml(tmp_path, "[restless]\nkeep_raw_parquet = 1\n"))


def _broken_format(xyz: np.ndarray, fs: float) -> Format:
    """A raw format whose decoding fails after the first chunk."""

    def chunks():
        yield xyz[:1000]
        raise OSError("block 2: bad checksum")

    raw = RawAcceleration(fs=fs, start_at=START_AT, chunks=chunks, device="broken")
    return Format(
        name="broken_raw",
        source="broken",
        sniff=lambda head, name: False,
        read=lambda path, ctx: ReadResult(tables={}, raw=raw),
        coverage={},
    )


def test_a_failed_parse_leaves_no_raw_parquet_behind(tmp_path: Path) -> None:
    path = tmp_path / "p1" / "x.bin"
    path.parent.mkdir()
    path.write_bytes(b"\0" * 16)
    store = tmp_path / "raw"
    record = parse_file(
        inbox_file(path, "p1/x.bin"),
        _broken_format(_short_recording(2.0), 25.0),
        ReadContext("p1", "UTC", "f-x"),
        tmp_path / "work",
        RawOptions(parquet_dir=store),
    )
    assert record.status == "rejected" and "bad checksum" in record.error
    assert list((store / "p1").iterdir()) == []  # neither the file nor its temporary copy


def test_a_kept_copy_exists_only_once_its_file_loaded(tmp_path: Path) -> None:
    """The copy is closed at parse time and renamed in by the writer after the file's
    transaction: a file that is rejected, skipped or never loaded leaves nothing behind."""
    from restless.flows.nightly import load
    from restless.warehouse.connection import connect_writer

    fs = 25.0
    store = tmp_path / "wh" / "raw"
    db = tmp_path / "wh" / "restless.duckdb"
    connect_writer(db).close()
    records = []
    for name in ("good", "bad"):
        csv = tmp_path / "p1" / f"{name}.csv"
        csv.parent.mkdir(exist_ok=True)
        _write_csv(csv, _short_recording(2.0, fs), fs)
        fmt = detect_format(csv)
        assert fmt is not None
        record = parse_file(
            inbox_file(csv, f"p1/{name}.csv", file_id=f"f-{name}"),
            fmt,
            ReadContext("p1", "UTC", f"f-{name}"),
            tmp_path / "work",
            RawOptions(parquet_dir=store),
        )
        assert record.kept_parquet is not None and record.kept_parquet[0].exists()
        assert not record.kept_parquet[1].exists()  # not before the load
        records.append(record)
    records[1].status, records[1].error = "rejected", "rejected by validation (test)"
    load.fn(db, records, "run-1")
    assert sorted(p.name for p in (store / "p1").iterdir()) == ["f-good.parquet"]
    assert pl.read_parquet(store / "p1" / "f-good.parquet").height == round(2.0 * 60 * fs)


def _run(inbox: Path, db: Path, config: Path) -> None:
    from restless.flows.nightly import nightly

    nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))


def test_flow_keeps_raw_parquet_only_when_asked(
    prefect_harness, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("RESTLESS_KEEP_RAW_PARQUET", raising=False)
    fs = 25.0
    inbox = tmp_path / "inbox"
    (inbox / "p1" / "right").mkdir(parents=True)
    csv = inbox / "p1" / "right" / "night.csv"
    _write_csv(csv, _short_recording(10.0, fs), fs)
    decoded = pl.read_csv(csv)

    on = _toml(
        tmp_path, '[restless]\nkeep_raw_parquet = true\n[participants.p1]\ntimezone = "UTC"\n'
    )
    db = tmp_path / "wh" / "restless.duckdb"
    _run(inbox, db, on)
    folder = db.parent / "raw" / "p1"
    (kept,) = folder.iterdir()
    assert kept.name == f"{make_file_id('p1', sha256_of(csv))}.parquet"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    samples = pl.read_parquet(kept)
    assert samples.schema == pl.Schema(
        {"t_s": pl.Float64, "x_g": pl.Float32, "y_g": pl.Float32, "z_g": pl.Float32}
    )
    assert samples.height == decoded.height == 10 * 60 * 25
    head = decoded.head(50)
    for axis in "xyz":  # the device's values as decoded, not auto-calibrated
        assert samples[f"{axis}_g"].head(50).to_list() == (head[axis].cast(pl.Float32).to_list())
    assert samples["t_s"][:3].to_list() == pytest.approx([0.0, 1 / fs, 2 / fs])
    import pyarrow.parquet as pq

    meta = pq.read_schema(kept).metadata
    assert datetime.fromisoformat(meta[b"restless.start_at"].decode()) == START_AT.astimezone(UTC)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        warnings, source = con.execute("SELECT warnings, source FROM ops.files").fetchone()
    finally:
        con.close()
    assert source == "raw_csv_right"
    assert "ankle side right from the folder name" in warnings
    assert "auto-calibration (van Hees 2014)" in warnings
    assert f"raw samples kept as decoded (not auto-calibrated): {samples.height} rows" in warnings

    off = _toml(tmp_path, '[participants.p1]\ntimezone = "UTC"\n')
    db2 = tmp_path / "wh2" / "restless.duckdb"
    _run(inbox, db2, off)
    assert db2.exists() and not (db2.parent / "raw").exists()
    assert os.listdir(folder) != []  # the first run's copy is untouched
