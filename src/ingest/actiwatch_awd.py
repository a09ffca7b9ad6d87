"""CamNtech / Cambridge Neurotechnology Actiwatch ``.AWD`` files -> movement_epochs.

An AWD file is plain text: a 7-line header, then one epoch per line.

=====  ==========================================================================
line   header content
=====  ==========================================================================
1      subject identity (a name or code: identifying, never read into any output)
2      start date, ``DD-Mon-YYYY`` with English month abbreviations (``01-Oct-2009``)
3      start time, ``HH:MM`` (local wall clock)
4      epoch-length code (below)
5      subject age (identifying: not read)
6      device serial number; its first letter names the model (``D`` Actiwatch-7,
       ``V`` Actiwatch-4, ``M`` Actiwatch-Mini, ``L``/``P`` with light, ...)
7      subject sex (not read)
=====  ==========================================================================

Data lines hold the activity count, optionally a second column after a comma (light, in
lux, with a decimal point or comma: ``498 , 0,00``) and an ``M`` event marker; variants
carry only the count (``149``). Only the count is kept (``activity_count``); light and
markers have no canonical table.

Epoch-length codes, as both field readers that document them agree (GGIRread
``readActiwatchCount``; pyActigraphy ``RawAWD.frequency_code``): ``1`` 15 s, ``2`` 30 s,
``4`` 60 s, ``8`` 2 min, ``20`` 5 min, ``81`` 2 s, ``C1`` 5 s, ``C2`` 10 s. An unknown code
rejects the file (guessing an epoch length would misplace every count).

Epoch *i* (0-based data line) starts ``i x epoch length`` after the start, which is read in
the participant's zone (``ctx.timezone``). A start year before 1980 rejects the file, as
GGIRread's ``checkTimeFormat`` does: no Actiwatch recorded then, so the header date is
wrong or was shifted to anonymise the file, and loading it would invent nights. A data line
that is not a count keeps its place (the epochs after it stay where they are) and is listed
in ``ReadResult.rejected_rows`` (``row_number`` = the file's line number).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)

SOURCE = "actiwatch"
FORMAT_NAME = "actiwatch_awd"
MOVEMENT = "movement_epochs"
HEADER_LINES = 7

EPOCH_CODES: dict[str, int] = {
    "1": 15,
    "2": 30,
    "4": 60,
    "8": 120,
    "20": 300,
    "81": 2,
    "C1": 5,
    "C2": 10,
}
"""Header line 4 -> epoch length in seconds (GGIRread and pyActigraphy agree)."""

DEVICE_MODELS: dict[str, str] = {
    "D": "Actiwatch-7",
    "I": "Actiwatch-Insomnia",
    "L": "Actiwatch-L",
    "M": "Actiwatch-Mini",
    "P": "Actiwatch-L-Plus",
    "S": "Actiwatch-S",
    "T": "Actiwatch-T",
    "V": "Actiwatch-4",
}
"""First letter of the serial number (header line 6) -> model (pyActigraphy's table)."""

MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
EARLIEST_YEAR = 1980

_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATA = re.compile(r"(\d+)\s*(?:,\s*-?\d+(?:[.,]\d+)?)?\s*(?:M)?")


def sniff(head: bytes, name: str) -> bool:
    """Lines 2-4 are a ``DD-Mon-YYYY`` date, an ``HH:MM`` time and a known epoch code, and
    line 8 is a count."""
    lines = head.decode("latin-1").splitlines()
    if len(lines) <= HEADER_LINES:
        return False
    return (
        _DATE.fullmatch(lines[1].strip()) is not None
        and _TIME.fullmatch(lines[2].strip()) is not None
        and lines[3].strip().upper() in EPOCH_CODES
        and _DATA.fullmatch(lines[HEADER_LINES].strip()) is not None
    )


def _start(date_text: str, time_text: str) -> datetime:
    """The header's naive local start; RejectedFile naming the cell when unreadable."""
    date_match = _DATE.fullmatch(date_text.strip())
    time_match = _TIME.fullmatch(time_text.strip())
    month = MONTHS.get(date_match[2].lower()) if date_match else None
    if date_match is None or month is None:
        raise RejectedFile(f"start date {date_text.strip()!r} (line 2) is not DD-Mon-YYYY")
    if time_match is None:
        raise RejectedFile(f"start time {time_text.strip()!r} (line 3) is not HH:MM")
    try:
        start = datetime(
            int(date_match[3]),
            month,
            int(date_match[1]),
            int(time_match[1]),
            int(time_match[2]),
            int(time_match[3] or 0),
        )
    except ValueError as err:
        raise RejectedFile(f"start {date_text.strip()} {time_text.strip()}: {err}") from err
    if start.year < EARLIEST_YEAR:
        raise RejectedFile(
            f"start date {start:%Y-%m-%d} is before {EARLIEST_YEAR}, when no Actiwatch "
            "recorded: the header date is wrong or shifted, so no night can be placed"
        )
    return start


def device_model(serial_line: str) -> str | None:
    """The Actiwatch model named by the serial number's first letter, or None."""
    serial = serial_line.strip()
    return DEVICE_MODELS.get(serial[:1].upper()) if serial else None


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """One AWD file -> movement_epochs (one row per data line)."""
    zone = localtime.reader_zone(ctx)
    lines = path.read_bytes().decode("latin-1").splitlines()
    if len(lines) < HEADER_LINES:
        raise RejectedFile(f"AWD header needs {HEADER_LINES} lines, the file has {len(lines)}")
    code = lines[3].strip().upper()
    if code not in EPOCH_CODES:
        known = ", ".join(f"{c}={s} s" for c, s in EPOCH_CODES.items())
        raise RejectedFile(f"unknown epoch-length code {code!r} on line 4 (known: {known})")
    epoch_s = EPOCH_CODES[code]
    start_at = localtime.to_utc(_start(lines[1], lines[2]), zone)

    data = lines[HEADER_LINES:]
    while data and not data[-1].strip():
        data.pop()  # trailing blank lines are not epochs
    if not data:
        raise NothingToLoad("AWD file has a header but no epochs")
    counts: list[float | None] = []
    rejected: list[RejectedRow] = []
    for offset, line in enumerate(data):
        match = _DATA.fullmatch(line.strip())
        if match is None:
            counts.append(None)
            number = HEADER_LINES + offset + 1
            rejected.append(RejectedRow(MOVEMENT, number, "activity_count", "count_format", line))
        else:
            counts.append(float(match[1]))
    index = pl.int_range(0, len(counts), eager=True, dtype=pl.Int64)
    frame = pl.DataFrame({"activity_count": counts}, schema={"activity_count": pl.Float64})
    frame = frame.with_columns(
        (
            pl.lit(start_at).cast(pl.Datetime("us", "UTC")) + pl.duration(seconds=index * epoch_s)
        ).alias("epoch_start_at"),
        pl.lit(float(epoch_s)).alias("epoch_s"),
        pl.Series("__bad", [c is None for c in counts]),
    ).filter(~pl.col("__bad"))
    warnings: list[str] = []
    if device_model(lines[5]) is None:
        warnings.append("the serial number (line 6) names no known Actiwatch model")
    return ReadResult(
        tables={MOVEMENT: csv_text.typed(frame, MOVEMENT)},
        warnings=warnings,
        rejected_rows=rejected,
    )


FORMATS: list[Format] = [
    Format(
        name=FORMAT_NAME,
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={MOVEMENT: Coverage("span", "epoch_start_at")},
        uses_local_time=True,
    )
]
