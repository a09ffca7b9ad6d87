"""Streaming decoder of ActiGraph ``.gt3x`` activity: ``log.bin`` records -> a ``.npy`` grid.

``pygt3x`` (ActiGraph's reader) builds the whole recording as a list of per-second
arrays, sorts and de-duplicates them with ``np.unique`` and concatenates them: several GB
for a week at 100 Hz, and it has no chunked API (``num_rows`` only reads a prefix). This
module reads the same records from the zip member as a stream, a few MB at a time, and
writes calibrated float32 samples straight into a ``.npy`` file at their place on the
sample grid (``os.pwrite``: file writes, no memory map whose pages would count as the
process's resident memory), so memory stays flat whatever the recording's length.

Record layout (ActiGraph's GT3X-File-Format documentation, and ``pygt3x``'s reader):
``1E type timestamp(u32 LE, local seconds) size(u16 LE)`` + payload + checksum (one's
complement of the XOR of header and payload). ``ACTIVITY`` (0x00) is one second of
12-bit two's-complement samples packed in y, x, z order; ``ACTIVITY3`` (0x1B) the same in
x, y, z order; ``ACTIVITY2`` (0x1A) little-endian int16 x, y, z; an ``EVENT`` (0x03) with
payload ``08`` / ``09`` starts / ends idle-sleep mode. ``ACTIVITY`` / ``ACTIVITY3`` with a
1-byte payload mark a USB connection, not samples. The older NHANES layout keeps every
sample in ``activity.bin`` as one 12-bit stream (y, x, z, already in g x 341).

The grid follows ``pygt3x`` + the former whole-file grid step sample for sample:

- a record at second ``t`` fills grid slots ``(t - t0) * fs ...`` (``t0`` = first record);
- idle sleep: the seconds from the one after the last logged second up to the ``09``
  event (or the last record, if the recording ends asleep) repeat the last sample and
  count as idle;
- a second with no record repeats the last sample and counts as missing;
- a second logged twice keeps the later record (identical repeats are not counted);
- records with a bad checksum or of unknown type are skipped (counted).

Where ``pygt3x`` fails on a file (records of different lengths make its ``np.unique``
raise), this decoder keeps the samples: a short record leaves its second's tail missing,
extra samples beyond ``fs`` in one record are dropped and counted.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

ACTIVITY, EVENT, PARAMETERS, ACTIVITY2, ACTIVITY3 = 0x00, 0x03, 0x15, 0x1A, 0x1B
KNOWN_TYPES = range(0x00, 0x1F)  # the record types pygt3x knows; others are skipped
IDLE_START, IDLE_END = b"\x08", b"\x09"
NHANES_SCALE = 341
READ_BYTES = 1 << 20
"""Bytes of ``log.bin`` read (decompressed) at a time: ~1,700 s at 100 Hz."""
FLUSH_SAMPLES = 1 << 18
"""Samples buffered before one file write (3 MB of float32 x 3)."""
MAX_SPAN_S = 400 * 86400
"""A record further than this after the first one is a corrupt timestamp, not a recording."""
NPY_HEADER_BYTES = 128
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError)

# info.txt keys this reader uses: nothing identifying (serial number, subject name, date
# of birth, height, mass, age, ...) is ever kept
INFO_KEYS = (
    "Sample Rate",
    "Device Type",
    "TimeZone",
    "Start Date",
    "Acceleration Scale",
    "Acceleration Max",
)


def read_info(archive: zipfile.ZipFile) -> dict[str, str]:
    """The non-identifying ``info.txt`` fields, parsed as ``pygt3x`` does."""
    out: dict[str, str] = {}
    with io.TextIOWrapper(archive.open("info.txt"), encoding="utf-8-sig") as text:
        for line in text:
            values = line.split(":")
            key = values[0].strip()
            if key in INFO_KEYS and (len(values) == 2 or key == "TimeZone"):
                out[key] = ":".join(values[1:]).strip()
    return out


# --- .npy written in place -------------------------------------------------------------


class NpyWriter:
    """A float32 ``(n, 3)`` ``.npy`` file written by position; the header is set at close.

    Appends are buffered and written in large blocks; a write before the end (a second
    logged again) goes straight to its place. Nothing is memory-mapped.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.high = 0  # samples in the file (the grid's length so far)
        self._pending: list[np.ndarray] = []
        self._pending_start = 0
        self._pending_n = 0

    def _offset(self, index: int) -> int:
        return NPY_HEADER_BYTES + 12 * index

    def flush(self) -> None:
        if self._pending:
            data = np.concatenate(self._pending).astype("<f4", copy=False).tobytes()
            os.pwrite(self.fd, data, self._offset(self._pending_start))
            self._pending, self._pending_n = [], 0

    def write(self, index: int, samples: np.ndarray) -> None:
        """Put ``samples`` (m, 3) at grid slot ``index`` (>= 0); slots past the end grow it."""
        if index == self.high:
            if not self._pending:
                self._pending_start = index
            self._pending.append(samples)
            self._pending_n += len(samples)
            self.high += len(samples)
            if self._pending_n >= FLUSH_SAMPLES:
                self.flush()
            return
        if index > self.high:
            raise ValueError("a write past the end must be filled first")
        self.flush()
        data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
        os.pwrite(self.fd, data, self._offset(index))
        self.high = max(self.high, index + len(samples))

    def repeat(self, index: int, value: np.ndarray, n: int) -> None:
        """``n`` copies of one sample from slot ``index``, in bounded blocks."""
        block = np.broadcast_to(value.astype(np.float32), (min(n, FLUSH_SAMPLES), 3))
        while n > 0:
            step = min(n, FLUSH_SAMPLES)
            self.write(index, np.array(block[:step]))
            index, n = index + step, n - step

    def read(self, index: int, n: int) -> np.ndarray:
        self.flush()
        data = os.pread(self.fd, 12 * n, self._offset(index))
        return np.frombuffer(data, dtype="<f4").reshape(-1, 3)

    def close(self) -> int:
        """Write the header for the samples written; returns their number."""
        self.flush()
        header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({self.high}, 3), }}"
        room = NPY_HEADER_BYTES - 10
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", room) + header.ljust(room - 1).encode()
        os.pwrite(self.fd, head + b"\n", 0)
        os.ftruncate(self.fd, self._offset(self.high))
        os.close(self.fd)
        return self.high


