"""ActiGraph ActiLife epoch CSV exports (``actigraph_csv``) -> movement_epochs.

ActiLife writes a ten-line header block, then the epochs, with or without a column-name
row and a timestamp column::

    ------------ Data File Created By ActiGraph ... ActiLife v6.10.2 ... date format M/d/yyyy ...
    Serial Number: ...
    Start Time 09:00:00
    Start Date 8/26/2013
    Epoch Period (hh:mm:ss) 00:00:15
    Download Time 12:54:04
    Download Date 9/3/2013
    Current Memory Address: 0
    Current Battery Voltage: 4.03     Mode = 13
    --------------------------------------------------

Decisions (a sleep researcher reading the numbers should know them):

* **Counts.** ``activity_count`` is ``axis1``: ActiGraph's first axis (the vertical axis of
  a hip- or the long axis of a wrist-worn device), the count every published ActiGraph
  cut-point and sleep scorer (Cole-Kripke, Sadeh) was calibrated on. Axes 2-3 and the
  vector magnitude have no canonical column and are not kept; ``steps`` is kept where
  the export has it. Without column names the columns are placed by the header's
  ``Mode`` (the layout GGIRread reads: three axis columns when ``mode & 12 == 12``, else
  one; a steps column right after the axes when bit 0 is set).
* **Dates.** The first header line declares the date order (``M/d/yyyy``,
  ``dd/MM/yyyy``); only the order of day, month and year is taken from it, since the
  separators written can differ. Real exports exist whose values contradict the
  declaration (``dd/MM/yyyy`` above ``Start Date 09-12-2017`` and ``Download Date
  09-19-2017``): when the declared order cannot read the download date or puts it before
  the start, the swapped day/month order is used if it reads both consistently (a
  warning says so); otherwise the file is rejected. A timestamp column, when present,
  must agree with the header's start.
* **Time zone and DST.** The device clock is set in local time at initialisation and
  does not follow DST: the start is local wall time (``ctx.timezone``) and epoch ``i``
  begins ``i * epoch`` seconds of elapsed time later. A timestamp column (ISO with a
  ``Z`` that ActiLife writes although the values equal the local header start) gives
  the elapsed offset of each row, so gaps are kept.
* **Privacy.** The serial number and every other header field are read only for what is
  listed above and never stored.

``elapsed_instants`` is shared with the other epoch-actigraphy readers (AGD, Actical,
MESA, MotionWatch).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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

SOURCE = "actigraph"
MOVEMENT = "movement_epochs"
HEADER_LINES = 10

_FIRST_LINE = re.compile(r"^-+\s*Data (Table )?File Created By .*ActiLife", re.IGNORECASE)
_RAW_EXPORT = re.compile(r"\bat \d+(\.\d+)? ?Hz\b", re.IGNORECASE)
_DATE_FORMAT = re.compile(r"date format\s+([dMy]+\W[dMy]+\W[dMy]+)")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")
_MODE = re.compile(r"Mode\s*=\s*(\d+)", re.IGNORECASE)


def elapsed_instants(start_at: datetime, offset_s: pl.Expr) -> pl.Expr:
    """UTC instants ``offset_s`` seconds of elapsed time after ``start_at`` (microseconds)."""
    micros = (offset_s * 1_000_000).round().cast(pl.Int64)
    return pl.lit(start_at, dtype=pl.Datetime("us", "UTC")) + pl.duration(microseconds=micros)


def date_order(date_format: str) -> tuple[str, str, str]:
    """('M', 'd', 'y') for ``M/d/yyyy``: the order of the three date fields."""
    fields = tuple(part[0] for part in re.findall(r"d+|M+|y+", date_format))
    if sorted(fields) != ["M", "d", "y"]:
        raise RejectedFile(f"header date format {date_format!r} is not a day/month/year order")
    return fields  # type: ignore[return-value]


def parse_ordered_date(text: str, order: tuple[str, str, str]) -> date | None:
    """A date whose three numbers come in ``order``; None if they make no date."""
    numbers = re.findall(r"\d+", text)
    if len(numbers) != 3:
        return None
    parts = dict(zip(order, (int(n) for n in numbers), strict=True))
    year = parts["y"] + (2000 if parts["y"] < 100 else 0)
    try:
        return date(year, parts["M"], parts["d"])
    except ValueError:
        return None


def resolve_dates(
    start_text: str, download_text: str | None, order: tuple[str, str, str]
) -> tuple[date, tuple[str, str, str], list[str]]:
    """The start date, the date order used, and a warning if the declared one was wrong."""

    def consistent(candidate: tuple[str, str, str]) -> date | None:
        start = parse_ordered_date(start_text, candidate)
        if start is None:
            return None
        if download_text:
            downloaded = parse_ordered_date(download_text, candidate)
            if downloaded is None or downloaded < start:
                return None
        return start

    start = consistent(order)
    if start is not None:
        return start, order, []
    swapped = tuple({"d": "M", "M": "d"}.get(f, f) for f in order)
    start = consistent(swapped)  # type: ignore[arg-type]
    if start is not None:
        declared, used = "/".join(order), "/".join(swapped)
        return (
            start,
            swapped,  # type: ignore[return-value]
            [
                f"header dates {start_text!r} and {download_text!r} contradict the declared "
                f"date order {declared}: read as {used}"
            ],
        )
    raise RejectedFile(
        f"Start Date {start_text!r} (Download Date {download_text!r}) does not read as a "
        f"date in the declared order {'/'.join(order)} or with day and month swapped"
    )


@dataclass(frozen=True)
class Header:
    """What restless uses from the ActiLife header block (nothing identifying)."""

    start_local: datetime
    epoch_s: int
    mode: int | None
    date_order: tuple[str, str, str]
    warnings: list[str]


def _field(lines: list[str], label: str) -> str | None:
    """The text after ``label`` on the header line that starts with it."""
    for line in lines:
        if line.lower().startswith(label.lower()):
            return line[len(label) :].strip(" :")
    return None


def _seconds(clock: str | None, what: str) -> int:
    match = _CLOCK.search(clock or "")
    if match is None:
        raise RejectedFile(f"header has no readable {what} (hh:mm:ss), found {clock!r}")
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_header(lines: list[str]) -> Header:
    """Start instant (local), epoch length and mode from the ten header lines."""
    lines = [line.strip().rstrip(",").strip() for line in lines]
    declared = _DATE_FORMAT.search(lines[0])
    if declared is None:
        raise RejectedFile("ActiLife header declares no 'date format'")
    order = date_order(declared.group(1))
    start_text = _field(lines, "Start Date")
    if not start_text:
        raise RejectedFile("ActiLife header has no 'Start Date'")
    start_date, order, warnings = resolve_dates(start_text, _field(lines, "Download Date"), order)
    start_clock = _seconds(_field(lines, "Start Time"), "Start Time")
    epoch_s = _seconds(_field(lines, "Epoch Period (hh:mm:ss)"), "Epoch Period")
    if epoch_s <= 0:
        raise RejectedFile("Epoch Period is 00:00:00: a raw (sub-second) export, not epochs")
    mode_match = next((m for m in map(_MODE.search, lines) if m), None)
    start_local = datetime.combine(start_date, time()) + timedelta(seconds=start_clock)
    return Header(
        start_local=start_local,
        epoch_s=epoch_s,
        mode=int(mode_match.group(1)) if mode_match else None,
        date_order=order,
        warnings=warnings,
    )


def _text_lines(path: Path) -> list[str]:
    text, _ = csv_text.read_text(path)
    return text.splitlines()


def sniff(head: bytes, name: str) -> bool:
    """ActiLife's first header line, for an epoch (not a raw 'at 30 Hz') export."""
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n", 1)[0]
    return bool(_FIRST_LINE.search(first)) and not _RAW_EXPORT.search(first)


