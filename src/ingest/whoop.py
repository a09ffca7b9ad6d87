"""WHOOP data export CSVs (``my_whoop_data_*/``): ``sleeps.csv`` -> sleep_periods, vendor_scores.

Formats:

* ``whoop_sleeps``: ``sleeps.csv``, one row per sleep WHOOP detected (the cycle's sleep and
  naps, ``Nap`` true/false), sorted newest first (order is irrelevant here: output is
  sorted by instant);
* ``whoop_other``: the export's other CSVs (``physiological_cycles.csv``,
  ``workouts.csv``, ``journal_entries.csv``): recognised and skipped with the reason.

Time. ``Sleep onset`` and ``Wake onset`` are local naive wall-clock times written in the
offset of the row's own ``Cycle timezone`` (spellings ``UTC-04:00``, ``UTC+01:00``,
``UTCZ``, also ``GMT-5``, ``+05:30``). Each row is converted with its OWN offset, never
with ``ctx.timezone``: WHOOP keeps the cycle's offset until the next cycle starts, so on a
spring-forward day the whole row is still in the old offset (real export: the cycle
starting 2024-03-10 22:48 is stamped ``UTC-05:00`` although New York was already at -04:00,
and its end equals the next cycle's start only when read that way). ``timezone_hint`` is
the newest sleep's offset as a fixed-offset zone (``UTC-04:00`` -> ``Etc/GMT+4``, POSIX
sign inverted) when it is a whole number of hours.

What each number means (WHOOP's own definitions; never compare them blindly with another
vendor's numbers of the same name):

* ``start_at``/``end_at``: ``Sleep onset``/``Wake onset``. Despite the name, onset is when
  WHOOP's sleep activity begins (in bed, before falling asleep): wake - onset equals
  ``In bed duration`` within a minute on most real rows;
* ``vendor_time_in_bed_min`` = ``In bed duration (min)``; ``vendor_minutes_asleep`` =
  ``Asleep duration (min)`` (light + deep + REM); ``vendor_minutes_awake`` = ``Awake
  duration (min)`` (in bed = asleep + awake); ``vendor_efficiency_pct`` = ``Sleep
  efficiency %`` (asleep / in bed);
* ``vendor_sleep_score`` = ``Sleep performance %``: hours slept as a share of WHOOP's
  ``Sleep need`` (capped at 100). It is NOT a sleep-quality score like Oura's or Garmin's
  0-100 scores, and it says nothing about movement;
* vendor_scores (``local_date`` = local calendar date of sleep onset, ``period_key`` of the
  sleep): ``whoop_sleep_performance_pct``, ``whoop_respiratory_rate_rpm``,
  ``whoop_light_min``, ``whoop_deep_min`` (``Deep (SWS)``), ``whoop_rem_min``,
  ``whoop_sleep_need_min`` and ``whoop_sleep_debt_min`` (WHOOP's model of how much sleep
  was needed / owed), ``whoop_sleep_consistency_pct`` (similarity of sleep/wake times to
  the previous four days; blank for naps), ``whoop_disturbances`` (count of wake
  disturbances, only when the export has such a column).

Restlessness: this export has NO restlessness or movement measure (no restless count, no
movement epochs); ``Awake duration`` and disturbances count wakefulness, not leg
movement. WHOOP nights therefore carry no restlessness numbers of their own.

``is_nap`` comes from ``Nap``; ``is_main_vendor`` is ``not Nap`` (WHOOP's one non-nap
sleep starts the cycle). ``period_key`` is the onset instant in UTC
(``2024-09-15T04:08:36Z``), stable across re-exports. Rows with unparseable times or
offset, a wake before the onset, a ``Nap`` that is not true/false, a non-numeric metric or
a repeated onset instant go to ``rejected_rows`` with the check named. A sleep whose
metrics are all blank (real: WHOOP could not score it) is kept as a period without
scores. The first row of an export is the ongoing cycle (blank ``Cycle end time``); its
sleep is complete and is loaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from restless.ingest import csv_text
from restless.ingest.base import Coverage, Format, NothingToLoad, ReadContext, ReadResult
from restless.ingest.localtime import fixed_offset_zone

SOURCE = "whoop"
PERIODS, SCORES = "sleep_periods", "vendor_scores"

ONSET, WAKE, ZONE, NAP = "Sleep onset", "Wake onset", "Cycle timezone", "Nap"
REQUIRED = (ONSET, WAKE, ZONE)

PERIOD_METRICS: dict[str, str] = {
    "vendor_time_in_bed_min": "In bed duration (min)",
    "vendor_minutes_asleep": "Asleep duration (min)",
    "vendor_minutes_awake": "Awake duration (min)",
    "vendor_efficiency_pct": "Sleep efficiency %",
    "vendor_sleep_score": "Sleep performance %",
}
"""sleep_periods column -> WHOOP header."""

SCORE_METRICS: dict[str, str] = {
    "whoop_sleep_performance_pct": "Sleep performance %",
    "whoop_respiratory_rate_rpm": "Respiratory rate (rpm)",
    "whoop_light_min": "Light sleep duration (min)",
    "whoop_deep_min": "Deep (SWS) duration (min)",
    "whoop_rem_min": "REM duration (min)",
    "whoop_sleep_need_min": "Sleep need (min)",
    "whoop_sleep_debt_min": "Sleep debt (min)",
    "whoop_sleep_consistency_pct": "Sleep consistency %",
}
"""vendor_scores score_name -> WHOOP header."""

DISTURBANCES = "whoop_disturbances"
_DISTURBANCE_HEADER = re.compile(r"^(sleep )?disturbances?( count| \(count\))?$", re.IGNORECASE)
"""No public export has it yet; WHOOP's API reports ``disturbance_count`` per sleep."""

