"""Benchmark: leg-movement scoring of an 8-hour 50 Hz night, speed and accuracy.

Speed (ratios measured in the same run, runs interleaved, median of ``--repeats``):

* restless: ``detect_movements`` (calibration pass + detection) + ``score_movements`` +
  ``night_indices`` on decoded samples;
* baseline (a): a straightforward pandas implementation of the same rules (rolling
  one-sided gravity means per axis, rolling envelope, per-block median/MAD floor, a Python
  loop over the rows for the hysteresis and over the movements for the series), written
  below; its movements are matched against restless's to show it computes the same thing;
* baseline (b): one vectorised numpy pass over the same samples computing only the vector
  magnitude and its rolling (1 s) mean, the least any detector must do.

Accuracy: event-level sensitivity and precision and the PLMS-count error against the
simulator's planted movements (tests/plm_simulator.py), over many seeds and noise levels.

    python bench/bench_plm_scoring.py [--repeats 5] [--seeds 10] [--parts ...]

``--parts`` picks from speed, accuracy, bilateral (default: all three), sweep (the
onset/offset-threshold grid behind plm_params ONSET_K/OFFSET_K) and week (a synthetic week
at 100 Hz streamed through the chunked detector: time and peak RSS; run it alone so the RSS
is its own).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restless.models import plm_params as P
from restless.models.legs import (
    DetectionParams,
    detect_movements,
    detect_movements_chunked,
    night_indices,
    score_movements,
)
from tests.plm_simulator import (
    KINDS_LM,
    SimConfig,
    match_events,
    seconds_since,
    simulate_night,
)

# --- the three contenders ----------------------------------------------------------------


def restless_scoring(xyz: np.ndarray, fs: float, start_at: datetime) -> pl.DataFrame:
    """The product path: detection, WASM rules, the night's indices."""
    det = detect_movements(xyz, fs, start_at=start_at)
    scored = score_movements(det.movements)
    end = start_at + timedelta(seconds=xyz.shape[0] / fs)
    night_indices(scored, start_at, end, blocks=det.blocks)
    return scored