_DATE_CELL = re.compile(r"^\d+\D\d+\D\d+([ T]\d+:\d+:\d+.*)?$")
_CLOCK_CELL = re.compile(r"^\d+:\d+:\d+$")
COLUMN_NAMES = ("axis1", "axis 1", "steps", "vm", "vector magnitude", "timestamp", "date", "lux")


def _columns_by_mode(first: list[str], mode: int | None) -> tuple[dict[str, int], list[str]]:
    """Positions of the time, axis1 and steps columns in a file without column names.

    A leading timestamp cell (``2017-09-12T15:00:00Z``) or date and time cells
    (``9/12/2017,15:00:00``) are recognised by their shape; the counts follow them in the
    order the header's Mode gives.
    """
    cells = [cell.strip() for cell in first]
    positions: dict[str, int] = {}
    if cells and _DATE_CELL.match(cells[0]):
        if len(cells) > 1 and _CLOCK_CELL.match(cells[1]):
            positions.update(date=0, time=1)
        else:
            positions["timestamp"] = 0
    shift = len(positions)
    positions["axis1"] = shift
    if mode is None:
        return positions, ["header has no Mode: the first count column is read as axis1, no steps"]
    axes = 3 if mode & 12 == 12 else 1
    if mode & 1:
        positions["steps"] = shift + axes
    needed = max(positions.values()) + 1
    if len(cells) < needed:
        raise RejectedFile(
            f"Mode = {mode} needs at least {needed} columns, the data has {len(cells)}"
        )
    return positions, []


