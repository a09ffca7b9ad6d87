"""Peak memory of reading a long ActiGraph .gt3x: streaming decoder vs pygt3x's whole file.

Synthesises a 100 Hz ``.gt3x`` (one ACTIVITY2 record per second, written hour by hour into
the zip, so writing it holds one hour), then measures, each in a fresh process:

- ``stream``: ``gt3x.read`` + every chunk the flow would stream (the parent) and the
  isolated decoder child, on the long file; peak RSS = parent ru_maxrss + child
  ru_maxrss (RUSAGE_CHILDREN), an upper bound since they need not peak together;
- ``stream`` on the short file, to show the peak does not grow with the recording;
- ``pygt3x``: the former decode step (pygt3x's whole recording put on the grid) on the
  short file and one twice as long, extrapolated along that line to the long recording
  (running it on a week needs more memory than a shared machine should spend);
- ``numpy``: allocating the week's float32 (n, 3) grid alone.

    python bench/bench_gt3x_memory.py --days 7 --baseline-hours 6 [--append]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FS = 100
T0 = 1_700_000_000


def write_week(path: Path, seconds: int) -> int:
    """A .gt3x of ``seconds`` ACTIVITY2 records at 100 Hz; returns log.bin's size."""
    sys.path.insert(0, str(ROOT))
    from tests.test_gt3x_streaming import activity2_log, info_txt, movement

    size = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("info.txt", info_txt(FS))
        with zf.open("log.bin", "w", force_zip64=True) as log:
            for hour, lo in enumerate(range(0, seconds, 3600)):
                n = min(3600, seconds - lo)
                block = activity2_log(T0 + lo, movement(n * FS, seed=hour), FS)
                log.write(block)
                size += len(block)
    return size


