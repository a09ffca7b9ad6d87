"""Peak memory and throughput of the Apple Health reader on generated multi-GB exports.

Real exports reach several GB, so the reader must stream (DESIGN section 7, issue 3:
a 1 GB export under 500 MB peak RSS). This benchmark writes synthetic ``export.xml``
files of the requested sizes to a temporary folder (streamed to disk, never built in
memory), then reads each in a fresh child process and reports the child's peak RSS
(``ru_maxrss`` from ``os.wait4``) against a baseline child measured in the same run that
only imports polars and the reader, plus the read throughput.

The generated file looks like a real one: Apple's DTD subset, a ``Me`` element, records
grouped by type as Apple writes them, mostly types restless skips (active and basal
energy, distance) around the ones it reads: watch heart rate every 5 minutes with
metadata, watch and phone steps, a staged night per day beside the phone's bedtime
window, and six logged foods a day as food correlations plus their top-level copies.

Run from the repository root with the venv active::

    python bench/bench_apple_health_memory.py --sizes 0.25,1.0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

WATCH = "Bench’s Apple Watch"
WATCH_DEVICE = (
    "&lt;&lt;HKDevice: 0x280c7a4e0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:9.0&gt;"
)
PHONE = "Bench’s iPhone"
PHONE_DEVICE = (
    "&lt;&lt;HKDevice: 0x280c7a5a0&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone13,2, software:16.0&gt;"
)
FOOD_APP = "Lose It!"
DAY_S = 86_400
START_EPOCH = 1_577_854_800  # 2020-01-01 00:00:00 -0500

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED
  sourceName CDATA #REQUIRED sourceVersion CDATA #IMPLIED device CDATA #IMPLIED
  creationDate CDATA #IMPLIED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry key CDATA #REQUIRED value CDATA #REQUIRED>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type CDATA #REQUIRED sourceName CDATA #REQUIRED sourceVersion CDATA #IMPLIED
  device CDATA #IMPLIED creationDate CDATA #IMPLIED
  startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2026-03-01 08:00:00 -0500"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-05-05"
  HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""


def stamp(epoch: int) -> str:
    """An Apple date at a fixed -0500 offset (the reader honours any offset it is given)."""
    return time.strftime("%Y-%m-%d %H:%M:%S -0500", time.gmtime(epoch - 5 * 3600))


def rec(kind: str, source: str, device: str, unit: str, start: int, end: int, value: str) -> str:
    t0, t1 = stamp(start), stamp(end)
    return (
        f' <Record type="{kind}" sourceName="{source}" sourceVersion="9.0" device="{device}"'
        f' unit="{unit}" creationDate="{t1}" startDate="{t0}" endDate="{t1}" value="{value}"'
    )


def heart_rate(day: int) -> Iterator[str]:
    for i in range(288):
        t = day + i * 300
        yield (
            rec(
                "HKQuantityTypeIdentifierHeartRate",
                WATCH,
                WATCH_DEVICE,
                "count/min",
                t,
                t,
                str(55 + (i * 7) % 40),
            )
            + '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
            " </Record>\n"
        )


def steps(day: int) -> Iterator[str]:
    for i in range(90):  # watch, every 10 min from 07:00
        t = day + 7 * 3600 + i * 600
        yield (
            rec(
                "HKQuantityTypeIdentifierStepCount",
                WATCH,
                WATCH_DEVICE,
                "count",
                t,
                t + 540,
                str(40 + i % 60),
            )
            + "/>\n"
        )
    for i in range(60):  # phone, every 15 min from 07:00
        t = day + 7 * 3600 + i * 900
        yield (
            rec(
                "HKQuantityTypeIdentifierStepCount",
                PHONE,
                PHONE_DEVICE,
                "count",
                t,
                t + 800,
                str(30 + i % 50),
            )
            + "/>\n"
        )


def skipped_types(day: int) -> Iterator[str]:
    for i in range(720):
        t = day + i * 120
        yield (
            rec(
                "HKQuantityTypeIdentifierActiveEnergyBurned",
                WATCH,
                WATCH_DEVICE,
                "kcal",
                t,
                t + 120,
                "0.412",
            )
            + "/>\n"
        )
    for i in range(96):
        t = day + i * 900
        yield (
            rec(
                "HKQuantityTypeIdentifierBasalEnergyBurned",
                WATCH,
                WATCH_DEVICE,
                "kcal",
                t,
                t + 900,
                "16.3",
            )
            + "/>\n"
        )
    for i in range(60):
        t = day + 7 * 3600 + i * 900
        yield (
            rec(
                "HKQuantityTypeIdentifierDistanceWalkingRunning",
                PHONE,
                PHONE_DEVICE,
                "mi",
                t,
                t + 800,
                "0.021",
            )
            + "/>\n"
        )


SLEEP_CYCLE = ("AsleepCore", "AsleepDeep", "AsleepCore", "AsleepREM", "Awake")


def sleep(day: int) -> Iterator[str]:
    onset = day + 23 * 3600
    yield (
        rec(
            "HKCategoryTypeIdentifierSleepAnalysis",
            PHONE,
            PHONE_DEVICE,
            "",
            onset - 900,
            onset + 8 * 3600,
            "HKCategoryValueSleepAnalysisInBed",
        ).replace(' unit=""', "")
        + "/>\n"
    )
    for i in range(25):
        t = onset + i * 1140
        value = "HKCategoryValueSleepAnalysis" + SLEEP_CYCLE[i % 5]
        yield (
            rec(
                "HKCategoryTypeIdentifierSleepAnalysis", WATCH, WATCH_DEVICE, "", t, t + 1140, value
            ).replace(' unit=""', "")
            + "/>\n"
        )


NUTRIENTS = (
    ("HKQuantityTypeIdentifierDietaryMagnesium", "g", "0.045"),
    ("HKQuantityTypeIdentifierDietaryIron", "mg", "1.2"),
    ("HKQuantityTypeIdentifierDietaryCalcium", "mg", "80"),
    ("HKQuantityTypeIdentifierDietaryPotassium", "mg", "300"),
    ("HKQuantityTypeIdentifierDietaryCaffeine", "mg", "0"),
    ("HKQuantityTypeIdentifierDietaryEnergyConsumed", "kcal", "250"),
)
FOODS = ("Oatmeal", "Banana", "Almonds", "Rice and beans", "Spinach salad", "Yogurt")


def food_records(day: int) -> Iterator[str]:
    """Top-level nutrient records (Apple writes them again inside each correlation)."""
    for i, _ in enumerate(FOODS):
        t = day + (7 + 2 * i) * 3600
        for kind, unit, value in NUTRIENTS:
            yield rec(kind, FOOD_APP, "", unit, t, t, value).replace(' device=""', "") + "/>\n"


def food_correlations(day: int) -> Iterator[str]:
    for i, name in enumerate(FOODS):
        t = day + (7 + 2 * i) * 3600
        children = "".join(
            " " + rec(kind, FOOD_APP, "", unit, t, t, value).replace(' device=""', "") + "/>\n"
            for kind, unit, value in NUTRIENTS
        )
        yield (
            f' <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="{FOOD_APP}"'
            f' sourceVersion="12" creationDate="{stamp(t)}" startDate="{stamp(t)}"'
            f' endDate="{stamp(t)}">\n  <MetadataEntry key="HKFoodType" value="{name}"/>\n'
            f"{children} </Correlation>\n"
        )


SECTIONS: tuple[Callable[[int], Iterator[str]], ...] = (
    skipped_types,
    food_records,
    heart_rate,
    sleep,
    steps,
    food_correlations,
)
"""In Apple's order: records grouped by type, then the correlations."""


