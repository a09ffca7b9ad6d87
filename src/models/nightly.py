"""features.nightly: one row per participant and night with a main sleep period or with
its sleep source's nightly scores.

Night D's row joins the main period's sleep metrics and restlessness with the exposure of
local day D (intake, rolling magnesium means, evening magnesium) and day D's activity
(DESIGN.md sections 5-6). A day with intake but no sleep is not a night (features.daily_intake
keeps it). Values the data cannot give stay null.

Vendor scores (``vendor_sleep_score``, ``vendor_restfulness_score``; 0-100, higher = better)
come only from the night's own ``sleep_source``, first found of: the main period's
``vendor_sleep_score``/``vendor_restlessness_score`` (WHOOP sleep performance %, Garmin's
sleep assessment), the period's core.vendor_scores (NIGHT_SCORES names), then the source's
day-level vendor_scores (``period_key`` null) placed on a night by DAY_SCORE_NIGHT_OFFSET_D.
A night with such day-level scores but no main period of any source becomes a score-only
row (:func:`score_only_nights`).
"""

from __future__ import annotations

import polars as pl

from restless.models import params
from restless.models.intake import evening_magnesium, known_sum, rolling_magnesium
from restless.models.nights import (
    assign_nights,
    first_per_group,
    main_periods,
    source_rank,
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
    "vendor_sleep_score",
    "vendor_restfulness_score",
)

VENDOR_SCORE_COLUMNS = ("vendor_sleep_score", "vendor_restfulness_score")
"""Nightly scores of the sleep source itself, 0-100, higher = better."""

PERIOD_SCORE_COLUMNS = {
    "vendor_sleep_score": "vendor_sleep_score",
    "vendor_restfulness_score": "vendor_restlessness_score",
}
"""features.nightly column -> core.sleep_periods column. Garmin's ``sleep_restlessness_score``
is stored as ``vendor_restlessness_score``; like every Garmin sleep sub-score it is 0-100 with
100 = best (calm), so it is a restfulness score (src/ingest/fit/sleep.py)."""

NIGHT_SCORES: dict[str, dict[str, str]] = {
    "oura": {
        "vendor_sleep_score": "oura_sleep_score",
        "vendor_restfulness_score": "oura_contributor_restfulness",
    },
}
"""Per sleep source: features.nightly column -> core.vendor_scores ``score_name``. Oura keeps
its nightly score and contributors in ``daily_sleep`` documents (src/ingest/oura.py), not on
the period. Sources not listed take their scores from the period only (WHOOP's sleep
performance % is already the period's ``vendor_sleep_score``); Sleep as Android's
``saa_rating`` (0-5 stars set by the user) is not a 0-100 vendor score and is left out."""

DAY_SCORE_NIGHT_OFFSET_D: dict[str, int] = {"oura": -1}
"""Per source: night_date = ``local_date`` + this many days, for day-level vendor scores
(``period_key`` null). Oura's ``day`` is the date the main sleep *ends* (the wake-up day):
in the same person's real Oura ``sleep`` documents (marcus-furius/health-intel,
``data/raw/oura/sleep_2025-03-08_2026-03-08.json``) every ``long_sleep`` from an evening
bedtime carries the next date (bedtime 2025-08-31 22:37:59+01:00, end 2025-09-01 06:16:32,
``day`` 2025-09-01), and ``daily_sleep`` scores that day's long sleep. Restless night D is
the sleep that begins between noon D and noon D+1 (DESIGN.md section 5), so Oura day X is
night X - 1 (also when bedtime is after midnight: the sleep still begins before noon of X).
Day-level scores of a source not listed are not placed on any night (no rule, no guess)."""

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


