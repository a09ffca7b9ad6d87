"""Magnesium for logged foods the app gave none: a look-up in a bundled FoodData Central table.

Why: food apps leave magnesium blank for custom foods and many branded products (in one
real Cronometer log 31 of 43 servings), and a blank summed as nothing makes a day look
magnesium-poor. Where a serving names a food and gives its mass, the magnesium of the
same mass of the closest FoodData Central food is a defensible estimate; everywhere else
the value stays unknown. Every filled row says so (``nutrient_origin = 'lookup'``, the
``lookup_food_id`` used and a ``lookup_confidence``).

The table (``data/fdc_foods.csv``, built by ``data/build_fdc_table.py``, provenance in
``data/PROVENANCE.md``): 365 USDA FoodData Central Foundation Foods with magnesium
(nutrient 1090), iron, calcium and potassium in mg and energy in kcal, all per 100 g.

Which rows are looked up: ``nutrient_origin == 'missing'``, no magnesium, not a supplement
(a supplement's magnesium is a label amount, not food composition), a name, and an amount
whose mass is known or whose volume is (below). Rows with magnesium from the export are
never touched; MyFitnessPal meal totals have no food name or amount and are never guessed.

Amounts (:mod:`restless.models.household_units`): ``<n> <unit>`` (``600.00 g``),
``<n> x <m> <unit>`` (``4.00 x 4.0 oz``: n servings of m) and ``<n> <portion> - each <m>
<unit>`` (``1.00 container - each 6 oz``). A mass unit (mg, g, kg, oz, lb) converts
exactly. A volume unit (cup, tbsp, tsp, fl oz, ml, l, cubic inch, ...) converts exactly to
millilitres and then to grams only when the matched food is an aqueous liquid
(:func:`~restless.models.household_units.liquid_density`: cow's milk 1.03 g/ml, cited;
other drinks, juices, broths and plain yogurt 1.00 g/ml, an assumption); a volume of any
other food (cheese by the cubic inch, guacamole by the tablespoon) stays without grams and
``missing``. Count units (bar, slice, serving, 'full recipe', ...) never convert: their
mass depends on the product and the FDC Foundation file carries no portion weights. Where
a volume was converted, the confidence is multiplied by ``1 - relative error`` of the
density (x 0.99 for milk, x 0.95 for the 1.00 g/ml assumption) before the threshold, as
the category factor is, and ``amount_g`` holds the grams used.

How a name is matched (explainable by hand):

1. Normalise both names: lower case, accents removed, ``&`` -> and; words of letters only
   (numbers such as ``130 Cal`` or ``5%`` dropped), filler words removed
   (:data:`STOP_WORDS`), plurals folded (``berries`` -> ``berry``, ``tomatoes`` ->
   ``tomato``, ``oats`` -> ``oat``).
2. A leading brand segment (``Kirkland, Chicken Breast``: a first comma-segment none of
   whose words occurs anywhere in the table, not followed by a qualifier such as
   ``with ...``) is dropped; any other word the table never uses still counts against
   the match.
3. Head-word agreement, both ways: every word of the FDC description's first
   comma-segment (its head: ``Cheese`` in ``Cheese, swiss``; class words such as ``Nuts``
   or ``Fish`` are skipped) must occur in the item's name, and the item's first segment
   must share a word with the description. This keeps ``Chard, swiss`` away from
   ``Cheese, swiss`` and ``Mushrooms, fried in sunflower oil`` away from ``Oil, sunflower``.
4. Score = weighted Dice overlap 2·W(shared) / (W(item) + W(food)), each word weighted by
   its rarity in the table, idf = ln(1 + N / df) (``raw`` weighs little, ``hummus`` much);
   words the table never uses weigh ln(1 + N).
5. Category hint: Cronometer's ``Category`` uses the same USDA food groups as FDC:
   ``confidence = score x 1.0`` when they agree, ``x 0.9`` when the item has none and
   ``x 0.75`` when they differ (:data:`CATEGORY_FACTOR`).
6. The best food is accepted when ``confidence >= MATCH_THRESHOLD`` (0.6) and, where the
   row's energy is known, its energy density is within ``ENERGY_RATIO`` (2/3 to 3/2) of
   the food's: energy is the value every log records, and a food off by more than half
   in kcal per 100 g is another food or another preparation (cooked rice against dry rice
   is 0.35, a match that names alone would accept).

The threshold was set on the real Cronometer logs in ``shared/data/real/foodlogs`` (every
distinct name, checked by hand): above 0.6 the accepted foods are the same food, or the
same food in another variety or preparation, once the energy check has removed dry/cooked
confusions; between 0.5 and 0.6 wrong foods appear (roasted soybeans as soybean oil,
spinach lasagna as spinach). Held-out check on those logs (servings whose exported
magnesium is treated as blank): 162 servings get a look-up (156 of 371 with a gram
amount, 6 by volume: skim milk and plain yogurt by the cup), 96 % of them within 25 % of
Cronometer's own value, their sum 2.1 % below Cronometer's (``tests/test_food_lookup.py``).

Nutrients filled: ``magnesium_mg`` and, where the export left them blank, ``iron_mg``,
``calcium_mg`` and ``potassium_mg`` (per 100 g x grams / 100). ``nutrient_origin``
describes magnesium: a value the export gave is never overwritten.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl

from restless.models.household_units import liquid_density, parse_amount

MATCH_THRESHOLD = 0.6
"""Lowest accepted confidence (module docstring, step 6)."""

ENERGY_RATIO = (2 / 3, 3 / 2)
"""Accepted range of (row kcal per 100 g) / (table kcal per 100 g) when both are known."""

CATEGORY_FACTOR = {"same": 1.0, "unknown": 0.9, "different": 0.75}
"""Confidence factor by agreement of the item's food group with the FDC category."""

