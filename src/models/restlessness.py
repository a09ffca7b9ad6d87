"""Restlessness of each main sleep period, with the method that produced it.

Wrist-worn or minute-level data can only give restlessness proxies, never WASM-grade leg
movements (DESIGN.md section 5; SCIENCE.md section 2). In order of preference:

* ``vendor_restless``: the period has Fitbit-classic ``restless`` stages; minutes and bouts of
  restless segments between sleep onset and final offset;
* ``epoch_movement``: movement epochs (any source) cover at least
  params.MIN_EPOCH_COVERAGE of the sleep window; minutes of moving epochs, counting only the
  part of each epoch inside the window;
* otherwise null method and null values.

Leg-movement scoring from raw acceleration (LM, PLMS, periodicity) comes later; its columns
stay null.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from restless.models import params
from restless.models.nights import first_per_group, join_by_day, source_rank
from restless.models.sleep_metrics import bout_starts, in_window, minutes

VENDOR = "vendor_restless"
EPOCH = "epoch_movement"
EPOCH_LOOKBACK = timedelta(days=1)
"""Longest movement epoch the schema allows (``epoch_s`` <= 24 h, schemas/core.py)."""


def vendor_restlessness(
    windows: pl.DataFrame, stages_of_periods: pl.DataFrame, segs: pl.DataFrame
) -> pl.DataFrame:
    """Restless minutes and bouts between onset and offset, for periods with restless stages.

    ``windows``: ``period_id, sleep_onset_at, sleep_offset_at``. Returns ``period_id,
    restless_min, restless_count`` for every period that has at least one ``restless`` stage
    (values null when the period has no sleep window).
    """
    has_restless = (
        stages_of_periods.filter(pl.col("stage") == "restless").select("period_id").unique()
    )
    inside = segs.join(windows, on="period_id").filter(in_window())
    per_period = inside.group_by("period_id").agg(
        pl.col("dur_min").filter(pl.col("stage_class") == "restless").sum().alias("restless_min"),
        bout_starts("restless").sum().cast(pl.Int64).alias("restless_count"),
    )
    return (
        has_restless.join(windows.select("period_id", "sleep_onset_at"), on="period_id", how="left")
        .join(per_period, on="period_id", how="left")
        .select(
            "period_id",
            pl.when(pl.col("sleep_onset_at").is_not_null())
            .then(pl.col("restless_min").fill_null(0.0))
            .alias("restless_min"),
            pl.when(pl.col("sleep_onset_at").is_not_null())
            .then(pl.col("restless_count").fill_null(0))
            .alias("restless_count"),
        )
    )


def is_moving() -> pl.Expr:
    """An epoch moves when any measure says so (params.MOVEMENT_ACCEL_THRESHOLD_MG)."""
    return pl.any_horizontal(
        (pl.col("steps") > 0).fill_null(False),
        (pl.col("activity_count") > 0).fill_null(False),
        (pl.col("intensity") > 0).fill_null(False),
        (pl.col("mean_accel_mg") > params.MOVEMENT_ACCEL_THRESHOLD_MG).fill_null(False),
    )


def has_measure() -> pl.Expr:
    """An epoch says something about movement (at least one measure is not null)."""
    return pl.any_horizontal(
        pl.col(c).is_not_null() for c in ("steps", "activity_count", "intensity", "mean_accel_mg")
    )


def epoch_restlessness(windows: pl.DataFrame, epochs: pl.DataFrame) -> pl.DataFrame:
    """Moving minutes in the sleep window from the best-covering movement source.

    ``windows``: ``period_id, participant_id, source, sleep_onset_at, sleep_offset_at``.
    Per period, each movement source is scored on its own (sources never add up, which would
    double count); the one covering most of the window wins (ties: the sleep period's own
    source, then params.SLEEP_SOURCE_PRIORITY, then name). Returns ``period_id,
    movement_source, epoch_coverage, epoch_restless_min, epoch_restless_count``.
    """
    w = windows.select(
        "period_id", "participant_id", "source", "sleep_onset_at", "sleep_offset_at"
    ).filter(pl.col("sleep_onset_at").is_not_null())
    e = epochs.select(
        "participant_id",
        pl.col("source").alias("movement_source"),
        "epoch_start_at",
        (
            pl.col("epoch_start_at")
            + pl.duration(microseconds=(pl.col("epoch_s") * 1e6).round().cast(pl.Int64))
        ).alias("epoch_end_at"),
        has_measure().alias("has_measure"),
        is_moving().alias("is_moving"),
    ).filter(pl.col("has_measure"))
    overlap = minutes(
        pl.min_horizontal("epoch_end_at", "sleep_offset_at")
        - pl.max_horizontal("epoch_start_at", "sleep_onset_at")
    )
    pairs = (
        join_by_day(
            w,
            e,
            window_start="sleep_onset_at",
            window_end="sleep_offset_at",
            event_at="epoch_start_at",
            lookback=EPOCH_LOOKBACK,
        )
        .with_columns(overlap.alias("overlap_min"))
        .filter(pl.col("overlap_min") > 0)
    )
    window_min = minutes(pl.col("sleep_offset_at") - pl.col("sleep_onset_at"))
    per_source = (
        pairs.group_by(["period_id", "movement_source"])
        .agg(
            pl.col("overlap_min").sum().alias("_covered"),
            pl.col("overlap_min").filter(pl.col("is_moving")).sum().alias("epoch_restless_min"),
            pl.first("source"),
            window_min.first().alias("_window"),
        )
        .with_columns(
            (pl.col("_covered") / pl.col("_window")).clip(0.0, 1.0).alias("epoch_coverage"),
            (pl.col("movement_source") != pl.col("source")).alias("_other_source"),
            source_rank("movement_source"),
        )
    )
    by_source = first_per_group(
        per_source,
        ["period_id"],
        ["epoch_coverage", "_other_source", "source_rank", "movement_source"],
        [True, False, False, False],
    )
    bouts = (
        pairs.join(
            by_source.select("period_id", "movement_source"), on=["period_id", "movement_source"]
        )
        .sort(["period_id", "epoch_start_at"])
        .with_columns(
            pl.col("is_moving").shift(1).over("period_id").alias("_prev_moving"),
            pl.col("epoch_end_at").shift(1).over("period_id").alias("_prev_end"),
        )
        .filter(
            pl.col("is_moving")
            & ~(
                pl.col("_prev_moving").fill_null(False)
                & (pl.col("_prev_end") >= pl.col("epoch_start_at"))
            )
        )
        .group_by("period_id")
        .len("epoch_restless_count")
    )
    return (
        by_source.join(bouts, on="period_id", how="left")
        .select(
            "period_id",
            "movement_source",
            "epoch_coverage",
            "epoch_restless_min",
            pl.col("epoch_restless_count").fill_null(0).cast(pl.Int64),
        )
        .sort("period_id")
    )


def restlessness(
    sleep: pl.DataFrame,
    stages_of_periods: pl.DataFrame,
    segs: pl.DataFrame,
    epochs: pl.DataFrame,
) -> pl.DataFrame:
    """Method, restless minutes and bouts, and coverage per ``period_id``.

    ``sleep``: periods with ``period_id, participant_id, source, sleep_onset_at,
    sleep_offset_at, stage_coverage``. ``coverage`` is the stage coverage of the period,
    except for ``epoch_movement`` where it is the epochs' share of the sleep window.
    """
    windows = sleep.select("period_id", "sleep_onset_at", "sleep_offset_at")
    vendor = vendor_restlessness(windows, stages_of_periods, segs).with_columns(
        pl.lit(True).alias("_vendor")
    )
    epoch = epoch_restlessness(sleep, epochs)
    use_epoch = pl.col("epoch_coverage") >= params.MIN_EPOCH_COVERAGE
    method = (
        pl.when(pl.col("_vendor").fill_null(False))
        .then(pl.lit(VENDOR))
        .when(use_epoch.fill_null(False))
        .then(pl.lit(EPOCH))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return (
        sleep.select("period_id", "stage_coverage")
        .join(vendor, on="period_id", how="left")
        .join(epoch, on="period_id", how="left")
        .with_columns(method.alias("restlessness_method"))
        .select(
            "period_id",
            "restlessness_method",
            pl.when(pl.col("restlessness_method") == VENDOR)
            .then(pl.col("restless_min"))
            .when(pl.col("restlessness_method") == EPOCH)
            .then(pl.col("epoch_restless_min"))
            .alias("restless_min"),
            pl.when(pl.col("restlessness_method") == VENDOR)
            .then(pl.col("restless_count"))
            .when(pl.col("restlessness_method") == EPOCH)
            .then(pl.col("epoch_restless_count"))
            .alias("restless_count"),
            pl.when(pl.col("restlessness_method") == EPOCH)
            .then(pl.col("epoch_coverage"))
            .otherwise(pl.col("stage_coverage"))
            .alias("coverage"),
            pl.when(pl.col("restlessness_method") == EPOCH)
            .then(pl.col("movement_source"))
            .alias("movement_source"),
        )
        .sort("period_id")
    )
