"""Cronometer CSV exports -> intake_items, supplement_doses and daily_nutrition.

Cronometer writes one column per nutrient shown in the user's settings, so the column
set changes by user and era (53-69 columns; ``Time``, ``Group``, ``Category``,
``Caffeine (mg)``, ``Alcohol (g)`` are optional): every column is matched by name.
Dates may lack zero padding (``2011-4-18``); times are 24 h (``05:17``), 12 h
(``9:51 AM``) or blank. A blank nutrient cell is unknown (null), never 0; a cell that is
not a number, a date that is not a date or a time that is not a time drops the row and
lists it in ``ReadResult.rejected_rows``.

Supplements. The magnesium upper limit concerns supplemental magnesium only (SCIENCE.md
section 6), so every serving gets ``is_supplement``. A serving is a supplement when

1. its ``Amount`` unit is a dose unit: tablet, tab, capsule, caps, vcap, softgel, caplet,
   pill, gummy, lozenge, drop(s) (e.g. ``1.00 Tablet``, ``1.00 Pill``, ``1.00 softgel``);
2. or its name plainly names one: multivitamin, 'supplement', magnesium (or Mg) with a
   salt form ('Magnesium glycinate', 'Mg citrate'), a name starting with magnesium in
   any spelling ('Magnezijum'), or a dose form in the name ('... 400 mg tablets');
3. or Cronometer files it under its own ``Supplements`` category, or the user's diary
   ``Group`` contains 'supplement' -- unless it is plainly a food product (protein,
   shake, bar, meal replacement, smoothie, drink, juice, milk, cereal): Cronometer files
   fortified shakes (``Premier Protein Shake``) under Supplements, but their magnesium is
   eaten as food.

Each supplement serving with a known magnesium value also becomes a supplement_doses row
(``amount_basis`` elemental: Cronometer's nutrient values are elemental magnesium). The
features layer counts supplement magnesium only from supplement_doses and food
magnesium only from intake_items that are not supplements, so nothing counts twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import Coverage, Format, NothingToLoad, ReadContext, ReadResult
from restless.schemas.supplement_forms import form_from_text

SOURCE = "cronometer"
INTAKE, DOSES, DAILY = "intake_items", "supplement_doses", "daily_nutrition"

NUTRIENT_COLUMNS: dict[str, str] = {
    "energy_kcal": "Energy (kcal)",
    "magnesium_mg": "Magnesium (mg)",
    "iron_mg": "Iron (mg)",
    "calcium_mg": "Calcium (mg)",
    "potassium_mg": "Potassium (mg)",
    "caffeine_mg": "Caffeine (mg)",
    "alcohol_g": "Alcohol (g)",
}
"""Canonical column -> Cronometer header (units in the header, SCIENCE.md section 9)."""

OPTIONAL_NUTRIENTS = tuple(v for k, v in NUTRIENT_COLUMNS.items() if k != "energy_kcal")
SERVINGS_REQUIRED = ("Day", "Food Name", "Amount", "Energy (kcal)")
SERVINGS_OPTIONAL = ("Time", "Group", "Category", *OPTIONAL_NUTRIENTS)
DAILY_REQUIRED = ("Date", "Energy (kcal)")
DAILY_OPTIONAL = (*OPTIONAL_NUTRIENTS, "Completed")
MAGNESIUM_ABSENT = {"Magnesium (mg)": "magnesium is unknown for every row"}
"""The user's column settings can hide magnesium: every value is then unknown (a warning)."""

DOSE_UNITS = (
    r"\b(tablets?|tabs?|capsules?|caps|v-?caps?|softgels?|soft gels?|caplets?|pills?"
    r"|gumm(y|ies)|lozenges?|drops?)\b"
)
SUPPLEMENT_NAMES = (
    r"multi-?vitamin|\bmultivit|\bsupplements?\b|^\s*magne[sz]i"
    r"|\b(tablets?|capsules?|caps|softgels?|caplets?)\b"
)
FOOD_PRODUCTS = (
    r"\b(protein|shakes?|bars?|meal replacements?|smoothies?|drinks?|beverages?|juices?"
    r"|milk|cereals?)\b"
)


