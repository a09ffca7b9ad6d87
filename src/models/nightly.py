"""features.nightly: one row per participant and night with a main sleep period.

Night D's row joins the main period's sleep metrics and restlessness with the exposure of
local day D (intake, rolling magnesium means, evening magnesium) and day D's activity
(DESIGN.md sections 5-6). A day with intake but no sleep is not a night (features.daily_intake
keeps it). Values the data cannot give stay null.
"""

from __future__ import annotations

import polars as pl

from restless.models import params
from restless.models.intake import evening_magnesium, known_sum, rolling_magnesium
from restless.models.nights import (
    assign_nights,
    first_per_group,
    main_periods,
    to_local,
    with_timezone,
    zones_in,
)
from restless.models.restlessness import restlessness
from restless.models.sleep_metrics import period_stages, segments, sleep_metrics

NIGHTLY_COLUMNS = (
    "participant_id",
    "night_date",
    "timezone",
    "sleep_source",
    "sleep_period_key",
    "sleep_onset_at",
    "sleep_offset_at",
    "time_in_bed_min",
    "tst_min",
    "sol_min",
    "waso_min",
    "sleep_efficiency",
    "awakenings",
    "lm_count",
    "lm_index",
    "plms_count",
    "plms_index",
    "periodicity_index",
    "restless_min",
    "restless_count",
    "restlessness_method",
    "movement_source",
    "coverage",
    "intake_basis",
    "magnesium_food_mg",
    "magnesium_unknown_items",
    "magnesium_supplement_mg",
    "magnesium_total_mg",
    "magnesium_rda_mg",
    "magnesium_pct_rda",
    "is_supplement_over_ul",
    "magnesium_3d_mean_mg",
    "magnesium_7d_mean_mg",
    "magnesium_evening_mg",
    "evening_untimed_share",
    "iron_mg",
    "calcium_mg",
    "potassium_mg",
    "caffeine_mg",
    "caffeine_after_14_mg",
    "alcohol_g",
    "energy_kcal",
    "is_log_complete",
    "steps",
    "active_min",
    "plmw_index",
    "lm_pre_sleep_count",
)

LEG_MOVEMENT_COLUMNS = {
    "lm_count": pl.Int64,
    "lm_index": pl.Float64,
    "plms_count": pl.Int64,
    "plms_index": pl.Float64,
    "periodicity_index": pl.Float64,
    "plmw_index": pl.Float64,
    "lm_pre_sleep_count": pl.Int64,
}
"""Null here; filled from core.leg_movements (raw ankle acceleration, WASM 2016, SCIENCE.md
section 1) by :func:`restless.models.leg_nights.apply_leg_nights` in compute_features."""

INTAKE_COLUMNS = (
    "intake_basis",
    "magnesium_food_mg",
    "magnesium_unknown_items",
    "magnesium_supplement_mg",
    "magnesium_total_mg",
    "magnesium_rda_mg",
    "magnesium_pct_rda",
    "is_supplement_over_ul",
    "iron_mg",
    "calcium_mg",
    "potassium_mg",
    "caffeine_mg",
    "caffeine_after_14_mg",
    "alcohol_g",
    "energy_kcal",
    "is_log_complete",
)


def daily_activity(epochs: pl.DataFrame, zones: pl.DataFrame) -> pl.DataFrame:
    """Steps and active minutes per participant and local day (epochs by local start date).

    Sources are never added (two devices worn the same day would double the steps): the
    source with the most epoch time carrying steps wins (ties: more steps, then name).
    ``active_min`` counts epochs whose cadence is at least params.ACTIVE_CADENCE_STEPS_PER_MIN
    (Tudor-Locke et al. 2018). Days whose epochs carry no steps are left out (null).
    Returns ``participant_id, local_date, steps, active_min``.
    """
    framed = with_timezone(epochs, zones)
    epoch_min = pl.col("epoch_s") / 60
    with_steps = pl.col("steps").is_not_null()
    active = with_steps & (pl.col("steps") / epoch_min >= params.ACTIVE_CADENCE_STEPS_PER_MIN)
    per_source = (
        framed.with_columns(
            to_local("epoch_start_at", zones_in(framed, "timezone")).dt.date().alias("local_date")
        )
        .group_by(["participant_id", "local_date", "source"])
        .agg(
            pl.col("epoch_s").filter(with_steps).sum().alias("_steps_s"),
            known_sum("steps").cast(pl.Int64).alias("steps"),
            epoch_min.filter(active).sum().alias("active_min"),
        )
        .filter(pl.col("steps").is_not_null())
    )
    return (
        first_per_group(
            per_source,
            ["participant_id", "local_date"],
            ["_steps_s", "steps", "source"],
            [True, True, False],
        )
        .select("participant_id", "local_date", "steps", "active_min")
        .sort(["participant_id", "local_date"])
    )


def nightly(
    sleep_periods: pl.DataFrame,
    sleep_stages: pl.DataFrame,
    movement_epochs: pl.DataFrame,
    daily: pl.DataFrame,
    magnesium_events: pl.DataFrame,
    zones: pl.DataFrame,
) -> pl.DataFrame:
    """features.nightly from canonical frames and features.daily_intake.

    ``magnesium_events`` comes from :func:`restless.models.intake.magnesium_events`. Sorted
    by (participant_id, night_date).
    """
    main = main_periods(assign_nights(sleep_periods, zones)).with_row_index("period_id")
    stages_of_periods = period_stages(main, sleep_stages)
    segs = segments(stages_of_periods)
    nights = main.join(sleep_metrics(main, segs), on="period_id", how="left")
    nights = nights.join(
        restlessness(nights, stages_of_periods, segs, movement_epochs), on="period_id", how="left"
    )

    keys = ["participant_id", "night_date"]
    intake = daily.select(
        "participant_id",
        pl.col("local_date").alias("night_date"),
        *INTAKE_COLUMNS,
        pl.col("magnesium_untimed_share").alias("evening_untimed_share"),
    )
    activity = daily_activity(movement_epochs, zones).rename({"local_date": "night_date"})
    return (
        nights.rename({"source": "sleep_source", "period_key": "sleep_period_key"})
        .join(intake, on=keys, how="left")
        .join(rolling_magnesium(nights.select(keys), daily, "night_date"), on=keys, how="left")
        .join(evening_magnesium(nights, magnesium_events), on=keys, how="left")
        .join(activity, on=keys, how="left")
        .with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in LEG_MOVEMENT_COLUMNS.items()
        )
        .select(NIGHTLY_COLUMNS)
        .sort(keys)
    )
