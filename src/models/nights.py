"""Local time, night assignment and the main sleep period of each night.

All instants are UTC; each participant has one IANA zone (``participants.timezone``). Local
wall-clock values are derived per row from that zone, so DST changes and different
participants' zones are handled in one place (DESIGN.md section 4).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import polars as pl

from restless.models import params

DEFAULT_TIMEZONE = "UTC"
"""Zone used when a participant has none configured: the same fallback readers use
(``ReadContext.timezone``: config, else export hint, else UTC)."""


def participant_zones(participants: pl.DataFrame) -> pl.DataFrame:
    """One row per participant: ``participant_id``, ``timezone`` (null zone -> UTC)."""
    return (
        participants.select(
            pl.col("participant_id").cast(pl.String),
            pl.col("timezone").cast(pl.String).fill_null(DEFAULT_TIMEZONE),
        )
        .unique("participant_id", keep="first")
        .sort("participant_id")
    )


def with_timezone(frame: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """Add each row's participant ``timezone`` (UTC for participants without one)."""
    return frame.join(zones, on="participant_id", how="left").with_columns(
        pl.col("timezone").fill_null(DEFAULT_TIMEZONE)
    )


def zones_in(frame: pl.DataFrame, tz_col: str = "timezone") -> list[str]:
    """The distinct zones of a frame's ``tz_col``, for :func:`to_local` / :func:`to_utc`."""
    return sorted(frame.get_column(tz_col).drop_nulls().unique().to_list())


def to_local(instant: str, zones: Iterable[str], tz_col: str = "timezone") -> pl.Expr:
    """Naive local wall-clock datetime of a UTC ``instant`` column in each row's zone.

    polars converts one zone per expression, so one branch per zone is coalesced.
    """
    branches = [
        pl.when(pl.col(tz_col) == zone).then(
            pl.col(instant).dt.convert_time_zone(zone).dt.replace_time_zone(None)
        )
        for zone in zones
    ]
    if not branches:
        return pl.lit(None, dtype=pl.Datetime("us"))
    return pl.coalesce(branches)


