"""Axivity AX3 / AX6 ``.cwa`` files (``axivity_cwa``) -> raw acceleration in g.

Decoded here with numpy (layout from OpenMovement's ``cwa.h``; the same layout GGIRread's
``readAxivity`` and scikit-digital-health read). We decode it ourselves because the field
library refuses a file with one damaged block outright; a restless run must keep every
trustworthy sample.

* A 1024-byte ``MD`` header: hardware type at byte 4 (``0x64`` = AX6, else AX3), sampling
  rate code at byte 36. Device and session identifiers are never read into any output.
* 512-byte ``AX`` data blocks: packed RTC timestamp (@14), 15-bit fraction of a second
  (@4, top bit set), rate code (@24: ``3200 / 2**(15 - (code & 15))`` Hz, range
  ``16 >> (code >> 6)`` g), axes and packing (@25: ``0x30`` three axes packed into one
  32-bit word with a shared exponent, ``0x32`` three int16, ``0x62`` gyro xyz then accel
  xyz as int16), ``timestampOffset`` (@26), sample count (@28), samples (@30), and a
  checksum (@510: the 16-bit word sum of the whole block is zero).

Damaged blocks (checksum, ``AX`` marker, length, rate or layout wrong) are **skipped with
the gap reported**, not read "up to the damage": a damaged first data block would
otherwise lose the whole recording. Blocks before the first and after the last
trustworthy block are dropped; a damaged block between two good ones keeps its place in
time (the sample grid stays right): its samples, counted from the good blocks'
timestamps, repeat the last good sample (a still sensor: no movement is invented).
The file is then ``partial`` and ``ReadResult.error`` names the damaged blocks
(0-based data-block indices, block 0 at byte 1024) and the samples filled.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult, RejectedFile
from restless.ingest.raw._common import CHUNK_SAMPLES, COVERAGE, NIGHTS_IN_LOCAL_TIME

FORMAT_NAME = "axivity_cwa"
SOURCE = "axivity"
HEADER_BYTES = 1024
BLOCK = 512
SCAN_BLOCKS = 8192
"""Blocks examined per step (4 MB): the scan and the decoding stay in bounded memory."""

AX6_HARDWARE = 0x64
LAYOUTS = {0x30: (3, 120), 0x32: (3, 80), 0x62: (6, 40)}
"""``numAxesBPS`` -> (axes, samples a full block holds)."""


def sniff(head: bytes, name: str) -> bool:
    """An ``MD`` header of 1020 bytes (+4) followed by an ``AX`` block or nothing yet."""
    if len(head) < 4 or head[:2] != b"MD" or int.from_bytes(head[2:4], "little") != 1020:
        return False
    return len(head) < HEADER_BYTES + 2 or head[HEADER_BYTES : HEADER_BYTES + 2] == b"AX"


def rate_hz(code: int) -> float:
    """Sampling frequency of a rate code (cwa.h)."""
    return 3200.0 / (1 << (15 - (code & 0x0F)))


def unpack_timestamp(packed: np.ndarray) -> np.ndarray:
    """Packed RTC values (YYYYYYMM MMDDDDDh hhhhmmmm mmssssss) -> UTC epoch seconds.

    The device clock is set in UTC by OMGUI/the AX API; invalid dates come back as NaN.
    """
    packed = packed.astype(np.int64)
    year = ((packed >> 26) & 0x3F) + 2000
    month = (packed >> 22) & 0x0F
    day = (packed >> 17) & 0x1F
    hours = (packed >> 12) & 0x1F
    minutes = (packed >> 6) & 0x3F
    seconds = packed & 0x3F
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (hours < 24) & (minutes < 60) & (seconds < 60)
    months = (year - 1970) * 12 + np.clip(month, 1, 12) - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + day - 1
    secs = days * 86400 + hours * 3600 + minutes * 60 + seconds
    return np.where(ok, secs.astype(np.float64), np.nan)


@dataclass(frozen=True)
class _Blocks:
    """Per-block facts of the whole file (a few bytes per block, not the samples)."""

    valid: np.ndarray  # bool
    count: np.ndarray  # samples each block contributes (good: its own; damaged: the gap)
    first_time: float  # epoch seconds of the first sample of the first good block
    fs: float
    layout: int
    rate_code: int


def _block_fields(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Header fields of a ``(n, 512)`` uint8 block array."""
    words = raw.view("<u2")
    return {
        "marker": words[:, 0],
        "length": words[:, 1],
        "fractional": words[:, 2],
        "timestamp": raw[:, 14:18].copy().view("<u4")[:, 0],
        "light": words[:, 9],
        "rate": raw[:, 24],
        "layout": raw[:, 25],
        "offset": raw[:, 26:28].copy().view("<i2")[:, 0],
        "count": words[:, 14],
        "checksum_ok": (words.sum(axis=1, dtype=np.uint64) & 0xFFFF) == 0,
    }


