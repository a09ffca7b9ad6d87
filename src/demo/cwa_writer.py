"""Write Axivity AX3 ``.cwa`` files (raw triaxial acceleration), vectorised with numpy.

Used by the demo generator for its ankle nights and by tests/test_cwa_writer.py. The
layout is OpenMovement's ``cwa.h``, the one restless's reader (:mod:`restless.ingest.raw.cwa`)
decodes, and the bytes follow the real AX3 files under ``data/real/wearables/axivity_cwa``
where a reader could notice:

* a 1024-byte ``MD`` header: hardware type ``0x00`` (AX3), a fixed fake device id and
  session id (no names, no annotation: the 448-byte metadata area is blank, 0x20 as
  OMGUI leaves it), the logging window the recording spans, the sampling-rate code at
  byte 36, firmware 45; reserved bytes and the device-specific half are 0xFF;
* 512-byte ``AX`` blocks with the sample packing of a real AX3 (``0x30``: three 10-bit
  signed axes and a shared 2-bit exponent in one 32-bit word, 120 samples a block, unit
  1/256 g; ``packed=False`` gives ``0x32``, three int16 per sample, 80 a block), a
  sequence number, the header's session id, constant light/temperature/battery readings,
  the ``resume logging`` event on the first block, and the checksum (the 16-bit words of
  a block sum to zero). Every block is full, as a device writes whole sectors (its stop
  loses the unfinished one): samples after the last whole block are left out, and some
  readers (scikit-digital-health) assume full blocks. ``whole_blocks=False`` keeps them
  in a short last block instead (cwa.h's ``sampleCount``; restless's reader honours it;
  its unused bytes are zero).

Block timing: each block carries a whole-second RTC timestamp (@14), the 15-bit
fraction of a second with the top bit set (@4) and ``timestampOffset`` (@26), which
the firmware stores minus the samples the fraction accounts for (the reader undoes
this). The writer anchors each block on its first sample at or after a whole second
(else its first sample), so a recording starting on a whole second at any AX3 rate from
6.25 Hz has fraction 0 and every block time is exact; otherwise the fraction is rounded
to 1/32768 s.

Samples are rounded once to 1/256 g (packed: to 2**e/256 g with the smallest exponent
``e`` that fits all three axes in 10 bits, as the firmware packs them: e = 0 up to about
+/-2 g), so a decoded sample is within 2**e/512 g of the written one; a sample beyond the
configured range is refused (a writer must not clip silently). Deterministic: no clock
reads.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HEADER_BYTES = 1024
BLOCK_BYTES = 512
PACKED = 0x30
UNPACKED = 0x32
CAPACITY = {PACKED: 120, UNPACKED: 80}
"""Samples a full block holds, by ``numAxesBPS``."""
UNITS_PER_G = 256
"""AX3 raw unit: 1/256 g (3.9 mg), packed values times 2**exponent."""

AX3_HARDWARE = 0x00
FIRMWARE = 45
DEMO_DEVICE_ID = 43_690
"""A fixed fake device id (0xAAAA): no real device is named."""
DEMO_SESSION_ID = 1
LIGHT = 0x0028
TEMPERATURE = 0x0109  # raw 265: 265 * 75 / 256 - 50 = 27.6 C, skin under a blanket
BATTERY = 0xCE  # raw 206: (2 * 206 + 512) ADC, a charged cell
CONFIGURED_BEFORE = timedelta(hours=1)
"""The header's ``lastChangeTime``: set up this long before the first sample."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICKS = 3200 * 1_000_000
"""Time unit of the block timing arithmetic: 1/(3200 * 10**6) s, exact for every AX3
sample step (2**n / 3200 s) and for microseconds."""

_BLOCK = np.dtype(
    [
        ("marker", "<u2"),
        ("length", "<u2"),
        ("fractional", "<u2"),
        ("session", "<u4"),
        ("sequence", "<u4"),
        ("timestamp", "<u4"),
        ("light", "<u2"),
        ("temperature", "<u2"),
        ("events", "u1"),
        ("battery", "u1"),
        ("rate", "u1"),
        ("layout", "u1"),
        ("offset", "<i2"),
        ("count", "<u2"),
        ("data", "u1", (480,)),
        ("checksum", "<u2"),
    ]
)
assert _BLOCK.itemsize == BLOCK_BYTES


