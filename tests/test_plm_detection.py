"""Leg-movement detection from ankle acceleration against the simulator's ground truth.

Event matching (tests/plm_simulator.py ``match_events``): a detected movement matches a
planted one when their intervals overlap and their onsets differ by at most 0.5 s, one to
one. Planted twitches (< 0.5 s) are not leg movements, so detecting one costs precision.
PLMS counts compare the same rules (restless.models.legs.series) applied to the planted
and to the detected movements, so any difference comes from detection.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.models.legs import (
    Calibration,
    DetectionParams,
    detect_movements,
    detect_movements_chunked,
    estimate_calibration,
    score_movements,
)

from .plm_simulator import KINDS_LM, SimConfig, match_events, seconds_since, simulate_night

FOUR_HOURS = 4 * 3600.0
REALISTIC_NOISE_G = (0.002, 0.005, 0.01)
"""Per-axis sensor noise SD of research accelerometers at 50-100 Hz is a few mg."""


def detections(night, side: str = "left", **kw):
    return detect_movements(night.xyz[side], night.fs, start_at=night.start_at, **kw)


def agreement(night, movements: pl.DataFrame, side: str = "left"):
    planted = night.events.filter((pl.col("side") == side) & pl.col("kind").is_in(KINDS_LM))
    return match_events(
        planted["onset_s"].to_numpy(),
        planted["end_s"].to_numpy(),
        seconds_since(night.start_at, movements["start_at"]),
        seconds_since(night.start_at, movements["end_at"]),
    )


@pytest.fixture(scope="module")
def nights():
    return {
        (seed, noise): simulate_night(seed, SimConfig(noise_g=noise, duration_s=FOUR_HOURS))
        for seed in range(3)
        for noise in REALISTIC_NOISE_G
    }


def test_event_sensitivity_precision_and_plms_count_at_realistic_noise(nights):
    for (seed, noise), night in nights.items():
        det = detections(night)
        m = agreement(night, det.movements)
        assert m.n_true > 100, "the simulator must plant a real night's worth of movements"
        assert m.sensitivity >= 0.95, (seed, noise, m)
        assert m.precision >= 0.95, (seed, noise, m)
        truth = score_movements(night.truth_movements("left"))["in_series"].sum()
        found = score_movements(det.movements)["in_series"].sum()
        assert truth > 50
        assert abs(found - truth) <= 0.05 * truth, (seed, noise, truth, found)


def test_onsets_and_durations_are_accurate(nights):
    night = nights[(0, 0.005)]
    det = detections(night).movements
    on = seconds_since(night.start_at, det["start_at"])
    planted = night.events.filter(pl.col("kind") == "series")
    errors_on, errors_dur = [], []
    for onset, end in planted.select("onset_s", "end_s").iter_rows():
        hit = np.flatnonzero(np.abs(on - onset) <= 0.5)
        assert hit.size == 1
        errors_on.append(on[hit[0]] - onset)
        errors_dur.append(det["duration_s"][int(hit[0])] - (end - onset))
    assert np.mean(np.abs(errors_on)) < 0.05
    assert np.mean(np.abs(errors_dur)) < 0.1
    assert np.quantile(np.abs(errors_dur), 0.95) < 0.2
    # a noise excursion above the offset threshold within 0.5 s of the end prolongs the
    # movement (the hysteresis rule, as in EMG): never by more than the 0.5-s quiet window
    assert np.max(errors_dur) < 0.5 + 0.1


def test_twitches_are_dropped_and_kinds_are_scored_right(nights):
    night = nights[(1, 0.005)]
    scored = score_movements(detections(night).movements)
    on = seconds_since(night.start_at, scored["start_at"])
    for kind, onset in night.events.select("kind", "onset_s").iter_rows():
        hit = np.flatnonzero(np.abs(on - onset) <= 0.5)
        if kind == "twitch":
            assert hit.size == 0, f"twitch at {onset:.1f} s detected"
        else:
            assert hit.size == 1, f"{kind} at {onset:.1f} s missed"
            assert scored["is_clm"][int(hit[0])] == (kind in ("series", "isolated")), kind


def test_chunked_processing_equals_in_memory():
    night = simulate_night(7, SimConfig(duration_s=5400.0 + 12.34))
    x = night.xyz["left"]
    whole = detections(night)
    assert whole.movements.height > 20
    rng = np.random.default_rng(1)
    for _ in range(2):
        cuts = np.cumsum(rng.integers(1, 40_000, size=400))
        pieces = np.split(x, cuts[cuts < len(x)])
        cal = estimate_calibration(pieces, night.fs)
        chunked = detect_movements_chunked(
            iter(pieces), night.fs, start_at=night.start_at, calibration=cal
        )
        assert_frame_equal(chunked.movements, whole.movements)
        assert_frame_equal(chunked.blocks, whole.blocks)
    one_sample_chunks = detect_movements_chunked(
        (row[None, :] for row in x[:200_000]), night.fs, start_at=night.start_at
    )
    part = detect_movements(x[:200_000], night.fs, start_at=night.start_at, calibrate=False)
    assert_frame_equal(one_sample_chunks.movements, part.movements)


def test_thresholds_adapt_to_the_recordings_noise():
    night = simulate_night(2, SimConfig(duration_s=FOUR_HOURS, gain_sd=0, offset_sd_g=0))
    x = night.xyz["left"]
    base = detections(night, calibrate=False)
    doubled = detect_movements(2 * x, night.fs, start_at=night.start_at, calibrate=False)
    # doubling every sample doubles the envelope exactly: same events, thresholds x 2
    assert_frame_equal(
        doubled.movements.drop("peak_g", "area_g_s", "onset_threshold_g", "offset_threshold_g"),
        base.movements.drop("peak_g", "area_g_s", "onset_threshold_g", "offset_threshold_g"),
    )
    for key, value in base.thresholds().items():
        assert doubled.thresholds()[key] == pytest.approx(2 * value, rel=1e-5)
    # the same night with twice the sensor noise and twice the movements
    loud = simulate_night(
        2, SimConfig(duration_s=FOUR_HOURS, gain_sd=0, offset_sd_g=0, amplitude_scale=2.0)
    )
    louder = detections(loud, calibrate=False)
    ratio = louder.thresholds()["onset_threshold_g"] / base.thresholds()["onset_threshold_g"]
    assert 1.8 < ratio < 2.2
    m = agreement(loud, louder.movements)
    assert m.sensitivity >= 0.95 and m.precision >= 0.95
    assert agreement(night, base.movements).sensitivity >= 0.95


def test_peak_and_area_follow_the_envelope_across_block_edges():
    """Movements cut by block edges (carried from block to block) get the same peak and
    area as a direct computation over the whole envelope (white-box: private helpers)."""
    from restless.models.legs import detection as D

    night = simulate_night(8, SimConfig(duration_s=2400.0, gain_sd=0, offset_sd_g=0))
    x = night.xyz["left"].copy()
    fs = night.fs
    t = np.arange(x.shape[0]) / fs
    # one LM over the edge at 450 s that pauses 0.3 s right at the edge (one LM: the pause
    # is under 0.5 s, so the region is carried with a quiet tail), one over two edges
    for lo, hi in ((445.0, 449.85), (450.15, 455.0), (880.0, 1370.0)):
        span = (t >= lo) & (t < hi)
        x[span, 0] += 0.05 * np.sin(2 * np.pi * 2.5 * t[span])
        x[span, 2] += 0.05 * np.cos(2 * np.pi * 3.5 * t[span])
    det = detect_movements(x, fs, start_at=night.start_at, calibrate=False)
    g = D._geometry(fs, det.params)
    work = D._Scratch()
    parts = []
    for seg in D._reblock([x], g.block, g.context):
        e2 = np.empty(seg.size, dtype=np.float32)
        D._envelope(seg, g, None, work, e2)
        parts.append(np.sqrt(e2.astype(np.float64) / (2 * g.env_half + 1)))
    env = np.concatenate(parts)
    base = np.repeat(det.blocks["baseline_g"].to_numpy(), g.block)[: env.size]
    start = np.round(seconds_since(night.start_at, det.movements["start_at"]) * fs).astype(int)
    end = np.round(seconds_since(night.start_at, det.movements["end_at"]) * fs).astype(int)
    crossings = (end - 1) // g.block - start // g.block
    assert crossings.max() == 2 and (crossings == 1).any()
    for a, b, peak, area in zip(
        start, end, det.movements["peak_g"], det.movements["area_g_s"], strict=True
    ):
        assert peak == pytest.approx(env[a:b].max(), rel=1e-5)
        assert area == pytest.approx((env[a:b] - base[a:b]).sum() / fs, rel=1e-4, abs=1e-6)


def test_pure_noise_gives_no_movements():
    rng = np.random.default_rng(5)
    for fs in (10.0, 100.0):
        n = int(2 * 3600 * fs)
        x = np.array([0.9, 0.3, 0.3]) / np.linalg.norm([0.9, 0.3, 0.3])
        x = np.round((x + rng.normal(0, 0.005, (n, 3))) * 256) / 256
        det = detect_movements(x, fs, start_at=datetime(2026, 1, 1, tzinfo=UTC))
        assert det.movements.height == 0, fs
        assert det.n_samples == n


def test_single_movement_and_single_twitch_by_construction():
    fs, n = 50.0, 50 * 120
    t = np.arange(n) / fs
    x = np.tile([0.0, 0.0, 1.0], (n, 1)) + np.random.default_rng(0).normal(0, 0.003, (n, 3))
    burst = (t >= 60.0) & (t < 61.5)  # a 1.5 s, 3 Hz, 80 mg movement on the x axis
    x[burst, 0] += 0.08 * np.sin(2 * np.pi * 3 * t[burst])
    twitch = (t >= 90.0) & (t < 90.25)  # a 0.25 s twitch
    x[twitch, 1] += 0.15 * np.sin(2 * np.pi * 4 * t[twitch])
    det = detect_movements(x, fs, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert det.movements.height == 1
    row = det.movements.row(0, named=True)
    assert abs((row["start_at"] - datetime(2026, 1, 1, 0, 1, tzinfo=UTC)).total_seconds()) < 0.1
    assert row["duration_s"] == pytest.approx(1.5, abs=0.15)
    assert 0.04 < row["peak_g"] < 0.09
    assert row["area_g_s"] > 0


def test_auto_calibration_recovers_gain_and_offset_when_the_sphere_is_covered():
    night = simulate_night(4, SimConfig(postures="sphere", noise_g=0.003))  # 8 h
    cal = estimate_calibration([night.xyz["left"]], night.fs)
    assert cal.applied, cal.status
    # measured = gain * a + offset; (measured + offset_g) * scale = a needs
    # offset_g = -offset and scale = 1 / gain
    gain, offset = night.gains["left"], night.offsets["left"]
    assert np.allclose(cal.scale, 1 / gain, atol=0.003)
    assert np.allclose(cal.offset_g, -offset, atol=0.003)
    assert cal.error_after_g < 0.003 < cal.error_before_g
    det = detections(night)
    assert det.calibration_used == cal and det.calibration_estimate == cal
    lying = estimate_calibration([simulate_night(4, SimConfig(duration_s=3600)).xyz["left"]], 50)
    assert not lying.applied and "sphere" in lying.status


def test_nonwear_and_clipping_are_flagged():
    fs = 25.0
    rng = np.random.default_rng(3)
    worn = simulate_night(6, SimConfig(fs=fs, duration_s=3 * 3600.0)).xyz["left"]
    off = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.002, (int(3 * 3600 * fs), 3))
    x = np.concatenate([worn, np.round(off * 256) / 256])
    x[1000:1100, 0] = 8.0  # 4 s stuck at the top of a +/-8 g range
    det = detect_movements(x, fs, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    blocks = det.blocks.with_columns(hour=pl.int_range(pl.len()) * 7.5 / 60)  # block start
    assert not blocks.filter(pl.col("hour") < 2.5)["is_nonwear"].any()
    assert blocks.filter((pl.col("hour") >= 3.5) & (pl.col("hour") < 5.5))["is_nonwear"].all()
    assert det.blocks["clipped_samples"].sum() == 100
    assert det.blocks["clipped_samples"][0] == 100


def test_bilateral_nights_score_like_the_truth():
    night = simulate_night(11, SimConfig(duration_s=FOUR_HOURS, two_legs=True))
    truth = score_movements(night.truth_movements("left"), night.truth_movements("right"))
    found = score_movements(
        detections(night, "left").movements, detections(night, "right").movements
    )
    assert (truth["side"] == "bilateral").sum() > 20
    m = match_events(
        seconds_since(night.start_at, truth["start_at"]),
        seconds_since(night.start_at, truth["end_at"]),
        seconds_since(night.start_at, found["start_at"]),
        seconds_since(night.start_at, found["end_at"]),
    )
    assert m.sensitivity >= 0.95 and m.precision >= 0.95
    assert (
        abs(found["in_series"].sum() - truth["in_series"].sum()) <= 0.05 * truth["in_series"].sum()
    )
    assert (found["side"] == "bilateral").sum() == pytest.approx(
        (truth["side"] == "bilateral").sum(), rel=0.05
    )


def test_a_long_stream_is_processed_in_bounded_memory():
    fs, hours, chunk = 100.0, 6, 60_000  # 2.16 M samples per axis, 52 MB as float64
    rng = np.random.default_rng(9)

    def stream():
        for _ in range(int(hours * 3600 * fs) // chunk):
            yield np.array([0.0, 0.6, 0.8]) + rng.normal(0, 0.004, (chunk, 3))

    tracemalloc.start()
    det = detect_movements_chunked(stream(), fs, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert det.n_samples == int(hours * 3600 * fs)
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB"


def test_bad_input_is_rejected():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    x = np.zeros((1000, 3))
    with pytest.raises(ValueError, match="10"):
        detect_movements(x, 5.0, start_at=start)
    with pytest.raises(ValueError, match="timezone"):
        detect_movements(x, 50.0, start_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        detect_movements(np.zeros((1000, 2)), 50.0, start_at=start)
    bad = np.tile([0.0, 0.0, 1.0], (50_000, 1))
    bad[30_000, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        detect_movements(bad, 50.0, start_at=start, calibrate=False)
    empty = detect_movements(np.empty((0, 3)), 50.0, start_at=start)
    assert empty.movements.height == 0 and empty.blocks.height == 0
    assert empty.thresholds()["onset_threshold_g"] is None


def test_detection_reports_its_settings_and_calibration():
    night = simulate_night(0, SimConfig(duration_s=1800.0))
    det = detections(night, params=DetectionParams(onset_k=7.0))
    assert det.params.as_dict()["onset_k"] == 7.0
    assert isinstance(det.calibration_used, Calibration)
    assert set(det.calibration_used.as_dict()) >= {"offset_g", "scale", "applied", "status"}
    assert det.start_at == night.start_at
    assert det.blocks["block_start_at"][1] - det.blocks["block_start_at"][0] == timedelta(
        seconds=450
    )
