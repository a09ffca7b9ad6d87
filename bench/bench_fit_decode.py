"""Decode speed of the two FIT backends on the shared real files, measured in one run.

Why: DESIGN.md makes garmin-fit-sdk the default backend partly for speed; this checks
the claim on the same files, same process, same run (the ratio is what matters, not
the absolute numbers).

For every real FIT file whose framing is trustworthy (not rejected, no
compressed-timestamp headers, which the SDK cannot decode), each backend decodes the
trusted bytes ``--repeats`` times, interleaved; the best time per file and backend
counts. Also timed: the whole reader (framing + decode + canonical frames).

    python bench/bench_fit_decode.py [--repeats 5] [--dir ../shared/data/real/wearables/fit]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from restless.ingest.base import NothingToLoad, ReadContext, RejectedFile
from restless.ingest.fit import BACKENDS, read
from restless.ingest.fit.framing import scan

DEFAULT_DIR = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "wearables" / "fit"
)


def _timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _read_quietly(path: Path, backend: str) -> None:
    with contextlib.suppress(RejectedFile, NothingToLoad):
        read(path, ReadContext(participant_id="bench", timezone="UTC", fit_backend=backend))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()

    files = sorted(args.dir.glob("*.fit"))
    if not files:
        raise SystemExit(f"no FIT files in {args.dir}")
    decode_s = dict.fromkeys(BACKENDS, 0.0)
    read_s = dict.fromkeys(BACKENDS, 0.0)
    messages = 0
    used, left_out = 0, []
    for path in files:
        data = path.read_bytes()
        try:
            framing = scan(data)
        except RejectedFile as error:
            left_out.append(f"{path.name} (rejected: {error})")
            continue
        if framing.compressed_timestamp_at is not None:
            left_out.append(f"{path.name} (compressed timestamps: the SDK cannot decode them)")
            continue
        trusted = data[: framing.trusted_end]
        counts = {len(BACKENDS[b].decode(trusted)[0]) for b in BACKENDS}
        if counts != {framing.data_records}:
            raise SystemExit(
                f"{path.name}: backends decoded {counts} messages, expected {framing.data_records}"
            )
        messages += framing.data_records
        used += 1
        best_decode = dict.fromkeys(BACKENDS, float("inf"))
        best_read = dict.fromkeys(BACKENDS, float("inf"))
        for _ in range(args.repeats):  # interleaved, so drift hits both backends alike
            for name, module in BACKENDS.items():
                best_decode[name] = min(best_decode[name], _timed(module.decode, trusted))
                best_read[name] = min(best_read[name], _timed(_read_quietly, path, name))
        for name in BACKENDS:
            decode_s[name] += best_decode[name]
            read_s[name] += best_read[name]

    print(f"{used} files, {messages} data messages, best of {args.repeats} repeats per file")
    for name in BACKENDS:
        print(
            f"{name:9s} decode {decode_s[name]:7.3f} s  {messages / decode_s[name]:9.0f} msg/s   "
            f"whole reader {read_s[name]:7.3f} s  {messages / read_s[name]:9.0f} msg/s"
        )
    print(
        f"ratio sdk/fitparse (throughput): decode {decode_s['fitparse'] / decode_s['sdk']:.2f}x, "
        f"whole reader {read_s['fitparse'] / read_s['sdk']:.2f}x"
    )
    for line in left_out:
        print(f"left out: {line}")


if __name__ == "__main__":
    main()
