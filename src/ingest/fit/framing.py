"""Decide, independently of either decoder, which bytes of a FIT file can be trusted.

The scan walks the file's framing (headers, record headers, definition sizes, CRCs)
without decoding field values. Its verdict is shared by both backends, so they keep
exactly the same messages:

* **Rejected** (nothing can be trusted): the first header is not a FIT header, its
  header CRC is wrong, or a file whose records frame exactly to the declared data
  end has a CRC that does not match its bytes. Such a file was altered somewhere we
  cannot locate, so no message in it is trustworthy.
* **Partial** (``damage`` set, ``trusted_end`` < file size): the file is truncated
  (the header declares more data than is present), or its framing breaks after a
  good start (a data message using an undefined local message type, a record running
  past the declared data end, a corrupt chained header or a chained file with a bad
  CRC after good ones, stray trailing bytes). When the framing breaks, the trailing
  two bytes are not a CRC of anything (the writer stopped mid-record), so the CRC
  cannot be checked; every record that ends before the break was written whole and is
  kept, and nothing after it is read.
* **Intact**: every chained file's CRC matches and every record is well framed.

``compressed_timestamp_at`` reports the first compressed-timestamp record header:
garmin-fit-sdk cannot decode those, so the reader rejects such files under both
backends rather than let the result depend on the backend.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from restless.ingest.base import RejectedFile

HEADER_SIZES = (12, 14)
_MAX_BASE_TYPE = 0x10  # base type numbers 0x00-0x10 (masked with 0x1F) exist


def _crc_table() -> tuple[int, ...]:
    """Byte-wise table of the FIT CRC-16 (CRC-16/ARC: reflected polynomial 0xA001, init 0)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def fit_crc(data: bytes | memoryview, crc: int = 0) -> int:
    """The FIT CRC-16 of ``data`` (equivalent to the nibble algorithm in the FIT protocol)."""
    table = _CRC_TABLE
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def looks_like_fit(head: bytes) -> bool:
    """A FIT header: size byte 12 or 14 and ``.FIT`` at bytes 8-11."""
    return len(head) >= 12 and head[0] in HEADER_SIZES and head[8:12] == b".FIT"


@dataclass(frozen=True)
class Framing:
    """The scan's verdict: how many leading bytes to decode and what broke after them."""

    trusted_end: int
    data_records: int
    damage: str | None
    compressed_timestamp_at: int | None
    chained_files: int


class _Damage(Exception):
    """Framing broke at ``at``; records before it stand."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def scan(data: bytes) -> Framing:
    """Walk ``data``'s framing; raise :class:`RejectedFile` if nothing can be trusted."""
    pos = 0
    records = 0
    trusted_end = 0
    compressed_at: int | None = None
    files = 0
    damage: str | None = None
    while pos < len(data):
        try:
            header_size, data_size = _read_header(data, pos)
            end_data = pos + header_size + data_size
            walked = _walk_records(data, pos + header_size, min(end_data, len(data)))
            trusted_end = walked.end
            if compressed_at is None:
                compressed_at = walked.compressed_at
            if walked.damage is not None:
                records += walked.records
                raise _Damage(walked.damage)
            if end_data + 2 > len(data):
                present = len(data) - pos - header_size
                records += walked.records
                raise _Damage(
                    f"FIT file truncated: header declares {data_size} data bytes, "
                    f"only {max(present, 0)} present"
                )
            stored = struct.unpack_from("<H", data, end_data)[0]
            computed = fit_crc(memoryview(data)[pos:end_data])
            if stored != computed:
                reason = f"FIT file CRC mismatch (computed 0x{computed:04X}, stored 0x{stored:04X})"
                if pos == 0:
                    raise RejectedFile(f"{reason}: content cannot be trusted")
                trusted_end = pos
                raise _Damage(f"chained FIT file at byte {pos}: {reason}; ignored")
        except _Damage as broke:
            damage = broke.reason
            break
        files += 1
        records += walked.records
        pos = end_data + 2
        trusted_end = pos
        if pos < len(data) and not any(data[pos:]):
            break  # zero padding after the last file carries nothing
    if files == 0 and records == 0 and damage is not None:
        raise RejectedFile(f"{damage}; no message before the damage")
    return Framing(trusted_end, records, damage, compressed_at, files)