def generate(path: Path, target_bytes: int) -> tuple[int, int]:
    """Write an export of about ``target_bytes``; returns (bytes, days). Streamed to disk."""
    day_bytes = sum(len(s.encode()) for section in SECTIONS for s in section(START_EPOCH))
    days = max(1, round((target_bytes - len(HEAD)) / day_bytes))
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        out.write(HEAD)
        for section in SECTIONS:
            for d in range(days):
                out.writelines(section(START_EPOCH + d * DAY_S))
        out.write("</HealthData>\n")
    return path.stat().st_size, days


def child_read(path: str) -> None:
    """Child process: read the export, print rows, seconds and the process's own peak."""
    import resource

    from restless.ingest.apple_health import read
    from restless.ingest.base import ReadContext

    began = time.perf_counter()
    result = read(Path(path), ReadContext(participant_id="bench", timezone="UTC"))
    seconds = time.perf_counter() - began
    rows = {table: frame.height for table, frame in result.tables.items()}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows": rows, "self_peak_kb": peak_kb}))


def child_baseline() -> None:
    """Child process: only the imports the reader needs (polars, restless)."""
    import polars  # noqa: F401

    import restless.ingest.apple_health  # noqa: F401

    print(json.dumps({}))


def run_child(*args: str) -> tuple[dict, float]:
    """Run this script as a child; return its JSON output and its peak RSS in MB."""
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed with exit code {proc.returncode}")
    return json.loads(output), usage.ru_maxrss / 1024  # Linux: ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.25,1.0", help="export sizes in GB (1 GB = 1e9 B)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the exports")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        if args.child[0] == "read":
            child_read(args.child[1])
        else:
            child_baseline()
        return

    workdir = Path(tempfile.mkdtemp(prefix="apple_bench_", dir=args.workdir))
    try:
        _, baseline_mb = run_child("--child", "baseline")
        print(f"baseline child (import polars + reader): peak RSS {baseline_mb:.0f} MB")
        print(
            "| export | days | read (s) | MB/s | peak RSS (MB) | over baseline (MB) "
            "| ratio to baseline | rows |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for size in (float(s) for s in args.sizes.split(",")):
            path = workdir / f"export_{size:g}GB.xml"
            began = time.perf_counter()
            nbytes, days = generate(path, int(size * 1e9))
            made = time.perf_counter() - began
            print(f"(generated {nbytes / 1e6:,.0f} MB, {days} days, in {made:.0f} s)")
            out, peak_mb = run_child("--child", "read", str(path))
            rows = ", ".join(f"{t} {n:,}" for t, n in out["rows"].items())
            print(
                f"| {nbytes / 1e9:.2f} GB | {days} | {out['seconds']:.1f} "
                f"| {nbytes / 1e6 / out['seconds']:.1f} | {peak_mb:.0f} "
                f"| {peak_mb - baseline_mb:.0f} | {peak_mb / baseline_mb:.2f}x | {rows} |"
            )
            path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