def _scores_by(vendor_scores: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One row per ``keys`` with the NIGHT_SCORES columns of that source (wide)."""
    names = pl.DataFrame(
        [
            {"source": source, "score_name": name, "column": column}
            for source, columns in NIGHT_SCORES.items()
            for column, name in columns.items()
        ],
        schema={"source": pl.String, "score_name": pl.String, "column": pl.String},
    )
    long = vendor_scores.join(names, on=["source", "score_name"], how="inner")
    return (
        long.group_by(keys)
        .agg(
            pl.col("value").filter(pl.col("column") == c).max().cast(pl.Float64).alias(c)
            for c in VENDOR_SCORE_COLUMNS
        )
        .sort(keys)
    )


def period_scores(vendor_scores: pl.DataFrame) -> pl.DataFrame:
    """Scores of one sleep period: ``participant_id, source, period_key`` + score columns."""
    return _scores_by(
        vendor_scores.filter(pl.col("period_key").is_not_null()),
        ["participant_id", "source", "period_key"],
    )


def day_scores_by_night(vendor_scores: pl.DataFrame) -> pl.DataFrame:
    """Day-level scores (``period_key`` null) on their night by the source's rule
    (DAY_SCORE_NIGHT_OFFSET_D): ``participant_id, source, night_date`` + score columns."""
    offsets = pl.DataFrame(
        {
            "source": list(DAY_SCORE_NIGHT_OFFSET_D),
            "_offset_d": list(DAY_SCORE_NIGHT_OFFSET_D.values()),
        },
        schema={"source": pl.String, "_offset_d": pl.Int64},
    )
    placed = (
        vendor_scores.filter(pl.col("period_key").is_null())
        .join(offsets, on="source", how="inner")
        .with_columns(
            (pl.col("local_date") + pl.duration(days=pl.col("_offset_d"))).alias("night_date")
        )
    )
    return _scores_by(placed, ["participant_id", "source", "night_date"])


def with_vendor_scores(nights: pl.DataFrame, vendor_scores: pl.DataFrame) -> pl.DataFrame:
    """Main-period nights (``participant_id, night_date, source, period_key`` and the
    period's vendor columns) with VENDOR_SCORE_COLUMNS, from the night's own source only."""
    by_period = period_scores(vendor_scores).rename({c: f"_p_{c}" for c in VENDOR_SCORE_COLUMNS})
    by_night = day_scores_by_night(vendor_scores).rename(
        {c: f"_d_{c}" for c in VENDOR_SCORE_COLUMNS}
    )
    return (
        nights.join(by_period, on=["participant_id", "source", "period_key"], how="left")
        .join(by_night, on=["participant_id", "source", "night_date"], how="left")
        .with_columns(
            pl.coalesce(
                pl.col(PERIOD_SCORE_COLUMNS[c]).cast(pl.Float64), f"_p_{c}", f"_d_{c}"
            ).alias(c)
            for c in VENDOR_SCORE_COLUMNS
        )
        .drop(*(f"_{k}_{c}" for k in "pd" for c in VENDOR_SCORE_COLUMNS))
    )


def score_only_nights(
    nights: pl.DataFrame, vendor_scores: pl.DataFrame, zones: pl.DataFrame
) -> pl.DataFrame:
    """Nights with day-level vendor scores but no main sleep period of any source.

    One row per participant-night: ``participant_id, night_date, timezone, source,
    period_key`` (null), ``coverage`` 0.0 (no stage covers the night) and the scores. When
    several sources score the same night, the first in params.SLEEP_SOURCE_PRIORITY (then
    by name) gives the row; scores are never taken from two sources.
    """
    scored = day_scores_by_night(vendor_scores).filter(
        pl.any_horizontal(pl.col(c).is_not_null() for c in VENDOR_SCORE_COLUMNS)
    )
    alone = scored.join(
        nights.select("participant_id", "night_date"),
        on=["participant_id", "night_date"],
        how="anti",
    ).with_columns(source_rank())
    best = first_per_group(
        alone, ["participant_id", "night_date"], ["source_rank", "source"], [False, False]
    )
    return (
        with_timezone(best, zones)
        .select(
            "participant_id",
            "night_date",
            "timezone",
            "source",
            pl.lit(None, dtype=pl.String).alias("period_key"),
            pl.lit(0.0).alias("coverage"),
            *VENDOR_SCORE_COLUMNS,
        )
        .sort(["participant_id", "night_date"])
    )


def nightly(
    sleep_periods: pl.DataFrame,
    sleep_stages: pl.DataFrame,
    movement_epochs: pl.DataFrame,
    daily: pl.DataFrame,
    magnesium_events: pl.DataFrame,
    zones: pl.DataFrame,
    *,
    vendor_scores: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """features.nightly from canonical frames and features.daily_intake.

    ``magnesium_events`` comes from :func:`restless.models.intake.magnesium_events`;
    ``vendor_scores`` is core.vendor_scores (None: no scores beyond the periods' own, and no
    score-only nights). Sorted by (participant_id, night_date).
    """
    if vendor_scores is None:
        vendor_scores = pl.DataFrame(
            schema={
                "participant_id": pl.String,
                "source": pl.String,
                "local_date": pl.Date,
                "period_key": pl.String,
                "score_name": pl.String,
                "value": pl.Float64,
            }
        )
    main = main_periods(assign_nights(sleep_periods, zones)).with_row_index("period_id")
    stages_of_periods = period_stages(main, sleep_stages)
    segs = segments(stages_of_periods)
    nights = main.join(sleep_metrics(main, segs), on="period_id", how="left")
    nights = nights.join(
        restlessness(nights, stages_of_periods, segs, movement_epochs), on="period_id", how="left"
    )
    nights = with_vendor_scores(nights, vendor_scores)
    nights = pl.concat(
        [nights, score_only_nights(nights, vendor_scores, zones)], how="diagonal_relaxed"
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