def _read_header(data: bytes, pos: int) -> tuple[int, int]:
    """(header size, data size) of the FIT header at ``pos``; damage/reject if unusable."""
    head = data[pos : pos + 14]
    if not looks_like_fit(head):
        if pos == 0:
            raise RejectedFile("not a FIT file: header size byte or '.FIT' signature is wrong")
        raise _Damage(
            f"{len(data) - pos} bytes after the FIT data at byte {pos} "
            "are not a valid chained FIT header; ignored"
        )
    header_size = head[0]
    if len(head) < header_size:
        raise _Damage(f"FIT header at byte {pos} is cut short")
    data_size = struct.unpack_from("<I", head, 4)[0]
    if header_size == 14:
        stored = struct.unpack_from("<H", head, 12)[0]
        computed = fit_crc(head[:12])
        if stored not in (0, computed):
            reason = f"FIT header CRC mismatch (computed 0x{computed:04X}, stored 0x{stored:04X})"
            if pos == 0:
                raise RejectedFile(f"{reason}: content cannot be trusted")
            raise _Damage(f"chained FIT file at byte {pos}: {reason}")
    return header_size, data_size


@dataclass(frozen=True)
class _Walk:
    end: int
    records: int
    compressed_at: int | None
    damage: str | None


def _walk_records(data: bytes, start: int, limit: int) -> _Walk:
    """Step over definition and data records in [start, limit); stop at the first break."""
    sizes: dict[int, int] = {}
    pos = start
    records = 0
    compressed_at: int | None = None
    while pos < limit:
        header = data[pos]
        if header & 0x80:
            local = (header >> 5) & 0x03
            if compressed_at is None:
                compressed_at = pos
            size = _data_size(sizes, local, pos)
            if isinstance(size, str):
                return _Walk(pos, records, compressed_at, size)
            end = pos + 1 + size
            is_data = True
        elif header & 0x40:
            end_or_damage = _definition(data, pos, limit, sizes)
            if isinstance(end_or_damage, str):
                return _Walk(pos, records, compressed_at, end_or_damage)
            end = end_or_damage
            is_data = False
        else:
            size = _data_size(sizes, header & 0x0F, pos)
            if isinstance(size, str):
                return _Walk(pos, records, compressed_at, size)
            end = pos + 1 + size
            is_data = True
        if end > limit:
            return _Walk(pos, records, compressed_at, _cut(data, pos, limit))
        records += is_data
        pos = end
    return _Walk(pos, records, compressed_at, None)


def _data_size(sizes: dict[int, int], local: int, pos: int) -> int | str:
    if local not in sizes:
        return f"data message at byte {pos} uses undefined local message type {local}"
    return sizes[local]


def _definition(data: bytes, pos: int, limit: int, sizes: dict[int, int]) -> int | str:
    """Record a definition's data size; return its end offset or a damage reason."""
    header = data[pos]
    if pos + 6 > limit:
        return _cut(data, pos, limit)
    n_fields = data[pos + 5]
    end = pos + 6 + 3 * n_fields
    if end > limit:
        return _cut(data, pos, limit)
    size = 0
    for i in range(n_fields):
        field_size = data[pos + 7 + 3 * i]
        base_type = data[pos + 8 + 3 * i] & 0x1F
        if base_type > _MAX_BASE_TYPE:
            return f"definition at byte {pos} has an invalid base type 0x{base_type:02X}"
        size += field_size
    if header & 0x20:
        if end + 1 > limit:
            return _cut(data, pos, limit)
        n_dev = data[end]
        dev_end = end + 1 + 3 * n_dev
        if dev_end > limit:
            return _cut(data, pos, limit)
        size += sum(data[end + 2 + 3 * i] for i in range(n_dev))
        end = dev_end
    sizes[header & 0x0F] = size
    return end


def _cut(data: bytes, pos: int, limit: int) -> str:
    if limit >= len(data):
        return f"FIT file truncated inside the message at byte {pos}"
    return f"message at byte {pos} runs past the declared data size"
