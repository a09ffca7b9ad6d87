"""MESA (NSRR) actigraphy CSV (``mesa_csv``) -> movement_epochs, sleep_epochs, sleep_periods.

The Multi-Ethnic Study of Atherosclerosis sleep exam distributes Actiwatch Spectrum
recordings as one row per 30-s epoch::

    mesaid,line,linetime,offwrist,activity,marker,whitelight,...,wake,interval,dayofweek,daybymidnight,daybynoon

**No calendar dates.** NSRR removes dates to de-identify the data: ``linetime`` is a clock
time, ``dayofweek`` the weekday (1 = Sunday) and ``daybymidnight`` the study day. So a
row's instant is built on a documented anchor, the convention of pyActigraphy's
``read_raw_mesa`` (so instants agree with that widely used reader)::

    local date = time_origin + (dayofweek of the first row) days + (daybymidnight - 1) days

with ``time_origin`` 2000-01-01 (a Saturday, so weekdays come out right: study day 1 of a
recording that began on a Thursday falls on Thursday 2000-01-06). The local wall time is
read in ``ctx.timezone``. These dates are synthetic: a warning on every file says so,
and they must not be joined with real-dated exports of the same person. A study that
knows the real start date passes it as ``time_origin`` (:func:`read_mesa`). Without
``daybymidnight`` the day advances each time ``linetime`` wraps past midnight.

Mapping:

* ``activity`` -> movement_epochs.activity_count (blank = unknown); ``offwrist`` 1/0 ->
  ``is_wear`` False/True. The epoch length is the step between lines (30 s in MESA).
* ``wake`` -> sleep_epochs with method ``'vendor'`` (Actiware's scoring: 1 wake, 0
  sleep); ``is_asleep`` is null where the epoch is off-wrist or its interval is
  ``EXCLUDED`` (the scorer left it unscored).
* ``interval`` -> sleep_periods: each run of consecutive ``REST`` / ``REST-S`` epochs
  (Actiware's rest interval; ``REST-S`` marks its sleep part) is one period with
  ``log_type`` ``'mesa_rest'``, from the first epoch's start to the last epoch's end.
* ``mesaid`` (the participant's study id) and the light channels are not kept.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import Coverage, Format, ReadContext, ReadResult, RejectedFile

SOURCE = "mesa"
MOVEMENT, SLEEP_EPOCHS, PERIODS = "movement_epochs", "sleep_epochs", "sleep_periods"
TIME_ORIGIN = date(2000, 1, 1)
REQUIRED = ("line", "linetime", "offwrist", "activity", "wake", "interval")
OPTIONAL = ("dayofweek", "daybymidnight")
REST_INTERVALS = ("REST", "REST-S")
DEFAULT_EPOCH_S = 30.0
RAW = csv_text.RAW


def sniff(head: bytes, name: str) -> bool:
    """A CSV header with MESA's line/linetime/offwrist/wake/interval columns."""
    cells = {cell.lower() for cell in csv_text.header_cells(head)}
    return {"mesaid", *REQUIRED} <= cells


def _flag(column: str) -> pl.Expr:
    """'1' -> True, '0' -> False, anything else null (checked separately)."""
    text = pl.col(RAW + column).str.strip_chars()
    return pl.when(text == "1").then(True).when(text == "0").then(False)


def _clock_seconds() -> pl.Expr:
    clock = pl.col(RAW + "linetime").str.strip_chars().str.to_time("%H:%M:%S", strict=False)
    return clock.cast(pl.Int64) / 1_000_000_000