STOP_WORDS = frozenset(
    {"a", "all", "an", "and", "at", "by", "cal", "for", "from", "in", "kind", "made", "no"}
    | {"not", "of", "on", "or", "prepared", "the", "to", "type", "with", "without", "added"}
    | {"x", "nfs", "ns", "style"}
)
"""Filler words that say nothing about composition (``with``/``without`` included:
``without salt`` and ``with salt`` differ in sodium, not magnesium)."""

CLASS_WORDS = frozenset({"nut", "fish", "seed", "crustacean", "restaurant"})
"""FDC heads that name a class (``Nuts, almonds``): the next segment is the head instead,
and an unmatched class word does not count against a match."""

NUTRIENTS_PER_100G = {
    "magnesium_mg": "magnesium_mg_per_100g",
    "iron_mg": "iron_mg_per_100g",
    "calcium_mg": "calcium_mg_per_100g",
    "potassium_mg": "potassium_mg_per_100g",
}
"""intake_items column -> bundled table column (mg per 100 g)."""

QUALIFIER = re.compile(r"^\s*(with|without|in|and|or|from|made|cooked|raw)\b", re.IGNORECASE)
"""A segment starting so qualifies the one before it (``Meatballs, with tomato sauce``):
that one is the food, not a brand."""


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("oes"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Normalised words of a food name (module docstring, step 1)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z]+", ascii_text.lower().replace("&", " and "))
    return [_singular(w) for w in words if len(w) > 1 and w not in STOP_WORDS]


def segments(text: str) -> list[frozenset[str]]:
    """Non-empty word sets of the comma (or parenthesis) separated parts of a name."""
    parts = (frozenset(tokens(part)) for part in re.split(r"[,(]", text))
    return [part for part in parts if part]


@dataclass(frozen=True)
class Match:
    """The accepted-or-not best food for one name: FDC id, description and confidence."""

    fdc_id: str
    description: str
    confidence: float


@dataclass(frozen=True)
class _Food:
    fdc_id: str
    description: str
    category: str
    words: frozenset[str]
    head: frozenset[str]