# --- log.bin records -------------------------------------------------------------------


@dataclass
class Batch:
    """Complete records from one read of ``log.bin``: ``data`` and per-record columns."""

    data: np.ndarray  # uint8
    kinds: list[int]
    stamps: list[int]
    starts: list[int]  # payload start
    sizes: list[int]
    valid: np.ndarray  # checksum matches


def iter_batches(stream: IO[bytes], read_bytes: int = READ_BYTES) -> Iterator[Batch]:
    """Complete records of ``stream``, a batch per read, checksums checked per batch.

    A record cut by the end of the stream raises :class:`TruncatedLog` after the last
    batch (``pygt3x`` stops there silently).
    """
    leftover = b""
    while True:
        chunk = stream.read(read_bytes)
        buf = leftover + chunk
        kinds: list[int] = []
        stamps: list[int] = []
        starts: list[int] = []
        sizes: list[int] = []
        pos, end = 0, len(buf)
        unpack = struct.unpack_from
        while pos + 8 <= end:
            _, kind, stamp, size = unpack("<BBLH", buf, pos)
            if pos + 9 + size > end:
                break
            kinds.append(kind)
            stamps.append(stamp)
            starts.append(pos + 8)
            sizes.append(size)
            pos += 9 + size
        leftover = buf[pos:]
        if kinds:
            data = np.frombuffer(buf, dtype=np.uint8, count=pos)
            first = np.asarray(starts, dtype=np.int64) - 8
            checksum_at = np.asarray(starts, dtype=np.int64) + np.asarray(sizes)
            bounds = np.empty(2 * len(first), dtype=np.int64)
            bounds[0::2], bounds[1::2] = first, checksum_at
            xor = np.bitwise_xor.reduceat(data, bounds)[0::2]
            valid = (~xor & 0xFF) == data[checksum_at]
            yield Batch(data, kinds, stamps, starts, sizes, valid)
        if not chunk:
            if leftover:
                raise TruncatedLog(len(leftover))
            return