_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
_OFFSET = r"^(?:UTC|GMT)?\s*(?:Z|(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?$"
_MAX_OFFSET_MIN = 14 * 60

OTHER_EXPORTS: dict[str, str] = {
    "recovery score %": "physiological_cycles.csv (recovery, strain and the cycle's main "
    "sleep again, without naps: sleeps.csv has every sleep)",
    "workout start time": "workouts.csv (workouts)",
    "question text": "journal_entries.csv (journal answers)",
}
"""A header column that names each other WHOOP export, and what it holds."""


def _cells(head: bytes) -> set[str]:
    return {cell.lower() for cell in csv_text.header_cells(head)}


def sniff_sleeps(head: bytes, name: str) -> bool:
    """Header with Sleep onset, Wake onset and Cycle timezone, not a physiological cycle."""
    cells = _cells(head)
    return {c.lower() for c in REQUIRED} <= cells and "recovery score %" not in cells


def sniff_other(head: bytes, name: str) -> bool:
    """Any other WHOOP export CSV: a header starting with the cycle columns."""
    cells = _cells(head)
    return {"cycle start time", "cycle timezone"} <= cells and not sniff_sleeps(head, name)


def _naive(text: pl.Expr) -> pl.Expr:
    cleaned = text.str.strip_chars()
    return pl.coalesce(
        *(cleaned.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _DATETIME_FORMATS)
    )


def offset_minutes(text: pl.Expr) -> pl.Expr:
    """Minutes east of UTC from WHOOP's offset cell ('UTC-04:00' -> -240, 'UTCZ' -> 0)."""
    cleaned = text.str.strip_chars().str.to_uppercase()
    parts = cleaned.str.extract_groups(_OFFSET)
    sign = pl.when(parts.struct.field("sign") == "-").then(-1).otherwise(1)
    hours = parts.struct.field("h").cast(pl.Int64, strict=False)
    minutes = parts.struct.field("m").cast(pl.Int64, strict=False).fill_null(0)
    signed = sign * (hours * 60 + minutes)
    matched = cleaned.str.contains(_OFFSET)
    value = (
        pl.when(~matched.fill_null(False))
        .then(None)
        .when(hours.is_null())
        .then(0)  # 'UTCZ', 'UTC', 'Z'
        .when(minutes < 60)
        .then(signed)
    )
    return pl.when(value.abs() <= _MAX_OFFSET_MIN).then(value)


def _boolean(text: pl.Expr) -> pl.Expr:
    lowered = text.str.strip_chars().str.to_lowercase()
    return pl.when(lowered == "true").then(True).when(lowered == "false").then(False)


