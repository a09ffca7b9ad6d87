"""Fitbit account-export JSON -> sleep_periods, sleep_stages, heart_rate, movement_epochs.

Formats (decided by the JSON's structure; the file name only tells apart per-minute
series of identical shape, such as ``steps-*.json`` and ``calories-*.json``):

* ``fitbit_sleep``: a list of sleep logs (``logId``, ``startTime``, ``levels``).
  ``period_key`` is ``"{logId}:{startTime}"`` because real exports repeat a logId.
  Stage instants are the log's start plus accumulated ``seconds`` (so a night across a DST
  change has the right elapsed time); for ``stages`` logs the short wakes of
  ``levels.shortData`` (<= 3 min) override the part of the long interval they cover, which
  is split so stages never overlap. Classic levels map asleep/restless/awake to
  asleep/restless/wake.
* ``fitbit_heart_rate``: ``[{dateTime "MM/DD/YY HH:MM:SS", value {bpm, confidence}}]``.
* ``fitbit_steps``: the per-minute ``steps-*.json`` series -> 60 s movement epochs.
* ``fitbit_series``: any other per-minute series (calories, distance, altitude, ...):
  readable, but nothing restless uses, so reading raises NothingToLoad naming it.

Every time in these files is local and naive; ``ctx.timezone`` turns it into UTC. In a
series the repeated fall-back hour is resolved by file order (first pass earlier, second
later) and times inside the spring-forward gap are rejected (check ``local_time_exists``).
A sleep log starting in the repeated hour takes the reading consistent with its
``endTime``. ``RejectedRow.row_number`` is the 0-based index of the record in the file's
JSON list (for a sleep stage: of its log; ``column`` then gives the path inside the log).
A file truncated mid-list keeps the complete records before the damage (``error`` set).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from restless.ingest import localtime
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)
from restless.schemas.core import polars_schema, reader_columns

SOURCE = "fitbit"
PERIODS, STAGES = "sleep_periods", "sleep_stages"
HEART_RATE, MOVEMENT = "heart_rate", "movement_epochs"

CLASSIC_LEVELS = {"asleep": "asleep", "restless": "restless", "awake": "wake"}
STAGE_LEVELS = {"light": "light", "deep": "deep", "rem": "rem", "wake": "wake"}
SERIES_FORMATS = ("%m/%d/%y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S")
_SERIES_TIME = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)")
_SERIES_NAME = re.compile(r"^([a-z][a-z_ ]*?)[-_ ]*(\d{4}-\d\d-\d\d|\d+)?(_fitbit)?\.json$")


# --- JSON access --------------------------------------------------------------------------


def _list_items(text: str) -> tuple[list[Any], str | None]:
    """Elements of a top-level JSON list, one by one: (complete elements, error or None)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        raise ValueError("not a JSON list")
    pos += 1
    items: list[Any] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("]", pos) and not items:
            return items, None
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            return items, f"JSON damaged after {len(items)} complete records: {err.msg}"
        items.append(item)
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("]", pos):
            return items, None
        else:
            return items, f"JSON damaged after {len(items)} complete records"


