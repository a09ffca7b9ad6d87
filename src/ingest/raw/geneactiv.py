"""GENEActiv ``.bin`` files (``geneactiv_bin``) -> raw acceleration in g.

A GENEActiv ``.bin`` is text (CRLF lines): a header of ``key:value`` lines in sections
(``Device Identity``, ``Configuration Info``, ``Subject Info``, ``Calibration Data``,
``Memory Status``), then one page per 300 samples: ``Recorded Data`` and eight
``key:value`` lines (``Page Time:2013-05-30 10:12:54:500``, ``Measurement Frequency``...)
and one line of 3,600 hex digits. Each sample is 12 hex digits = 48 bits: x, y, z as
12-bit two's complement, then 10 bits light, a button bit and a reserved bit (the layout
GGIRread's ``readGENEActiv`` and the manufacturer's GENEAread decode). Calibrated
acceleration per axis is ``(raw * 100 - offset) / gain`` with the header's
``Calibration Data``.

Only device facts and calibration are read from the header: subject code, date of
birth, sex, height, weight and notes are never read. Times are the device's wall clock
in the header's ``Time Zone`` (``GMT +01:00``); the participant's zone is used only when
that line is missing. The stream runs from the first page to the last complete page; a
page that is cut off or holds non-hex text ends it (the file is ``partial``), and so does
a file with fewer pages than its header's ``Number of Pages`` announces.

The pre-GENEActiv Unilever GENEA format (``GENEA/1.00`` text header then binary samples)
is recognised and rejected with that reason: its binary layout is not decoded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np

from restless.ingest.base import Format, RawAcceleration, ReadContext, ReadResult, RejectedFile
from restless.ingest.raw._common import CHUNK_SAMPLES, COVERAGE, NIGHTS_IN_LOCAL_TIME

FORMAT_NAME = "geneactiv_bin"
SOURCE = "geneactiv"
PAGE_SAMPLES = 300
HEX_CHARS = PAGE_SAMPLES * 12
PAGE_LINES = 10  # "Recorded Data", 8 key:value lines, the hex line

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
    _HEX[bytes([_c]).lower()[0]] = _i


def sniff(head: bytes, name: str) -> bool:
    """The GENEActiv header text (or the older GENEA one, rejected with its reason)."""
    if head.startswith(b"GENEA/"):
        return True
    return head.startswith(b"Device Identity") and b"GENEActiv" in head[:400]


@dataclass(frozen=True)
class _Header:
    """What restless needs from the header (no subject fields)."""

    fs: float
    gain: np.ndarray  # x, y, z
    offset: np.ndarray
    pages_announced: int | None
    zone: timedelta | None
    range_g: float | None
    model: str


def _value(lines: dict[str, str], key: str) -> str:
    if key not in lines:
        raise RejectedFile(f"GENEActiv header has no '{key}' line")
    return lines[key]


def _parse_header(handle: BinaryIO) -> _Header:
    """Read header lines up to the first page; keep device facts and calibration only."""
    wanted = {
        "Device Type",
        "Device Model",
        "Accelerometer Range",
        "Measurement Frequency",
        "Time Zone",
        "x gain",
        "x offset",
        "y gain",
        "y offset",
        "z gain",
        "z offset",
        "Number of Pages",
    }
    lines: dict[str, str] = {}
    while True:
        pos = handle.tell()
        line = handle.readline()
        if not line:
            raise RejectedFile("GENEActiv file has a header but no 'Recorded Data' page")
        text = line.decode("latin-1").strip()
        if text == "Recorded Data":
            handle.seek(pos)
            break
        key, sep, value = text.partition(":")
        if sep and key.strip() in wanted:
            lines[key.strip()] = value.strip()
    try:
        fs = float(_value(lines, "Measurement Frequency").split()[0])
        gain = np.array([float(_value(lines, f"{a} gain")) for a in "xyz"])
        offset = np.array([float(_value(lines, f"{a} offset")) for a in "xyz"])
    except ValueError as exc:
        raise RejectedFile(f"GENEActiv header value is not a number: {exc}") from None
    if fs <= 0 or (gain == 0).any():
        raise RejectedFile("GENEActiv header has a zero frequency or calibration gain")
    zone = None
    match = re.fullmatch(r"GMT\s*([+-])(\d{1,2}):(\d{2})", lines.get("Time Zone", ""))
    if match:
        sign = 1 if match.group(1) == "+" else -1
        zone = sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    range_match = re.match(
        r"-?(\d+(?:\.\d+)?)\s+to\s+(\d+(?:\.\d+)?)", lines.get("Accelerometer Range", "")
    )
    pages = lines.get("Number of Pages", "")
    return _Header(
        fs=fs,
        gain=gain,
        offset=offset,
        pages_announced=int(pages) if pages.isdigit() else None,
        zone=zone,
        range_g=float(range_match.group(2)) if range_match else None,
        model=" ".join(f"GENEActiv {lines.get('Device Model', '')}".split()),
    )


def _pages(handle: BinaryIO) -> Iterator[tuple[str, bytes] | str]:
    """Each page as (page time text, hex line), or a reason string where the pages break."""
    number = 0
    while True:
        block = [handle.readline() for _ in range(PAGE_LINES)]
        if not block[0]:
            return
        if not block[-1].endswith(b"\n") and len(block[-1].strip()) != HEX_CHARS:
            yield f"page {number} is cut off (the file ends inside it)"
            return
        if block[0].strip() != b"Recorded Data":
            yield f"page {number} does not start with 'Recorded Data'"
            return
        times = [b for b in block[1:-1] if b.startswith(b"Page Time:")]
        hexline = block[-1].strip()
        if (
            not times
            or len(hexline) != HEX_CHARS
            or (_HEX[np.frombuffer(hexline, np.uint8)] == 255).any()
        ):
            yield f"page {number} is damaged (no page time or not {HEX_CHARS} hex digits)"
            return
        yield times[0][len(b"Page Time:") :].decode("ascii", "replace").strip(), hexline
        number += 1


def decode_page_hex(hexlines: list[bytes], header: _Header) -> np.ndarray:
    """Hex lines of whole pages -> ``(pages * 300, 3)`` calibrated acceleration in g."""
    digits = _HEX[np.frombuffer(b"".join(hexlines), dtype=np.uint8)].astype(np.int32)
    digits = digits.reshape(-1, 12)
    raw = np.stack(
        [
            digits[:, 3 * k] * 256 + digits[:, 3 * k + 1] * 16 + digits[:, 3 * k + 2]
            for k in range(3)
        ],
        axis=1,
    )
    raw = np.where(raw >= 2048, raw - 4096, raw)
    return (raw * 100.0 - header.offset) / header.gain


def _page_time(text: str, zone: timedelta) -> datetime:
    """``2013-05-30 10:12:54:500`` (wall clock in ``zone``) -> UTC instant."""
    try:
        day, clock = text.split(" ")
        h, m, s, ms = (int(p) for p in clock.split(":"))
        local = datetime.fromisoformat(day).replace(
            hour=h, minute=m, second=s, microsecond=ms * 1000
        )
    except ValueError:
        raise RejectedFile(
            f"GENEActiv page time {text!r} is not 'YYYY-MM-DD hh:mm:ss:mmm'"
        ) from None
    return (local - zone).replace(tzinfo=UTC)


def _chunks(path: Path, pages: int, header: _Header) -> Iterator[np.ndarray]:
    """Stream the first ``pages`` pages, about ``CHUNK_SAMPLES`` samples at a time."""
    per_chunk = max(1, CHUNK_SAMPLES // PAGE_SAMPLES)
    with path.open("rb") as handle:
        _parse_header(handle)
        batch: list[bytes] = []
        for done, page in enumerate(_pages(handle)):
            if done >= pages or isinstance(page, str):
                break
            batch.append(page[1])
            if len(batch) == per_chunk:
                yield decode_page_hex(batch, header)
                batch = []
        if batch:
            yield decode_page_hex(batch, header)


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Check the pages in one pass (bounded memory), then stream them to the flow."""
    with path.open("rb") as handle:
        if handle.read(6) == b"GENEA/":
            raise RejectedFile(
                "Unilever GENEA (pre-GENEActiv, 'GENEA/1.00') binary format: not supported"
            )
        handle.seek(0)
        header = _parse_header(handle)
        first: str | None = None
        count = 0
        problem: str | None = None
        for page in _pages(handle):
            if isinstance(page, str):
                problem = page
                break
            if first is None:
                first = page[0]
            count += 1
    if first is None:
        raise RejectedFile(f"GENEActiv file holds no complete page: {problem or 'empty'}")
    zone = header.zone
    if zone is None:
        local = datetime.fromisoformat(first.split(" ")[0])
        zone = ZoneInfo(ctx.timezone).utcoffset(local) or timedelta(0)
    problems = [problem] if problem else []
    if header.pages_announced is not None and header.pages_announced > count:
        problems.append(
            f"header announces {header.pages_announced} pages, {count} complete in the file"
        )
    raw = RawAcceleration(
        fs=header.fs,
        start_at=_page_time(first, zone),
        chunks=lambda: _chunks(path, count, header),
        device=header.model,
        range_g=header.range_g,
        n_samples=count * PAGE_SAMPLES,
    )
    warnings = [] if header.zone else [f"no 'Time Zone' in the header: read in {ctx.timezone}"]
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