def peak_mb() -> float:
    """This process's peak resident set (VmHWM), in MB.

    Not ``ru_maxrss``: Linux carries a process's maximum over ``exec`` (and a forked child
    starts from its parent's), so every fresh process would report at least the bench's
    own peak; VmHWM belongs to the process's own address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_with_peak(path: str, out: str) -> dict:
    """The reader's child-process decoder, reporting the child's own peak RSS."""
    from restless.ingest.raw import gt3x

    meta = gt3x.decode_gt3x(path, out)
    return {**meta, "child_peak_mb": peak_mb()}


def measure(mode: str, path: str) -> dict:
    """Run in a fresh process: one way of reading ``path``; its peak RSS (and its child's)."""
    start = time.perf_counter()
    out: dict = {"mode": mode}
    if mode == "stream":
        import bench_gt3x_memory as me  # importable by name in the decoder child

        from restless.ingest.base import ReadContext
        from restless.ingest.raw import gt3x

        gt3x.decode_gt3x = me.decode_with_peak  # same decoder, plus its peak in the meta
        result = gt3x.read(Path(path), ReadContext(participant_id="p", timezone="UTC"))
        n, total = 0, 0.0
        for chunk in result.raw.chunks():
            n += len(chunk)
            total += float(chunk[:, 2].sum())
        out.update(
            n_samples=n,
            error=result.error,
            child_mb=round(result.raw.chunks.__self__.meta["child_peak_mb"]),
        )
    elif mode == "pygt3x":
        sys.path.insert(0, str(ROOT))
        from tests.test_gt3x_streaming import pygt3x_grid

        grid, _ = pygt3x_grid(Path(path))
        out.update(n_samples=len(grid))
    elif mode == "imports":
        import pygt3x.reader  # noqa: F401

        from restless.ingest.raw import gt3x

        out.update(n_samples=0)
    elif mode == "numpy":
        n = int(path)
        grid = np.ones((n, 3), dtype=np.float32)  # touch every page
        out.update(n_samples=len(grid))
    out.setdefault("child_mb", 0)
    out.update(seconds=round(time.perf_counter() - start, 1), parent_mb=round(peak_mb()))
    return out


def run(mode: str, arg: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", mode, arg],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--baseline-hours", type=float, default=6.0)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    long_s, short_s = int(args.days * 86400), int(args.baseline_hours * 3600)
    with tempfile.TemporaryDirectory(prefix="bench-gt3x-") as tmp:
        long_path, short_path = Path(tmp, "long.gt3x"), Path(tmp, "short.gt3x")
        double_path = Path(tmp, "double.gt3x")
        t = time.perf_counter()
        long_log = write_week(long_path, long_s)
        write_week(short_path, short_s)
        write_week(double_path, 2 * short_s)
        print(f"synthesised in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        rows = {
            "stream_long": run("stream", str(long_path)),
            "stream_short": run("stream", str(short_path)),
            "pygt3x_short": run("pygt3x", str(short_path)),
            "pygt3x_double": run("pygt3x", str(double_path)),
            "imports": run("imports", "-"),
            "numpy_long": run("numpy", str(long_s * FS)),
        }
        zip_mb = long_path.stat().st_size / 2**20
    for row in rows.values():
        row["peak_mb"] = row["parent_mb"] + row["child_mb"]
    # pygt3x's peak is linear in the recording: the line through the two short files
    p1, p2 = rows["pygt3x_short"]["peak_mb"], rows["pygt3x_double"]["peak_mb"]
    per_hour = (p2 - p1) / (short_s / 3600)
    pygt3x_long = p1 + per_hour * (long_s - short_s) / 3600
    stream = rows["stream_long"]["peak_mb"]
    assert rows["stream_long"]["n_samples"] == long_s * FS
    lines = [
        f"- synthetic .gt3x: {args.days:g} days at {FS} Hz, {long_s * FS:,} samples per axis, "
        f"log.bin {long_log / 2**20:.0f} MB (zip {zip_mb:.0f} MB, deflate level 1)",
        f"- streaming decoder, {args.days:g} days: peak RSS {stream} MB "
        f"(parent {rows['stream_long']['parent_mb']} MB + decoder child "
        f"{rows['stream_long']['child_mb']} MB), {rows['stream_long']['seconds']} s",
        f"- streaming decoder, {args.baseline_hours:g} h: peak RSS "
        f"{rows['stream_short']['peak_mb']} MB, {rows['stream_short']['seconds']} s",
        f"- pygt3x whole file on the grid (the former decode step), {args.baseline_hours:g} h "
        f"/ {2 * args.baseline_hours:g} h: peak RSS {p1} / {p2} MB "
        f"({rows['pygt3x_short']['seconds']} / {rows['pygt3x_double']['seconds']} s), "
        f"{per_hour:.0f} MB per hour; extrapolated linearly to {args.days:g} days: "
        f"~{pygt3x_long / 1024:.1f} GB",
        f"- imports alone (restless gt3x reader + pygt3x): {rows['imports']['parent_mb']} MB",
        f"- numpy float32 (n, 3) grid of the {args.days:g} days alone: "
        f"{rows['numpy_long']['peak_mb']} MB",
        f"- ratio: streaming / extrapolated pygt3x = {stream / pygt3x_long:.3f}; "
        f"streaming / numpy grid = {stream / rows['numpy_long']['peak_mb']:.2f}",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        command = (
            f"python bench/bench_gt3x_memory.py --days {args.days:g} "
            f"--baseline-hours {args.baseline_hours:g} --append"
        )
        notes = (
            "Peak RSS is each process's own VmHWM (/proc/self/status): the reading process "
            "(gt3x.read, then every chunk the flow would stream) and the isolated decoder "
            "child, which reports its own; summed, an upper bound on the two at once. "
            "ru_maxrss was not used because Linux carries it across fork + exec, so every "
            "measured process would report at least the bench's own peak. The streaming "
            "decoder keeps one 1 MB read of log.bin and at most 262,144 buffered samples; "
            "the parent reads the .npy with plain reads, not a memory map (mapped pages "
            "stay resident once touched). Samples are checked against pygt3x in "
            "tests/test_gt3x_streaming.py, not here."
        )
        section = (
            "\n\n## ActiGraph .gt3x in bounded memory (issue #4)\n\n"
            f"`{command}` (Linux x86_64, 2 shared vCPUs)\n\n{text}\n\n{notes}\n"
        )
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write(section)


if __name__ == "__main__":
    main()
