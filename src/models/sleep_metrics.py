"""Night-level sleep metrics of each main period from its stage intervals.

Definitions follow SCIENCE.md section 5 (SBSM actigraphy guide, Ancoli-Israel et al., Behav
Sleep Med 2015;13 Suppl 1:S4-S38): TIB = period end - start; SOL = sleep onset - period
start; TST = minutes of sleep stages; WASO = (final offset - onset) - TST; SE = TST/TIB x 100;
awakenings = wake bouts between onset and offset.

Stage intervals are first turned into non-overlapping *segments* with a sweep line: every
stage boundary opens a segment whose class is the highest-precedence stage covering it
(params.STAGE_PRECEDENCE). Non-overlapping vendor stages come out unchanged; Fitbit's short
wake bouts laid over its sleep levels win over the sleep underneath, so nothing is counted
twice.
"""

from __future__ import annotations

import polars as pl

from restless.models import params
from restless.models.nights import join_by_day

PERIOD_KEYS = ("period_id", "participant_id", "source", "period_key", "start_at", "end_at")


def stage_class(stage: str = "stage") -> pl.Expr:
    """Collapse the canonical stages into wake / restless / sleep / in_bed / unmeasurable."""
    return (
        pl.when(pl.col(stage).is_in(params.SLEEP_STAGES_ASLEEP))
        .then(pl.lit("sleep"))
        .otherwise(pl.col(stage))
        .alias("stage_class")
    )


def minutes(delta: pl.Expr) -> pl.Expr:
    """A duration expression in (fractional) minutes."""
    return delta.dt.total_microseconds() / 60_000_000


def period_stages(periods: pl.DataFrame, stages: pl.DataFrame) -> pl.DataFrame:
    """Stage intervals of each period, clipped to it.

    A stage belongs to a period when it has the same participant, source and ``period_key``,
    or, when the stage carries no ``period_key``, the same participant and source and it
    starts inside the period. ``periods`` needs ``period_id`` and :data:`PERIOD_KEYS`.
    Returns ``period_id, stage, stage_class, seg_start_at, seg_end_at``.
    """
    p = periods.select(PERIOD_KEYS).rename({"start_at": "p_start_at", "end_at": "p_end_at"})
    s = stages.select(
        "participant_id",
        "source",
        "period_key",
        pl.col("start_at").alias("st_start_at"),
        pl.col("end_at").alias("st_end_at"),
        "stage",
    )
    keyed = s.filter(pl.col("period_key").is_not_null()).join(
        p, on=["participant_id", "source", "period_key"], how="inner"
    )
    unkeyed = (
        join_by_day(
            p.drop("period_key"),
            s.filter(pl.col("period_key").is_null()).rename({"source": "st_source"}),
            window_start="p_start_at",
            window_end="p_end_at",
            event_at="st_start_at",
        )
        .filter(
            (pl.col("st_source") == pl.col("source"))
            & (pl.col("st_start_at") >= pl.col("p_start_at"))
            & (pl.col("st_start_at") < pl.col("p_end_at"))
        )
        .drop("st_source")
    )
    columns = ["period_id", "stage", "st_start_at", "st_end_at", "p_start_at", "p_end_at"]
    both = pl.concat([keyed.select(columns), unkeyed.select(columns)], how="vertical")
    return (
        both.select(
            "period_id",
            "stage",
            stage_class(),
            pl.max_horizontal("st_start_at", "p_start_at").alias("seg_start_at"),
            pl.min_horizontal("st_end_at", "p_end_at").alias("seg_end_at"),
        )
        .filter(pl.col("seg_end_at") > pl.col("seg_start_at"))
        .unique()
        .sort(["period_id", "seg_start_at", "stage"])
    )


def segments(stages_of_periods: pl.DataFrame) -> pl.DataFrame:
    """Non-overlapping segments with one winning class each (sweep line over boundaries).

    Returns ``period_id, seg_start_at, seg_end_at, stage_class, dur_min, prev_class`` sorted by
    period and time; uncovered gaps inside the stage span are segments with a null class, so
    they break bouts.
    """
    classes = params.STAGE_PRECEDENCE
    deltas = [
        (pl.when(pl.col("stage_class") == c).then(pl.col("delta")).otherwise(0)).alias(c)
        for c in classes
    ]
    events = pl.concat(
        [
            stages_of_periods.select(
                "period_id",
                pl.col("seg_start_at").alias("t"),
                "stage_class",
                pl.lit(1).alias("delta"),
            ),
            stages_of_periods.select(
                "period_id",
                pl.col("seg_end_at").alias("t"),
                "stage_class",
                pl.lit(-1).alias("delta"),
            ),
        ]
    )
    winner = pl.lit(None, dtype=pl.String)
    for c in reversed(classes):
        winner = pl.when(pl.col(c) > 0).then(pl.lit(c)).otherwise(winner)
    return (
        events.select("period_id", "t", *deltas)
        .group_by(["period_id", "t"])
        .agg(pl.col(c).sum() for c in classes)
        .sort(["period_id", "t"])
        .with_columns(pl.col(c).cum_sum().over("period_id") for c in classes)
        .with_columns(pl.col("t").shift(-1).over("period_id").alias("seg_end_at"))
        .filter(pl.col("seg_end_at").is_not_null())
        .select(
            "period_id",
            pl.col("t").alias("seg_start_at"),
            "seg_end_at",
            winner.alias("stage_class"),
        )
        .with_columns(
            minutes(pl.col("seg_end_at") - pl.col("seg_start_at")).alias("dur_min"),
            pl.col("stage_class").shift(1).over("period_id").alias("prev_class"),
        )
    )