def _load_records(path: Path, wrapper_key: str | None = None) -> tuple[list[Any], str | None]:
    """The file's list of records; a damaged tail keeps the complete records before it."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if wrapper_key and stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise RejectedFile(f"not valid JSON: {err}") from err
        records = data.get(wrapper_key) if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise RejectedFile(f"JSON object without a '{wrapper_key}' list")
        return records, None
    try:
        records, error = _list_items(text)
    except ValueError as err:
        raise RejectedFile(f"expected a JSON list of records: {err}") from err
    if error and not records:
        raise RejectedFile(error)
    return records, error


def _first_record(head: bytes) -> dict[str, Any] | None:
    """The first element of a JSON list in the file head, if it parses as an object."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text.startswith("{"):
        match = re.match(r'\{\s*"sleep"\s*:\s*\[', text)
        if match is None:
            return None
        text = text[match.end() - 1 :]
    if not text.startswith("["):
        return None
    body = text[1:].lstrip()
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return None
    return first if isinstance(first, dict) else None


def _series_shape(head: bytes) -> str | None:
    """'heart_rate', 'scalar' or 'other' for a Fitbit dateTime/value series, else None."""
    first = _first_record(head)
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


# --- Sniffers -----------------------------------------------------------------------------


def sniff_sleep(head: bytes, name: str) -> bool:
    """A list of sleep logs: objects with logId, startTime and levels or duration."""
    first = _first_record(head)
    if first is not None:
        return {"logId", "startTime"} <= set(first) and bool({"levels", "duration"} & set(first))
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    # The first log may be longer than the sniffed head: fall back to its keys.
    return text.startswith(("[", "{")) and all(
        f'"{key}"' in text for key in ("logId", "startTime", "levels")
    )


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


# --- Helpers --------------------------------------------------------------------------------


def _zone(ctx: ReadContext) -> str:
    try:
        localtime.check_zone(ctx.timezone)
    except ValueError as err:
        raise RejectedFile(str(err)) from err
    return ctx.timezone


def _frame(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    """Rows in the canonical column order and dtypes (empty rows -> empty typed frame)."""
    schema = polars_schema(table)
    columns = reader_columns(table)
    return pl.DataFrame(rows, schema={c: schema[c] for c in columns}, orient="row")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _local(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# --- Sleep ----------------------------------------------------------------------------------


class _BadLog(Exception):
    def __init__(self, column: str, check: str, value: Any) -> None:
        super().__init__(check)
        self.column, self.check, self.value = column, check, "" if value is None else str(value)


@dataclass
class _Log:
    """One parsed sleep log."""

    period: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _intervals(
    entries: Any, key: str, index: int, levels: dict[str, str], log: _Log
) -> list[tuple[float, str | None, datetime | None]]:
    """(seconds, stage, local dateTime) per entry of levels.data or levels.shortData.

    An unknown level is rejected but keeps its seconds (stage None) so the stages after it
    stay in place; an entry without positive seconds cannot be placed, so the log is bad.
    """
    if not isinstance(entries, list):
        return []
    out: list[tuple[float, str | None, datetime | None]] = []
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        level, secs = entry.get("level"), _number(entry.get("seconds"))
        if secs is None or secs <= 0:
            raise _BadLog(f"{key}[{i}].seconds", "seconds_positive", entry.get("seconds"))
        if level not in levels:
            column = f"{key}[{i}].level"
            log.rejected.append(RejectedRow(STAGES, index, column, "known_sleep_level", str(level)))
        out.append((secs, levels.get(level), _local(entry.get("dateTime"))))
    return out


def _pick_start(start: datetime, end: datetime | None, elapsed_s: float, zone: str) -> datetime:
    """UTC start; in the repeated hour, the reading whose start + elapsed shows ``end``."""
    candidates = localtime.utc_candidates(start, zone)
    if not candidates:
        return localtime.to_utc(start, zone)
    for candidate in candidates:
        if end is None:
            break
        shown = localtime.local_naive(candidate + timedelta(seconds=elapsed_s), zone)
        if abs((shown - end).total_seconds()) < 60:
            return candidate
    return candidates[0]


def _short_wakes(
    entries: list[tuple[float, str | None, datetime | None]],
    start_at: datetime,
    end_at: datetime,
    index: int,
    zone: str,
    log: _Log,
) -> list[tuple[datetime, datetime, str]]:
    """shortData placed on the log's timeline, sorted, clipped to the log, never overlapping.

    A short wake's local time is read as the instant inside the log (in a night across the
    fall-back change the earlier one if both readings fall inside).
    """
    placed: list[tuple[datetime, float, str]] = []
    for i, (secs, stage, shown) in enumerate(entries):
        candidates = localtime.utc_candidates(shown, zone) if shown is not None else []
        inside = [c for c in candidates if start_at <= c < end_at]
        if stage is None:
            continue
        if not inside:
            column = f"levels.shortData[{i}].dateTime"
            log.rejected.append(RejectedRow(STAGES, index, column, "inside_sleep_log", str(shown)))
            continue
        placed.append((inside[0], secs, stage))
    out: list[tuple[datetime, datetime, str]] = []
    for at, secs, stage in sorted(placed):
        begin = max(at, out[-1][1]) if out else at
        finish = min(at + timedelta(seconds=secs), end_at)
        if finish > begin:
            out.append((begin, finish, stage))
    return out


def _split(
    base: list[tuple[datetime, datetime, str]], short: list[tuple[datetime, datetime, str]]
) -> list[tuple[datetime, datetime, str]]:
    """Long intervals with the short ones cut out of them, plus the short ones."""
    out: list[tuple[datetime, datetime, str]] = []
    for start, end, stage in base:
        pieces = [(start, end)]
        for s_start, s_end, _ in short:
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, s_start)), (max(a, s_end), b))
                if piece[1] > piece[0]
            ]
        out.extend((a, b, stage) for a, b in pieces)
    return sorted(out + short)