class FoodMatcher:
    """Name -> best FDC food by the weighted-overlap method of the module docstring."""

    def __init__(self, table: pl.DataFrame) -> None:
        foods = []
        for fdc_id, description, category in table.select(
            "fdc_id", "description", "category"
        ).iter_rows():
            parts = segments(description)
            if not parts:
                continue
            head = parts[0] - CLASS_WORDS
            if not head:
                head = parts[1] if len(parts) > 1 else parts[0]
            words = frozenset().union(*parts)
            foods.append(_Food(str(fdc_id), description, category or "", words, head))
        self.foods = foods
        self.document_frequency = Counter(w for food in foods for w in food.words)
        self.unknown_weight = math.log(1 + len(foods))

    def weight(self, word: str) -> float:
        """idf = ln(1 + N / df); a word the table never uses gets ln(1 + N)."""
        df = self.document_frequency.get(word)
        return math.log(1 + len(self.foods) / df) if df else self.unknown_weight

    def _query(self, name: str) -> tuple[frozenset[str], frozenset[str]]:
        pieces = [p for p in re.split(r"[,(]", name) if tokens(p)]
        while (
            len(pieces) > 1
            and frozenset(tokens(pieces[0])).isdisjoint(self.document_frequency)
            and not QUALIFIER.match(pieces[1])
        ):
            pieces = pieces[1:]  # a leading brand: no word of it occurs in the table
        parts = [frozenset(tokens(p)) for p in pieces]
        if not parts:
            return frozenset(), frozenset()
        return frozenset().union(*parts), parts[0]

    def score(self, name: str, food: _Food) -> float:
        """Weighted Dice overlap after the head-word rule (0 when the heads disagree)."""
        words, head = self._query(name)
        if not words or not food.head <= words or not head & food.words:
            return 0.0
        shared = sum(self.weight(w) for w in words & food.words)
        own = sum(self.weight(w) for w in words)
        theirs = sum(self.weight(w) for w in food.words if w in words or w not in CLASS_WORDS)
        return 2 * shared / (own + theirs)

    def match(self, name: str, category: str | None = None) -> Match | None:
        """The highest-confidence food for ``name`` (None when no food passes the heads)."""
        best: Match | None = None
        for food in self.foods:
            score = self.score(name, food)
            if score <= 0:
                continue
            if not category:
                agreement = "unknown"
            elif category.strip().lower() == food.category.lower():
                agreement = "same"
            else:
                agreement = "different"
            confidence = round(score * CATEGORY_FACTOR[agreement], 3)
            if best is None or confidence > best.confidence:
                best = Match(food.fdc_id, food.description, confidence)
        return best


TABLE_SCHEMA = {
    "fdc_id": pl.String,
    "description": pl.String,
    "category": pl.String,
    "magnesium_mg_per_100g": pl.Float64,
    "iron_mg_per_100g": pl.Float64,
    "calcium_mg_per_100g": pl.Float64,
    "potassium_mg_per_100g": pl.Float64,
    "energy_kcal_per_100g": pl.Float64,
}


@cache
def food_table() -> pl.DataFrame:
    """The bundled FDC table (package data read once: a constant, not an input)."""
    text = resources.files("restless.models.data").joinpath("fdc_foods.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    return pl.DataFrame(
        {
            name: [
                (float(r[name]) if r[name] else None) if dtype == pl.Float64 else r[name]
                for r in rows
            ]
            for name, dtype in TABLE_SCHEMA.items()
        },
        schema=TABLE_SCHEMA,
    )


@cache
def default_matcher() -> FoodMatcher:
    """The matcher over the bundled table."""
    return FoodMatcher(food_table())


def _matches(
    names: Iterable[tuple[str, str | None]], matcher: FoodMatcher
) -> dict[tuple[str, str | None], Match | None]:
    return {key: matcher.match(*key) for key in names}