def _read_blocks(path: Path, lo: int, hi: int) -> np.ndarray:
    """Data blocks ``lo`` to ``hi`` (exclusive) as a ``(n, 512)`` uint8 array.

    Plain reads rather than a memory map: the process never maps the whole file.
    """
    with path.open("rb") as handle:
        handle.seek(HEADER_BYTES + lo * BLOCK)
        data = handle.read((hi - lo) * BLOCK)
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, BLOCK)


def _scan(path: Path, n: int) -> _Blocks:
    """Check every block and place each in time; damaged blocks get the gap's samples."""
    valid = np.zeros(n, dtype=bool)
    count = np.zeros(n, dtype=np.int64)
    start = np.full(n, np.nan)
    ref: tuple[int, int] | None = None
    for lo in range(0, n, SCAN_BLOCKS):
        raw = _read_blocks(path, lo, min(lo + SCAN_BLOCKS, n))
        f = _block_fields(raw)
        if ref is None:
            good = f["checksum_ok"] & (f["marker"] == 0x5841) & np.isin(f["layout"], list(LAYOUTS))
            if good.any():
                i = int(np.argmax(good))
                ref = (int(f["rate"][i]), int(f["layout"][i]))
        if ref is None:
            continue
        capacity = LAYOUTS[ref[1]][1]
        fs = rate_hz(ref[0])
        whole = unpack_timestamp(f["timestamp"])
        frac = np.where(
            f["fractional"] & 0x8000, (f["fractional"] & 0x7FFF).astype(np.int64) << 1, 0
        )
        # undo the firmware's shim: the whole-second index moved by the fraction's samples
        index = f["offset"].astype(np.int64) + ((frac * int(fs)) >> 16)
        first = whole + frac / 65536.0 - index / fs
        ok = (
            f["checksum_ok"]
            & (f["marker"] == 0x5841)
            & (f["length"] == 508)
            & (f["rate"] == ref[0])
            & (f["layout"] == ref[1])
            & (f["count"] >= 1)
            & (f["count"] <= capacity)
            & np.isfinite(first)
        )
        valid[lo : lo + len(raw)] = ok
        count[lo : lo + len(raw)] = np.where(ok, f["count"], 0)
        start[lo : lo + len(raw)] = first
    if ref is None or not valid.any():
        raise RejectedFile("no AX data block of the .cwa file passes its checksum")
    fs = rate_hz(ref[0])
    good = np.flatnonzero(valid)
    # a damaged block between two good ones carries the samples its gap is missing
    for prev, nxt in itertools.pairwise(good):
        if nxt - prev > 1:
            expected = round((start[nxt] - start[prev]) * fs) - count[prev]
            count[prev + 1] = max(expected, 0)
    return _Blocks(valid, count, float(start[good[0]]), fs, ref[1], ref[0])


def _decode(raw: np.ndarray, layout: int, light: np.ndarray) -> np.ndarray:
    """Samples of good blocks -> ``(blocks, capacity, 3)`` float64 acceleration in g."""
    body = np.ascontiguousarray(raw[:, 30:510])
    if layout == 0x30:
        v = body.view("<u4").astype(np.uint32)
        shift = (6 - (v >> 30)).astype(np.int16)
        axes = [
            ((v << 6) & 0xFFC0).astype(np.uint16).view(np.int16),
            ((v >> 4) & 0xFFC0).astype(np.uint16).view(np.int16),
            ((v >> 14) & 0xFFC0).astype(np.uint16).view(np.int16),
        ]
        out = np.stack([a >> shift for a in axes], axis=-1).astype(np.float64)
        return out / 256.0
    values = body.view("<i2")
    if layout == 0x32:
        out = values.reshape(len(raw), 80, 3).astype(np.float64)
        return out / 256.0  # AX3 unpacked: 1/256 g
    # AX6: gyro xyz then accel xyz; accel unit 1/2^(8+n) g with n the top 3 bits of light
    out = values.reshape(len(raw), 40, 6)[:, :, 3:].astype(np.float64)
    unit = 2.0 ** (8 + ((light.astype(np.int64) >> 13) & 0x07))
    return out / unit[:, None, None]