def numpy_pass(xyz: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Vector magnitude and its centred 1-s rolling mean, vectorised."""
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    mag = np.sqrt(x * x + y * y + z * z)
    w = round(fs)
    c = np.concatenate(([0.0], np.cumsum(mag)))
    return mag, (c[w:] - c[:-w]) / w


def pandas_scoring(xyz: np.ndarray, fs: float, start_at: datetime) -> pd.DataFrame:
    """The same rules written the straightforward way with pandas."""
    df = pd.DataFrame(xyz, columns=["x", "y", "z"])
    w = round(P.HIGHPASS_WINDOW_S * fs)
    half = round((P.ENVELOPE_WINDOW_S * fs - 1) / 2)
    past_power = pd.Series(0.0, index=df.index)
    future_power = pd.Series(0.0, index=df.index)
    for axis in "xyz":
        col = df[axis]
        past = col.rolling(w, min_periods=1).mean().shift(1).bfill()
        future = col[::-1].rolling(w, min_periods=1).mean()[::-1].shift(-1).ffill()
        past_power += (col - past) ** 2
        future_power += (col - future) ** 2
    power = np.minimum(past_power, future_power)
    env = np.sqrt(power.rolling(2 * half + 1, center=True, min_periods=1).mean())
    block = round(P.NOISE_BLOCK_S * fs)
    floors = []
    for _, values in env.groupby(env.index // block):
        z = values.iloc[:: round(P.NOISE_SAMPLE_S * fs)]
        mu = z.median()
        sd = (z - mu).abs().median() * P.MAD_TO_SD
        for _ in range(P.NOISE_CLIP_ITERATIONS):
            kept = z[z <= mu + P.NOISE_CLIP_K * sd]
            mu = kept.median()
            sd = (kept - mu).abs().median() * P.MAD_TO_SD
        floors.append((mu, max(sd, P.NOISE_MIN_G)))
    floor = pd.DataFrame(floors, columns=["mu", "sd"])
    smooth = floor.rolling(P.NOISE_SMOOTH_BLOCKS, center=True, min_periods=1).median()
    blocks = env.index // block
    onset_thr = (smooth["mu"] + P.ONSET_K * smooth["sd"]).to_numpy()[blocks]
    offset_thr = (smooth["mu"] + P.OFFSET_K * smooth["sd"]).to_numpy()[blocks]
    quiet = int(np.ceil(P.OFFSET_QUIET_S * fs))
    events = []
    onset, last_above, below = None, None, 0
    for i, (value, on, off) in enumerate(zip(env, onset_thr, offset_thr, strict=True)):
        if onset is None:
            if value > on:
                onset, last_above, below = i, i, 0
            continue
        if value > off:
            last_above, below = i, 0
        else:
            below += 1
            if below >= quiet:
                events.append((onset, last_above + 1))
                onset = None
    if onset is not None:
        events.append((onset, last_above + 1))
    lm = pd.DataFrame(events, columns=["onset", "end"])
    lm = lm[(lm["end"] - lm["onset"]) >= np.ceil(P.LM_MIN_S * fs)].reset_index(drop=True)
    lm["start_s"] = lm["onset"] / fs
    lm["duration_s"] = (lm["end"] - lm["onset"]) / fs
    lm["is_clm"] = lm["duration_s"] <= P.CLM_MAX_MONOLATERAL_S
    lm["in_series"] = False
    run: list[int] = []
    for i, row in lm.iterrows():
        linked = (
            run
            and row["is_clm"]
            and lm.at[run[-1], "is_clm"]
            and run[-1] == i - 1
            and P.IMI_MIN_S["wasm2016"] <= row["start_s"] - lm.at[i - 1, "start_s"] <= P.IMI_MAX_S
        )
        if not linked:
            if len(run) >= P.PLM_MIN_SERIES:
                lm.loc[run, "in_series"] = True
            run = [i] if row["is_clm"] else []
        else:
            run.append(i)
    if len(run) >= P.PLM_MIN_SERIES:
        lm.loc[run, "in_series"] = True
    return lm


# --- timing ------------------------------------------------------------------------------


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def speed(repeats: int) -> None:
    night = simulate_night(0, SimConfig())
    xyz, fs, start = night.xyz["left"], night.fs, night.start_at
    ours = restless_scoring(xyz, fs, start)
    theirs = pandas_scoring(xyz, fs, start)
    agree = match_events(
        theirs["start_s"].to_numpy(),
        (theirs["start_s"] + theirs["duration_s"]).to_numpy(),
        seconds_since(start, ours["start_at"]),
        seconds_since(start, ours["end_at"]),
    )
    numpy_pass(xyz, fs)
    t_ours, t_numpy, t_pandas = [], [], []
    for r in range(repeats):  # interleaved, so machine load hits all three alike
        t_ours.append(median_time(lambda: restless_scoring(xyz, fs, start), 3))
        t_numpy.append(median_time(lambda: numpy_pass(xyz, fs), 3))
        if r < max(2, repeats // 2):
            t_pandas.append(median_time(lambda: pandas_scoring(xyz, fs, start), 1))
    ours_s, numpy_s, pandas_s = (statistics.median(t) for t in (t_ours, t_numpy, t_pandas))
    n = xyz.shape[0]
    print(f"## Speed: one 8-hour 50 Hz night ({n:,} samples x 3 axes)\n")
    print("| what | median (ms) | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| restless scoring (detect + rules + indices) | {ours_s * 1e3:.1f} | 1.00x |")
    print(f"| (a) pandas, same rules | {pandas_s * 1e3:.0f} | {pandas_s / ours_s:.1f}x slower |")
    print(
        f"| (b) numpy magnitude + rolling mean only | {numpy_s * 1e3:.1f} | "
        f"restless = {ours_s / numpy_s:.2f}x of it |"
    )
    print(f"\nnights per minute (restless): {60 / ours_s:,.0f}")
    print(
        f"pandas vs restless movements: {theirs.shape[0]} vs {ours.height}, matched "
        f"{agree.true_positives} (onset within 0.5 s); PLMs {int(theirs['in_series'].sum())}"
        f" vs {int(ours['in_series'].sum())}\n"
    )


# --- accuracy ----------------------------------------------------------------------------


def accuracy_row(night, params: DetectionParams | None = None) -> dict[str, float]:
    det = detect_movements(night.xyz["left"], night.fs, start_at=night.start_at, params=params)
    planted = night.events.filter((pl.col("side") == "left") & pl.col("kind").is_in(KINDS_LM))
    m = match_events(
        planted["onset_s"].to_numpy(),
        planted["end_s"].to_numpy(),
        seconds_since(night.start_at, det.movements["start_at"]),
        seconds_since(night.start_at, det.movements["end_at"]),
    )
    truth = int(score_movements(night.truth_movements("left"))["in_series"].sum())
    found = int(score_movements(det.movements)["in_series"].sum())
    onsets = seconds_since(night.start_at, det.movements["start_at"])
    long_by = []  # duration error of each planted series movement, found within 0.5 s
    for onset, end in planted.filter(pl.col("kind") == "series").select("onset_s", "end_s").rows():
        hit = np.flatnonzero(np.abs(onsets - onset) <= 0.5)
        if hit.size:
            long_by.append(det.movements["duration_s"][int(hit[0])] - (end - onset))
    return {
        "sensitivity": m.sensitivity,
        "precision": m.precision,
        "plms_error": (found - truth) / truth if truth else 0.0,
        "n_true": m.n_true,
        "plms_true": truth,
        "duration_off": float(np.mean(np.abs(long_by) > 0.2)) if long_by else 0.0,
    }


def accuracy(seeds: int, levels: tuple[float, ...]) -> None:
    print(f"## Accuracy: {seeds} simulated 8-hour 50 Hz nights per noise level (one ankle)\n")
    print(
        "| sensor noise SD per axis | movements planted (mean) | sensitivity mean (min) "
        "| precision mean (min) | PLMS count error mean abs (max abs) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    for noise in levels:
        rows = [
            accuracy_row(simulate_night(100 + s, SimConfig(noise_g=noise))) for s in range(seeds)
        ]
        se = [r["sensitivity"] for r in rows]
        pr = [r["precision"] for r in rows]
        er = [abs(r["plms_error"]) for r in rows]
        print(
            f"| {noise * 1000:.0f} mg | {statistics.mean(r['n_true'] for r in rows):.0f} "
            f"| {statistics.mean(se):.3f} ({min(se):.3f}) | {statistics.mean(pr):.3f} "
            f"({min(pr):.3f}) | {statistics.mean(er) * 100:.2f} % ({max(er) * 100:.2f} %) |"
        )
    print()


def bilateral(seeds: int) -> None:
    print(f"## Two ankles: {seeds} nights at 5 mg, bilateral merge on detected movements\n")
    print(
        "| seed | movements (truth) | bilateral (truth / found) | PLMS (truth / found) "
        "| sensitivity | precision |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in range(seeds):
        night = simulate_night(200 + s, SimConfig(two_legs=True))
        found = score_movements(
            *(
                detect_movements(night.xyz[side], night.fs, start_at=night.start_at).movements
                for side in ("left", "right")
            )
        )
        truth = score_movements(night.truth_movements("left"), night.truth_movements("right"))
        m = match_events(
            seconds_since(night.start_at, truth["start_at"]),
            seconds_since(night.start_at, truth["end_at"]),
            seconds_since(night.start_at, found["start_at"]),
            seconds_since(night.start_at, found["end_at"]),
        )
        print(
            f"| {200 + s} | {truth.height} | {(truth['side'] == 'bilateral').sum()} / "
            f"{(found['side'] == 'bilateral').sum()} | {truth['in_series'].sum()} / "
            f"{found['in_series'].sum()} | {m.sensitivity:.3f} | {m.precision:.3f} |"
        )
    print()


def sweep(seeds: int) -> None:
    levels = (0.005, 0.01, 0.015, 0.02)
    print(
        f"## Threshold sweep: worst of {seeds} 4-hour nights: sensitivity / precision / "
        "|PLMS error| / share of series movements whose duration is off by > 0.2 s\n"
    )
    print("| onset_k, offset_k | " + " | ".join(f"{n * 1000:.0f} mg" for n in levels) + " |")
    print("| --- |" + " ---: |" * len(levels))
    nights = {
        (s, n): simulate_night(300 + s, SimConfig(noise_g=n, duration_s=4 * 3600.0))
        for s in range(seeds)
        for n in levels
    }
    for k_on, k_off in ((8, 2), (8, 3), (8, 4), (6, 3), (6, 4)):
        params = DetectionParams(onset_k=k_on, offset_k=k_off)
        cells = []
        for n in levels:
            rows = [accuracy_row(nights[(s, n)], params) for s in range(seeds)]
            cells.append(
                f"{min(r['sensitivity'] for r in rows):.3f} / "
                f"{min(r['precision'] for r in rows):.3f} / "
                f"{max(abs(r['plms_error']) for r in rows) * 100:.1f} % / "
                f"{max(r['duration_off'] for r in rows) * 100:.1f} %"
            )
        print(f"| {k_on}, {k_off} | " + " | ".join(cells) + " |")
    print()


def week() -> None:
    fs, chunk = 100.0, 360_000  # one hour per chunk
    hours = 7 * 24
    rng = np.random.default_rng(1)
    gravity = np.array([0.0, 0.6, 0.8])

    def stream():
        for _ in range(hours):
            x = gravity + rng.normal(0, 0.004, (chunk, 3)).astype(np.float32)
            for onset in rng.integers(0, chunk - 300, size=60):  # 60 one-second bursts/h
                x[onset : onset + 100, 0] += 0.08 * np.sin(np.arange(100) * 0.19)
            yield x

    t = time.perf_counter()
    det = detect_movements_chunked(stream(), fs, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    elapsed = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("## A week at 100 Hz, streamed in one-hour chunks (float32)\n")
    print(
        f"samples: {det.n_samples:,} per axis ({3 * det.n_samples:,} in all); movements: "
        f"{det.movements.height:,} (10,080 bursts planted); wall time including generating "
        f"the data: {elapsed:.1f} s; peak RSS of the process: {rss:.0f} MB\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--parts", default="speed,accuracy,bilateral")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if "speed" in parts:
        speed(args.repeats)
    if "accuracy" in parts:
        accuracy(args.seeds, (0.002, 0.005, 0.01, 0.015, 0.02))
    if "bilateral" in parts:
        bilateral(max(3, args.seeds // 3))
    if "sweep" in parts:
        sweep(max(3, args.seeds // 2))
    if "week" in parts:
        week()


if __name__ == "__main__":
    main()
