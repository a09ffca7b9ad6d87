"""Daily intake of magnesium and the RLS-relevant co-factors, per participant and local day.

Magnesium sources and the rules that keep them from being counted twice:

* food magnesium = ``intake_items.magnesium_mg`` of items that are *not* supplements; blank
  cells are unknown (skipped and counted in ``magnesium_unknown_items``), never zero;
* supplement magnesium = ``supplement_doses.magnesium_elemental_mg`` from every source;
  supplement rows of a food log are *not* added again (their elemental content is what
  ``supplement_doses`` carries);
* a day with no logged items but an app daily summary (``daily_nutrition``) uses the summary's
  totals (``intake_basis = 'daily_summary'``); a day never mixes both.

Allowance and limit: NIH ODS (SCIENCE.md section 6, params.MAGNESIUM_RDA_MG and
params.MAGNESIUM_SUPPLEMENT_UL_MG). The UL concerns supplemental magnesium only.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from restless.models import params
from restless.models.nights import (
    first_per_group,
    join_by_day,
    to_local,
    to_utc,
    with_timezone,
    zones_in,
)

NUTRIENTS = ("energy_kcal", "iron_mg", "calcium_mg", "potassium_mg", "caffeine_mg", "alcohol_g")
"""Summed over all items of a day, supplement rows included: no other table carries them
(an iron tablet logged in a food app is the only record of that iron)."""

KEYS = ["participant_id", "local_date"]

DAILY_INTAKE_COLUMNS = (
    "participant_id",
    "local_date",
    "timezone",
    "intake_basis",
    "intake_item_count",
    "supplement_dose_count",
    "magnesium_food_mg",
    "magnesium_unknown_items",
    "magnesium_supplement_mg",
    "magnesium_total_mg",
    "magnesium_rda_mg",
    "magnesium_pct_rda",
    "magnesium_supplement_ul_mg",
    "is_supplement_over_ul",
    "magnesium_3d_mean_mg",
    "magnesium_7d_mean_mg",
    "magnesium_untimed_share",
    "energy_kcal",
    "iron_mg",
    "calcium_mg",
    "potassium_mg",
    "caffeine_mg",
    "caffeine_after_14_mg",
    "alcohol_g",
    "is_log_complete",
)


def known_sum(column: str, where: pl.Expr | None = None) -> pl.Expr:
    """Sum of the non-null values (optionally filtered); null when none is known."""
    values = pl.col(column) if where is None else pl.col(column).filter(where)
    return pl.when(values.count() > 0).then(values.sum())


def with_local_times(frame: pl.DataFrame, zones: pl.DataFrame, instant: str) -> pl.DataFrame:
    """Fill ``local_time`` from the UTC instant and the instant from local date + time.

    Readers usually fill both; this keeps one of them from being lost when a reader only
    had the other.
    """
    framed = with_timezone(frame, zones)
    names = zones_in(framed)
    local = pl.col("local_date").dt.combine(pl.col("local_time"))
    return framed.with_columns(
        pl.coalesce(pl.col("local_time"), to_local(instant, names).dt.time()).alias("local_time"),
        pl.coalesce(pl.col(instant), to_utc(local, names)).alias(instant),
    )


def _items_by_day(items: pl.DataFrame) -> pl.DataFrame:
    food = ~pl.col("is_supplement")
    bearing = food & (pl.col("magnesium_mg") > 0)
    timed = pl.col("local_time").is_not_null()
    has_time = timed.any()
    return items.group_by(KEYS).agg(
        pl.len().cast(pl.Int64).alias("intake_item_count"),
        known_sum("magnesium_mg", food).alias("magnesium_food_mg"),
        (food & pl.col("magnesium_mg").is_null())
        .sum()
        .cast(pl.Int64)
        .alias("magnesium_unknown_items"),
        *(known_sum(n).alias(n) for n in NUTRIENTS),
        pl.when(has_time & (pl.col("caffeine_mg").count() > 0))
        .then(pl.col("caffeine_mg").filter(pl.col("local_time") >= params.CAFFEINE_LATE_FROM).sum())
        .alias("caffeine_after_14_mg"),
        has_time.alias("_has_time"),
        (pl.col("local_time") >= params.LOG_AFTERNOON_FROM).any().alias("_has_afternoon"),
        bearing.sum().cast(pl.Int64).alias("_mg_items"),
        (bearing & ~timed).sum().cast(pl.Int64).alias("_mg_untimed"),
        pl.lit("servings").alias("intake_basis"),
    )


def _summaries_by_day(nutrition: pl.DataFrame, item_days: pl.DataFrame) -> pl.DataFrame:
    """One daily summary per day without items (several sources: the first by name).

    Caveat: an app's daily total (Cronometer dailysummary) includes its supplement servings,
    so on such a day a dose also recorded in another supplement log counts twice; servings
    exports, which can be split, always win over summaries.
    """
    mg_known = pl.col("magnesium_mg") > 0
    return (
        first_per_group(nutrition, KEYS, ["source", "file_id"], [False, False])
        .join(item_days.select(KEYS), on=KEYS, how="anti")
        .select(
            *KEYS,
            pl.lit(0, dtype=pl.Int64).alias("intake_item_count"),
            pl.col("magnesium_mg").alias("magnesium_food_mg"),
            pl.lit(None, dtype=pl.Int64).alias("magnesium_unknown_items"),
            *NUTRIENTS,
            pl.lit(None, dtype=pl.Float64).alias("caffeine_after_14_mg"),
            pl.lit(False).alias("_has_time"),
            pl.lit(False).alias("_has_afternoon"),
            # the summary's food magnesium is one untimed magnesium-bearing "item"
            mg_known.fill_null(False).cast(pl.Int64).alias("_mg_items"),
            mg_known.fill_null(False).cast(pl.Int64).alias("_mg_untimed"),
            pl.lit("daily_summary").alias("intake_basis"),
        )
    )


def _doses_by_day(doses: pl.DataFrame) -> pl.DataFrame:
    bearing = pl.col("magnesium_elemental_mg") > 0
    return doses.group_by(KEYS).agg(
        pl.len().cast(pl.Int64).alias("supplement_dose_count"),
        known_sum("magnesium_elemental_mg").alias("magnesium_supplement_mg"),
        bearing.sum().cast(pl.Int64).alias("_dose_mg_items"),
        (bearing & pl.col("local_time").is_null()).sum().cast(pl.Int64).alias("_dose_mg_untimed"),
    )


def _band_value(age: pl.Expr, bands: list[tuple[int, int, pl.Expr]]) -> pl.Expr:
    expr: pl.Expr | None = None
    for low, high, value in bands:
        cond = age.is_between(low, high)
        expr = pl.when(cond).then(value) if expr is None else expr.when(cond).then(value)
    assert expr is not None
    return expr.otherwise(pl.lit(None, dtype=pl.Float64))


def magnesium_rda_mg(age: pl.Expr) -> pl.Expr:
    """RDA (mg/day) from ``sex``, ``is_pregnant``, ``is_lactating`` and age in whole years.

    Null when sex or age is unknown. Pregnancy wins over lactation; unknown pregnancy or
    lactation status counts as not pregnant / not lactating (params.MAGNESIUM_RDA_MG).
    """
    pregnant = pl.col("is_pregnant").fill_null(False)
    lactating = pl.col("is_lactating").fill_null(False)
    bands = []
    for low, high, male, female, pregnancy, lactation in params.MAGNESIUM_RDA_MG:
        female_value = pl.lit(female)
        if lactation is not None:
            female_value = pl.when(lactating).then(pl.lit(lactation)).otherwise(female_value)
        if pregnancy is not None:
            female_value = pl.when(pregnant).then(pl.lit(pregnancy)).otherwise(female_value)
        value = (
            pl.when(pl.col("sex") == "male")
            .then(pl.lit(male))
            .when(pl.col("sex") == "female")
            .then(female_value)
        )
        bands.append((low, high, value))
    return _band_value(age, bands)


def magnesium_supplement_ul_mg(age: pl.Expr) -> pl.Expr:
    """UL for supplemental magnesium (mg/day) by age; null when age is unknown or < 1 y."""
    return _band_value(
        age, [(low, high, pl.lit(ul)) for low, high, ul in params.MAGNESIUM_SUPPLEMENT_UL_MG]
    )


def rolling_magnesium(
    keys: pl.DataFrame, daily: pl.DataFrame, date_col: str = "local_date"
) -> pl.DataFrame:
    """3- and 7-day means of ``magnesium_total_mg`` ending on each key's date.

    Only complete-log days with a known total count (params.ROLLING_WINDOWS_D); calendar days
    without a row simply do not count. Null when no day in the window qualifies. ``keys``:
    ``participant_id`` and ``date_col``; returns them with ``magnesium_3d_mean_mg`` and
    ``magnesium_7d_mean_mg``.
    """
    widest = max(params.ROLLING_WINDOWS_D)
    usable = daily.filter(
        pl.col("is_log_complete").fill_null(False) & pl.col("magnesium_total_mg").is_not_null()
    ).select("participant_id", pl.col("local_date").alias("_day"), "magnesium_total_mg")
    unique_keys = keys.select("participant_id", date_col).unique()
    spread = (
        unique_keys.with_columns(pl.int_ranges(0, widest).alias("_back"))
        .explode("_back")
        .with_columns(
            (pl.col(date_col) - pl.duration(days=pl.col("_back"))).cast(pl.Date).alias("_day")
        )
        .join(usable, on=["participant_id", "_day"], how="left")
    )
    return (
        spread.group_by(["participant_id", date_col])
        .agg(
            pl.col("magnesium_total_mg")
            .filter(pl.col("_back") < days)
            .mean()
            .alias(f"magnesium_{days}d_mean_mg")
            for days in params.ROLLING_WINDOWS_D
        )
        .sort(["participant_id", date_col])
    )


def daily_intake(
    items: pl.DataFrame,
    nutrition: pl.DataFrame,
    doses: pl.DataFrame,
    participants: pl.DataFrame,
    zones: pl.DataFrame,
) -> pl.DataFrame:
    """features.daily_intake: one row per participant and local date with any intake data.

    ``items`` and ``doses`` must have gone through :func:`with_local_times`. Sorted by
    (participant_id, local_date).
    """
    item_days = _items_by_day(items)
    food_days = pl.concat([item_days, _summaries_by_day(nutrition, item_days)], how="diagonal")
    days = food_days.join(_doses_by_day(doses), on=KEYS, how="full", coalesce=True)

    food, supp = pl.col("magnesium_food_mg"), pl.col("magnesium_supplement_mg")
    total = (
        pl.when(food.is_null() & supp.is_null())
        .then(pl.lit(None, dtype=pl.Float64))
        .otherwise(food.fill_null(0.0) + supp.fill_null(0.0))
    )
    energy_fail = (pl.col("energy_kcal") < params.LOG_MIN_ENERGY_KCAL).fill_null(False)
    time_fail = pl.col("_has_time").fill_null(False) & ~pl.col("_has_afternoon").fill_null(False)
    complete = (
        pl.when(pl.col("intake_basis").is_null())
        .then(pl.lit(False))  # supplements only: no food log that day
        .otherwise(~(energy_fail | time_fail))
    )
    bearing = pl.col("_mg_items").fill_null(0) + pl.col("_dose_mg_items").fill_null(0)
    untimed = pl.col("_mg_untimed").fill_null(0) + pl.col("_dose_mg_untimed").fill_null(0)
    age = pl.col("local_date").dt.year().cast(pl.Int64) - pl.col("birth_year").cast(pl.Int64)
    person = participants.select(
        pl.col("participant_id").cast(pl.String),
        pl.col("sex").cast(pl.String),
        pl.col("birth_year").cast(pl.Int64),
        pl.col("is_pregnant").cast(pl.Boolean),
        pl.col("is_lactating").cast(pl.Boolean),
    ).unique("participant_id", keep="first")

    daily = (
        with_timezone(days, zones)
        .join(person, on="participant_id", how="left")
        .with_columns(
            pl.col("intake_item_count").fill_null(0),
            pl.col("supplement_dose_count").fill_null(0),
            total.alias("magnesium_total_mg"),
            complete.alias("is_log_complete"),
            magnesium_rda_mg(age).alias("magnesium_rda_mg"),
            magnesium_supplement_ul_mg(age).alias("magnesium_supplement_ul_mg"),
            pl.when(bearing > 0).then(untimed / bearing).alias("magnesium_untimed_share"),
        )
        .with_columns(
            (pl.col("magnesium_total_mg") / pl.col("magnesium_rda_mg") * 100).alias(
                "magnesium_pct_rda"
            ),
            (supp > pl.col("magnesium_supplement_ul_mg")).alias("is_supplement_over_ul"),
        )
    )
    rolled = rolling_magnesium(daily.select(KEYS), daily)
    return daily.join(rolled, on=KEYS, how="left").select(DAILY_INTAKE_COLUMNS).sort(KEYS)


def magnesium_events(items: pl.DataFrame, doses: pl.DataFrame) -> pl.DataFrame:
    """Every magnesium-bearing food item and supplement dose: ``participant_id, local_date,
    local_time, at, magnesium_mg`` (items and doses after :func:`with_local_times`)."""
    food = items.filter(~pl.col("is_supplement") & (pl.col("magnesium_mg") > 0)).select(
        *KEYS, "local_time", pl.col("consumed_at").alias("at"), "magnesium_mg"
    )
    supplements = doses.filter(pl.col("magnesium_elemental_mg") > 0).select(
        *KEYS,
        "local_time",
        pl.col("taken_at").alias("at"),
        pl.col("magnesium_elemental_mg").alias("magnesium_mg"),
    )
    return pl.concat([food, supplements], how="vertical")


def evening_magnesium(nights: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Magnesium (food + supplements) taken in the params.EVENING_WINDOW_H hours before onset.

    ``nights``: ``participant_id, night_date, sleep_onset_at``. The window is
    [onset - 4 h, onset) on real instants, so it may reach past local midnight. Null when no
    magnesium-bearing item of local day D has a time (the window cannot be judged); 0.0 when
    timed items exist but none fell inside; null without a sleep onset. Returns
    ``participant_id, night_date, magnesium_evening_mg``.
    """
    timed_days = (
        events.filter(pl.col("local_time").is_not_null())
        .select("participant_id", pl.col("local_date").alias("night_date"))
        .unique()
        .with_columns(pl.lit(True).alias("_timed"))
    )
    windows = (
        nights.select("participant_id", "night_date", "sleep_onset_at")
        .filter(pl.col("sleep_onset_at").is_not_null())
        .with_columns(
            (pl.col("sleep_onset_at") - timedelta(hours=params.EVENING_WINDOW_H)).alias("_from")
        )
    )
    inside = (
        join_by_day(
            windows,
            events.filter(pl.col("at").is_not_null()).drop("local_date"),
            window_start="_from",
            window_end="sleep_onset_at",
            event_at="at",
        )
        .filter((pl.col("at") >= pl.col("_from")) & (pl.col("at") < pl.col("sleep_onset_at")))
        .group_by(["participant_id", "night_date"])
        .agg(pl.col("magnesium_mg").sum().alias("_evening"))
    )
    return (
        nights.select("participant_id", "night_date", "sleep_onset_at")
        .join(timed_days, on=["participant_id", "night_date"], how="left")
        .join(inside, on=["participant_id", "night_date"], how="left")
        .select(
            "participant_id",
            "night_date",
            pl.when(pl.col("_timed").fill_null(False) & pl.col("sleep_onset_at").is_not_null())
            .then(pl.col("_evening").fill_null(0.0))
            .alias("magnesium_evening_mg"),
        )
        .sort(["participant_id", "night_date"])
    )