def lookup_nutrients(
    items: pl.DataFrame,
    *,
    threshold: float = MATCH_THRESHOLD,
    table: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """intake_items with magnesium (and blank iron/calcium/potassium) looked up where the
    export gave none; same rows, same order, other columns untouched (module docstring)."""
    table = food_table() if table is None else table
    matcher = default_matcher() if table is food_table() else FoodMatcher(table)
    frame = items.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in (
            ("category", pl.String),
            ("energy_kcal", pl.Float64),
            ("amount_g", pl.Float64),
            ("lookup_food_id", pl.String),
            ("lookup_confidence", pl.Float64),
            *((n, pl.Float64) for n in NUTRIENTS_PER_100G),
        )
        if name not in items.columns
    )
    candidate = (
        (pl.col("nutrient_origin") == "missing")
        & pl.col("magnesium_mg").is_null()
        & ~pl.col("is_supplement").fill_null(False)
        & pl.col("item_name").str.strip_chars().str.len_chars().gt(0)
        & pl.col("amount_text").is_not_null()
    ).fill_null(False)
    amounts = [parse_amount(t) for t in frame["amount_text"]]
    work = frame.with_row_index("__row").with_columns(
        candidate.alias("__candidate"),
        pl.Series("__grams", [a.grams for a in amounts], dtype=pl.Float64),
        pl.Series("__ml", [a.millilitres for a in amounts], dtype=pl.Float64),
    )
    work = work.with_columns(
        pl.when(pl.col("__candidate"))
        .then(pl.coalesce(pl.col("amount_g"), pl.col("__grams")))
        .otherwise(pl.col("amount_g"))
        .alias("amount_g")
    )
    # A volume is used only where no mass is known, and only through the matched food's
    # density (household_units.liquid_density); the threshold applies to each row below.
    by_volume = pl.col("amount_g").is_null() & pl.col("__ml").is_not_null()
    wanted = (
        work.filter(pl.col("__candidate") & (pl.col("amount_g").is_not_null() | by_volume))
        .select("item_name", "category")
        .unique()
        .iter_rows()
    )
    found = _matches(wanted, matcher)
    best = [
        (name, category, m.fdc_id, m.confidence)
        for (name, category), m in found.items()
        if m is not None
    ]
    densities = [
        (fdc_id, d.g_per_ml, d.relative_error)
        for fdc_id, description, category in table.select(
            "fdc_id", "description", "category"
        ).iter_rows()
        if (d := liquid_density(description, category)) is not None
    ]
    chosen = (
        pl.DataFrame(
            best,
            schema={
                "item_name": pl.String,
                "category": pl.String,
                "__fdc_id": pl.String,
                "__confidence": pl.Float64,
            },
            orient="row",
        )
        .join(
            table.select(
                pl.col("fdc_id").alias("__fdc_id"),
                "energy_kcal_per_100g",
                *NUTRIENTS_PER_100G.values(),
            ),
            on="__fdc_id",
            how="left",
        )
        .join(
            pl.DataFrame(
                densities,
                schema={
                    "__fdc_id": pl.String,
                    "__g_per_ml": pl.Float64,
                    "__density_error": pl.Float64,
                },
                orient="row",
            ),
            on="__fdc_id",
            how="left",
        )
    )
    joined = work.join(chosen, on=["item_name", "category"], how="left", nulls_equal=True)
    volume = by_volume & pl.col("__g_per_ml").is_not_null()
    joined = joined.with_columns(
        pl.when(volume)
        .then(pl.col("__ml") * pl.col("__g_per_ml"))
        .otherwise(pl.col("amount_g"))
        .alias("__mass_g"),
        pl.when(volume)
        .then((pl.col("__confidence") * (1 - pl.col("__density_error"))).round(3))
        .otherwise(pl.col("__confidence"))
        .alias("__confidence"),
    )
    density = pl.col("energy_kcal") * 100 / pl.col("__mass_g")
    ratio = density / pl.col("energy_kcal_per_100g")
    energy_fits = (
        pl.when(
            pl.col("energy_kcal").is_not_null()
            & (pl.col("__mass_g") > 0)
            & (pl.col("energy_kcal_per_100g") > 0)
        )
        .then(ratio.is_between(*ENERGY_RATIO))
        .otherwise(True)
    )
    use = (
        pl.col("__candidate")
        & pl.col("__mass_g").is_not_null()
        & pl.col("__fdc_id").is_not_null()
        & (pl.col("__confidence") >= threshold)
        & pl.col("magnesium_mg_per_100g").is_not_null()
        & energy_fits
    ).fill_null(False)
    filled = joined.with_columns(use.alias("__use")).with_columns(
        *(
            pl.when(pl.col("__use"))
            .then(pl.coalesce(pl.col(col), pl.col(per100) * pl.col("__mass_g") / 100))
            .otherwise(pl.col(col))
            .alias(col)
            for col, per100 in NUTRIENTS_PER_100G.items()
        ),
        pl.when(pl.col("__use") & volume)
        .then(pl.col("__mass_g"))
        .otherwise(pl.col("amount_g"))
        .alias("amount_g"),
        pl.when(pl.col("__use"))
        .then(pl.lit("lookup"))
        .otherwise(pl.col("nutrient_origin"))
        .alias("nutrient_origin"),
        pl.when(pl.col("__use"))
        .then(pl.col("__fdc_id"))
        .otherwise(pl.col("lookup_food_id"))
        .alias("lookup_food_id"),
        pl.when(pl.col("__use"))
        .then(pl.col("__confidence"))
        .otherwise(pl.col("lookup_confidence"))
        .alias("lookup_confidence"),
    )
    return filled.sort("__row").select(frame.columns)
