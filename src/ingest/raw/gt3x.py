"""ActiGraph ``.gt3x`` files (``actigraph_gt3x``) -> raw acceleration in g, streamed.

A ``.gt3x`` is a zip: ``info.txt`` (``key: value`` lines: sample rate, device type,
``Start Date`` in .NET ticks of local time, ``TimeZone``, acceleration scale and range,
and subject fields) and ``log.bin`` (activity records; ``activity.bin`` + ``log.txt`` in
the older NHANES layout). ActiGraph's own ``pygt3x`` holds the whole recording in memory
(several GB for a week at 100 Hz) and has no chunked API, so the records are decoded by
:mod:`restless.ingest.raw.gt3x_log`, which streams the zip member and writes the sample
grid to a ``.npy`` file as it goes; it reproduces ``pygt3x``'s samples exactly (tests
compare them on the real file and synthetic ones). The decoder still runs in a child
process (:mod:`restless.ingest.raw.isolate`): a crash, a hang or an exception rejects this
one file with its reason, and the flow streams the samples from the file in chunks.

Timestamps in ``log.bin`` are local wall-clock seconds; UTC = local - ``TimeZone``.
Samples the device did not log (idle-sleep mode) are filled with the last value,
ActiLife's and ``pygt3x``'s convention; their count is a warning. A missing second inside
the recording keeps the sample grid right by repeating the last sample, and makes the file
``partial`` with the count; so does a ``log.bin`` cut short or damaged after some records
(what came before is kept). Only sample rate, device type, time zone, start date and
acceleration scale and range are read from ``info.txt``: serial number, subject name,
date of birth, height, mass and age never reach any output.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult, RejectedFile
from restless.ingest.raw import gt3x_log
from restless.ingest.raw._common import COVERAGE, NIGHTS_IN_LOCAL_TIME
from restless.ingest.raw.isolate import run_isolated

FORMAT_NAME = "actigraph_gt3x"
SOURCE = "actigraph_raw"
TIMEOUT_S = 900.0
FIRST_MEMBERS = (b"log.bin", b"info.txt", b"activity.bin", b"log.txt")
UNIX_EPOCH_TICKS = 621355968000000000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01


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


def calibration_to_g(archive: zipfile.ZipFile, info: dict[str, str], fs: int):
    """Raw counts -> g as ``pygt3x`` does: ``calibration.json`` method 2, else the scale."""
    calibration = None
    if "calibration.json" in archive.namelist():
        calibration = json.loads(archive.read("calibration.json"))
    if calibration is not None and not calibration.get("isCalibrated", True):
        if calibration.get("calibrationMethod") != 2:
            raise ValueError(f"unknown calibration method {calibration.get('calibrationMethod')}")
        from pygt3x.calibration import CalibrationV2Service  # pure numpy

        service = CalibrationV2Service(calibration, fs)
        return service.calibrate_samples
    scale = float(info.get("Acceleration Scale", 0) or 0)
    if scale <= 0:
        raise ValueError("info.txt gives no Acceleration Scale")
    return lambda raw: raw / scale


def decode_gt3x(path: str, out: str) -> dict[str, Any]:
    """Child-process decoder: log.bin streamed -> calibrated g on a regular grid in ``out``.

    Memory stays a few tens of MB whatever the recording's length
    (:mod:`restless.ingest.raw.gt3x_log`).
    """
    with zipfile.ZipFile(path) as archive:
        info = gt3x_log.read_info(archive)
        meta = gt3x_log.info_meta(info)
        fs = int(meta["fs"])
        if fs <= 0:
            raise ValueError("info.txt gives no Sample Rate")
        writer = gt3x_log.NpyWriter(out)
        counts = {"idle": 0, "missing": 0, "duplicates": 0}
        damage = None
        if "log.bin" in archive.namelist():
            decoder = gt3x_log.LogDecoder(writer, fs, calibration_to_g(archive, info, fs))
            with archive.open("log.bin") as stream:
                gt3x_log.decode_log(stream, decoder)
            counts.update(decoder.counts(), duplicates=decoder.duplicates)
            damage = decoder.damage or (
                f"log.bin ends inside a record ({decoder.truncated_bytes} bytes ignored)"
                if decoder.truncated_bytes
                else None
            )
            first_local = decoder.t0
            skipped = {
                "bad_checksums": decoder.bad_checksums,
                "unknown_records": decoder.unknown_records,
                "dropped_early": decoder.dropped_early,
            }
        else:  # NHANES layout: every sample in activity.bin from the info.txt start
            with archive.open("activity.bin") as stream:
                damage = gt3x_log.decode_nhanes(stream, writer)
            ticks = int(info.get("Start Date", 0) or 0)
            first_local = (ticks - UNIX_EPOCH_TICKS) / 1e7 if ticks else None
            skipped = {}
        n = writer.close()
    if n == 0:
        raise ValueError(
            "log.bin holds no acceleration samples" + (f" ({damage})" if damage else "")
        )
    if first_local is None:
        raise ValueError("info.txt gives no Start Date for activity.bin")
    return {**meta, "first_local": float(first_local), **counts, **skipped, "damage": damage}


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Check the zip's members, decode in a child process, stream the samples."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise RejectedFile(f".gt3x is not a readable zip: {exc}") from None
    if "info.txt" not in names or not ({"log.bin"} <= names or {"activity.bin"} <= names):
        raise RejectedFile(".gt3x zip lacks info.txt and log.bin (or activity.bin)")
    samples = run_isolated(decode_gt3x, path, timeout_s=TIMEOUT_S, what="gt3x decoder")
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
    if meta.get("bad_checksums"):
        warnings.append(f"{meta['bad_checksums']} log.bin records with a bad checksum skipped")
    if meta.get("unknown_records"):
        warnings.append(f"{meta['unknown_records']} log.bin records of unknown type skipped")
    if meta.get("dropped_early"):
        warnings.append(f"{meta['dropped_early']} samples dated before the first one dropped")
    problems = []
    if meta["missing"]:
        seconds = meta["missing"] / meta["fs"]
        problems.append(
            f"{meta['missing']} samples ({seconds:.1f} s) missing inside the recording, "
            "filled with the last sample"
        )
    if meta.get("damage"):
        problems.append(f"recording cut short: {meta['damage']}")
    error = "; ".join(problems) or None
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
        uses_local_time=NIGHTS_IN_LOCAL_TIME,
    ),
)
