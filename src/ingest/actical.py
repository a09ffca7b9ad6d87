"""Philips Respironics Actical "List Export File" CSV (``actical_csv``) -> movement_epochs.

The export is a header block (subject and device settings, analysis settings) and an
``Epoch-by-Epoch Data`` table whose column names span several rows::

    Start Date:,13-May-21,(Thu)
    Start Time:,00:00
    ...
    Epoch#,Day#,Elapsed,Date,Time,Activity,Steps,Energy,Activity,Event Marker
    ,,Seconds,,,Counts,,Expenditure,Intensity,Button Presses
    0,1,60,13-May-21,00:00,250,12,NaN,NaN,0

* **Counts**: ``Activity Counts`` -> ``activity_count``; ``Steps`` -> ``steps``. Energy
  and the 1-4 intensity class are Actical's own derived numbers and are not kept.
* **Epochs**: the export states no epoch length; it is the step of ``Elapsed Seconds``
  between rows (``Elapsed`` is the epoch's end: 60 for the first 60-s epoch). Epoch
  ``n`` starts at the header's Start Date/Time plus ``Elapsed - epoch`` seconds of
  elapsed time (the device clock does not follow DST); the first row's Date/Time must
  show the header's start. Dates are ``13-May-21`` (day-month name-two-digit year).
* **Missing**: ``NaN`` or blank counts are unknown (null), never zero.
* **Privacy**: ``Identity``, age, gender, height, weight and the device serial number are
  never read into a frame.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.actigraph_csv import elapsed_instants
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
)

SOURCE = "actical"
MOVEMENT = "movement_epochs"
_FIRST_LINE = re.compile(r"^\W*Actical\b.*Export File", re.IGNORECASE)
_DATA_MARK = "epoch-by-epoch data"
RAW = csv_text.RAW


def sniff(head: bytes, name: str) -> bool:
    """The first line names an Actical export file."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return bool(_FIRST_LINE.match(text.split("\n", 1)[0]))


def _rows(path: Path) -> list[list[str]]:
    text, _ = csv_text.read_text(path)
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _setting(rows: list[list[str]], label: str) -> str | None:
    for row in rows:
        if row and row[0].lower() == label.lower() and len(row) > 1:
            return row[1]
    return None


_FORMATS = ("%d-%b-%y %H:%M", "%d-%b-%Y %H:%M", "%d-%b-%y %H:%M:%S", "%d-%b-%Y %H:%M:%S")


def _row_start(date_text: str | None, time_text: str | None) -> datetime | None:
    """``13-May-21`` and ``00:00`` as a naive datetime; None if not in that shape."""
    for fmt in _FORMATS:
        try:
            return datetime.strptime(f"{date_text} {time_text}", fmt)
        except (TypeError, ValueError):
            continue
    return None


def _start(rows: list[list[str]]) -> datetime:
    """Header Start Date (``13-May-21``) and Start Time (``00:00``) as local wall time."""
    date_text, time_text = _setting(rows, "Start Date:"), _setting(rows, "Start Time:")
    start = _row_start(date_text, time_text)
    if start is None:
        raise RejectedFile(f"header Start Date/Time {date_text!r} {time_text!r} is not readable")
    return start


