"""Matrix (Parmay Tech) ``.BIN`` files (``matrix_bin``) -> raw acceleration in g.

Layout as GGIRread's ``readParmayMatrix`` documents it: 512 bytes of remarks, ``MDTC``
at byte 512, the declared packet count (uint32 @516), the accelerometer range in g
(int16 @520), then packets, each starting with ``MDTCPACK``: CRC-32 (@8) of the packet
from byte 12 to its end, start and end time (int32 unix seconds @12, @16), counts of
accelerometer, gyroscope, temperature and heart-rate readings (uint32 @20..@32), then
the readings (accelerometer: int16 x, y, z from @36, scaled by ``range / 32767``, or
``/ 32768`` below zero). Decoded here with numpy (no field library reads it in Python).

The device's rate is not steady (a "12.5 Hz" recording holds 12.2 samples a second), so,
as GGIRread does, the nominal rate (12.5, 25, 50 or 100 Hz, nearest to the first packet
of at least 10 s) is kept and every packet's samples, spread evenly between its start and
end time, are linearly interpolated onto that grid; without this a night would drift by
minutes. A packet whose CRC-32 or length is wrong is skipped with the gap reported: the
grid over its span repeats the last good sample (no movement invented), as for
``.cwa``; packets before the first good one are dropped. The file is then ``partial``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult, RejectedFile
from restless.ingest.raw._common import COVERAGE, NIGHTS_IN_LOCAL_TIME

FORMAT_NAME = "matrix_bin"
SOURCE = "matrix"
MAGIC = b"MDTC"
PACKET = b"MDTCPACK"
FIRST_PACKET = 524
NOMINAL_HZ = (12.5, 25.0, 50.0, 100.0)
SEARCH_BYTES = 8 << 20


def sniff(head: bytes, name: str) -> bool:
    """``MDTC`` at byte 512 and the first packet marker right after the header."""
    if len(head) < 516 or head[512:516] != MAGIC:
        return False
    return len(head) < FIRST_PACKET + 8 or head[FIRST_PACKET : FIRST_PACKET + 8] == PACKET


@dataclass(frozen=True)
class _Packet:
    start: int  # byte offset
    end: int
    ok: bool
    t0: int
    t1: int
    n_acc: int


def _packet_starts(path: Path) -> list[int]:
    """Offsets of every ``MDTCPACK`` marker, searched in bounded pieces."""
    starts: list[int] = []
    with path.open("rb") as handle:
        base, carry = 0, b""
        while piece := handle.read(SEARCH_BYTES):
            data = carry + piece
            offset = base - len(carry)
            i = data.find(PACKET)
            while i >= 0:
                starts.append(offset + i)
                i = data.find(PACKET, i + 1)
            carry = data[-(len(PACKET) - 1) :]
            base += len(piece)
    return sorted(set(starts))


def _scan(path: Path) -> list[_Packet]:
    """Every packet with its CRC-32 and length checked."""
    starts = _packet_starts(path)
    size = path.stat().st_size
    packets = []
    with path.open("rb") as handle:
        for start, end in zip(starts, [*starts[1:], size], strict=True):
            handle.seek(start)
            data = handle.read(end - start)
            if len(data) < 36:
                packets.append(_Packet(start, end, False, 0, 0, 0))
                continue
            crc, t0, t1, acc, gyro, temp, heart = struct.unpack_from("<IiiIIII", data, 8)
            expected = 36 + 6 * acc + 6 * gyro + 4 * temp + 4 * heart
            ok = zlib.crc32(data[12:]) == crc and expected == len(data) and t1 >= t0
            packets.append(_Packet(start, end, ok, t0, t1, acc))
    return packets


def _nominal_rate(packets: list[_Packet]) -> float:
    """Nearest nominal rate to the first good packet of at least 10 s (GGIRread's rule)."""
    for p in packets:
        if p.ok and p.n_acc and p.t1 - p.t0 >= 10:
            observed = p.n_acc / (p.t1 - p.t0)
            return min(NOMINAL_HZ, key=lambda hz: abs(hz - observed))
    raise RejectedFile("no intact Matrix packet of at least 10 s to tell the sampling rate")


def _times(p: _Packet, origin: int) -> np.ndarray:
    """Sample instants of one packet, relative to ``origin``: evenly between t0 and t1."""
    return (p.t0 - origin) + np.arange(p.n_acc) * ((p.t1 - p.t0) / p.n_acc)


def _chunks(path: Path, packets: list[_Packet], fs: float, range_g: float) -> Iterator[np.ndarray]:
    """Interpolate each good packet onto the nominal grid; hold over skipped packets."""
    good = [p for p in packets if p.ok and p.n_acc]
    origin = good[0].t0
    first = packets.index(good[0])
    next_k = 0
    prev_t: float | None = None
    prev_v: np.ndarray | None = None
    skipped = False
    with path.open("rb") as handle:
        for p in packets[first:]:
            if not (p.ok and p.n_acc):
                skipped = True
                continue
            handle.seek(p.start + 36)
            counts = np.frombuffer(handle.read(6 * p.n_acc), dtype="<i2").astype(np.float64)
            values = (counts * range_g / np.where(counts >= 0, 32767.0, 32768.0)).reshape(-1, 3)
            times = _times(p, origin)
            if prev_t is not None and prev_v is not None:
                keep = times > prev_t
                times, values = times[keep], values[keep]
                if not len(times):
                    continue
                lead_t = [prev_t]
                lead_v = [prev_v]
                if skipped:  # hold the last good sample up to this packet
                    lead_t.append(np.nextafter(times[0], -np.inf))
                    lead_v.append(prev_v)
                times = np.concatenate([lead_t, times])
                values = np.concatenate([np.array(lead_v), values])
            skipped = False
            last_k = int(np.floor(times[-1] * fs + 1e-9))
            if last_k >= next_k:
                grid = np.arange(next_k, last_k + 1) / fs
                yield np.stack([np.interp(grid, times, values[:, a]) for a in range(3)], axis=1)
                next_k = last_k + 1
            prev_t, prev_v = float(times[-1]), values[-1]


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Check every packet, then stream the good span on the nominal-rate grid."""
    with path.open("rb") as handle:
        header = handle.read(FIRST_PACKET)
    if len(header) < FIRST_PACKET or header[512:516] != MAGIC:
        raise RejectedFile("not a Matrix .BIN file: no 'MDTC' at byte 512")
    declared, range_g = struct.unpack_from("<Ih", header, 516)
    if range_g <= 0:
        raise RejectedFile(f"Matrix header gives an accelerometer range of {range_g} g")
    packets = _scan(path)
    good = [i for i, p in enumerate(packets) if p.ok and p.n_acc]
    if not good:
        raise RejectedFile("no Matrix packet passes its CRC-32 check")
    fs = _nominal_rate(packets)
    origin = packets[good[0]].t0
    last_time = float(_times(packets[good[-1]], origin)[-1])
    n = int(np.floor(last_time * fs + 1e-9)) + 1
    problems = []
    bad = [i for i, p in enumerate(packets) if not p.ok]
    if bad:
        held = [i for i in bad if good[0] < i < good[-1]]
        problems.append(
            f"{len(bad)} of {len(packets)} Matrix packets fail their CRC-32 or length "
            f"(packets {', '.join(map(str, bad[:20]))}); "
            f"{len(held)} inside the recording held at the last good sample, "
            f"{len(bad) - len(held)} at the ends dropped"
        )
    if declared > len(packets):
        problems.append(f"header declares {declared} packets, the file holds {len(packets)}")
    raw = RawAcceleration(
        fs=fs,
        start_at=datetime.fromtimestamp(origin, tz=UTC),
        chunks=lambda: _chunks(path, packets, fs, float(range_g)),
        device="Matrix",
        range_g=float(range_g),
        n_samples=n,
    )
    observed = sum(packets[i].n_acc for i in good) / max(last_time, 1e-9)
    warnings = [f"device rate {observed:.2f} Hz resampled to the nominal {fs:g} Hz"]
    return ReadResult(tables={}, raw=raw, error="; ".join(problems) or None, warnings=warnings)


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