def _sleep_log(log_json: Any, index: int, zone: str) -> _Log:
    """One sleep log -> its period row and stage rows (raises _BadLog if unusable)."""
    if not isinstance(log_json, dict):
        raise _BadLog("", "sleep_log_object", type(log_json).__name__)
    start_local = _local(log_json.get("startTime"))
    if start_local is None:
        raise _BadLog("startTime", "datetime_format", log_json.get("startTime"))
    log_id = log_json.get("logId")
    if log_id is None:
        raise _BadLog("logId", "required_value", None)
    levels = log_json.get("levels") if isinstance(log_json.get("levels"), dict) else {}
    summary = levels.get("summary") if isinstance(levels.get("summary"), dict) else {}
    log_type = log_json.get("type")
    if log_type not in ("stages", "classic"):
        log_type = "stages" if "deep" in summary or "rem" in summary else "classic"
    mapping = STAGE_LEVELS if log_type == "stages" else CLASSIC_LEVELS
    log = _Log(period={})
    long_entries = _intervals(levels.get("data"), "levels.data", index, mapping, log)
    short_entries = []
    if log_type == "stages":
        short_entries = _intervals(levels.get("shortData"), "levels.shortData", index, mapping, log)

    duration_ms = _number(log_json.get("duration"))
    data_s = sum(secs for secs, _, _ in long_entries)
    elapsed_s = data_s if long_entries else (duration_ms or 0) / 1000
    if elapsed_s <= 0:
        raise _BadLog("duration", "duration_positive", log_json.get("duration"))
    end_local = _local(log_json.get("endTime"))
    start_at = _pick_start(start_local, end_local, elapsed_s, zone)
    end_at = start_at + timedelta(seconds=elapsed_s)
    if end_local is not None:
        drift = abs((localtime.local_naive(end_at, zone) - end_local).total_seconds())
        if drift >= 60:
            log.warnings.append(
                f"sleep log {index}: endTime {end_local} does not match start + stage seconds"
            )

    base: list[tuple[datetime, datetime, str]] = []
    offset = 0.0
    for secs, stage, shown in long_entries:
        begin = start_at + timedelta(seconds=offset)
        if shown is not None and localtime.local_naive(begin, zone) != shown:
            log.warnings.append(
                f"sleep log {index}: levels.data not contiguous at {shown} (placed at {begin})"
            )
        if stage is not None:
            base.append((begin, begin + timedelta(seconds=secs), stage))
        offset += secs
    short = _short_wakes(short_entries, start_at, end_at, index, zone, log)

    key = f"{log_id}:{log_json.get('startTime')}"
    log.stages = [
        {"period_key": key, "start_at": a, "end_at": b, "stage": stage}
        for a, b, stage in _split(base, short)
    ]

    def summary_of(name: str, item: str) -> Any:
        entry = summary.get(name)
        return entry.get(item) if isinstance(entry, dict) else None

    classic = log_type == "classic"
    restless_count = summary_of("restless", "count") if classic else None
    restless_min = summary_of("restless", "minutes") if classic else None
    awake_count = summary_of("awake" if classic else "wake", "count")
    if classic and restless_count is None:
        restless_count = log_json.get("restlessCount")
        duration = _number(log_json.get("restlessDuration"))
        restless_min = duration if duration is not None else None
    if awake_count is None:
        awake_count = log_json.get("awakeCount")
    main = log_json.get("mainSleep")
    log.period = {
        "period_key": key,
        "start_at": start_at,
        "end_at": end_at,
        "log_type": log_type,
        "is_main_vendor": main if isinstance(main, bool) else None,
        "vendor_time_in_bed_min": _number(log_json.get("timeInBed")),
        "vendor_minutes_asleep": _number(log_json.get("minutesAsleep")),
        "vendor_minutes_awake": _number(log_json.get("minutesAwake")),
        "vendor_minutes_to_fall_asleep": _number(log_json.get("minutesToFallAsleep")),
        "vendor_efficiency_pct": _number(log_json.get("efficiency")),
        "vendor_restless_count": _count(restless_count),
        "vendor_restless_min": _number(restless_min),
        "vendor_awake_count": _count(awake_count),
        "vendor_sleep_score": None,
        "vendor_restlessness_score": None,
    }
    if not long_entries:
        log.warnings.append(f"sleep log {index}: no levels.data, period without stages")
    return log


