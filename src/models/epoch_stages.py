"""Per-epoch sleep/wake scores as sleep-stage intervals, for periods that have no staging.

Research actigraphs give a rest interval (Actiware's REST, MESA's REST) and a sleep/wake
score per epoch rather than stages; turning the epochs of one scorer into 'asleep'/'wake'
intervals lets the same night metrics (TST, SOL, WASO, efficiency, awakenings) be computed
for them as for staged wearables. One scorer per participant and source is used, the
device's own column first (it is what the clinic's software reports), then the published
algorithms in the order below; unscored epochs leave gaps.
"""

from __future__ import annotations

import polars as pl

from restless.schemas.core import polars_schema

METHOD_PRIORITY: tuple[str, ...] = (
    "actiware_vendor",
    "vendor",
    "oakley",
    "cole_kripke_1min",
    "sadeh",
    "van_hees_sib",
)
"""Which scorer's epochs stand in for stages: vendor columns, then Oakley (Actiware's own
algorithm), Cole-Kripke 1992, Sadeh 1994 (SCIENCE.md section 4), then van Hees 2015."""


def epochs_as_stages(epochs: pl.DataFrame) -> pl.DataFrame:
    """``sleep_stages`` rows (period_key null) from the preferred scorer's epochs.

    Consecutive epochs with the same state and no gap merge into one interval.
    """
    schema = polars_schema("sleep_stages")
    scored = epochs.filter(pl.col("is_asleep").is_not_null())
    if scored.height == 0:
        return pl.DataFrame(schema=schema)
    rank = {m: i for i, m in enumerate(METHOD_PRIORITY)}
    scored = scored.with_columns(
        pl.col("method")
        .replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
        .alias("_rank")
    )
    best = scored.group_by("participant_id", "source").agg(pl.col("_rank").min())
    chosen = scored.join(best, on=["participant_id", "source", "_rank"], how="semi")
    ends = pl.col("epoch_start_at") + pl.duration(microseconds=(pl.col("epoch_s") * 1e6))
    keys = ["participant_id", "source", "file_id"]
    runs = (
        chosen.sort([*keys, "epoch_start_at"])
        .with_columns(ends.cast(pl.Datetime("us", "UTC")).alias("_end"))
        .with_columns(
            (
                (pl.col("is_asleep") != pl.col("is_asleep").shift(1).over(keys))
                | (pl.col("epoch_start_at") != pl.col("_end").shift(1).over(keys))
            )
            .fill_null(True)
            .cum_sum()
            .over(keys)
            .alias("_run")
        )
        .group_by([*keys, "_run"])
        .agg(
            pl.col("epoch_start_at").min().alias("start_at"),
            pl.col("_end").max().alias("end_at"),
            pl.col("is_asleep").first(),
        )
    )
    return (
        runs.with_columns(
            pl.lit(None, dtype=pl.String).alias("period_key"),
            pl.when(pl.col("is_asleep"))
            .then(pl.lit("asleep"))
            .otherwise(pl.lit("wake"))
            .alias("stage"),
        )
        .select(list(schema))
        .cast(schema)
        .sort(["participant_id", "source", "start_at"])
    )
