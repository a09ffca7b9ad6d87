"""Canonical tables from the collected chunks: the rules that need the whole file.

* **Sleep sessions.** Stage records are grouped per source device: sorted by start, a
  record opens a new session when it starts more than :data:`SESSION_GAP` after the
  latest end seen so far in the current session (overlapping and touching records, and
  awakenings out of bed up to an hour, stay in one night). Each session is a
  ``sleep_periods`` row from its first start to its last end. A session made only of
  ``in_bed`` records (an iPhone's bedtime schedule) becomes a period only when no session
  with scored stages (asleep, core, deep, REM, awake) of any device overlaps it:
  otherwise the phone's longer, unmeasured window would win "longest period of the
  night" over the watch's measured one. Its records stay ``sleep_stages`` rows (period
  key null). ``period_key`` is ``<product>:<UTC start>`` (``watch:2026-03-08T04:10:00Z``),
  with ``#2``... when two devices of one product start a session at the same second.
* **Steps.** A phone and a watch carried together both count the same steps, and the
  export does not carry the user's source priority. In each UTC hour the device with the
  most steps is kept and the others' records starting in that hour are dropped (ties:
  watch, then phone, then apps), so steps are never added across devices. Repeated
  identical records count once.
* **Heart rate.** One sample per instant: duplicates and a second device's sample at the
  same second are dropped (watch first).
* **Intake.** Apple's export lists every record of a food correlation twice: inside the
  ``<Correlation>`` and again at top level. A correlation is one item (its ``HKFoodType``
  names it); top-level records matching one of its children (same source, type, times and
  amount, counted with multiplicity) are that duplicate and are skipped. The remaining
  top-level nutrient records are grouped into one item per source, start instant and
  ``HKFoodType`` (null when absent). ``nutrient_origin`` is 'export' when the item has
  magnesium, else 'missing'; ``row_number`` numbers the file's items in time order.
* **Supplements.** An item is a supplement when the Cronometer reader's name rule says
  so (``cronometer.is_supplement``: dose units or supplement words in the food name, a
  magnesium salt, a 'supplement' meal or category unless plainly a food product), when
  its metadata says supplement (a key naming it with a true value, or a value such as
  ``HKFoodType="Magnesium supplement"``: category 'supplement'), or when its source is a
  supplement-tracking app (:data:`collect.SUPPLEMENT_APP`). Supplement items with
  magnesium are also ``supplement_doses`` rows: HealthKit's dietary magnesium is the
  nutrient itself, so ``amount_basis`` 'elemental' and fraction 1.0
  (``cronometer.elemental_doses``, shared with the Cronometer reader).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from restless.ingest.apple_health.collect import (
    DIET,
    FOOD,
    HR,
    PRODUCTS,
    SLEEP,
    STEPS,
    Collected,
)
from restless.ingest.cronometer import elemental_doses
from restless.ingest.cronometer import is_supplement as named_supplement
from restless.ingest.csv_text import typed

SESSION_GAP = timedelta(minutes=60)
"""Largest gap between stage records of one device inside one sleep session."""

UNNAMED_FOOD = "unnamed Apple Health entry"
"""``item_name`` of nutrient records that carry no ``HKFoodType``."""

PERIODS, STAGES, MOVEMENT, INTAKE, DOSES = (
    "sleep_periods",
    "sleep_stages",
    "movement_epochs",
    "intake_items",
    "supplement_doses",
)
NUTRIENTS = ("energy_kcal", "magnesium_mg", "iron_mg", "calcium_mg", "potassium_mg", "caffeine_mg")

_UTC = pl.Datetime("us", "UTC")
_BASE = {"row_number": pl.Int64, "src": pl.Int32}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    HR: {**_BASE, "measured_at": _UTC, "bpm": pl.Int64},
    STEPS: {**_BASE, "epoch_start_at": _UTC, "epoch_s": pl.Float64, "steps": pl.Int64},
    SLEEP: {**_BASE, "start_at": _UTC, "end_at": _UTC, "stage": pl.String},
    DIET: {
        **_BASE,
        "corr": pl.Int64,
        "nutrient": pl.String,
        "amount": pl.Float64,
        "consumed_at": _UTC,
        "end_at": _UTC,
        "local_date": pl.Date,
        "local_time": pl.Time,
        "food": pl.String,
        "meal": pl.String,
        "flagged": pl.Boolean,
    },
    FOOD: {
        "corr": pl.Int64,
        "src": pl.Int32,
        "consumed_at": _UTC,
        "local_date": pl.Date,
        "local_time": pl.Time,
        "food": pl.String,
        "meal": pl.String,
        "flagged": pl.Boolean,
    },
}
"""Compact chunk schemas (``collect.chunk_frame`` output), for files without a kind."""


def sources_frame(collected: Collected) -> pl.DataFrame:
    """src id -> product type, its preference rank, supplement-app flag (no names)."""
    return pl.DataFrame(
        {
            "src": list(range(len(collected.sources))),
            "product": [s.product for s in collected.sources],
            "product_rank": [PRODUCTS.index(s.product) for s in collected.sources],
            "is_supplement_app": [s.is_supplement_app for s in collected.sources],
        },
        schema={
            "src": pl.Int32,
            "product": pl.String,
            "product_rank": pl.Int32,
            "is_supplement_app": pl.Boolean,
        },
    )


def _rank(sources: pl.DataFrame) -> pl.Expr:
    """The product preference rank of ``src`` (no string column on large frames)."""
    ranks = dict(zip(sources["src"], sources["product_rank"], strict=True))
    return pl.col("src").replace_strict(ranks, default=len(PRODUCTS), return_dtype=pl.Int32)


def heart_rate(collected: Collected, sources: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """heart_rate rows (one per instant, watch first) and how many samples were dropped.

    Sorted by instant, repeated instants sit side by side: only those few rows are ranked
    (a clean file costs one sort, which matters at millions of samples).
    """
    samples = collected.take(HR, SCHEMAS[HR]).sort("measured_at", maintain_order=True)
    instant = pl.col("measured_at")
    repeated = (instant == instant.shift(1)) | (instant == instant.shift(-1))
    flags = samples.select(repeated.fill_null(False)).to_series()
    kept = samples.select("measured_at", "bpm")
    if flags.any():
        chosen = (
            samples.filter(flags)
            .sort([instant, _rank(sources), "src", "row_number"])
            .unique(subset=["measured_at"], keep="first", maintain_order=True)
        )
        kept = pl.concat(
            [kept.filter(~flags), chosen.select("measured_at", "bpm")], how="vertical"
        ).sort("measured_at")
    return typed(kept, HR), samples.height - kept.height


def movement(collected: Collected, sources: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """movement_epochs rows, one device per UTC hour, and how many records were dropped."""
    epochs = collected.take(STEPS, SCHEMAS[STEPS])
    total = epochs.height
    epochs = epochs.unique(subset=["src", "epoch_start_at", "epoch_s", "steps"])
    hour_of_device = pl.col("epoch_start_at").dt.truncate("1h").dt.epoch("s") * 65_536 + pl.col(
        "src"
    )
    per_device = (
        epochs.group_by(hour_of_device.alias("_key"))
        .agg(pl.col("steps").sum().alias("_steps"), pl.col("src").first())
        .with_columns((pl.col("_key") // 65_536).alias("_hour"), _rank(sources).alias("_rank"))
        .sort(["_hour", "_steps", "_rank", "src"], descending=[False, True, False, False])
        .unique(subset=["_hour"], keep="first", maintain_order=True)
    )
    kept = epochs.filter(hour_of_device.is_in(per_device["_key"].implode())).sort(
        "epoch_start_at", "src", "epoch_s", "steps"
    )
    return typed(kept, MOVEMENT), total - kept.height


def sleep(
    collected: Collected, sources: pl.DataFrame, drop_row: int | None
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """sleep_periods and sleep_stages by the session rule of the module docstring.

    ``drop_row`` (a partial read) names the last record read before a break: its session
    may continue past the break, so it is left out.
    """
    stages = (
        collected.take(SLEEP, SCHEMAS[SLEEP])
        .sort("row_number")
        .unique(subset=["src", "start_at", "end_at", "stage"], maintain_order=True)
        .sort("src", "start_at", "end_at", "row_number")
    )
    previous_end = pl.col("end_at").cum_max().shift(1).over("src")
    opens = previous_end.is_null() | (pl.col("start_at") - previous_end > SESSION_GAP)
    stages = stages.with_columns(opens.cast(pl.Int32).alias("_opens")).with_columns(
        pl.col("_opens").cum_sum().over("src").alias("session")
    )
    warnings: list[str] = []
    if drop_row is not None:
        open_session = stages.filter(pl.col("row_number") == drop_row).select("src", "session")
        if open_session.height:
            stages = stages.join(open_session, on=["src", "session"], how="anti")
            warnings.append(
                "the sleep session being read when the XML broke was left out "
                "(its later records may lie past the break)"
            )
    sessions = (
        stages.group_by("src", "session")
        .agg(
            pl.col("start_at").min(),
            pl.col("end_at").max(),
            (pl.col("stage") != "in_bed").any().alias("is_scored"),
        )
        .join(sources, on="src", how="left")
    )
    scored = sessions.filter(pl.col("is_scored")).select(
        pl.col("start_at").alias("_s"), pl.col("end_at").alias("_e")
    )
    shadowed = (
        sessions.filter(~pl.col("is_scored"))
        .join_where(scored, pl.col("start_at") < pl.col("_e"), pl.col("end_at") > pl.col("_s"))
        .select("src", "session")
        .unique()
    )
    if shadowed.height:
        warnings.append(
            f"{shadowed.height} in-bed-only session(s) overlap a night with measured sleep "
            "stages: kept as in_bed stages, not as sleep periods"
        )
    base = pl.format(
        "{}:{}", pl.col("product"), pl.col("start_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    periods = (
        sessions.join(shadowed, on=["src", "session"], how="anti")
        .sort("start_at", "product_rank", "src")
        .with_columns(base.alias("_base"))
        .with_columns(pl.col("_base").cum_count().over("_base").alias("_n"))
        .with_columns(
            pl.when(pl.col("_n") > 1)
            .then(pl.format("{}#{}", pl.col("_base"), pl.col("_n")))
            .otherwise(pl.col("_base"))
            .alias("period_key"),
            pl.col("product").alias("log_type"),
        )
    )
    stages = stages.join(
        periods.select("src", "session", "period_key"), on=["src", "session"], how="left"
    ).sort("start_at", "end_at", "src")
    return typed(periods, PERIODS), typed(stages, STAGES), warnings


def _items_long(collected: Collected) -> tuple[pl.DataFrame, int]:
    """One row per nutrient record with its item key; duplicates of correlation children out."""
    diet = collected.take(DIET, SCHEMAS[DIET]).sort("row_number")
    signature = ["src", "nutrient", "consumed_at", "end_at", "amount"]
    occurrence = pl.int_range(pl.len()).over(signature).alias("_occ")
    children = diet.filter(pl.col("corr").is_not_null()).with_columns(occurrence)
    top = diet.filter(pl.col("corr").is_null()).with_columns(occurrence)
    top_only = top.join(
        children.select(*signature, "_occ"), on=[*signature, "_occ"], how="anti", nulls_equal=True
    )
    foods = collected.take(FOOD, SCHEMAS[FOOD]).rename(lambda c: c if c == "corr" else f"f_{c}")
    has_food = pl.col("f_consumed_at").is_not_null()

    def from_food(column: str) -> pl.Expr:
        return pl.when(has_food).then(pl.col(f"f_{column}")).otherwise(pl.col(column))

    children = children.join(foods, on="corr", how="left").with_columns(
        *(from_food(c).alias(c) for c in ("src", "consumed_at", "local_date", "local_time")),
        pl.coalesce("f_food", "food").alias("food"),
        pl.coalesce("f_meal", "meal").alias("meal"),
        (pl.col("flagged") | pl.col("f_flagged").fill_null(False)).alias("flagged"),
        pl.format("c{}", pl.col("corr")).alias("item"),
    )
    top_only = top_only.with_columns(
        pl.format(
            "t{}|{}|{}",
            pl.col("src"),
            pl.col("consumed_at").dt.epoch("us"),
            pl.col("food").fill_null(""),
        ).alias("item")
    )
    columns = ["item", *SCHEMAS[DIET]]
    long = pl.concat([children.select(columns), top_only.select(columns)], how="vertical")
    return long, top.height - top_only.height


def _nutrient(name: str) -> pl.Expr:
    """Sum of one nutrient over an item's records; null when the item has none of it."""
    present = pl.col("nutrient") == name
    return pl.when(present.any()).then(pl.col("amount").filter(present).sum()).alias(name)


