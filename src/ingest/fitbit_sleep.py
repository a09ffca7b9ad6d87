"""Fitbit sleep logs (``fitbit_sleep``) -> sleep_periods and sleep_stages.

A sleep file is a list of logs (``logId``, ``startTime``, ``levels``), sometimes wrapped
as ``{"sleep": [...]}``. ``period_key`` is ``"{logId}:{startTime}"`` because real
exports repeat a logId. Stage instants are the log's start plus accumulated ``seconds``
(so a night across a DST change has the right elapsed time); for ``stages`` logs the
short wakes of ``levels.shortData`` (<= 3 min) override the part of the long interval
they cover, which is split so stages never overlap. Classic levels map
asleep/restless/awake to asleep/restless/wake.

Times are local and naive; ``ctx.timezone`` turns them into UTC. A log starting in the
repeated fall-back hour takes the reading consistent with its ``endTime``.
``RejectedRow.row_number`` is the 0-based index of the log in the file's JSON list (for a
sleep stage ``column`` then gives the path inside the log). A file truncated mid-list
keeps the complete logs before the damage (``error`` set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from restless.ingest import localtime
from restless.ingest.base import NothingToLoad, ReadContext, ReadResult, RejectedRow
from restless.ingest.json_records import (
    as_count,
    as_number,
    first_record,
    load_records,
    typed_rows,
)

PERIODS, STAGES = "sleep_periods", "sleep_stages"

CLASSIC_LEVELS = {"asleep": "asleep", "restless": "restless", "awake": "wake"}
STAGE_LEVELS = {"light": "light", "deep": "deep", "rem": "rem", "wake": "wake"}


def sniff_sleep(head: bytes, name: str) -> bool:
    """A list of sleep logs: objects with logId, startTime and levels or duration."""
    first = first_record(head, wrapper_key="sleep")
    if first is not None:
        return {"logId", "startTime"} <= set(first) and bool({"levels", "duration"} & set(first))
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    # The first log may be longer than the sniffed head: fall back to its keys.
    return text.startswith(("[", "{")) and all(
        f'"{key}"' in text for key in ("logId", "startTime", "levels")
    )


def _local(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


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
        level, secs = entry.get("level"), as_number(entry.get("seconds"))
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

    duration_ms = as_number(log_json.get("duration"))
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
        duration = as_number(log_json.get("restlessDuration"))
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
        "vendor_time_in_bed_min": as_number(log_json.get("timeInBed")),
        "vendor_minutes_asleep": as_number(log_json.get("minutesAsleep")),
        "vendor_minutes_awake": as_number(log_json.get("minutesAwake")),
        "vendor_minutes_to_fall_asleep": as_number(log_json.get("minutesToFallAsleep")),
        "vendor_efficiency_pct": as_number(log_json.get("efficiency")),
        "vendor_restless_count": as_count(restless_count),
        "vendor_restless_min": as_number(restless_min),
        "vendor_awake_count": as_count(awake_count),
        "vendor_sleep_score": None,
        "vendor_restlessness_score": None,
    }
    if not long_entries:
        log.warnings.append(f"sleep log {index}: no levels.data, period without stages")
    return log


def read_sleep(path: Path, ctx: ReadContext) -> ReadResult:
    """Sleep logs -> sleep_periods and non-overlapping sleep_stages."""
    zone = localtime.reader_zone(ctx)
    records, error = load_records(path, wrapper_key="sleep")
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
        tables={PERIODS: typed_rows(periods, PERIODS), STAGES: typed_rows(stages, STAGES)},
        error=error,
        warnings=warnings,
        rejected_rows=rejected,
    )