def read_mesa(path: Path, ctx: ReadContext, *, time_origin: date = TIME_ORIGIN) -> ReadResult:
    """A MESA epoch CSV, dated on the ``time_origin`` anchor (module docstring)."""
    zone = localtime.reader_zone(ctx)
    cells, warnings = csv_text.read_cells(path, REQUIRED, OPTIONAL, what="MESA actigraphy file")
    frame = cells.with_columns(
        csv_text.parse_number(pl.col(RAW + "line")).alias("line"),
        _clock_seconds().alias("clock_s"),
        csv_text.parse_number(pl.col(RAW + "activity")).alias("activity"),
        _flag("offwrist").alias("offwrist"),
        _flag("wake").alias("wake"),
        pl.col(RAW + "interval").str.strip_chars().str.to_uppercase().alias("interval"),
        csv_text.parse_number(pl.col(RAW + "dayofweek")).alias("dayofweek"),
        csv_text.parse_number(pl.col(RAW + "daybymidnight")).alias("day"),
    )
    present = pl.col(RAW + "activity").is_not_null()
    checks = [
        ("line", "line_number", pl.col("line").is_null()),
        ("linetime", "time_format", pl.col("clock_s").is_null()),
        ("activity", "count_non_negative", present & ~(pl.col("activity") >= 0)),
        (
            "offwrist",
            "flag_0_1",
            pl.col(RAW + "offwrist").is_not_null() & pl.col("offwrist").is_null(),
        ),
        ("wake", "flag_0_1", pl.col(RAW + "wake").is_not_null() & pl.col("wake").is_null()),
        (
            "daybymidnight",
            "whole_number",
            pl.col(RAW + "daybymidnight").is_not_null() & ~(pl.col("day") >= 1),
        ),
    ]
    kept, rejected = csv_text.reject_rows(frame, MOVEMENT, checks)
    if kept.height == 0:
        raise RejectedFile("no MESA row has a readable line number and linetime")
    kept = kept.sort("line")
    if kept["line"].is_duplicated().any():
        raise RejectedFile("line numbers repeat: not one recording")

    # The study day: daybymidnight, else count the wraps of the clock past midnight.
    wrapped = (pl.col("clock_s") < pl.col("clock_s").shift(1)).fill_null(False)
    day = pl.coalesce(pl.col("day"), wrapped.cast(pl.Int64).cum_sum() + 1)
    first_weekday = kept["dayofweek"][0]
    shift = int(first_weekday) if first_weekday is not None else 0
    if first_weekday is None:
        warnings.append("no dayofweek: day 1 is the time origin itself")
    origin = pl.lit(time_origin + timedelta(days=shift), dtype=pl.Date)
    naive = origin.cast(pl.Datetime("us")) + pl.duration(
        days=day - 1, microseconds=(pl.col("clock_s") * 1_000_000).cast(pl.Int64)
    )
    kept = localtime.series_to_utc(kept.with_columns(naive.alias("naive")), "naive", zone, "at")
    gaps = kept.filter(pl.col("at").is_null()).height
    if gaps:
        raise RejectedFile(f"{gaps} epoch(s) fall in a spring-forward gap of {zone}")
    warnings.append(
        f"MESA files carry no calendar dates: day 1 is anchored at "
        f"{time_origin + timedelta(days=shift)} (time origin {time_origin} + weekday); "
        "the dates are synthetic"
    )
    epoch_s = _epoch_length(kept, warnings)

    epochs = kept.with_columns(
        pl.col("at").alias("epoch_start_at"),
        pl.lit(epoch_s).alias("epoch_s"),
        pl.col("activity").alias("activity_count"),
        (~pl.col("offwrist")).alias("is_wear"),
    )
    unscored = pl.col("offwrist").fill_null(False) | (pl.col("interval") == "EXCLUDED")
    scored = epochs.with_columns(
        pl.col("activity_count").alias("activity"),
        pl.when(unscored).then(None).otherwise(~pl.col("wake")).alias("is_asleep"),
        pl.lit("vendor").alias("method"),
    )
    return ReadResult(
        tables={
            MOVEMENT: csv_text.typed(epochs, MOVEMENT),
            SLEEP_EPOCHS: csv_text.typed(scored, SLEEP_EPOCHS),
            PERIODS: _rest_periods(epochs, epoch_s),
        },
        warnings=warnings,
        rejected_rows=rejected,
    )


def _epoch_length(kept: pl.DataFrame, warnings: list[str]) -> float:
    """The most common step between consecutive lines (30 s in MESA)."""
    steps = (kept["at"].diff().dt.total_microseconds() / 1e6) / kept["line"].diff()
    steps = steps.drop_nulls()
    if steps.len() == 0:
        warnings.append(f"a single epoch: its length is taken as MESA's {DEFAULT_EPOCH_S:g} s")
        return DEFAULT_EPOCH_S
    epoch_s = float(steps.mode().sort()[0])
    if epoch_s <= 0:
        raise RejectedFile("linetime does not advance with the line number")
    if (steps != epoch_s).any():
        warnings.append(f"some lines are not {epoch_s:g} s after the previous line")
    return epoch_s


def _rest_periods(epochs: pl.DataFrame, epoch_s: float) -> pl.DataFrame:
    """Runs of consecutive REST/REST-S epochs -> one 'mesa_rest' period each."""
    in_rest = pl.col("interval").is_in(REST_INTERVALS).fill_null(False)
    consecutive = (pl.col("line") - pl.col("line").shift(1)) == 1
    starts_run = in_rest & ~(in_rest.shift(1).fill_null(False) & consecutive.fill_null(False))
    runs = (
        epochs.with_columns(in_rest.alias("in_rest"), starts_run.cum_sum().alias("run"))
        .filter(pl.col("in_rest"))
        .group_by("run")
        .agg(
            pl.col("epoch_start_at").min().alias("start_at"),
            (pl.col("epoch_start_at").max() + pl.duration(microseconds=int(epoch_s * 1e6))).alias(
                "end_at"
            ),
        )
        .sort("start_at")
    )
    periods = runs.with_columns(
        pl.concat_str(
            pl.lit("mesa_rest:"), pl.col("start_at").dt.to_string("%Y-%m-%dT%H:%M:%SZ")
        ).alias("period_key"),
        pl.lit("mesa_rest").alias("log_type"),
    )
    return csv_text.typed(periods, PERIODS)


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """The registry's entry point: :func:`read_mesa` with the default time origin."""
    return read_mesa(path, ctx)


FORMATS: list[Format] = [
    Format(
        name="mesa_csv",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={
            MOVEMENT: Coverage("span", "epoch_start_at"),
            SLEEP_EPOCHS: Coverage("span", "epoch_start_at"),
            PERIODS: Coverage("span", "start_at"),
        },
        uses_local_time=True,
    )
]