def intake(
    collected: Collected, sources: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """intake_items and supplement_doses by the item and supplement rules above."""
    long, duplicates = _items_long(collected)
    items = long.group_by("item").agg(
        pl.col("src").sort_by("row_number").first(),
        pl.col("consumed_at").sort_by("row_number").first(),
        pl.col("local_date").sort_by("row_number").first(),
        pl.col("local_time").sort_by("row_number").first(),
        pl.col("food").sort_by("row_number").drop_nulls().first(),
        pl.col("meal").sort_by("row_number").drop_nulls().first(),
        pl.col("flagged").any(),
        *(_nutrient(name) for name in NUTRIENTS),
    )
    warnings: list[str] = []
    items = items.join(sources, on="src", how="left").with_columns(
        pl.coalesce("food", pl.lit(UNNAMED_FOOD)).alias("item_name"),
        pl.col("meal").alias("meal_group"),
        pl.when(pl.col("flagged")).then(pl.lit("supplement")).alias("category"),
        pl.lit(None, dtype=pl.String).alias("amount_text"),
    )
    items = (
        items.with_columns(
            (pl.lit(named_supplement(items)) | pl.col("is_supplement_app").fill_null(False)).alias(
                "is_supplement"
            ),
            pl.when(pl.col("magnesium_mg").is_not_null())
            .then(pl.lit("export"))
            .otherwise(pl.lit("missing"))
            .alias("nutrient_origin"),
        )
        .sort("consumed_at", "src", "item_name", "item")
        .with_row_index("row_number", offset=1)
    )
    if duplicates:
        warnings.append(
            f"{duplicates} top-level nutrient record(s) repeat a food correlation's records "
            "(Apple lists them twice): counted once"
        )
    return typed(items, INTAKE), typed(elemental_doses(items), DOSES), warnings