def _chunks(path: Path, blocks: _Blocks) -> Iterator[np.ndarray]:
    """Decode the good span block by block, repeating the last sample over damaged ones."""
    good = np.flatnonzero(blocks.valid)
    first, last = int(good[0]), int(good[-1])
    held = np.zeros(3)
    pending: list[np.ndarray] = []
    size = 0
    for lo in range(first, last + 1, SCAN_BLOCKS):
        hi = min(lo + SCAN_BLOCKS, last + 1)
        raw = _read_blocks(path, lo, hi)
        light = raw[:, 18:20].copy().view("<u2")[:, 0]
        decoded = _decode(raw, blocks.layout, light)
        ok = blocks.valid[lo:hi]
        count = blocks.count[lo:hi]
        if ok.all():
            mask = np.arange(decoded.shape[1])[None, :] < count[:, None]
            part = decoded[mask]
            parts = [part]
        else:
            parts = []
            for j in range(hi - lo):
                if ok[j]:
                    parts.append(decoded[j, : count[j]])
                    held = decoded[j, count[j] - 1]
                elif count[j]:
                    parts.append(np.repeat(held[None, :], count[j], axis=0))
        for part in parts:
            if len(part):
                held = part[-1]
                pending.append(part)
                size += len(part)
        while size >= CHUNK_SAMPLES:
            joined = np.concatenate(pending)
            yield joined[:CHUNK_SAMPLES]
            rest = joined[CHUNK_SAMPLES:]
            pending, size = ([rest] if len(rest) else []), len(rest)
    if size:
        yield np.concatenate(pending)


def _describe(blocks: _Blocks, n_blocks: int) -> str | None:
    """Why the file is partial: which blocks are damaged and what became of them."""
    bad = np.flatnonzero(~blocks.valid)
    if not len(bad):
        return None
    good = np.flatnonzero(blocks.valid)
    head = bad[bad < good[0]]
    tail = bad[bad > good[-1]]
    inner = bad[(bad > good[0]) & (bad < good[-1])]
    shown = ", ".join(str(int(b)) for b in bad[:20]) + (" ..." if len(bad) > 20 else "")
    parts = [f"{len(bad)} of {n_blocks} .cwa data blocks damaged (blocks {shown})"]
    if len(head):
        parts.append(f"{len(head)} before the first good block skipped")
    if len(inner):
        filled = int(blocks.count[inner].sum())
        parts.append(
            f"{len(inner)} inside the recording filled with the last good sample "
            f"({filled} samples, {filled / blocks.fs:.1f} s)"
        )
    if len(tail):
        parts.append(f"{len(tail)} after the last good block dropped")
    return "; ".join(parts)


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Check every block, then hand the flow a streaming view of the good span."""
    with path.open("rb") as handle:
        header = handle.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not sniff(header, path.name):
        raise RejectedFile("not an Axivity .cwa file: no 1024-byte 'MD' header")
    size = path.stat().st_size - HEADER_BYTES
    n_blocks = size // BLOCK
    if n_blocks == 0:
        raise RejectedFile(".cwa file holds a header but no data blocks")
    blocks = _scan(path, n_blocks)
    warnings = []
    if size % BLOCK:
        warnings.append(f"{size % BLOCK} trailing bytes after the last whole block ignored")
    device = "Axivity AX6" if header[4] == AX6_HARDWARE else "Axivity AX3"
    good = np.flatnonzero(blocks.valid)
    n = int(blocks.count[good[0] : good[-1] + 1].sum())
    raw = RawAcceleration(
        fs=blocks.fs,
        start_at=datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=blocks.first_time),
        chunks=lambda: _chunks(path, blocks),
        device=device,
        range_g=float(16 >> (blocks.rate_code >> 6)),
        n_samples=n,
    )
    return ReadResult(tables={}, raw=raw, error=_describe(blocks, n_blocks), warnings=warnings)


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