def _table(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Column names (the first two name rows joined: 'Activity Counts') and data rows."""
    marks = [i for i, row in enumerate(rows) if row and _DATA_MARK in row[0].lower()]
    if not marks:
        raise RejectedFile("no 'Epoch-by-Epoch Data' section")
    after = rows[marks[0] + 1 :]
    first_data = next(
        (i for i, row in enumerate(after) if row and re.fullmatch(r"\d+", row[0])), None
    )
    if first_data is None:
        raise NothingToLoad("Actical export has an epoch section but no epochs")
    name_rows = after[:first_data]
    width = max(len(row) for row in name_rows) if name_rows else 0
    names = [
        " ".join(row[i] for row in name_rows[:2] if i < len(row) and row[i]).strip()
        for i in range(width)
    ]
    data = [row for row in after[first_data:] if any(row)]
    return names, data


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """An Actical epoch export -> movement_epochs (activity counts, steps)."""
    zone = localtime.reader_zone(ctx)
    rows = _rows(path)
    if not rows or not _FIRST_LINE.match(rows[0][0] if rows[0] else ""):
        raise RejectedFile("not an Actical export: first line does not name one")
    start_local = _start(rows)
    names, data = _table(rows)
    lowered = [n.lower() for n in names]
    wanted = {"elapsed": "elapsed seconds", "date": "date", "time": "time"}
    wanted |= {"counts": "activity counts", "steps": "steps"}
    positions = {key: lowered.index(name) for key, name in wanted.items() if name in lowered}
    missing = [wanted[k] for k in ("elapsed", "counts") if k not in positions]
    if missing:
        raise RejectedFile(f"epoch table has no {missing} column (columns: {names})")

    def cell(row: list[str], key: str) -> str | None:
        i = positions.get(key)
        return row[i] if i is not None and i < len(row) and row[i] != "" else None

    frame = pl.DataFrame(
        {RAW + key: [cell(row, key) for row in data] for key in wanted},
        schema={RAW + key: pl.String for key in wanted},
    ).with_row_index("row_number", offset=1)
    missing_value = pl.col(RAW + "counts").is_null() | (
        pl.col(RAW + "counts").str.to_lowercase() == "nan"
    )
    steps_missing = pl.col(RAW + "steps").is_null() | (
        pl.col(RAW + "steps").str.to_lowercase() == "nan"
    )
    frame = frame.with_columns(
        csv_text.parse_number(pl.col(RAW + "elapsed")).alias("elapsed_s"),
        csv_text.parse_number(pl.col(RAW + "counts")).alias("activity_count"),
        csv_text.parse_number(pl.col(RAW + "steps")).alias("steps_value"),
    )
    steps = pl.col("steps_value")
    checks = [
        ("elapsed", "number_format", pl.col("elapsed_s").is_null()),
        ("counts", "count_non_negative", ~missing_value & ~(pl.col("activity_count") >= 0)),
        ("steps", "steps_whole_number", ~steps_missing & ~(steps >= 0)),
        ("steps", "steps_whole_number", steps != steps.floor()),
    ]
    kept, rejected = csv_text.reject_rows(frame, MOVEMENT, checks)
    if kept.height == 0:
        raise RejectedFile("no Actical epoch row has a readable Elapsed Seconds")
    steps_between = kept["elapsed_s"].diff().drop_nulls()
    if steps_between.len() == 0:
        raise RejectedFile("a single epoch: the epoch length cannot be derived")
    epoch_s = float(steps_between.mode().sort()[0])
    if epoch_s <= 0:
        raise RejectedFile(f"Elapsed Seconds do not increase (step {epoch_s})")
    warnings = []
    irregular = int((steps_between != epoch_s).sum())
    if irregular:
        warnings.append(f"{irregular} epoch(s) not {epoch_s:g} s after the previous one")
    first = kept.row(0, named=True)
    expected = start_local + timedelta(seconds=first["elapsed_s"] - epoch_s)
    shown = _row_start(first[RAW + "date"], first[RAW + "time"])
    if shown is None:
        warnings.append("the rows' Date/Time are not readable: placed by Elapsed Seconds only")
    elif abs((shown - expected).total_seconds()) >= 60:
        raise RejectedFile(
            f"first epoch shows {shown}, but header start + Elapsed Seconds gives {expected}"
        )
    start_at = localtime.to_utc(start_local, zone)
    epochs = kept.with_columns(
        elapsed_instants(start_at, pl.col("elapsed_s") - epoch_s).alias("epoch_start_at"),
        pl.lit(epoch_s).alias("epoch_s"),
        pl.col("steps_value").cast(pl.Int64).alias("steps"),
    )
    return ReadResult(
        tables={MOVEMENT: csv_text.typed(epochs, MOVEMENT)},
        warnings=warnings,
        rejected_rows=rejected,
    )


FORMATS: list[Format] = [
    Format(
        name="actical_csv",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={MOVEMENT: Coverage("span", "epoch_start_at")},
        uses_local_time=True,
    )
]
