"""End-to-end benchmark: `restless run` on the demo inbox, against a baseline of the same run.

Baseline (measured in the same process, same machine state): every demo file read by its
reader, with nothing else (no validation, no Prefect, no DuckDB). Then the real thing,
as a user runs it: `restless run` in a fresh process (first run: everything new), and the
re-run on the same inbox (everything already loaded). Ratios are what to compare across
machines; the shared CI machines are too noisy for absolute seconds.

    python bench/bench_run_demo.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restless.flows.demo import prepare_demo
from restless.ingest.base import ReadContext
from restless.ingest.registry import detect_format


def read_everything(inbox: Path, timezone: str) -> int:
    """The baseline: every file through its reader only. Returns rows read."""
    rows = 0
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        fmt = detect_format(path)
        if fmt is None:
            continue
        ctx = ReadContext(participant_id=path.relative_to(inbox).parts[0], timezone=timezone)
        result = fmt.read(path, ctx)
        rows += sum(frame.height for frame in result.tables.values())
    return rows


def timed_cli(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "restless.flows.cli", *args],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="restless-bench-") as tmp:
        root = Path(tmp)
        info, config = prepare_demo(root / "demo")
        files = sum(1 for p in info.inbox.rglob("*") if p.is_file())
        baseline, first, rerun = [], [], []
        for i in range(args.repeats):
            started = time.perf_counter()
            rows = read_everything(info.inbox, info.timezone)
            baseline.append(time.perf_counter() - started)
            db = root / f"w{i}.duckdb"
            common = ["--inbox", str(info.inbox), "--warehouse", str(db), "--config", str(config)]
            first.append(timed_cli(["run", *common]))
            rerun.append(timed_cli(["run", *common]))
        base = statistics.median(baseline)
        print(f"demo inbox: {files} files, {rows} canonical rows; median of {args.repeats} runs")
        print(f"baseline, readers only (in-process):     {base:6.2f} s  = 1.00x")
        for label, values in (
            ("restless run, first (new process):", first),
            ("restless run, re-run (no-op):      ", rerun),
        ):
            med = statistics.median(values)
            print(f"{label}      {med:6.2f} s  = {med / base:.2f}x baseline")


if __name__ == "__main__":
    main()