def bout_starts(cls: str) -> pl.Expr:
    """True on the first segment of each bout of ``cls`` (adjacent segments merge)."""
    return (pl.col("stage_class") == cls) & pl.col("prev_class").ne_missing(cls)


def in_window(onset: str = "sleep_onset_at", offset: str = "sleep_offset_at") -> pl.Expr:
    """A segment lies between sleep onset and final offset (segments never straddle them)."""
    return (pl.col("seg_start_at") >= pl.col(onset)) & (pl.col("seg_end_at") <= pl.col(offset))


def sleep_metrics(periods: pl.DataFrame, segs: pl.DataFrame) -> pl.DataFrame:
    """Sleep window and metrics per ``period_id``.

    A period with scored stages (wake, restless or sleep) is measured from them. A period
    without any takes onset = start and offset = end, TST, SOL, WASO and awakenings from the
    vendor's summary fields when present, else null: nothing is invented. ``stage_coverage``
    is the share of the period covered by scored stage intervals.
    """
    scored = params.SCORED_STAGE_CLASSES
    per_period = segs.group_by("period_id").agg(
        pl.col("dur_min").filter(pl.col("stage_class").is_in(scored)).sum().alias("_scored_min"),
        pl.col("dur_min").filter(pl.col("stage_class") == "sleep").sum().alias("_tst"),
        pl.col("seg_start_at").filter(pl.col("stage_class") == "sleep").min().alias("_onset"),
        pl.col("seg_end_at").filter(pl.col("stage_class") == "sleep").max().alias("_offset"),
    )
    wake_bouts = (
        segs.join(per_period.select("period_id", "_onset", "_offset"), on="period_id")
        .filter(in_window("_onset", "_offset") & bout_starts("wake"))
        .group_by("period_id")
        .len("_awakenings")
    )
    tib = minutes(pl.col("end_at") - pl.col("start_at"))
    staged = pl.col("_scored_min").fill_null(0) > 0
    measured = staged & pl.col("_onset").is_not_null()
    out = (
        periods.join(per_period, on="period_id", how="left")
        .join(wake_bouts, on="period_id", how="left")
        .with_columns(
            staged.alias("is_staged"),
            tib.alias("time_in_bed_min"),
            pl.when(staged)
            .then(pl.col("_onset"))
            .otherwise(pl.col("start_at"))
            .alias("sleep_onset_at"),
            pl.when(staged)
            .then(pl.col("_offset"))
            .otherwise(pl.col("end_at"))
            .alias("sleep_offset_at"),
            pl.when(staged)
            .then(pl.col("_tst").fill_null(0.0))
            .otherwise(pl.col("vendor_minutes_asleep"))
            .alias("tst_min"),
            (pl.col("_scored_min").fill_null(0.0) / tib).clip(0.0, 1.0).alias("stage_coverage"),
        )
        .with_columns(
            pl.when(measured)
            .then(minutes(pl.col("sleep_onset_at") - pl.col("start_at")))
            .when(~staged)
            .then(pl.col("vendor_minutes_to_fall_asleep"))
            .alias("sol_min"),
            pl.when(measured)
            .then(minutes(pl.col("sleep_offset_at") - pl.col("sleep_onset_at")) - pl.col("tst_min"))
            .when(~staged)
            .then(pl.col("vendor_minutes_awake"))
            .alias("waso_min"),
            pl.when(measured)
            .then(pl.col("_awakenings").fill_null(0).cast(pl.Int64))
            .when(~staged)
            .then(pl.col("vendor_awake_count").cast(pl.Int64))
            .alias("awakenings"),
            pl.when(pl.col("tst_min") <= pl.col("time_in_bed_min"))
            .then(pl.col("tst_min") / pl.col("time_in_bed_min") * 100)
            .alias("sleep_efficiency"),
        )
    )
    return out.select(
        "period_id",
        "is_staged",
        "sleep_onset_at",
        "sleep_offset_at",
        "time_in_bed_min",
        "tst_min",
        "sol_min",
        "waso_min",
        "sleep_efficiency",
        "awakenings",
        "stage_coverage",
    ).sort("period_id")
