"""Sleep as Android ``sleep-export.csv`` (``sleep_as_android_csv``) -> sleep periods,
per-epoch movement, sleep stages and the app's own numbers.

The app's backup zip holds ``sleep-export.csv``, ``prefs.xml`` and ``alarms.json``; the
flow expands the zip and each member is sniffed on its own. The CSV is a series of
records, each a header row and a value row (and, with noise recording, a third row of
noise levels, not used)::

    Id,Tz,From,To,Sched,Hours,...,LenAdjust,Geo,"11:04","11:05",...,"Event",...
    "1606734191337","Europe/London","30. 11. 2020 11:03","30. 11. 2020 11:39",...,
        "3.11","6.07",...,"LIGHT_START-1606734191337",...

Decisions:

* **Period.** ``From``/``To`` (``dd. MM. yyyy H:mm``, minute precision) are read as wall
  time in the record's own ``Tz`` (an IANA zone; never ``ctx.timezone``). ``Id`` is the
  start in Unix milliseconds and ``Hours`` the length: they pick the right reading of a
  wall time repeated when clocks fall back. A record whose ``To`` is not after its
  ``From`` (a tracking shorter than the clock's minute) is rejected with its reason.
  ``log_type`` is ``'sleep_as_android'``, or ``'sleep_as_android_manual'`` for a record
  entered by hand (no events: it has one placeholder value ``0.0``, which is not
  movement and is not loaded).
* **Movement.** The values under the time headers are the app's actigraphy: movement
  intensity aggregated per period, relative to the phone's accelerometer (the app
  normalises per phone; values are capped at 10). They are not counts, but they are the
  record's restlessness signal, so they go to ``activity_count``. The app documents no
  sampling interval (the headers are ``h:mm`` labels that repeat, roughly one value per
  minute), so the ``N`` values are spread evenly over the period: value ``i`` starts at
  ``From + i * (To - From) / N`` and ``epoch_s`` is ``(To - From) / N``. Pauses
  (``TRACKING_PAUSED``) are not cut out. A negative value (``-0.001`` is seen as a
  record's first value) cannot be movement and is stored as unknown (null).
* **Stages.** ``DEEP_START``/``DEEP_END``, ``LIGHT_*``, ``REM_*`` and ``AWAKE_*`` events
  (Unix milliseconds) pair into deep/light/rem/wake intervals at the app's exact
  instants; a start without an end closes at the period's end.
* **App numbers** (vendor_scores, ``local_date`` = the night the period begins: the
  local date of ``From`` minus 12 h, DESIGN section 5): ``saa_rating`` (the user's 0-5
  stars; 0 means unrated and is skipped), ``saa_deep_sleep_fraction`` (0-1; -1/-2 mean
  no hypnogram), ``saa_cycles``, ``saa_snore_s``, ``saa_noise`` (negative = off).
* **Privacy.** ``Comment`` (free text), ``Geo`` (a location hash), ``DEVICE`` events (a
  device id) and ``prefs.xml``/``alarms.json`` are never stored.

``RejectedRow.row_number`` is the 1-based record number in the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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

SOURCE = "sleep_as_android"
PERIODS, STAGES = "sleep_periods", "sleep_stages"
MOVEMENT, SCORES = "movement_epochs", "vendor_scores"
FIXED = (
    "Id",
    "Tz",
    "From",
    "To",
    "Sched",
    "Hours",
    "Rating",
    "Comment",
    "Framerate",
    "Snore",
    "Noise",
    "Cycles",
    "DeepSleep",
    "LenAdjust",
    "Geo",
)
STAGE_EVENTS = {"DEEP": "deep", "LIGHT": "light", "REM": "rem", "AWAKE": "wake"}
_EVENT = re.compile(r"^([A-Z][A-Z0-9_]*)-(\d+)(?:-(.*))?$")
_DATETIME = "%d. %m. %Y %H:%M"


def sniff(head: bytes, name: str) -> bool:
    """A record header row: ``Id,Tz,From,To,Sched,Hours,...``."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    try:
        cells = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    return [c.strip() for c in cells[: len(FIXED)]] == list(FIXED)


@dataclass
class _Record:
    """One record's cells: fixed fields by name, actigraphy values, event texts."""

    number: int
    fields: dict[str, str]
    values: list[str]
    events: list[str]


@dataclass
class _Out:
    """Rows collected over all records."""

    periods: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    zones: list[tuple[int, str]] = field(default_factory=list)


