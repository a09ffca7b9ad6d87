"""Fitbit per-minute / per-second series (heart rate, steps, others) from JSON record lists.

Every Fitbit account-export file is a JSON list of records (sleep files may wrap it as
``{"sleep": [...]}``), read with ``json_records``.

* ``fitbit_heart_rate``: ``[{dateTime "MM/DD/YY HH:MM:SS", value {bpm, confidence}}]``.
* ``fitbit_steps``: the per-minute ``steps-*.json`` series -> 60 s movement epochs.
* ``fitbit_series``: any other per-minute series (calories, distance, altitude, ...):
  readable, but nothing restless uses, so reading raises NothingToLoad naming it.

Series of identical shape (``steps-*.json``, ``calories-*.json``) are told apart by file
name only. Times are local and naive; ``ctx.timezone`` turns them into UTC. The repeated
fall-back hour is resolved by file order (first pass earlier, second later) and times
inside the spring-forward gap are rejected (check ``local_time_exists``).
``RejectedRow.row_number`` is the 0-based index of the record in the file's JSON list.
A file truncated mid-list keeps the complete records before the damage (``error`` set).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from restless.ingest import localtime
from restless.ingest.base import NothingToLoad, ReadContext, ReadResult, RejectedRow
from restless.ingest.json_records import as_count, first_record, load_records, typed_rows
from restless.schemas.core import polars_schema, reader_columns

HEART_RATE, MOVEMENT = "heart_rate", "movement_epochs"

SERIES_FORMATS = ("%m/%d/%y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S")
_SERIES_TIME = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)")
_SERIES_NAME = re.compile(r"^([a-z][a-z_ ]*?)[-_ ]*(\d{4}-\d\d-\d\d|\d+)?(_fitbit)?\.json$")


# --- Sniffers -----------------------------------------------------------------------------


def _series_shape(head: bytes) -> str | None:
    """'heart_rate', 'scalar' or 'other' for a Fitbit dateTime/value series, else None."""
    first = first_record(head, wrapper_key="sleep")
    if first is None or set(first) != {"dateTime", "value"}:
        return None
    if not isinstance(first["dateTime"], str) or not _SERIES_TIME.match(first["dateTime"]):
        return None
    value = first["value"]
    if isinstance(value, dict):
        return "heart_rate" if "bpm" in value else "other"
    return "scalar" if isinstance(value, str | int | float) else None


def series_name(file_name: str) -> str:
    """The series a per-minute file holds, from its name ('calories-2020-01-01.json')."""
    match = _SERIES_NAME.match(file_name.lower())
    return match.group(1).strip(" _-") if match else file_name


def _is_steps_name(file_name: str) -> bool:
    return series_name(file_name) == "steps"


def sniff_heart_rate(head: bytes, name: str) -> bool:
    """A dateTime series whose value is an object with bpm."""
    return _series_shape(head) == "heart_rate"


def sniff_steps(head: bytes, name: str) -> bool:
    """A scalar per-minute series named steps-* (content alone cannot tell it from calories)."""
    return _series_shape(head) == "scalar" and _is_steps_name(name)


def sniff_series(head: bytes, name: str) -> bool:
    """Any other Fitbit dateTime/value series (calories, distance, resting heart rate...)."""
    shape = _series_shape(head)
    return shape in ("scalar", "other") and not (shape == "scalar" and _is_steps_name(name))


# --- Readers ------------------------------------------------------------------------------


def _read_series(
    path: Path,
    ctx: ReadContext,
    table: str,
    time_column: str,
    values: Callable[[Any], tuple[dict[str, Any] | None, str, str]],
) -> ReadResult:
    """Shared series reader: ``values(value)`` -> (parsed columns or None, column, check)."""
    zone = localtime.reader_zone(ctx)
    records, error = load_records(path)
    if not records:
        raise NothingToLoad(f"Fitbit {table} file holds no samples")
    rejected: list[RejectedRow] = []
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        stamp = record.get("dateTime") if isinstance(record, dict) else None
        if not isinstance(stamp, str):
            rejected.append(RejectedRow(table, index, "dateTime", "required_value", str(stamp)))
            continue
        parsed, column, check = values(record.get("value"))
        if parsed is None:
            rejected.append(RejectedRow(table, index, column, check, str(record.get("value"))))
            continue
        rows.append({"index": index, "raw": stamp, **parsed})
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else None
    if frame is None:
        return ReadResult(
            tables={table: typed_rows([], table)}, error=error, rejected_rows=rejected
        )
    raw = pl.col("raw").str.strip_chars()
    frame = frame.with_columns(
        pl.coalesce(*(raw.str.to_datetime(fmt, strict=False) for fmt in SERIES_FORMATS)).alias(
            "naive"
        )
    )
    bad = frame.filter(pl.col("naive").is_null())
    rejected += [
        RejectedRow(table, i, "dateTime", "datetime_format", s)
        for i, s in bad.select("index", "raw").iter_rows()
    ]
    frame = localtime.series_to_utc(
        frame.filter(pl.col("naive").is_not_null()), "naive", zone, time_column
    )
    gap = frame.filter(pl.col(time_column).is_null())
    rejected += [
        RejectedRow(table, i, "dateTime", "local_time_exists", s)
        for i, s in gap.select("index", "raw").iter_rows()
    ]
    frame = frame.filter(pl.col(time_column).is_not_null())
    repeated = frame.filter(
        pl.col(time_column).is_duplicated() & ~pl.col(time_column).is_first_distinct()
    )
    rejected += [
        RejectedRow(table, i, "dateTime", "unique_instant", s)
        for i, s in repeated.select("index", "raw").iter_rows()
    ]
    frame = frame.filter(pl.col(time_column).is_first_distinct())
    schema = polars_schema(table)
    typed = frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(schema[c]).alias(c)
        for c in reader_columns(table)
    )
    rejected.sort(key=lambda r: r.row_number)
    return ReadResult(tables={table: typed}, error=error, rejected_rows=rejected)


def _heart_rate_value(value: Any) -> tuple[dict[str, Any] | None, str, str]:
    if not isinstance(value, dict):
        return None, "value", "heart_rate_object"
    bpm = as_count(value.get("bpm"))
    if bpm is None:
        return None, "value.bpm", "bpm_integer"
    return {"bpm": bpm, "confidence": as_count(value.get("confidence"))}, "", ""


def _steps_value(value: Any) -> tuple[dict[str, Any] | None, str, str]:
    steps: int | None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        steps = int(value)
    else:
        steps = None if isinstance(value, bool) else as_count(value)
    if steps is None:
        return None, "value", "steps_integer"
    return {"steps": steps, "epoch_s": 60.0}, "", ""


def read_heart_rate(path: Path, ctx: ReadContext) -> ReadResult:
    """Heart-rate samples (~5-15 s apart) -> heart_rate."""
    return _read_series(path, ctx, HEART_RATE, "measured_at", _heart_rate_value)


def read_steps(path: Path, ctx: ReadContext) -> ReadResult:
    """Per-minute step counts -> 60 s movement_epochs."""
    return _read_series(path, ctx, MOVEMENT, "epoch_start_at", _steps_value)


def read_series(path: Path, ctx: ReadContext) -> ReadResult:
    """Series restless does not use: skipped with the series named."""
    raise NothingToLoad(
        f"Fitbit '{series_name(path.name)}' series: restless uses only sleep, heart rate "
        "and steps from Fitbit"
    )
