"""Local wall-clock times -> UTC instants, DST-safe, shared by every local-time reader.

Exports such as Fitbit JSON, Cronometer CSV and hand-kept supplement logs write local
naive times. One zone rule decides how each is turned into UTC (DESIGN section 4):

* an *ambiguous* time (the repeated hour when clocks fall back) is the earlier instant
  unless the caller knows better (a series in file order: see :func:`series_to_utc`);
* a *nonexistent* time (the skipped hour when clocks spring forward) is either null (a
  device series: such a sample cannot have been recorded) or, for a time a person typed,
  read with the offset in force before the gap (``shift_forward``: 02:30 on a Berlin
  spring-forward night is 01:30 UTC = 03:30 CEST), which is Python's PEP 495 ``fold=0``.

The polars helpers work on whole columns; the scalar helpers serve readers that walk a
few hundred intervals (sleep logs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from restless.ingest.base import ReadContext, RejectedFile

NonExistent = Literal["null", "shift_forward"]

TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p")
"""Clock formats seen in exports: 24 h (``05:17``), 12 h without zero padding (``9:51 AM``)."""

_HOUR_S = 3600


def check_zone(zone: str) -> ZoneInfo:
    """The IANA zone, or ``ValueError`` naming it (readers turn this into RejectedFile)."""
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise ValueError(f"unknown time zone {zone!r}") from err


def reader_zone(ctx: ReadContext) -> str:
    """The participant's zone for a reader; an unknown zone rejects the file, naming it."""
    try:
        check_zone(ctx.timezone)
    except ValueError as err:
        raise RejectedFile(str(err)) from err
    return ctx.timezone


def parse_date(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD`` or the unpadded ``YYYY-M-D`` of 2011-2016 exports; null if not a date."""
    return text.str.strip_chars().str.to_date(format="%Y-%m-%d", strict=False)


def parse_time(text: pl.Expr) -> pl.Expr:
    """A clock time in any of :data:`TIME_FORMATS`; null if blank or not a time."""
    cleaned = text.str.strip_chars()
    return pl.coalesce(*(cleaned.str.to_time(fmt, strict=False) for fmt in TIME_FORMATS))


def combine(date: pl.Expr, time: pl.Expr) -> pl.Expr:
    """A naive local datetime from a date and a time column; null when the time is null."""
    return pl.when(time.is_not_null()).then(date.dt.combine(time)).otherwise(None)


def local_to_utc(
    naive: pl.Expr,
    zone: str,
    *,
    ambiguous: str | pl.Expr = "earliest",
    non_existent: NonExistent = "null",
) -> pl.Expr:
    """UTC instants (``Datetime('us', 'UTC')``) for naive local datetimes in ``zone``."""
    check_zone(zone)
    local = naive.cast(pl.Datetime("us"))
    utc = local.dt.replace_time_zone(zone, ambiguous=ambiguous, non_existent="null")
    utc = utc.dt.convert_time_zone("UTC")
    if non_existent == "null":
        return utc
    # The offset in force a day earlier is the offset before the gap (no zone changes its
    # offset twice within a day), so the wall time is read with it (PEP 495 fold=0).
    day_before = local - pl.duration(days=1)
    before_utc = (
        day_before.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )
    fallback = (local - (day_before - before_utc)).dt.replace_time_zone("UTC")
    return pl.when(local.is_not_null() & utc.is_null()).then(fallback).otherwise(utc)


def is_nonexistent(naive: pl.Expr, zone: str) -> pl.Expr:
    """True where a naive local time falls in a spring-forward gap of ``zone``."""
    utc = naive.cast(pl.Datetime("us")).dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    )
    return naive.is_not_null() & utc.is_null()


def gap_warnings(frame: pl.DataFrame, naive: pl.Expr, zone: str) -> list[str]:
    """A warning when typed times of ``frame`` fell in a spring-forward gap of ``zone``.

    For readers that convert such times with ``non_existent="shift_forward"``.
    """
    gaps = frame.filter(is_nonexistent(naive, zone)).height
    if not gaps:
        return []
    return [
        f"{gaps} time(s) fall in a spring-forward gap of {zone}: "
        "read with the offset before the gap"
    ]


def series_to_utc(frame: pl.DataFrame, column: str, zone: str, out: str) -> pl.DataFrame:
    """Add ``out``: UTC instants of the naive local ``column``, resolving DST by file order.

    A device series written in local time repeats the fall-back hour: inside each run of
    consecutive ambiguous rows the first pass is the earlier instant, and from the first
    step backwards in local time (``t <= previous t``) on, the later one. Times inside a
    spring-forward gap cannot have been recorded and come out null (the caller rejects them).
    """
    check_zone(zone)
    naive = pl.col(column).cast(pl.Datetime("us"))
    early = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    late = naive.dt.replace_time_zone(zone, ambiguous="latest", non_existent="null")
    tmp = frame.with_columns(
        (early.is_not_null() & (early != late)).alias("__ambiguous"),
    ).with_columns(
        (pl.col("__ambiguous") != pl.col("__ambiguous").shift(1, fill_value=False))
        .cum_sum()
        .alias("__run"),
    )
    stepped_back = (pl.col(column) <= pl.col(column).shift(1)).fill_null(False)
    tmp = tmp.with_columns(
        (stepped_back.cast(pl.Int32).cum_sum().over("__run") > 0).alias("__second_pass")
    )
    choice = (
        pl.when(pl.col("__ambiguous") & pl.col("__second_pass"))
        .then(pl.lit("latest"))
        .otherwise(pl.lit("earliest"))
    )
    tmp = tmp.with_columns(
        naive.dt.replace_time_zone(zone, ambiguous=choice, non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias(out)
    )
    return tmp.drop("__ambiguous", "__run", "__second_pass")


def utc_candidates(naive: datetime, zone: str) -> list[datetime]:
    """Every UTC instant that reads as ``naive`` on a wall clock in ``zone`` (0, 1 or 2)."""
    tz = check_zone(zone)
    found: set[datetime] = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive:
            found.add(instant)
    return sorted(found)


def to_utc(naive: datetime, zone: str) -> datetime:
    """One UTC instant for a naive local time: earliest if ambiguous, PEP 495 fold=0 in a gap."""
    candidates = utc_candidates(naive, zone)
    if candidates:
        return candidates[0]
    return naive.replace(tzinfo=check_zone(zone), fold=0).astimezone(UTC)


def local_naive(instant: datetime, zone: str) -> datetime:
    """The wall-clock reading of a UTC instant in ``zone`` (never ambiguous)."""
    return instant.astimezone(check_zone(zone)).replace(tzinfo=None)


def fixed_offset_zone(offset_s: int | None) -> str | None:
    """IANA fixed-offset zone for a whole-hour offset (POSIX sign: UTC-5 is Etc/GMT+5)."""
    if offset_s is None or offset_s % _HOUR_S:
        return None
    hours = -offset_s // _HOUR_S
    if not -14 <= hours <= 12:
        return None
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{hours:+d}"