def _named_columns(names: list[str]) -> dict[str, int]:
    """Positions of the columns restless reads, matched by name (case-insensitive)."""
    lowered = [n.strip().lower() for n in names]
    wanted = {
        "axis1": ("axis1", "axis 1", "activity"),
        "steps": ("steps",),
        "timestamp": ("timestamp", "time stamp"),
        "date": ("date",),
        "time": ("time", "epoch"),
    }
    positions = {}
    for key, aliases in wanted.items():
        found = next((i for i, n in enumerate(lowered) if n in aliases), None)
        if found is not None:
            positions[key] = found
    if "axis1" not in positions:
        raise RejectedFile(f"no 'Axis1' column among {names}")
    return positions


def _timestamp(names: list[str], positions: dict[str, int], order: tuple[str, str, str]) -> pl.Expr:
    """Naive local timestamps of each row (ISO, or date in the header's order + clock).

    Null for every row when the export has no time column.
    """
    if "timestamp" in positions:
        text = pl.col(names[positions["timestamp"]])
    elif {"date", "time"} <= positions.keys():
        text = pl.concat_str(
            pl.col(names[positions["date"]]),
            pl.lit(" "),
            pl.col(names[positions["time"]]),
        )
    else:
        return pl.lit(None, dtype=pl.Datetime("us"))
    text = text.str.strip_chars()
    iso = (
        text.str.strip_suffix("Z")
        .str.replace("T", " ")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    )
    parts = text.str.extract_groups(r"^(\d+)\D(\d+)\D(\d+)[ T]+(\d+):(\d+):(\d+)")
    field = {"d": "day", "M": "month", "y": "year"}
    pieces = {field[f]: parts.struct.field(str(i + 1)).cast(pl.Int32) for i, f in enumerate(order)}
    year = pieces["year"]
    ordered = pl.datetime(
        pl.when(year < 100).then(year + 2000).otherwise(year),
        pieces["month"],
        pieces["day"],
        parts.struct.field("4").cast(pl.Int32),
        parts.struct.field("5").cast(pl.Int32),
        parts.struct.field("6").cast(pl.Int32),
        time_unit="us",
    )
    return pl.coalesce(iso, ordered)


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """An ActiLife epoch CSV -> movement_epochs (axis1 counts, steps)."""
    zone = localtime.reader_zone(ctx)
    lines = _text_lines(path)
    if len(lines) < HEADER_LINES or not _FIRST_LINE.search(lines[0].lstrip("\ufeff")):
        raise RejectedFile("not an ActiLife CSV: the ten-line header block is missing")
    if not set(lines[HEADER_LINES - 1].strip().strip(",")) <= {"-"}:
        raise RejectedFile("the ActiLife header block does not end with a dashed line at line 10")
    header = parse_header(lines[:HEADER_LINES])
    warnings = list(header.warnings)
    body = "\n".join(lines[HEADER_LINES:])
    if not body.strip():
        raise NothingToLoad("ActiLife CSV has a header but no epochs")
    try:
        frame = pl.read_csv(io.StringIO(body), has_header=False, infer_schema=False)
    except (pl.exceptions.PolarsError, ValueError) as err:
        raise RejectedFile(f"epoch rows are not a readable CSV table: {err}") from err
    first = [str(v or "") for v in frame.row(0)]
    if any(cell.strip().lower() in COLUMN_NAMES for cell in first):
        positions = _named_columns(first)
        frame = frame.slice(1)
    else:
        positions, notes = _columns_by_mode(first, header.mode)
        warnings += notes
    if frame.height == 0:
        raise NothingToLoad("ActiLife CSV has column names but no epochs")

    raw = csv_text.RAW
    cells = frame.with_row_index("row_number", offset=1).select(
        "row_number",
        *(
            pl.col(frame.columns[positions[key]]).str.strip_chars().alias(raw + key)
            for key in ("axis1", "steps")
            if key in positions
        ),
        _timestamp(frame.columns, positions, header.date_order).alias("local_ts"),
    )
    cells = cells.with_columns(
        csv_text.parse_number(pl.col(raw + "axis1")).alias("activity_count"),
        (
            csv_text.parse_number(pl.col(raw + "steps"))
            if "steps" in positions
            else pl.lit(None, pl.Float64)
        ).alias("steps_value"),
    )
    has_clock = "timestamp" in positions or {"date", "time"} <= positions.keys()
    checks = [
        ("axis1", "count_number", pl.col("activity_count").is_null()),
        ("axis1", "count_non_negative", pl.col("activity_count") < 0),
    ]
    if "steps" in positions:
        steps = pl.col("steps_value")
        checks.append(
            ("steps", "steps_whole_number", pl.col(raw + "steps").is_not_null() & steps.is_null())
        )
        checks.append(("steps", "steps_whole_number", (steps < 0) | (steps != steps.floor())))
    if has_clock:
        cells = cells.with_columns(pl.col("local_ts").cast(pl.String).alias(raw + "timestamp"))
        checks.append(("timestamp", "datetime_format", pl.col("local_ts").is_null()))
    kept, rejected = csv_text.reject_rows(cells, MOVEMENT, checks)
    if kept.height == 0:
        raise RejectedFile("no ActiLife epoch row holds a readable axis1 count")

    start_at = localtime.to_utc(header.start_local, zone)
    if has_clock:
        first_ts = kept["local_ts"][0]
        if first_ts != header.start_local:
            warnings.append(
                f"first timestamp {first_ts} differs from the header start "
                f"{header.start_local}: the timestamp column is used"
            )
            start_at = localtime.to_utc(first_ts, zone)
        offset = (pl.col("local_ts") - pl.lit(first_ts)).dt.total_microseconds() / 1_000_000
        kept = kept.with_columns(offset.alias("offset_s"))
        stepped = kept.filter(pl.col("offset_s") <= pl.col("offset_s").shift(1))
        rejected += [
            RejectedRow(MOVEMENT, int(r), "timestamp", "increasing_timestamp", str(ts))
            for r, ts in stepped.select("row_number", "local_ts").iter_rows()
        ]
        kept = kept.filter(~pl.col("row_number").is_in(stepped["row_number"].implode()))
    else:
        kept = kept.with_columns(((pl.col("row_number") - 1) * header.epoch_s).alias("offset_s"))
    epochs = kept.with_columns(
        elapsed_instants(start_at, pl.col("offset_s").cast(pl.Float64)).alias("epoch_start_at"),
        pl.lit(float(header.epoch_s)).alias("epoch_s"),
        pl.col("steps_value").cast(pl.Int64).alias("steps"),
    )
    return ReadResult(
        tables={MOVEMENT: csv_text.typed(epochs, MOVEMENT)},
        warnings=warnings,
        rejected_rows=sorted(rejected, key=lambda r: (r.row_number, r.column, r.check)),
    )


FORMATS: list[Format] = [
    Format(
        name="actigraph_csv",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={MOVEMENT: Coverage("span", "epoch_start_at")},
        uses_local_time=True,
    )
]