def read_sleeps(path: Path, ctx: ReadContext) -> ReadResult:
    """sleeps.csv -> sleep_periods (one per sleep) and vendor_scores (long format)."""
    text, warnings = csv_text.read_text_frame(path)
    disturbance = next((h for h in text.columns if _DISTURBANCE_HEADER.match(h)), None)
    metrics = {**PERIOD_METRICS, **{f"score:{k}": v for k, v in SCORE_METRICS.items()}}
    if disturbance is not None:
        metrics[f"score:{DISTURBANCES}"] = disturbance
    optional = (NAP, *dict.fromkeys(metrics.values()))
    if NAP.lower() not in {c.lower() for c in text.columns}:
        warnings.append(f"no '{NAP}' column: naps cannot be told from main sleeps")
    cells = csv_text.match_columns(text, REQUIRED, optional)
    if cells.height == 0:
        raise NothingToLoad("WHOOP sleeps.csv has a header but no rows")
    cells = cells.with_row_index("row_number", offset=1)
    raw = {name: pl.col(csv_text.RAW + name) for name in (*REQUIRED, *optional)}
    onset_local, wake_local = _naive(raw[ONSET]), _naive(raw[WAKE])
    offset = offset_minutes(raw[ZONE])
    to_utc = pl.duration(minutes=offset)
    frame = cells.with_columns(
        offset.alias("offset_min"),
        onset_local.dt.date().alias("local_date"),
        (onset_local - to_utc).dt.replace_time_zone("UTC").alias("start_at"),
        (wake_local - to_utc).dt.replace_time_zone("UTC").alias("end_at"),
        _boolean(raw[NAP]).alias("is_nap"),
        *(csv_text.parse_number(raw[h]).alias(name) for name, h in metrics.items()),
    )
    repeated = pl.col("start_at").is_not_null() & (
        pl.col("start_at").cum_count().over("start_at") > 1
    )
    checks = [
        (ONSET, "datetime_format", onset_local.is_null()),
        (WAKE, "datetime_format", wake_local.is_null()),
        (ZONE, "utc_offset_format", pl.col("offset_min").is_null()),
        (WAKE, "wake_after_onset", pl.col("end_at") <= pl.col("start_at")),
        (NAP, "boolean_format", raw[NAP].is_not_null() & pl.col("is_nap").is_null()),
        (ONSET, "unique_period", repeated),
        *(
            (h, "number_format", raw[h].is_not_null() & pl.col(name).is_null())
            for h, name in {h: name for name, h in metrics.items()}.items()
        ),
    ]
    kept, rejected = csv_text.reject_rows(frame, PERIODS, checks)
    kept = kept.with_columns(
        pl.col("start_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("period_key"),
        (~pl.col("is_nap")).alias("is_main_vendor"),
    ).sort("start_at")
    scores = (
        kept.unpivot(
            index=["local_date", "period_key"],
            on=[name for name in metrics if name.startswith("score:")],
            variable_name="score_name",
            value_name="value",
        )
        .drop_nulls("value")
        .with_columns(pl.col("score_name").str.strip_prefix("score:"))
        .sort("local_date", "period_key", "score_name")
    )
    hint = None
    if kept.height:
        hint = fixed_offset_zone(int(kept["offset_min"][-1]) * 60)
    return ReadResult(
        tables={PERIODS: csv_text.typed(kept, PERIODS), SCORES: csv_text.typed(scores, SCORES)},
        timezone_hint=hint,
        warnings=warnings,
        rejected_rows=rejected,
    )


def read_other(path: Path, ctx: ReadContext) -> ReadResult:
    """The WHOOP exports restless does not use: skipped, naming which one it is."""
    cells = {c.lower() for c in csv_text.read_text_frame(path)[0].columns}
    what = next((v for k, v in OTHER_EXPORTS.items() if k in cells), "a WHOOP export CSV")
    raise NothingToLoad(f"WHOOP {what}: restless reads sleeps only, from sleeps.csv")


FORMATS: list[Format] = [
    Format(
        name="whoop_sleeps",
        source=SOURCE,
        sniff=sniff_sleeps,
        read=read_sleeps,
        coverage={PERIODS: Coverage("span", "start_at"), SCORES: Coverage("dates", "local_date")},
    ),
    Format(name="whoop_other", source=SOURCE, sniff=sniff_other, read=read_other, coverage={}),
]
"""Times carry their own offsets (``uses_local_time`` False): read before participant
zones are resolved, so the newest offset can serve as a zone hint."""