def read_sleep(path: Path, ctx: ReadContext) -> ReadResult:
    """Sleep logs -> sleep_periods and non-overlapping sleep_stages."""
    zone = _zone(ctx)
    records, error = _load_records(path, wrapper_key="sleep")
    if not records:
        raise NothingToLoad("Fitbit sleep file holds no sleep logs")
    periods, stages, rejected, warnings = [], [], [], []
    for index, record in enumerate(records):
        try:
            log = _sleep_log(record, index, zone)
        except _BadLog as bad:
            rejected.append(RejectedRow(PERIODS, index, bad.column, bad.check, bad.value))
            continue
        periods.append(log.period)
        stages.extend(log.stages)
        rejected.extend(log.rejected)
        warnings.extend(log.warnings)
    return ReadResult(
        tables={PERIODS: _frame(periods, PERIODS), STAGES: _frame(stages, STAGES)},
        error=error,
        warnings=warnings,
        rejected_rows=rejected,
    )


# --- Per-minute and heart-rate series -------------------------------------------------------


def _read_series(
    path: Path,
    ctx: ReadContext,
    table: str,
    time_column: str,
    values: Callable[[Any], tuple[dict[str, Any] | None, str, str]],
) -> ReadResult:
    """Shared series reader: ``values(value)`` -> (parsed columns or None, column, check)."""
    zone = _zone(ctx)
    records, error = _load_records(path)
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
        return ReadResult(tables={table: _frame([], table)}, error=error, rejected_rows=rejected)
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
    bpm = _count(value.get("bpm"))
    if bpm is None:
        return None, "value.bpm", "bpm_integer"
    return {"bpm": bpm, "confidence": _count(value.get("confidence"))}, "", ""


def _steps_value(value: Any) -> tuple[dict[str, Any] | None, str, str]:
    steps: int | None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        steps = int(value)
    else:
        steps = None if isinstance(value, bool) else _count(value)
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


FORMATS: list[Format] = [
    Format(
        name="fitbit_sleep",
        source=SOURCE,
        sniff=sniff_sleep,
        read=read_sleep,
        coverage={PERIODS: Coverage("span", "start_at"), STAGES: Coverage("span", "start_at")},
        uses_local_time=True,
    ),
    Format(
        name="fitbit_heart_rate",
        source=SOURCE,
        sniff=sniff_heart_rate,
        read=read_heart_rate,
        coverage={HEART_RATE: Coverage("span", "measured_at")},
        uses_local_time=True,
    ),
    Format(
        name="fitbit_steps",
        source=SOURCE,
        sniff=sniff_steps,
        read=read_steps,
        coverage={MOVEMENT: Coverage("span", "epoch_start_at")},
        uses_local_time=True,
    ),
    Format(
        name="fitbit_series",
        source=SOURCE,
        sniff=sniff_series,
        read=read_series,
        coverage={},
        uses_local_time=True,
    ),
]