class TruncatedLog(Exception):
    """``log.bin`` ends inside a record."""

    def __init__(self, n_bytes: int) -> None:
        super().__init__(f"log.bin ends inside a record ({n_bytes} bytes ignored)")
        self.n_bytes = n_bytes


def unpack12(rows: np.ndarray) -> np.ndarray:
    """``(k, L)`` bytes of 12-bit big-endian packed values -> ``(k, m)`` int16 values."""
    k, length = rows.shape
    pad = (-length) % 3
    if pad:
        rows = np.concatenate([rows, np.zeros((k, pad), dtype=np.uint8)], axis=1)
    triples = rows.reshape(k, -1, 3).astype(np.uint16)
    first = (triples[..., 0] << 4) | (triples[..., 1] >> 4)
    second = ((triples[..., 1] & 0x0F) << 8) | triples[..., 2]
    values = np.stack([first, second], axis=-1).reshape(k, -1)
    values = values[:, : values.shape[1] // 3 * 3]
    values[values > 2047] += 61440  # 12-bit two's complement -> int16
    return values.view(np.int16)


def decode_payloads(kind: int, payloads: np.ndarray) -> np.ndarray:
    """Same-size activity payloads ``(k, L)`` -> raw ``(k, m, 3)`` int16 in x, y, z order."""
    k, length = payloads.shape
    if kind == ACTIVITY2:
        usable = length // 6 * 6
        raw = np.ascontiguousarray(payloads[:, :usable]).view("<i2").astype(np.int16)
        return raw.reshape(k, -1, 3)
    raw = unpack12(payloads).reshape(k, -1, 3)
    return raw[:, :, [1, 0, 2]] if kind == ACTIVITY else raw


# --- the grid --------------------------------------------------------------------------


@dataclass
class LogDecoder:
    """State of one streaming decode of ``log.bin`` into a :class:`NpyWriter`."""

    writer: NpyWriter
    fs: int
    to_g: Callable[[np.ndarray], np.ndarray]  # raw (m, 3) -> g (m, 3) float64
    t0: int | None = None
    duplicates: int = 0
    dropped_early: int = 0
    bad_checksums: int = 0
    unknown_records: int = 0
    truncated_bytes: int = 0
    damage: str | None = None
    last_event: int | None = None
    _count: np.ndarray = field(default_factory=lambda: np.zeros(1024, dtype=np.uint16))
    _idle: np.ndarray = field(default_factory=lambda: np.zeros(1024, dtype=bool))
    _last_second: int | None = None  # second of the last block pygt3x would have appended
    _last_g: np.ndarray | None = None  # last logged sample (the idle-sleep fill)
    _tail: np.ndarray | None = None  # the grid's last sample (the missing-second fill)
    _idle_since: int | None = None
    _idle_dt: int = 0
    _last_idle_event: int = 0

    def _grow(self, seconds: int) -> None:
        if seconds > len(self._count):
            size = max(seconds, 2 * len(self._count))
            self._count = np.concatenate(
                [self._count, np.zeros(size - len(self._count), dtype=np.uint16)]
            )
            self._idle = np.concatenate([self._idle, np.zeros(size - len(self._idle), bool)])

    def _second(self, stamp: int) -> int:
        assert self.t0 is not None
        second = stamp - self.t0
        if second > MAX_SPAN_S:
            raise ValueError(
                f"record timestamp {second} s after the first sample: log.bin is corrupt"
            )
        return second

    def _fill_gap(self, index: int) -> None:
        """Repeat the grid's last sample up to slot ``index`` (missing samples)."""
        if index > self.writer.high:
            assert self._tail is not None
            self.writer.repeat(self.writer.high, self._tail, index - self.writer.high)

    def add_block(self, stamp: int, g: np.ndarray) -> None:
        """One logged second of samples in g."""
        if self.t0 is None:
            self.t0 = stamp
        second = stamp - self.t0
        if second < 0:
            self.dropped_early += len(g)
            return
        second = self._second(stamp)
        if len(g) > self.fs:
            self.duplicates += len(g) - self.fs
            g = g[: self.fs]
        self._grow(second + 1)
        index = second * self.fs
        m = len(g)
        if index >= self.writer.high:
            self._fill_gap(index)
        else:
            if self._count[second]:
                overlap = min(m, int(self._count[second]), self.writer.high - index)
                same = np.array_equal(self.writer.read(index, overlap), g[:overlap])
                self.duplicates += 0 if same else overlap
            self._idle[second] = False
        self.writer.write(index, g)
        self._count[second] = max(int(self._count[second]), m)
        if index + m >= self.writer.high:
            self._tail = g[-1]

    def fill_idle(self, first: int, end: int) -> None:
        """Seconds ``first .. end - 1`` (timestamps) slept: repeat the last logged sample."""
        assert self.t0 is not None and self._last_g is not None
        lo, hi = max(first - self.t0, 0), self._second(end)
        if hi <= lo:
            return
        self._grow(hi)
        fs, high = self.fs, self.writer.high
        # seconds already on the grid: only those no record filled
        for second in range(lo, min(hi, -(-high // fs))):
            if not self._count[second] and not self._idle[second]:
                n = min(fs, high - second * fs)
                self.writer.write(second * fs, np.repeat(self._last_g[None], n, axis=0))
                self._idle[second] = True
        start = max(lo, -(-high // fs))
        if start < hi:
            self._fill_gap(start * fs)
            self.writer.repeat(start * fs, self._last_g, (hi - start) * fs)
            self._idle[start:hi] = True
            self._tail = self._last_g

    def feed(self, batch: Batch) -> None:
        """Apply one batch of records, in file order, as ``pygt3x`` does."""
        activity = {ACTIVITY, ACTIVITY2, ACTIVITY3}
        decoded = self._decode_activity(batch)
        for i, kind in enumerate(batch.kinds):
            stamp = batch.stamps[i]
            self.last_event = stamp
            if not batch.valid[i]:
                self.bad_checksums += 1
                continue
            if kind not in KNOWN_TYPES:
                self.unknown_records += 1
                continue
            dt = stamp - self._last_second if self._last_second is not None else 0
            if kind == EVENT and batch.sizes[i] == 1:
                code = bytes(batch.data[batch.starts[i] : batch.starts[i] + 1])
                if code == IDLE_START:
                    self._last_idle_event, self._idle_dt, self._idle_since = stamp, dt, stamp
                    continue
                if code == IDLE_END:
                    if self._idle_since is not None and self._last_g is not None:
                        self._last_idle_event = stamp
                        start = self._idle_since - (self._idle_dt - 1)
                        self.fill_idle(start, stamp)
                        if start < stamp:
                            self._last_second = stamp - 1
                        self._idle_since = None
                    continue
            if kind not in activity or i not in decoded:
                continue
            g = decoded[i]
            if len(g) == 0:
                continue
            self._last_g = g[-1]
            self._idle_since = None
            self.add_block(stamp, g)
            if self._last_idle_event <= stamp:  # not pygt3x's "time travel" overwrite
                self._last_second = stamp

    def _decode_activity(self, batch: Batch) -> dict[int, np.ndarray]:
        """Activity records of the batch -> samples in g, decoded per (type, size) group."""
        groups: dict[tuple[int, int], list[int]] = {}
        for i, kind in enumerate(batch.kinds):
            size = batch.sizes[i]
            if kind == ACTIVITY2 or (kind in (ACTIVITY, ACTIVITY3) and size != 1):
                groups.setdefault((kind, size), []).append(i)
        out: dict[int, np.ndarray] = {}
        for (kind, size), members in groups.items():
            view = batch.data.data  # the batch's bytes, without a copy
            joined = b"".join(view[batch.starts[i] : batch.starts[i] + size] for i in members)
            payloads = np.frombuffer(joined, dtype=np.uint8).reshape(len(members), size)
            raw = decode_payloads(kind, payloads)
            k, m, _ = raw.shape
            g = self.to_g(raw.reshape(-1, 3).astype(np.float64)).astype(np.float32)
            for j, i in enumerate(members):
                out[i] = g.reshape(k, m, 3)[j]
        return out

    def finish(self) -> None:
        """An idle-sleep spell still open at the end lasts to the last record."""
        if self._idle_since is not None and self._last_g is not None:
            assert self.last_event is not None
            self.fill_idle(self._idle_since - (self._idle_dt - 1), self.last_event)
        self.writer.flush()

    def counts(self) -> dict[str, int]:
        """Idle and missing samples on the finished grid."""
        n, fs = self.writer.high, self.fs
        seconds = -(-n // fs)
        idle = self._idle[:seconds]
        counted = np.minimum(self._count[:seconds].astype(np.int64), fs)
        if seconds:
            counted[-1] = min(int(counted[-1]), n - (seconds - 1) * fs)
        idle_n = int(idle.sum()) * fs
        if seconds and idle[-1]:
            idle_n -= seconds * fs - n
        present = int(counted[~idle].sum())
        return {"idle": idle_n, "missing": n - present - idle_n}


def decode_log(stream: IO[bytes], decoder: LogDecoder) -> None:
    """Feed every record of ``log.bin``; damage after some records makes a partial grid."""
    try:
        for batch in iter_batches(stream):
            decoder.feed(batch)
    except TruncatedLog as exc:
        decoder.truncated_bytes = exc.n_bytes
    except DAMAGE as exc:
        decoder.damage = f"{type(exc).__name__}: {exc}"
    decoder.finish()


def decode_nhanes(stream: IO[bytes], writer: NpyWriter) -> str | None:
    """``activity.bin``: one 12-bit y, x, z stream in units of 1/341 g, read in blocks."""
    leftover = b""
    damage = None
    while True:
        try:
            chunk = stream.read(READ_BYTES)
        except DAMAGE as exc:
            damage, chunk = f"{type(exc).__name__}: {exc}", b""
        buf = leftover + chunk
        usable = len(buf) // 9 * 9 if chunk else len(buf)  # 9 bytes = 2 samples
        leftover = buf[usable:]
        if usable:
            values = unpack12(np.frombuffer(buf, np.uint8, usable)[None])[0]
            raw = values[: len(values) // 3 * 3].reshape(-1, 3)[:, [1, 0, 2]]
            g = np.round(raw / NHANES_SCALE, 3).astype(np.float32)
            writer.write(writer.high, g)
        if not chunk:
            return damage


def info_meta(info: dict[str, str]) -> dict[str, Any]:
    """Sample rate, device, range and time zone from the kept ``info.txt`` fields."""
    model = info.get("Device Type", "")
    range_g = float(info.get("Acceleration Max", 0) or 0)
    return {
        "fs": float(int(info.get("Sample Rate", 0))),
        "timezone": info.get("TimeZone", "") or "",
        "device": " ".join(f"ActiGraph {model}".split()),
        "range_g": range_g or None,
    }
