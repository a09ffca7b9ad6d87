"""ActiGraph ``.gt3x`` files (``actigraph_gt3x``) -> raw acceleration in g, via ``pygt3x``.

A ``.gt3x`` is a zip: ``info.txt`` (``key: value`` lines: sample rate, device type,
``Start Date`` in .NET ticks of local time, ``TimeZone``, acceleration scale and range,
and subject fields) and ``log.bin`` (activity packets; ``activity.bin`` + ``log.txt`` in
the older NHANES layout). We read it with ActiGraph's own ``pygt3x`` (the well-kept field
reader, which both real files load with) rather than a decoder of our own. ``pygt3x``
holds the whole recording in memory and is native-adjacent code we do not control, so it
runs in a child process (:mod:`restless.ingest.raw.isolate`): a crash, a hang or an
exception rejects this one file with its reason, and the samples come back through a
temporary ``.npy`` file the flow streams in chunks.

Timestamps in ``log.bin`` are local wall-clock seconds; UTC = local - ``TimeZone``.
Samples the device did not log (idle-sleep mode) are filled by ``pygt3x`` with the last
value, ActiLife's convention; their count is a warning. A missing second inside the
recording keeps the sample grid right by repeating the last sample, and makes the file
``partial`` with the count. Serial number, subject name, date of birth, height, mass
and age are never read into any output.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult, RejectedFile
from restless.ingest.raw._common import COVERAGE
from restless.ingest.raw.isolate import run_isolated

FORMAT_NAME = "actigraph_gt3x"
SOURCE = "actigraph_raw"
TIMEOUT_S = 900.0
FIRST_MEMBERS = (b"log.bin", b"info.txt", b"activity.bin", b"log.txt")


def sniff(head: bytes, name: str) -> bool:
    """A zip whose first member is ``log.bin`` (or ``info.txt`` of an ActiGraph file)."""
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return False
    length = int.from_bytes(head[26:28], "little")
    first = head[30 : 30 + length]
    if first == b"log.bin" or first == b"activity.bin":
        return True
    return first in FIRST_MEMBERS and (b"Serial Number:" in head or b"log.bin" in head)


def parse_timezone(text: str) -> timedelta:
    """``02:00:00`` / ``-05:00:00`` (info.txt ``TimeZone``) -> offset from UTC."""
    sign = -1 if text.strip().startswith("-") else 1
    parts = [int(p) for p in text.strip().lstrip("+-").split(":")]
    h, m, s = ([*parts, 0, 0, 0])[:3]
    return sign * timedelta(hours=h, minutes=m, seconds=s)


def decode_gt3x(path: str, out: str) -> dict[str, Any]:
    """Child-process decoder: pygt3x -> calibrated g on a regular grid in ``out`` (.npy)."""
    from pygt3x.reader import FileReader  # imported in the child only

    with FileReader(path) as reader:
        info = reader.info
        fs = float(info.sample_rate)
        acc = reader.acceleration
        if len(acc) == 0:
            raise ValueError("log.bin holds no acceleration samples")
        xyz = reader.calibrate_acceleration(acc[:, 1:4]) if not reader.nhanes else acc[:, 1:4]
        stamps = acc[:, 0]
        idle = int((acc[:, 4] == 1).sum())
        model = str(info.device_type or "")
        range_g = float(info.acceleration_max) if info.acceleration_max else None
        tz = str(info.timezone or "")
    del acc
    index = np.rint((stamps - stamps[0]) * fs).astype(np.int64)
    if (np.diff(index) < 0).any():
        raise ValueError("sample timestamps go backwards")
    n = int(index[-1]) + 1
    grid = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=(n, 3))
    present = np.zeros(n, dtype=bool)
    present[index] = True
    grid[index] = xyz  # a repeated grid index keeps the last sample
    missing = int(n - present.sum())
    if missing:
        # repeat the last sample where the grid has no sample (no movement invented)
        source = np.maximum.accumulate(np.where(present, np.arange(n), 0))
        grid[:] = np.asarray(grid)[source]
    grid.flush()
    del grid
    return {
        "fs": fs,
        "first_local": float(stamps[0]),
        "timezone": tz,
        "device": " ".join(f"ActiGraph {model}".split()),
        "range_g": range_g,
        "duplicates": int(len(index) - present.sum()),
        "missing": missing,
        "idle": idle,
    }


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Check the zip's members, decode in a child process, stream the samples."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise RejectedFile(f".gt3x is not a readable zip: {exc}") from None
    if "info.txt" not in names or not ({"log.bin"} <= names or {"activity.bin"} <= names):
        raise RejectedFile(".gt3x zip lacks info.txt and log.bin (or activity.bin)")
    samples = run_isolated(decode_gt3x, path, timeout_s=TIMEOUT_S, what="pygt3x")
    meta = samples.meta
    try:
        offset = parse_timezone(meta["timezone"]) if meta["timezone"] else None
    except ValueError:
        offset = None
    warnings: list[str] = []
    local = datetime(1970, 1, 1) + timedelta(seconds=meta["first_local"])
    if offset is None:
        from zoneinfo import ZoneInfo

        offset = ZoneInfo(ctx.timezone).utcoffset(local) or timedelta(0)
        warnings.append(f"no TimeZone in info.txt: local times read in {ctx.timezone}")
    if meta["idle"]:
        warnings.append(f"{meta['idle']} samples logged in idle-sleep mode (last value repeated)")
    if meta["duplicates"]:
        warnings.append(f"{meta['duplicates']} samples sharing a time slot dropped")
    error = None
    if meta["missing"]:
        seconds = meta["missing"] / meta["fs"]
        error = (
            f"{meta['missing']} samples ({seconds:.1f} s) missing inside the recording, "
            "filled with the last sample"
        )
    raw = RawAcceleration(
        fs=meta["fs"],
        start_at=(local - offset).replace(tzinfo=UTC),
        chunks=samples.chunks,
        device=meta["device"],
        range_g=meta["range_g"],
        n_samples=samples.n_samples,
    )
    return ReadResult(tables={}, raw=raw, error=error, warnings=warnings)


FORMATS = (
    Format(
        name=FORMAT_NAME,
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage=COVERAGE,
    ),
)