def _cells(head: bytes) -> set[str]:
    return {cell.lower() for cell in csv_text.header_cells(head)}


def sniff_servings(head: bytes, name: str) -> bool:
    """Header with ``Day`` and ``Food Name`` or ``Energy (kcal)`` (not biometrics)."""
    cells = _cells(head)
    return "day" in cells and bool({"food name", "energy (kcal)"} & cells) and "metric" not in cells


def sniff_dailysummary(head: bytes, name: str) -> bool:
    """Header with ``Date`` and ``Energy (kcal)``, one row per day (no food or meal)."""
    cells = _cells(head)
    return {"date", "energy (kcal)"} <= cells and not {"food name", "meal", "day"} & cells


def sniff_biometrics(head: bytes, name: str) -> bool:
    """Cronometer biometrics: ``Day, Time, Group, Metric, Unit, Amount``."""
    return {"day", "metric", "unit", "amount"} <= _cells(head)


def _nutrients() -> list[pl.Expr]:
    """Parsed nutrient columns under their canonical names (absent column -> null)."""
    return [
        csv_text.parse_number(pl.col(csv_text.RAW + header)).alias(name)
        for name, header in NUTRIENT_COLUMNS.items()
    ]


def _number_checks() -> list[tuple[str, str, pl.Expr]]:
    """A non-empty nutrient cell that is not a number fails ``number_format``."""
    return [
        (
            header,
            "number_format",
            pl.col(csv_text.RAW + header).is_not_null() & pl.col(name).is_null(),
        )
        for name, header in NUTRIENT_COLUMNS.items()
    ]


def is_supplement(items: pl.DataFrame) -> pl.Series:
    """The supplement rule of the module docstring, applied to intake_items columns."""
    name = pl.col("item_name").str.to_lowercase()
    amount = pl.col("amount_text").str.to_lowercase().fill_null("")
    category = pl.col("category").str.to_lowercase().fill_null("")
    group = pl.col("meal_group").str.to_lowercase().fill_null("")
    names_salt = pl.Series(
        [
            form_from_text(n) is not None
            and re.search(r"\b(magne[sz]\w*|mg)\b", n.lower()) is not None
            for n in items["item_name"]
        ],
        dtype=pl.Boolean,
    )
    filed_as = category.str.contains(r"\bsupplements?\b") | group.str.contains("supplement")
    food = name.str.contains(FOOD_PRODUCTS) | amount.str.contains(FOOD_PRODUCTS)
    rule = (
        amount.str.contains(DOSE_UNITS)
        | name.str.contains(SUPPLEMENT_NAMES)
        | pl.lit(names_salt)
        | (filed_as & ~food)
    )
    return items.select(rule.fill_null(False).alias("is_supplement")).to_series()


def read_servings(path: Path, ctx: ReadContext) -> ReadResult:
    """Servings ("Food & Recipe Entries") -> intake_items and supplement_doses."""
    zone = localtime.reader_zone(ctx)
    cells, warnings = csv_text.read_cells(
        path,
        SERVINGS_REQUIRED,
        SERVINGS_OPTIONAL,
        what="Cronometer servings export",
        warn_if_absent=MAGNESIUM_ABSENT,
    )
    raw = {name: pl.col(csv_text.RAW + name) for name in (*SERVINGS_REQUIRED, *SERVINGS_OPTIONAL)}
    frame = cells.with_columns(
        localtime.parse_date(raw["Day"]).alias("local_date"),
        localtime.parse_time(raw["Time"]).alias("local_time"),
        raw["Food Name"].str.strip_chars().alias("item_name"),
        raw["Group"].str.strip_chars().alias("meal_group"),
        raw["Category"].str.strip_chars().alias("category"),
        raw["Amount"].str.strip_chars().alias("amount_text"),
        *_nutrients(),
    )
    checks = [
        ("Day", "date_format", pl.col("local_date").is_null()),
        ("Time", "time_format", raw["Time"].is_not_null() & pl.col("local_time").is_null()),
        ("Food Name", "required_value", pl.col("item_name").is_null()),
        *_number_checks(),
    ]
    kept, rejected = csv_text.reject_rows(frame, INTAKE, checks)
    naive = localtime.combine(pl.col("local_date"), pl.col("local_time"))
    intake = kept.with_columns(
        is_supplement(kept),
        localtime.local_to_utc(naive, zone, non_existent="shift_forward").alias("consumed_at"),
        pl.when(pl.col("magnesium_mg").is_not_null())
        .then(pl.lit("export"))
        .otherwise(pl.lit("missing"))
        .alias("nutrient_origin"),
    )
    warnings += localtime.gap_warnings(kept, naive, zone)
    return ReadResult(
        tables={
            INTAKE: csv_text.typed(intake, INTAKE),
            DOSES: csv_text.typed(elemental_doses(intake), DOSES),
        },
        warnings=warnings,
        rejected_rows=rejected,
    )


