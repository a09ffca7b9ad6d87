"""Logged amounts as grams or millilitres, and the few liquids whose millilitres become grams.

Why: the magnesium look-up (:mod:`restless.models.food_lookup`) needs the mass of a
serving, and food logs write amounts as ``283.00 g``, ``4.00 x 4.0 oz``, ``1.00 cup`` or
``1.00 bar``. Only unit *definitions* are used here, never a portion weight: a mass unit
converts exactly, a volume unit converts exactly to millilitres, and a count unit (bar,
slice, serving, ...) never converts, because its mass depends on the product and the
bundled FoodData Central Foundation table carries no portion weights.

Amount forms (case and spacing ignored, thousands separators allowed):

- ``<n> <unit>``: ``600.00 g``, ``1.00 Cubic Inch``;
- ``<n> x <m> <unit>``: ``4.00 x 4.0 oz`` is 4 servings of 4 oz (Cronometer);
- ``<n> <portion> - each <m> <unit>``: ``1.00 container - each 6 oz`` (optionally
  followed by ``net weight``).

Unit definitions (all exact by definition):

- mass: the international avoirdupois pound is 0.453 592 37 kg and the ounce 1/16 lb =
  28.349 523 125 g (international yard and pound agreement, 1959; NIST Handbook 44,
  Appendix C, and NIST SP 811, Appendix B);
- volume, US customary (NIST Handbook 44, Appendix C): the inch is 2.54 cm, so the cubic
  inch is 16.387 064 ml; the US gallon is 231 cubic inches = 3 785.411 784 ml; the US
  fluid ounce is 1/128 gallon = 29.573 529 562 5 ml; cup = 8 fl oz = 236.588 236 5 ml;
  tablespoon = 1/2 fl oz = 14.786 764 781 25 ml; teaspoon = 1/3 tbsp = 4.928 921 593 75 ml;
  pint = 16 fl oz, quart = 32 fl oz; metric ml, cl, dl and l.
  Cups are taken as US customary cups. US nutrition labels use a rounded 240 ml cup
  (21 CFR 101.9(b)(5)(viii)), 1.4 % larger, and an imperial fluid ounce (28.413 ml) is
  3.9 % smaller than the US one. Both differences are within the density error below.

From millilitres to grams (:func:`liquid_density`): only when the matched FDC food is an
aqueous liquid, chosen by the explicit rules in :data:`LIQUID_CATEGORIES`,
:data:`LIQUID_HEAD_WORDS`, the plain (not Greek) yogurt rule and
:data:`NOT_LIQUID_WORDS`:

- cow's milk (FDC head ``Milk``): **1.03 g/ml**. H. D. Goff, *Dairy Chemistry and
  Physics* (University of Guelph, Dairy Science and Technology Education series):
  1.027 to 1.033 g/ml at 20 °C, homogenised whole milk 1.029 and skim milk 1.033 at
  20 °C and 1.033 to 1.036 at 4.4 °C. Relative error of 1.03 under 1 %.
- every other aqueous liquid (plant milks, juices, broths, other beverages, buttermilk,
  plain yogurt): **1.00 g/ml, an assumption** (water is 0.998 g/ml at 20 °C). Dissolved
  sugar and milk solids make these denser than water, so 1.00 may underestimate the mass
  by a few percent (about 5 % is taken as the bound).

Every other food with a volume unit (cheese by the cubic inch, guacamole by the
tablespoon, bread crumbs by the cup) stays without grams: its density depends on the
food, its packing and its air, and no figure in the repository defends one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GRAMS_PER_UNIT = {
    "mg": 0.001,
    "milligram": 0.001,
    "g": 1.0,
    "gr": 1.0,
    "gram": 1.0,
    "kg": 1000.0,
    "kilogram": 1000.0,
    "oz": 28.349523125,  # international avoirdupois ounce, 1/16 lb
    "ounce": 28.349523125,
    "lb": 453.59237,  # international avoirdupois pound
    "lbs": 453.59237,
    "pound": 453.59237,
}
"""Mass units an amount may use, in grams (exact)."""

FLUID_OUNCE_ML = 29.5735295625
"""US fluid ounce: 1/128 of the US gallon of 231 in³ (2.54 cm inch), in millilitres."""

MILLILITRES_PER_UNIT = {
    "ml": 1.0,
    "millilitre": 1.0,
    "milliliter": 1.0,
    "cl": 10.0,
    "dl": 100.0,
    "l": 1000.0,
    "litre": 1000.0,
    "liter": 1000.0,
    "fl oz": FLUID_OUNCE_ML,
    "floz": FLUID_OUNCE_ML,
    "fluid ounce": FLUID_OUNCE_ML,
    "cup": 8 * FLUID_OUNCE_ML,  # 236.5882365
    "tbsp": FLUID_OUNCE_ML / 2,  # 14.78676478125
    "tbs": FLUID_OUNCE_ML / 2,
    "tablespoon": FLUID_OUNCE_ML / 2,
    "tsp": FLUID_OUNCE_ML / 6,  # 4.92892159375
    "teaspoon": FLUID_OUNCE_ML / 6,
    "pint": 16 * FLUID_OUNCE_ML,
    "pt": 16 * FLUID_OUNCE_ML,
    "quart": 32 * FLUID_OUNCE_ML,
    "qt": 32 * FLUID_OUNCE_ML,
    "gallon": 128 * FLUID_OUNCE_ML,
    "gal": 128 * FLUID_OUNCE_ML,
    "cubic inch": 16.387064,  # (2.54 cm)³
    "cu in": 16.387064,
    "in3": 16.387064,
}
"""Volume units an amount may use, in millilitres (exact, US customary)."""

COUNT_WORDS = frozenset(
    {"bar", "pouch", "slice", "piece", "serving", "container", "link", "burger", "recipe"}
    | {"pill", "softgel", "capsule", "tablet", "each", "stick", "cracker", "can", "bottle"}
    | {"packet", "package", "scoop", "egg", "fillet", "bun", "patty", "cookie", "medium"}
    | {"large", "small", "whole", "portion", "item", "unit"}
)
"""Words of count units (``1.00 bar``, ``1.00 full recipe``, ``2.00 x 20.0 pieces``): never
converted, whatever the food. Listed to give the reason; any unit that is neither a mass
nor a volume stays unconverted anyway."""


@dataclass(frozen=True)
class Amount:
    """A parsed amount: grams (mass units), millilitres (volume units), or neither.

    ``reason`` says which: 'mass', 'volume', 'count unit', 'unrecognised unit' or 'blank'.
    """

    grams: float | None
    millilitres: float | None
    reason: str


_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_TIMES = re.compile(rf"^{_NUMBER}\s*x\s*{_NUMBER}\s*(.+)$")
_EACH = re.compile(rf"^{_NUMBER}\s+.*?-\s*each\s+{_NUMBER}\s*(.+?)(?:\s+net\s+weight)?$")
_PLAIN = re.compile(rf"^{_NUMBER}\s*(.+)$")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _unit_key(unit: str, table: dict[str, float]) -> str | None:
    """The key of ``table`` a unit text names, plurals and dots folded (``Fluid ounces``,
    ``cubic inches``, ``fl. oz``, ``tbsp.``)."""
    words = re.sub(r"\s+", " ", unit.replace(".", " ")).strip()
    for key in (words, words.removesuffix("s"), words.removesuffix("es")):
        if key in table:
            return key
    return None


def _quantity(count: float, unit: str) -> Amount:
    if key := _unit_key(unit, GRAMS_PER_UNIT):
        return Amount(count * GRAMS_PER_UNIT[key], None, "mass")
    if key := _unit_key(unit, MILLILITRES_PER_UNIT):
        return Amount(None, count * MILLILITRES_PER_UNIT[key], "volume")
    words = {w.removesuffix("s") for w in re.findall(r"[a-z]+", unit)}
    if words & COUNT_WORDS:
        return Amount(None, None, "count unit")
    return Amount(None, None, "unrecognised unit")


def parse_amount(text: str | None) -> Amount:
    """Grams or millilitres in an amount text (module docstring); neither, with the reason,
    for count units and anything else."""
    if text is None or not text.strip():
        return Amount(None, None, "blank")
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    if (m := _TIMES.match(cleaned)) or (m := _EACH.match(cleaned)):
        amount = _quantity(_number(m.group(2)), m.group(3))
        factor = _number(m.group(1))
    elif m := _PLAIN.match(cleaned):
        amount = _quantity(_number(m.group(1)), m.group(2))
        factor = 1.0
    else:
        return Amount(None, None, "unrecognised unit")
    return Amount(
        None if amount.grams is None else factor * amount.grams,
        None if amount.millilitres is None else factor * amount.millilitres,
        amount.reason,
    )


def amount_grams(text: str | None) -> float | None:
    """Grams in an amount with a mass unit (``600.00 g``, ``4.00 x 4.0 oz``, ``1.00
    container - each 6 oz``); None for volumes, count units and anything else."""
    return parse_amount(text).grams


def amount_millilitres(text: str | None) -> float | None:
    """Millilitres in an amount with a volume unit (``2.00 x 2.0 tbsp``, ``1.00 Cubic
    Inch``); None for masses, count units and anything else."""
    return parse_amount(text).millilitres


@dataclass(frozen=True)
class Density:
    """Grams per millilitre of a liquid, the likely relative error and where it comes from."""

    g_per_ml: float
    relative_error: float
    basis: str


MILK_DENSITY = Density(1.03, 0.01, "Goff, Dairy Chemistry and Physics: 1.027-1.033 at 20 C")
"""Cow's milk (module docstring)."""

