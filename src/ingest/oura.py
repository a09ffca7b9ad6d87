"""Oura JSON documents (API v2 shapes, as the API and the membership export give them).

A file is a JSON list of documents of one type, or the API's ``{"data": [...],
"next_token": ...}`` page; the type is recognised by the first document's keys:

* ``oura_daily_sleep``: ``daily_sleep`` documents ``{id, day, score, timestamp,
  contributors{deep_sleep, efficiency, latency, rem_sleep, restfulness, timing,
  total_sleep}}`` -> vendor_scores, one row per number (``local_date`` = ``day``,
  ``period_key`` null: a day's score, not a period's): ``oura_sleep_score`` and
  ``oura_contributor_<name>``. All are Oura's 1-100 scores (100 = best), never durations;
  ``oura_contributor_restfulness`` is Oura's judgement of how undisturbed the night was
  (wake-ups, restless periods, movement), scored against Oura's own targets.
* ``oura_sleep``: ``sleep`` documents, one per detected period (``long_sleep``, the
  short ``sleep``, ``late_nap``, ``rest``; ``deleted`` periods are skipped) ->
  sleep_periods, sleep_stages, movement_epochs, vendor_scores.
* ``oura_other``: every other v2 document type (daily_readiness, daily_activity,
  daily_spo2, heartrate, workout, ...): recognised and skipped, the type named.

Instants. ``bedtime_start``/``bedtime_end`` carry their own ISO offsets (``-05:00``) and are
honoured as written: ``ctx.timezone`` is never used, so a night recorded on a trip or across
a DST change lands at the right UTC instant. An instant without an offset is rejected
(``datetime_with_offset``). ``timezone_hint`` is the newest period's offset as a
fixed-offset zone (``-05:00`` -> ``Etc/GMT+5``) when it is whole hours.

What each number of a ``sleep`` document means (Oura API v2):

* ``start_at``/``end_at`` = bedtime start/end (time in bed, not sleep onset);
  ``period_key`` = Oura's document ``id``; ``log_type`` = Oura's ``type``; ``is_nap`` true
  for ``sleep`` (a short period Oura did not count as the night), ``late_nap`` and
  ``rest``, false for ``long_sleep``; ``is_main_vendor`` null (Oura flags no main period);
* seconds -> minutes: ``time_in_bed`` -> ``vendor_time_in_bed_min``,
  ``total_sleep_duration`` -> ``vendor_minutes_asleep``, ``awake_time`` ->
  ``vendor_minutes_awake``, ``latency`` -> ``vendor_minutes_to_fall_asleep``;
  ``efficiency`` (%) -> ``vendor_efficiency_pct``. A sleep document has no sleep score (it
  is in daily_sleep);
* ``restless_periods`` -> ``vendor_restless_count`` and the vendor score
  ``oura_restless_periods``: the number of periods of restless movement Oura's ring (a
  finger accelerometer) counted during the period. It is Oura's restlessness proxy: not
  leg movements, not comparable with Fitbit's restless count or WHOOP's disturbances;
* ``sleep_phase_5_min``: one character per 5 minutes from ``bedtime_start``: '1' deep,
  '2' light, '3' REM, '4' awake -> sleep_stages (runs of one phase merged into one
  interval; the last clipped to ``bedtime_end``);
* ``movement_30_sec``: one character per 30 s from ``bedtime_start``: '1' no motion,
  '2' restless, '3' tossing and turning, '4' active -> movement_epochs with ``epoch_s`` 30,
  ``activity_count`` = value - 1 (0 = no motion, any positive value = movement, so the
  epoch restlessness model counts it as moving; an ordinal class, not an accelerometer
  count) and ``activity_type`` the Oura word (``no_motion``, ``restless``,
  ``tossing_and_turning``, ``active``);
* more vendor_scores (``local_date`` = ``day``, ``period_key`` = id): ``oura_deep_min``,
  ``oura_light_min``, ``oura_rem_min``, ``oura_lowest_heart_rate_bpm``,
  ``oura_average_heart_rate_bpm``, ``oura_average_hrv_ms``.

``RejectedRow.row_number`` is the 0-based index of the document in the file's list;
``column`` names the field (``sleep_phase_5_min[12]`` for one character). A file damaged
mid-list keeps the complete documents before the damage (``error`` set).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)
from restless.ingest.json_records import as_count, as_number, list_body, load_records, typed_rows
from restless.ingest.localtime import fixed_offset_zone

SOURCE = "oura"
DAILY_SOURCE = SOURCE
"""daily_sleep scores are Oura's too; the warehouse replaces covered rows per format, so the
scores of ``sleep`` documents and of ``daily_sleep`` documents of the same days never erase
each other."""

PERIODS, STAGES, MOVEMENT, SCORES = (
    "sleep_periods",
    "sleep_stages",
    "movement_epochs",
    "vendor_scores",
)

SLEEP_PHASES = {"1": "deep", "2": "light", "3": "rem", "4": "wake"}
PHASE_S = 300
MOVEMENT_CLASSES = {"1": "no_motion", "2": "restless", "3": "tossing_and_turning", "4": "active"}
MOVEMENT_S = 30
NAP_TYPES = {"sleep": True, "late_nap": True, "rest": True, "long_sleep": False}
DAILY_CONTRIBUTORS = (
    "deep_sleep",
    "efficiency",
    "latency",
    "rem_sleep",
    "restfulness",
    "timing",
    "total_sleep",
)
"""The daily_sleep contributors (no other document type has any of these names)."""
PERIOD_SCORES: dict[str, tuple[str, float]] = {
    "oura_restless_periods": ("restless_periods", 1.0),
    "oura_deep_min": ("deep_sleep_duration", 60.0),
    "oura_light_min": ("light_sleep_duration", 60.0),
    "oura_rem_min": ("rem_sleep_duration", 60.0),
    "oura_lowest_heart_rate_bpm": ("lowest_heart_rate", 1.0),
    "oura_average_heart_rate_bpm": ("average_heart_rate", 1.0),
    "oura_average_hrv_ms": ("average_hrv", 1.0),
}
"""score_name -> (sleep document field, divisor: seconds -> minutes)."""

# --- Recognising a document type ------------------------------------------------------------

_SLEEP_KEYS = {"bedtime_start", "bedtime_end", "day"}
_SLEEP_DETAIL = {
    "sleep_phase_5_min",
    "movement_30_sec",
    "time_in_bed",
    "total_sleep_duration",
    "awake_time",
    "average_hrv",
    "deep_sleep_duration",
}
"""Period fields; the early ones (alphabetical, as the API orders them) let a head cut
inside a long first document still be recognised."""
OTHER_TYPES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(keys))
    for name, keys in (
        ("daily_readiness", {"day", "contributors", "temperature_deviation"}),
        ("daily_activity", {"day", "class_5_min"}),
        ("daily_activity", {"day", "steps", "active_calories"}),
        ("daily_spo2", {"day", "spo2_percentage"}),
        ("daily_stress", {"day", "stress_high", "recovery_high"}),
        ("daily_resilience", {"day", "level", "contributors"}),
        ("daily_cardiovascular_age", {"day", "vascular_age"}),
        ("vo2_max", {"day", "vo2_max"}),
        ("sleep_time", {"day", "optimal_bedtime", "recommendation"}),
        ("workout", {"activity", "start_datetime", "end_datetime", "intensity"}),
        ("session", {"start_datetime", "end_datetime", "type", "mood"}),
        ("enhanced_tag", {"tag_type_code", "start_time"}),
        ("tag", {"day", "tags", "timestamp"}),
        ("rest_mode_period", {"start_day", "episodes"}),
        ("ring_configuration", {"hardware_type", "firmware_version"}),
        ("heartrate", {"bpm", "source", "timestamp"}),
    )
)
"""Other Oura v2 document types, each with keys only it has (checked in order)."""

_KEY = re.compile(r'"([A-Za-z0-9_]+)"\s*:')


def document_type(doc: dict[str, Any]) -> str | None:
    """The Oura v2 type of one document ('sleep', 'daily_sleep', 'daily_readiness'...)."""
    keys = set(doc)
    contributors = doc.get("contributors")
    named = set(contributors) if isinstance(contributors, dict) else set()
    return _classify(keys, named)


def _classify(keys: set[str], contributors: set[str]) -> str | None:
    if keys >= _SLEEP_KEYS and keys & _SLEEP_DETAIL:
        return "sleep"
    if {"day", "score", "contributors"} <= keys and contributors & set(DAILY_CONTRIBUTORS):
        return "daily_sleep"
    for name, required in OTHER_TYPES:
        if required <= keys:
            return name
    return None


def _head_type(head: bytes) -> str | None:
    """The type of the first document in a file head (a list or a ``{"data": [...]}``)."""
    body = list_body(head, wrapper_key="data")
    if body is None or not body.startswith("{"):
        return None
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        # The first document is longer than the head (heart-rate samples): use the keys seen.
        keys = set(_KEY.findall(body))
        return _classify(keys, keys)
    return document_type(first) if isinstance(first, dict) else None


def sniff_daily_sleep(head: bytes, name: str) -> bool:
    """A list of daily_sleep documents (day, score, sleep contributors)."""
    return _head_type(head) == "daily_sleep"


def sniff_sleep(head: bytes, name: str) -> bool:
    """A list of sleep documents (bedtime_start, bedtime_end, day and period details)."""
    return _head_type(head) == "sleep"


def sniff_other(head: bytes, name: str) -> bool:
    """A list of another Oura v2 document type."""
    found = _head_type(head)
    return found is not None and found not in ("sleep", "daily_sleep")


# --- Shared ---------------------------------------------------------------------------------


def _documents(path: Path, kind: str) -> tuple[list[Any], str | None]:
    records, error = load_records(path, wrapper_key="data")
    if not records:
        raise NothingToLoad(f"Oura {kind} file holds no documents")
    return records, error


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class _BadDocument(Exception):
    def __init__(self, column: str, check: str, value: Any) -> None:
        super().__init__(check)
        self.column, self.check = column, check
        self.value = "" if value is None else str(value)


# --- daily_sleep ----------------------------------------------------------------------------


def _daily_scores(doc: Any) -> tuple[date, list[tuple[str, float]]]:
    """(day, [(score_name, value)]) of one daily_sleep document; raises _BadDocument."""
    if not isinstance(doc, dict):
        raise _BadDocument("", "document_object", type(doc).__name__)
    day = _day(doc.get("day"))
    if day is None:
        raise _BadDocument("day", "date_format", doc.get("day"))
    contributors = doc.get("contributors")
    if contributors is not None and not isinstance(contributors, dict):
        raise _BadDocument("contributors", "contributors_object", contributors)
    values = [("oura_sleep_score", "score", doc.get("score"))]
    values += [
        (f"oura_contributor_{re.sub(r'[^a-z0-9_]', '_', str(k).lower())}", f"contributors.{k}", v)
        for k, v in sorted((contributors or {}).items())
    ]
    out: list[tuple[str, float]] = []
    for name, column, raw in values:
        if raw is None:
            continue  # Oura reports null when it could not score
        number = as_number(raw)
        if number is None or not 0 <= number <= 100:
            raise _BadDocument(column, "score_0_100", raw)
        out.append((name, number))
    return day, out


def read_daily_sleep(path: Path, ctx: ReadContext) -> ReadResult:
    """daily_sleep documents -> vendor_scores (the day's sleep score and its contributors)."""
    records, error = _documents(path, "daily_sleep")
    rows: list[dict[str, Any]] = []
    rejected: list[RejectedRow] = []
    seen: set[date] = set()
    for index, doc in enumerate(records):
        try:
            day, scores = _daily_scores(doc)
            if day in seen:
                raise _BadDocument("day", "unique_day", day.isoformat())
        except _BadDocument as bad:
            rejected.append(RejectedRow(SCORES, index, bad.column, bad.check, bad.value))
            continue
        seen.add(day)
        rows += [
            {"local_date": day, "period_key": None, "score_name": n, "value": v} for n, v in scores
        ]
    rows.sort(key=lambda r: (r["local_date"], r["score_name"]))
    return ReadResult(
        tables={SCORES: typed_rows(rows, SCORES)}, error=error, rejected_rows=rejected
    )


# --- sleep ----------------------------------------------------------------------------------


@dataclass
class _Period:
    """One parsed sleep document."""

    index: int
    start_at: datetime
    end_at: datetime
    offset_s: int
    row: dict[str, Any]
    day: date
    doc: dict[str, Any]
    rejected: list[RejectedRow] = field(default_factory=list)


def _instant(doc: dict[str, Any], key: str) -> datetime:
    """A UTC instant from an ISO string with its own offset; raises _BadDocument."""
    value = doc.get(key)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise _BadDocument(key, "datetime_format", value)
    if parsed.utcoffset() is None:
        raise _BadDocument(key, "datetime_with_offset", value)
    return parsed


def _minutes(doc: dict[str, Any], key: str) -> float | None:
    seconds = as_number(doc.get(key))
    return None if seconds is None else seconds / 60


def _sleep_period(doc: Any, index: int) -> _Period | None:
    """One sleep document -> its period row (None if deleted); raises _BadDocument."""
    if not isinstance(doc, dict):
        raise _BadDocument("", "document_object", type(doc).__name__)
    kind = doc.get("type")
    if kind == "deleted":
        return None
    key = doc.get("id")
    if not isinstance(key, str) or not key.strip():
        raise _BadDocument("id", "required_value", key)
    start, end = _instant(doc, "bedtime_start"), _instant(doc, "bedtime_end")
    if end <= start:
        raise _BadDocument("bedtime_end", "end_after_start", doc.get("bedtime_end"))
    day = _day(doc.get("day"))
    if day is None:
        raise _BadDocument("day", "date_format", doc.get("day"))
    row = {
        "period_key": key,
        "start_at": start.astimezone(UTC),
        "end_at": end.astimezone(UTC),
        "log_type": kind if isinstance(kind, str) else None,
        "is_main_vendor": None,
        "vendor_time_in_bed_min": _minutes(doc, "time_in_bed"),
        "vendor_minutes_asleep": _minutes(doc, "total_sleep_duration"),
        "vendor_minutes_awake": _minutes(doc, "awake_time"),
        "vendor_minutes_to_fall_asleep": _minutes(doc, "latency"),
        "vendor_efficiency_pct": as_number(doc.get("efficiency")),
        "vendor_restless_count": as_count(doc.get("restless_periods")),
        "is_nap": NAP_TYPES.get(kind) if isinstance(kind, str) else None,
    }
    offset = start.utcoffset()
    offset_s = int(offset.total_seconds()) if offset is not None else 0
    return _Period(index, row["start_at"], row["end_at"], offset_s, row, day, doc)


def _slots(
    period: _Period,
    column: str,
    step_s: int,
    classes: dict[str, str],
    table: str,
    check: str,
) -> tuple[list[tuple[datetime, str, str]], bool]:
    """(slot start, character, class) for each known character of a per-slot string.

    Slots run from bedtime start; a slot starting at or after bedtime end is dropped (the
    second value says whether any was). An unknown character is rejected, its slot left empty.
    """
    text = period.doc.get(column)
    if text is None:
        return [], False
    if not isinstance(text, str):
        period.rejected.append(RejectedRow(table, period.index, column, "string", str(text)))
        return [], False
    out: list[tuple[datetime, str, str]] = []
    overflow = False
    for i, char in enumerate(text):
        at = period.start_at + timedelta(seconds=i * step_s)
        if at >= period.end_at:
            overflow = True
            break
        if char not in classes:
            period.rejected.append(RejectedRow(table, period.index, f"{column}[{i}]", check, char))
            continue
        out.append((at, char, classes[char]))
    return out, overflow


def _stages(period: _Period) -> tuple[list[dict[str, Any]], bool]:
    """sleep_phase_5_min -> stage intervals, runs of one phase merged, clipped to the end."""
    slots, overflow = _slots(
        period, "sleep_phase_5_min", PHASE_S, SLEEP_PHASES, STAGES, "known_sleep_phase"
    )
    step = timedelta(seconds=PHASE_S)
    runs: list[dict[str, Any]] = []
    for at, _, stage in slots:
        if runs and runs[-1]["stage"] == stage and runs[-1]["end_at"] == at:
            runs[-1]["end_at"] = min(at + step, period.end_at)
            continue
        end = min(at + step, period.end_at)
        runs.append(
            {"period_key": period.row["period_key"], "start_at": at, "end_at": end, "stage": stage}
        )
    return runs, overflow


def _epochs(period: _Period) -> tuple[list[dict[str, Any]], bool]:
    """movement_30_sec -> 30 s movement epochs (activity_count = class - 1)."""
    slots, overflow = _slots(
        period, "movement_30_sec", MOVEMENT_S, MOVEMENT_CLASSES, MOVEMENT, "known_movement_class"
    )
    return [
        {
            "epoch_start_at": at,
            "epoch_s": float(MOVEMENT_S),
            "activity_count": float(int(char) - 1),
            "activity_type": word,
        }
        for at, char, word in slots
    ], overflow


def _period_scores(period: _Period) -> list[dict[str, Any]]:
    out = []
    for name, (key, divisor) in PERIOD_SCORES.items():
        value = as_number(period.doc.get(key))
        if value is not None:
            out.append(
                {
                    "local_date": period.day,
                    "period_key": period.row["period_key"],
                    "score_name": name,
                    "value": value / divisor,
                }
            )
    return out


def _unique(
    rows: list[dict[str, Any]],
    instant: str,
    owners: list[int],
    table: str,
    rejected: list[RejectedRow],
) -> list[dict[str, Any]]:
    """Rows whose ``instant`` was not seen before (duplicated periods repeat every slot)."""
    seen: set[datetime] = set()
    kept = []
    for row, owner in zip(rows, owners, strict=True):
        if row[instant] in seen:
            rejected.append(
                RejectedRow(table, owner, instant, "unique_instant", row[instant].isoformat())
            )
            continue
        seen.add(row[instant])
        kept.append(row)
    return kept


def read_sleep(path: Path, ctx: ReadContext) -> ReadResult:
    """sleep documents -> sleep_periods, sleep_stages, movement_epochs and vendor_scores."""
    records, error = _documents(path, "sleep")
    periods: list[_Period] = []
    rejected: list[RejectedRow] = []
    deleted = 0
    seen_keys: set[str] = set()
    for index, doc in enumerate(records):
        try:
            period = _sleep_period(doc, index)
            if period is not None and period.row["period_key"] in seen_keys:
                raise _BadDocument("id", "unique_period_key", period.row["period_key"])
        except _BadDocument as bad:
            rejected.append(RejectedRow(PERIODS, index, bad.column, bad.check, bad.value))
            continue
        if period is None:
            deleted += 1
            continue
        seen_keys.add(period.row["period_key"])
        periods.append(period)
    periods.sort(key=lambda p: (p.start_at, p.row["period_key"]))

    warnings: list[str] = []
    if deleted:
        warnings.append(f"{deleted} sleep period(s) of type 'deleted' skipped")
    stages, stage_owner, epochs, epoch_owner, scores = [], [], [], [], []
    for period in periods:
        period_stages, long_phases = _stages(period)
        period_epochs, long_movement = _epochs(period)
        for what, overflow in (
            ("sleep_phase_5_min", long_phases),
            ("movement_30_sec", long_movement),
        ):
            if overflow:
                warnings.append(
                    f"sleep document {period.index}: {what} runs past bedtime_end (tail dropped)"
                )
        stages += period_stages
        stage_owner += [period.index] * len(period_stages)
        epochs += period_epochs
        epoch_owner += [period.index] * len(period_epochs)
        scores += _period_scores(period)
        rejected += period.rejected
    stages = _unique(stages, "start_at", stage_owner, STAGES, rejected)
    epochs = _unique(epochs, "epoch_start_at", epoch_owner, MOVEMENT, rejected)
    rejected.sort(key=lambda r: (r.row_number, r.table, r.column))
    hint = fixed_offset_zone(periods[-1].offset_s) if periods else None
    return ReadResult(
        tables={
            PERIODS: typed_rows([p.row for p in periods], PERIODS),
            STAGES: typed_rows(stages, STAGES),
            MOVEMENT: typed_rows(epochs, MOVEMENT),
            SCORES: typed_rows(scores, SCORES),
        },
        error=error,
        timezone_hint=hint,
        warnings=warnings,
        rejected_rows=rejected,
    )


# --- other documents ------------------------------------------------------------------------


def read_other(path: Path, ctx: ReadContext) -> ReadResult:
    """Oura documents restless does not use: skipped with their type named."""
    records, _ = _documents(path, "document")
    first = records[0]
    kind = document_type(first) if isinstance(first, dict) else None
    if kind is None:
        raise RejectedFile("first Oura document is not of a known v2 type")
    raise NothingToLoad(
        f"Oura '{kind}' documents: restless reads only 'sleep' and 'daily_sleep' from Oura"
    )


FORMATS: list[Format] = [
    Format(
        name="oura_sleep",
        source=SOURCE,
        sniff=sniff_sleep,
        read=read_sleep,
        coverage={
            PERIODS: Coverage("span", "start_at"),
            STAGES: Coverage("span", "start_at"),
            MOVEMENT: Coverage("span", "epoch_start_at"),
            SCORES: Coverage("dates", "local_date"),
        },
    ),
    Format(
        name="oura_daily_sleep",
        source=DAILY_SOURCE,
        sniff=sniff_daily_sleep,
        read=read_daily_sleep,
        coverage={SCORES: Coverage("dates", "local_date")},
    ),
    Format(name="oura_other", source=SOURCE, sniff=sniff_other, read=read_other, coverage={}),
]
"""Instants carry their own offsets (``uses_local_time`` False); a load replaces the span of
instants (periods, stages, epochs) or the days (scores) the file covers."""