def to_utc(local: pl.Expr, zones: Iterable[str], tz_col: str = "timezone") -> pl.Expr:
    """UTC instant of a naive local datetime in each row's zone.

    An ambiguous wall time (the repeated hour at fall-back) takes the earlier instant; a
    wall time that does not exist (skipped at spring-forward) becomes null rather than a
    guess.
    """
    branches = [
        pl.when(pl.col(tz_col) == zone).then(
            local.dt.replace_time_zone(
                zone, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        )
        for zone in zones
    ]
    if not branches:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    return pl.coalesce(branches)


def night_of(local: pl.Expr) -> pl.Expr:
    """Night date of a local wall-clock datetime: the local date of (local time - 12 h).

    Subtracting on the *wall clock* (not in UTC) keeps the noon boundary at 12:00 local on
    both DST change days (params.NIGHT_BOUNDARY_HOUR).
    """
    return (local - timedelta(hours=params.NIGHT_BOUNDARY_HOUR)).dt.date()


HDCZA_LOG_TYPE = "hdcza"
"""``sleep_periods.log_type`` of a window restless found in raw acceleration (HDCZA,
flows/raw_scoring.py)."""

SIDE_SUFFIX = r"_(left|right|unknown)$"
"""The ankle suffix the flow appends to a raw source (``axivity_left``; flows/pipeline.py)."""


def source_rank(source: str = "source") -> pl.Expr:
    """Rank of a sleep source in params.SLEEP_SOURCE_PRIORITY (unlisted: after all listed).

    A listed name matches as is; otherwise a side-suffixed raw source (``axivity_left``,
    ``raw_csv_right``, ``actigraph_raw_unknown``) ranks like its base name.
    """
    ranks = {name: i for i, name in enumerate(params.SLEEP_SOURCE_PRIORITY)}
    col = pl.col(source)
    exact = col.replace_strict(ranks, default=None, return_dtype=pl.Int64)
    base = col.str.replace(SIDE_SUFFIX, "").replace_strict(
        ranks, default=None, return_dtype=pl.Int64
    )
    return pl.coalesce(exact, base, pl.lit(len(ranks), dtype=pl.Int64)).alias("source_rank")


def assign_nights(periods: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """Sleep periods with ``timezone`` and ``night_date`` (onset between noon D and noon D+1)."""
    framed = with_timezone(periods, zones)
    local_start = to_local("start_at", zones_in(framed, "timezone"))
    return framed.with_columns(night_of(local_start).alias("night_date"))


def main_periods(periods: pl.DataFrame) -> pl.DataFrame:
    """The main sleep period of each participant-night; naps and other sources dropped.

    Highest-priority source present that night first (params.SLEEP_SOURCE_PRIORITY), then
    the longest period, then (deterministic tie-breaks) the earliest start, the source name
    and the period key. A period its vendor flags as a nap (``is_nap``) is never a night's
    main sleep, even when it is the only period of that night (a day with a nap and a
    missing night stays without a night row rather than reporting the nap as the night).
    A window restless found in raw acceleration (``log_type`` 'hdcza') ranks after every
    other period, listed source or not, whatever file carried it (a FIT file's accelerometer
    data has the source 'garmin_fit'): it is the night's sleep only when nothing else is
    (issue #4); among such windows the sources' priority applies.
    Expects the output of :func:`assign_nights`.
    """
    if "is_nap" in periods.columns:
        periods = periods.filter(~pl.col("is_nap").fill_null(False))
    rank = source_rank()
    if "log_type" in periods.columns:
        after_all = len(params.SLEEP_SOURCE_PRIORITY) + 1
        rank = (
            pl.when(pl.col("log_type") == HDCZA_LOG_TYPE)
            .then(rank + after_all)
            .otherwise(rank)
            .alias("source_rank")
        )
    ranked = periods.with_columns(
        rank,
        (pl.col("end_at") - pl.col("start_at")).alias("_duration"),
    )
    best = first_per_group(
        ranked,
        ["participant_id", "night_date"],
        ["source_rank", "_duration", "start_at", "source", "period_key"],
        descending=[False, True, False, False, False],
    )
    return best.drop("source_rank", "_duration").sort(["participant_id", "night_date"])


def first_per_group(
    frame: pl.DataFrame, keys: list[str], order: list[str], descending: list[bool]
) -> pl.DataFrame:
    """The first row of each ``keys`` group under ``order``, without relying on the row order
    a (possibly streaming) group-by keeps: rank rows once, keep each group's best rank."""
    ranked = frame.sort(order, descending=descending, nulls_last=True).with_row_index("_rank")
    best = ranked.group_by(keys).agg(pl.col("_rank").min())
    return ranked.join(best, on=[*keys, "_rank"], how="semi").drop("_rank")


def join_by_day(
    windows: pl.DataFrame,
    events: pl.DataFrame,
    *,
    window_start: str,
    window_end: str,
    event_at: str,
    lookback: timedelta = timedelta(0),
    on: str = "participant_id",
) -> pl.DataFrame:
    """Candidate (window, event) pairs whose event start falls on a UTC day the window touches.

    A bucketed equi-join instead of a per-participant cross join: each window lists the UTC
    days from ``window_start - lookback`` to ``window_end``, each event has the UTC day of
    ``event_at``. ``lookback`` must be at least the longest event (epochs can start before a
    window and still overlap it). Callers apply the exact overlap test afterwards.
    """
    day = "_utc_day"
    left = windows.with_columns(
        pl.date_ranges(
            (pl.col(window_start) - lookback).dt.date(),
            pl.col(window_end).dt.date(),
            interval="1d",
        ).alias(day)
    ).explode(day)
    right = events.with_columns(pl.col(event_at).dt.date().alias(day))
    return left.join(right, on=[on, day], how="inner").drop(day)