def rate_code(sample_rate_hz: float, range_g: int = 8) -> int:
    """The AX3 rate code: frequency ``3200 / 2**(15 - (code & 15))`` Hz (6.25 to 3200),
    range ``16 >> (code >> 6)`` g (2, 4, 8 or 16)."""
    ranges = {16: 0, 8: 1, 4: 2, 2: 3}
    if range_g not in ranges:
        raise ValueError(f"range_g must be one of {sorted(ranges)}, not {range_g}")
    for n in range(10):  # 3200 Hz down to 6.25 Hz
        if abs(3200.0 / (1 << n) - sample_rate_hz) < 1e-9:
            return (ranges[range_g] << 6) | (15 - n)
    raise ValueError(f"{sample_rate_hz} Hz is not an AX3 rate (3200 / 2**n Hz, n = 0..9)")


def pack_timestamps(epoch_s: np.ndarray) -> np.ndarray:
    """Whole UTC epoch seconds -> packed RTC values (``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss``,
    years 2000-2063)."""
    secs = np.asarray(epoch_s, dtype=np.int64)
    days = secs // 86400
    rest = secs - days * 86400
    day64 = days.astype("datetime64[D]")
    years = day64.astype("datetime64[Y]").astype(np.int64) + 1970
    months = day64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (day64 - day64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    if ((years < 2000) | (years > 2063)).any():
        raise ValueError("AX3 timestamps hold the years 2000 to 2063 only")
    packed = (
        ((years - 2000) << 26)
        | (months << 22)
        | (mday << 17)
        | ((rest // 3600) << 12)
        | ((rest // 60 % 60) << 6)
        | (rest % 60)
    )
    return packed.astype(np.uint32)


def _epoch_parts(instant: datetime) -> tuple[int, int]:
    """(whole epoch seconds, microseconds) of an aware instant; naive ones are refused."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant {instant!r} must be timezone-aware")
    delta = instant - _EPOCH
    whole = delta // timedelta(seconds=1)
    return whole, (delta - timedelta(seconds=whole)) // timedelta(microseconds=1)


def _header(*, device_id: int, session_id: int, code: int, start_s: int, stop_s: int) -> bytes:
    """The 1024-byte ``MD`` header block of a real AX3 (cwa.h ``cwa_header_t``)."""
    head = bytearray(b"\xff" * HEADER_BYTES)
    start, stop, changed = pack_timestamps(
        np.array([start_s, stop_s, start_s - CONFIGURED_BEFORE // timedelta(seconds=1)])
    ).tolist()
    # upper device id 0xFFFF (read as 0), as in the real AX3 files
    struct.pack_into("<2sHBHIH", head, 0, b"MD", 1020, AX3_HARDWARE, device_id, session_id, 0xFFFF)
    struct.pack_into("<III", head, 13, start, stop, 0)  # logging window, capacity 0 = no limit
    head[26] = 0  # flashLed off
    head[36] = code
    struct.pack_into("<IBh", head, 37, changed, FIRMWARE, -1)  # lastChange, firmware, no zone
    head[64:512] = b" " * 448  # blank metadata: no study, subject or body-site notes
    return bytes(head)


def _units(samples_g: np.ndarray, range_g: int) -> np.ndarray:
    """(n, 3) g -> (n, 3) float64 in 1/256 g (not rounded); refuses samples beyond the range."""
    units = samples_g * UNITS_PER_G
    if not np.isfinite(units).all():
        raise ValueError("samples must be finite")
    over = (np.abs(np.rint(units)) > range_g * UNITS_PER_G).any(axis=1)
    if over.any():
        first = tuple(samples_g[int(np.argmax(over))].tolist())
        raise ValueError(f"acceleration {first} g is outside the +/-{range_g} g range")
    return units


def _pack(units: np.ndarray) -> np.ndarray:
    """(n, 3) 1/256-g units -> (n,) uint32 words ``eezzzzzz zzzzyyyy yyyyyyxx xxxxxxxx``:
    each axis rounded once to 2**e units, e (0-3) the smallest that fits all three axes in
    10 signed bits."""
    exponent = np.zeros(len(units), dtype=np.int64)
    for e in range(3):
        scaled = np.rint(units / float(1 << e))
        exponent += ((scaled < -512) | (scaled > 511)).any(axis=1)
    values = np.rint(units / np.exp2(exponent)[:, None]).astype(np.int64) & 0x3FF
    words = (exponent << 30) | (values[:, 2] << 20) | (values[:, 1] << 10) | values[:, 0]
    return words.astype(np.uint32)


def _timing(
    n_blocks: int, capacity: int, counts: np.ndarray, n_shift: int, start_us: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: whole seconds after the start's whole second, the 15-bit fraction and
    ``timestampOffset`` (see the module docstring)."""
    step = (1 << n_shift) * 1_000_000  # ticks per sample
    first = np.arange(n_blocks, dtype=np.int64) * capacity * step + start_us * 3200
    up = -(-first // _TICKS)  # the first whole second at or after the block's first sample
    k = -(-(up * _TICKS - first) // step)  # the sample at or just after it
    inside = k < counts
    whole = np.where(inside, up, first // _TICKS)
    k = np.where(inside, k, 0)
    frac_ticks = first + k * step - whole * _TICKS
    frac15 = np.minimum((frac_ticks * 32768 + _TICKS // 2) // _TICKS, 0x7FFF)
    fs_int = 3200 >> n_shift
    shim = ((frac15 << 1) * fs_int) >> 16  # the samples the fraction accounts for
    return whole, frac15, k - shim


def encode_cwa(
    *,
    start_utc: datetime,
    samples_g: np.ndarray,
    sample_rate_hz: float = 25.0,
    range_g: int = 8,
    packed: bool = True,
    whole_blocks: bool = True,
    device_id: int = DEMO_DEVICE_ID,
    session_id: int = DEMO_SESSION_ID,
) -> bytes:
    """The bytes of an AX3 ``.cwa`` recording whose first sample is at ``start_utc``:
    ``samples_g`` (n, 3) at ``sample_rate_hz`` (an AX3 rate), range ``range_g``; with
    ``whole_blocks`` only the samples that fill whole blocks (120 packed, 80 unpacked)."""
    samples = np.asarray(samples_g, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != 3 or not len(samples):
        raise ValueError("samples_g must be a non-empty (n, 3) array")
    if not 0 <= device_id <= 0xFFFF or not 0 <= session_id <= 0xFFFFFFFF:
        raise ValueError("device_id is 16-bit, session_id 32-bit")
    code = rate_code(sample_rate_hz, range_g)
    n_shift = 15 - (code & 0x0F)
    layout = PACKED if packed else UNPACKED
    capacity = CAPACITY[layout]
    n = len(samples) - len(samples) % capacity if whole_blocks else len(samples)
    if not n:
        raise ValueError(f"fewer samples than one whole block ({capacity})")
    samples = samples[:n]
    n_blocks = -(-n // capacity)
    start_s, start_us = _epoch_parts(start_utc)

    units = _units(samples, range_g)
    if packed:
        body = np.zeros(n_blocks * capacity, dtype="<u4")
        body[:n] = _pack(units)
    else:
        body = np.zeros((n_blocks * capacity, 3), dtype="<i2")
        body[:n] = np.rint(units)
    per_block = np.full(n_blocks, capacity, dtype=np.int64)
    per_block[-1] = n - (n_blocks - 1) * capacity
    whole, frac15, offset = _timing(n_blocks, capacity, per_block, n_shift, start_us)

    blocks = np.zeros(n_blocks, dtype=_BLOCK)
    blocks["marker"] = 0x5841  # "AX"
    blocks["length"] = BLOCK_BYTES - 4
    blocks["fractional"] = 0x8000 | frac15
    blocks["session"] = session_id
    blocks["sequence"] = np.arange(n_blocks, dtype=np.uint32)
    blocks["timestamp"] = pack_timestamps(start_s + whole)
    blocks["light"] = LIGHT
    blocks["temperature"] = TEMPERATURE
    blocks["events"][0] = 0x01  # resume logging
    blocks["battery"] = BATTERY
    blocks["rate"] = code
    blocks["layout"] = layout
    blocks["offset"] = offset
    blocks["count"] = per_block
    blocks["data"] = body.view(np.uint8).reshape(n_blocks, 480)
    words = blocks.view("<u2").reshape(n_blocks, BLOCK_BYTES // 2)
    total = words[:, :-1].sum(axis=1, dtype=np.uint64)
    blocks["checksum"] = ((-total.astype(np.int64)) & 0xFFFF).astype(np.uint16)

    end_us = start_s * 1_000_000 + start_us + (n << n_shift) * 1_000_000 // 3200
    end_s = -(-end_us // 1_000_000)  # the logging window ends on the whole second after
    header = _header(
        device_id=device_id, session_id=session_id, code=code, start_s=start_s, stop_s=end_s
    )
    return header + blocks.tobytes()


def write_cwa_file(
    path: Path,
    *,
    start_utc: datetime,
    samples_g: np.ndarray,
    sample_rate_hz: float = 25.0,
    range_g: int = 8,
    packed: bool = True,
    whole_blocks: bool = True,
    device_id: int = DEMO_DEVICE_ID,
    session_id: int = DEMO_SESSION_ID,
) -> None:
    """Write :func:`encode_cwa` of the arguments to ``path`` in one go."""
    Path(path).write_bytes(
        encode_cwa(
            start_utc=start_utc,
            samples_g=samples_g,
            sample_rate_hz=sample_rate_hz,
            range_g=range_g,
            packed=packed,
            whole_blocks=whole_blocks,
            device_id=device_id,
            session_id=session_id,
        )
    )