def _records(path: Path) -> list[_Record]:
    """Pair each header row with its value row (a following noise row is skipped)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RejectedFile(f"sleep-export.csv is not UTF-8: {err}") from err
    rows = list(csv.reader(io.StringIO(text)))
    records: list[_Record] = []
    i = 0
    while i < len(rows):
        header = [c.strip() for c in rows[i]]
        if not any(header):
            i += 1
            continue
        if header[: len(FIXED)] != list(FIXED):
            if records and not header[0]:
                i += 1  # the optional noise row of the previous record
                continue
            raise RejectedFile(f"line group {i + 1} is not a record header (Id,Tz,From,...)")
        values = rows[i + 1] if i + 1 < len(rows) else []
        if not values or [v.strip() for v in values[: len(FIXED)]] == list(FIXED):
            raise RejectedFile(f"record header at row {i + 1} has no value row")
        extra = header[len(FIXED) :]
        n_times = next((k for k, name in enumerate(extra) if name == "Event"), len(extra))
        cells = values[len(FIXED) :]
        records.append(
            _Record(
                number=len(records) + 1,
                fields=dict(zip(FIXED, (v.strip() for v in values), strict=False)),
                values=[v.strip() for v in cells[:n_times]],
                events=[v.strip() for v in cells[n_times:] if v.strip()],
            )
        )
        i += 2
    if not records:
        raise NothingToLoad("sleep-export.csv holds no records")
    return records


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value == value and abs(value) != float("inf") else None


def _instant(wall: datetime, zone: str, near: datetime) -> datetime:
    """The UTC reading of ``wall`` in ``zone`` closest to ``near`` (DST fall-back)."""
    candidates = localtime.utc_candidates(wall, zone)
    if not candidates:
        return localtime.to_utc(wall, zone)
    return min(candidates, key=lambda c: abs((c - near).total_seconds()))


class _Bad(Exception):
    def __init__(self, column: str, check: str, value: str) -> None:
        super().__init__(check)
        self.column, self.check, self.value = column, check, value


def _bounds(rec: _Record) -> tuple[str, datetime, datetime, datetime, list[str]]:
    """Zone, start and end instants, the From wall time, and warnings (or _Bad)."""
    f = rec.fields
    zone = f.get("Tz", "")
    try:
        localtime.check_zone(zone)
    except ValueError as err:
        raise _Bad("Tz", "known_time_zone", zone) from err
    if not f.get("Id", "").isdigit():
        raise _Bad("Id", "unix_milliseconds", f.get("Id", ""))
    started = datetime.fromtimestamp(int(f["Id"]) / 1000, tz=UTC)
    hours = _number(f.get("Hours"))
    if hours is None or hours < 0:
        raise _Bad("Hours", "number_format", f.get("Hours", ""))
    walls = {}
    for column in ("From", "To"):
        try:
            walls[column] = datetime.strptime(f.get(column, ""), _DATETIME)
        except ValueError as err:
            raise _Bad(column, "datetime_format", f.get(column, "")) from err
    start_at = _instant(walls["From"], zone, started)
    end_at = _instant(walls["To"], zone, started + timedelta(hours=hours))
    if end_at <= start_at:
        raise _Bad("To", "end_after_start", f"{f['From']} -> {f['To']}")
    warnings = []
    if not timedelta(0) <= started - start_at < timedelta(minutes=1):
        warnings.append(f"record {rec.number}: Id {f['Id']} is not within From's minute")
    return zone, start_at, end_at, walls["From"], warnings


def _stages(rec: _Record, key: str, end_at: datetime) -> list[dict[str, Any]]:
    """Paired X_START/X_END events -> stage intervals (an open start ends with the period)."""
    open_at: dict[str, datetime] = {}
    out = []
    for text in rec.events:
        match = _EVENT.match(text)
        if not match:
            continue
        label, millis = match.group(1), int(match.group(2))
        kind, _, edge = label.rpartition("_")
        if kind not in STAGE_EVENTS or edge not in ("START", "END"):
            continue
        at = datetime.fromtimestamp(millis / 1000, tz=UTC)
        if edge == "START":
            open_at.setdefault(kind, at)
        elif kind in open_at:
            out.append((open_at.pop(kind), at, STAGE_EVENTS[kind]))
    out += [(at, end_at, STAGE_EVENTS[kind]) for kind, at in open_at.items()]
    return [
        {"period_key": key, "start_at": a, "end_at": b, "stage": stage}
        for a, b, stage in sorted(out)
        if b > a
    ]


def _scores(rec: _Record, key: str, night: Any) -> list[dict[str, Any]]:
    """The app's own numbers, each only where it carries a value."""
    f = rec.fields
    found = {
        "saa_rating": _number(f.get("Rating")),
        "saa_deep_sleep_fraction": _number(f.get("DeepSleep")),
        "saa_cycles": _number(f.get("Cycles")),
        "saa_snore_s": _number(f.get("Snore")),
        "saa_noise": _number(f.get("Noise")),
    }
    valid = {
        "saa_rating": lambda v: 0 < v <= 5,
        "saa_deep_sleep_fraction": lambda v: 0 <= v <= 1,
    }
    return [
        {"local_date": night, "period_key": key, "score_name": name, "value": value}
        for name, value in found.items()
        if value is not None and valid.get(name, lambda v: v >= 0)(value)
    ]