def elemental_doses(intake: pl.DataFrame) -> pl.DataFrame:
    """One elemental dose per supplement item whose magnesium is known.

    For readers whose magnesium value is the nutrient itself (Cronometer, Apple Health):
    ``amount_basis`` 'elemental', fraction 1.0, the form read from the item name.
    """
    taken = intake.filter(pl.col("is_supplement") & pl.col("magnesium_mg").is_not_null())
    forms = pl.Series("form", [form_from_text(n) for n in taken["item_name"]], dtype=pl.String)
    return taken.with_columns(
        forms,
        pl.col("consumed_at").alias("taken_at"),
        pl.col("item_name").alias("product"),
        pl.col("magnesium_mg").alias("amount_mg"),
        pl.lit("elemental").alias("amount_basis"),
        pl.lit(1.0).alias("elemental_fraction"),
        pl.lit(None, dtype=pl.String).alias("hydrate_assumed"),
        pl.col("magnesium_mg").alias("magnesium_elemental_mg"),
    )


def read_dailysummary(path: Path, ctx: ReadContext) -> ReadResult:
    """Daily Nutrition summary -> daily_nutrition (one row per local date)."""
    cells, warnings = csv_text.read_cells(
        path,
        DAILY_REQUIRED,
        DAILY_OPTIONAL,
        what="Cronometer daily summary",
        warn_if_absent=MAGNESIUM_ABSENT,
    )
    completed = pl.col(csv_text.RAW + "Completed").str.strip_chars().str.to_lowercase()
    frame = cells.with_columns(
        localtime.parse_date(pl.col(csv_text.RAW + "Date")).alias("local_date"),
        pl.when(completed == "true")
        .then(True)
        .when(completed == "false")
        .then(False)
        .alias("is_completed"),
        *_nutrients(),
    )
    repeated = pl.col("local_date").is_not_null() & (
        pl.col("local_date").cum_count().over("local_date") > 1
    )
    checks = [
        ("Date", "date_format", pl.col("local_date").is_null()),
        ("Date", "unique_date", repeated),
        ("Completed", "boolean_format", completed.is_not_null() & pl.col("is_completed").is_null()),
        *_number_checks(),
    ]
    kept, rejected = csv_text.reject_rows(frame, DAILY, checks)
    return ReadResult(
        tables={DAILY: csv_text.typed(kept, DAILY)}, warnings=warnings, rejected_rows=rejected
    )


def read_biometrics(path: Path, ctx: ReadContext) -> ReadResult:
    """Biometrics (glucose, insulin, imported sleep hours): nothing restless uses."""
    raise NothingToLoad(
        "Cronometer biometrics export (glucose, insulin, weight, imported sleep hours): "
        "no canonical table uses it"
    )


_DATES = Coverage("dates", "local_date")
_DATES_OF_SERVINGS = Coverage("dates", "local_date", dates_from=INTAKE)

FORMATS: list[Format] = [
    Format(
        name="cronometer_servings",
        source=SOURCE,
        sniff=sniff_servings,
        read=read_servings,
        coverage={INTAKE: _DATES, DOSES: _DATES_OF_SERVINGS},
        uses_local_time=True,
    ),
    Format(
        name="cronometer_dailysummary",
        source=SOURCE,
        sniff=sniff_dailysummary,
        read=read_dailysummary,
        coverage={DAILY: _DATES},
    ),
    Format(
        name="cronometer_biometrics",
        source=SOURCE,
        sniff=sniff_biometrics,
        read=read_biometrics,
        coverage={},
    ),
]
