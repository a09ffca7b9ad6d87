"""Benchmark: the cost of the auto-calibration pass (and of keeping raw Parquet) on a week.

A synthetic week at 100 Hz (60,480,000 samples per axis) is "decoded" hour by hour, as in
``bench_plm_scoring.py --parts week``: each ``chunks()`` call regenerates the samples
(gravity on one of the six faces per hour with +0.05 g offset on x and gain 1.03 on z,
4 mg noise, 60 one-second bursts per hour), so every pass over the recording pays a
generation cost comparable to decoding a file. Measured in one process, interleaved:

* ``decode``: one pass that only generates the samples (the decoding cost alone);
* ``score``: :func:`restless.flows.raw_scoring.raw_tables` on the decoded samples (the flow
  before issue #4: one pass);
* ``calibrate + score``: :func:`restless.flows.raw_calibration.calibrate_raw` (first pass)
  then ``raw_tables`` on the lazily calibrated recording (the flow now);
* the first pass alone, and with the raw Parquet copy fed from it (``keep_raw_parquet``).

The pass timings run on the whole week; the whole scoring (which also scores sleep) on
``--score-days`` (default one day) to keep the run short.

The real CWA decoder's throughput on the bundled ``.cwa`` files is printed too, to convert
the extra pass into seconds for a real week of files.

    python bench/bench_raw_calibration.py [--repeats 3] [--days 7] [--score-days 1]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restless.flows.raw_calibration import calibrate_raw
from restless.flows.raw_options import RawParquet
from restless.flows.raw_scoring import raw_tables
from restless.ingest.base import RawAcceleration

FS = 100.0
HOUR = 360_000
FACES = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0.6, 0.8], [0, -0.6, -0.8]], dtype=float
)
REAL_CWA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "wearables"


def week(days: float) -> RawAcceleration:
    hours = round(days * 24)

    def chunks():
        rng = np.random.default_rng(1)
        for h in range(hours):
            g = FACES[h % len(FACES)]
            x = (g + rng.normal(0, 0.004, (HOUR, 3))).astype(np.float32)
            for onset in rng.integers(0, HOUR - 300, size=60):
                x[onset : onset + 100, 0] += 0.08 * np.sin(np.arange(100) * 0.19)
            x[:, 0] += 0.05
            x[:, 2] *= 1.03
            yield x

    return RawAcceleration(
        fs=FS,
        start_at=datetime(2026, 1, 1, tzinfo=UTC),
        chunks=chunks,
        device="synthetic week",
        range_g=8.0,
        n_samples=hours * HOUR,
    )


def run_decode(raw: RawAcceleration) -> None:
    for _ in raw.chunks():
        pass


def run_score(raw: RawAcceleration) -> None:
    raw_tables(raw, "left", time_zone="UTC")


def run_calibrated(raw: RawAcceleration) -> None:
    fixed, cal, _ = calibrate_raw(raw)
    assert cal.applied, cal.status
    raw_tables(fixed, "left", time_zone="UTC")


def cwa_throughput() -> str:
    from restless.ingest.base import ReadContext
    from restless.ingest.raw import cwa

    files = sorted((REAL_CWA / "axivity_cwa").glob("*.cwa"))
    n, t = 0, 0.0
    for path in files:
        result = cwa.read(path, ReadContext("p1", "UTC"))
        t0 = time.perf_counter()
        for _ in range(3):
            n += sum(len(c) for c in result.raw.chunks())
        t += time.perf_counter() - t0
    if not n:
        return "no CWA samples found"
    rate = n / t
    return (
        f"CWA decoder on the {len(files)} bundled files: {rate / 1e6:.2f} M samples/s, so one"
        f" extra pass over a week at 100 Hz (60.5 M samples) decodes in about"
        f" {60_480_000 / rate:.0f} s"
    )


def first_pass_only(raw: RawAcceleration) -> None:
    _, cal, _ = calibrate_raw(raw)
    assert cal.applied, cal.status


def first_pass_parquet(raw: RawAcceleration) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kept = RawParquet(Path(tmp), "p1", "bench", raw)
        calibrate_raw(raw, sink=kept)
        first_pass_parquet.size_mb = kept.commit().stat().st_size / 1e6


def timed(runs: dict, raw: RawAcceleration, repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved, so machine load hits all alike
        for name, fn in runs.items():
            t = time.perf_counter()
            fn(raw)
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def table(med: dict[str, float], base: str) -> None:
    print("| what | median (s) | ratio |")
    print("| --- | ---: | ---: |")
    for name, value in med.items():
        print(f"| {name} | {value:.1f} | {value / med[base]:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--days", type=float, default=7.0, help="length for the pass timings")
    ap.add_argument(
        "--score-days", type=float, default=1.0, help="length for the whole-scoring timings"
    )
    args = ap.parse_args()
    raw = week(args.days)
    print(f"## Passes over {args.days:g} days at 100 Hz ({raw.n_samples:,} samples per axis)\n")
    med = timed(
        {
            "decode only (one pass)": run_decode,
            "calibration first pass (decode + still windows + fit)": first_pass_only,
            "first pass feeding the raw Parquet copy": first_pass_parquet,
        },
        raw,
        args.repeats,
    )
    table(med, "decode only (one pass)")
    print(f"\nraw Parquet: {first_pass_parquet.size_mb:.0f} MB (zstd)\n")
    day = week(args.score_days)
    print(f"## Whole raw scoring, {args.score_days:g} day(s) ({day.n_samples:,} samples)\n")
    med = timed(
        {
            "score (one pass, before #4)": run_score,
            "calibrate + score (two passes)": run_calibrated,
        },
        day,
        args.repeats,
    )
    table(med, "score (one pass, before #4)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the process: {rss:.0f} MB; repeats: {args.repeats}")
    print(cwa_throughput())


if __name__ == "__main__":
    main()