AQUEOUS_DENSITY = Density(1.00, 0.05, "assumption: aqueous liquid taken as water")
"""Any other aqueous liquid: an assumption, mass likely a few percent low."""

LIQUID_CATEGORIES = frozenset({"Beverages"})
"""FDC categories whose foods are drinks (Foundation: almond and oat milks)."""

LIQUID_HEAD_WORDS = frozenset(
    {"milk", "buttermilk", "juice", "broth", "stock", "bouillon", "kefir", "water"}
    | {"beverage", "drink", "tea", "coffee", "kombucha", "soda", "soymilk", "lemonade"}
)
"""A word of the FDC description's first comma-segment (its head: ``Orange juice``,
``Juice, prune``, ``Soy milk``, ``Milk, whole``) that makes the food a liquid. The head
only: ``Cheese, ricotta, whole milk`` is a cheese."""

NOT_LIQUID_WORDS = frozenset(
    {"dried", "dry", "powder", "powdered", "condensed", "evaporated", "frozen", "undiluted"}
    | {"greek", "strained", "solid", "solids", "concentrated", "paste", "flake", "flakes"}
)
"""Words anywhere in the description that rule a liquid out (dried milk, condensed milk,
frozen concentrate, strained yogurt). ``from concentrate`` juice is ready to drink and stays
a liquid."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def liquid_density(description: str, category: str | None) -> Density | None:
    """The density that turns millilitres of this FDC food into grams, or None when the food
    is not an aqueous liquid (module docstring)."""
    head = set(_words(description.split(",")[0]))
    words = set(_words(description))
    if words & NOT_LIQUID_WORDS:
        return None
    if head == {"milk"} and category == "Dairy and Egg Products":
        return MILK_DENSITY
    plain_yogurt = head == {"yogurt"} and "plain" in words
    if (category in LIQUID_CATEGORIES) or (head & LIQUID_HEAD_WORDS) or plain_yogurt:
        return AQUEOUS_DENSITY
    return None