def _record(rec: _Record, out: _Out) -> None:
    """One record -> its period, stages, epochs and scores (or a rejected row)."""
    try:
        zone, start_at, end_at, from_wall, warnings = _bounds(rec)
    except _Bad as bad:
        out.rejected.append(RejectedRow(PERIODS, rec.number, bad.column, bad.check, bad.value))
        return
    out.warnings += warnings
    out.zones.append((int(rec.fields["Id"]), zone))
    key = rec.fields["Id"]
    manual = not rec.events
    hours = _number(rec.fields.get("Hours")) or 0.0
    adjust_text = rec.fields.get("LenAdjust", "")
    adjust = _number(adjust_text) if adjust_text != "-1.0" else None
    out.periods.append(
        {
            "period_key": key,
            "start_at": start_at,
            "end_at": end_at,
            "log_type": "sleep_as_android_manual" if manual else "sleep_as_android",
            "vendor_time_in_bed_min": hours * 60,
            "vendor_minutes_asleep": hours * 60 + (adjust or 0.0),
        }
    )
    out.stages += _stages(rec, key, end_at)
    night = (from_wall - timedelta(hours=12)).date()
    out.scores += _scores(rec, key, night)
    if manual or not rec.values:
        return
    span_us = int((end_at - start_at).total_seconds() * 1_000_000)
    n = len(rec.values)
    for i, text in enumerate(rec.values):
        value = _number(text)
        if value is None:
            out.rejected.append(
                RejectedRow(MOVEMENT, rec.number, f"actigraphy[{i}]", "number_format", text)
            )
            continue
        out.epochs.append(
            {
                "epoch_start_at": start_at + timedelta(microseconds=span_us * i // n),
                "epoch_s": span_us / n / 1_000_000,
                "activity_count": value if value >= 0 else None,
            }
        )


def _frame(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    schema = polars_schema(table)
    columns = reader_columns(table)
    full = [{c: row.get(c) for c in columns} for row in rows]
    return pl.from_dicts(full, schema={c: schema[c] for c in columns})


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """sleep-export.csv -> sleep_periods, sleep_stages, movement_epochs, vendor_scores."""
    out = _Out()
    for rec in _records(path):
        _record(rec, out)
    negative = sum(1 for e in out.epochs if e["activity_count"] is None)
    if negative:
        out.warnings.append(f"{negative} negative actigraphy value(s) stored as unknown")
    stages = _frame(out.stages, STAGES).unique("start_at", keep="first", maintain_order=True)
    return ReadResult(
        tables={
            PERIODS: _frame(out.periods, PERIODS),
            STAGES: stages,
            MOVEMENT: _frame(out.epochs, MOVEMENT).sort("epoch_start_at"),
            SCORES: _frame(out.scores, SCORES),
        },
        warnings=out.warnings,
        rejected_rows=out.rejected,
        timezone_hint=max(out.zones)[1] if out.zones else None,
    )


# --- The other members of the backup zip: recognised, nothing to load ----------------------

_PREFS_KEYS = (b"lullaby_volume", b"smartlight_", b"awake_light_sensitivity", b"lucid_")


def sniff_prefs(head: bytes, name: str) -> bool:
    """Android shared preferences (``<map>``) holding Sleep as Android's own settings."""
    return b"<map>" in head[:512] and sum(key in head for key in _PREFS_KEYS) >= 2


def sniff_alarms(head: bytes, name: str) -> bool:
    """The backup's alarm list: a JSON list of alarms with the app's smart-wake window."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"[") and b'"nonDeepsleepWakeupWindow"' in head


def read_settings(path: Path, ctx: ReadContext) -> ReadResult:
    """prefs.xml / alarms.json: app settings, nothing restless loads."""
    raise NothingToLoad("Sleep as Android app settings or alarms: nothing restless loads")


FORMATS: list[Format] = [
    Format(
        name="sleep_as_android_csv",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={
            PERIODS: Coverage("span", "start_at"),
            STAGES: Coverage("span", "start_at"),
            MOVEMENT: Coverage("span", "epoch_start_at"),
            SCORES: Coverage("dates", "local_date"),
        },
    ),
    Format(
        name="sleep_as_android_settings",
        source=SOURCE,
        sniff=lambda head, name: sniff_prefs(head, name) or sniff_alarms(head, name),
        read=read_settings,
        coverage={},
    ),
]
