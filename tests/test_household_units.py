"""Amount parsing and the liquid densities: unit definitions pinned, numbers worked by hand."""

from __future__ import annotations

import polars as pl
import pytest

from restless.models.food_lookup import food_table
from restless.models.household_units import (
    AQUEOUS_DENSITY,
    MILK_DENSITY,
    Amount,
    amount_grams,
    amount_millilitres,
    liquid_density,
    parse_amount,
)

OZ = 28.349523125  # 453.59237 g / 16
FL_OZ = 29.5735295625  # 231 in³ x 16.387064 ml / 128


def test_unit_definitions_are_exact() -> None:
    # US gallon = 231 cubic inches of (2.54 cm)³; fl oz = gallon / 128; cup = 8 fl oz;
    # tbsp = fl oz / 2; tsp = tbsp / 3; oz = lb / 16.
    cubic_inch, fl_oz = 2.54**3, 231 * 16.387064 / 128
    assert cubic_inch == pytest.approx(16.387064, abs=1e-12)
    assert fl_oz == pytest.approx(FL_OZ, abs=1e-12)
    assert amount_millilitres("1 cubic inch") == pytest.approx(16.387064, abs=1e-12)
    assert amount_millilitres("1 fl oz") == pytest.approx(FL_OZ, abs=1e-12)
    assert amount_millilitres("1 cup") == pytest.approx(236.5882365, abs=1e-9)
    assert amount_millilitres("1 tbsp") == pytest.approx(14.78676478125, abs=1e-12)
    assert amount_millilitres("1 tsp") == pytest.approx(4.92892159375, abs=1e-12)
    assert amount_grams("1 lb") == 453.59237
    assert amount_grams("16 oz") == pytest.approx(453.59237, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "grams"),
    [
        ("7.00 g", 7.0),
        ("283.00 g", 283.0),
        ("1,000.00 g", 1000.0),
        ("0.5 kg", 500.0),
        ("250 mg", 0.25),
        ("1.00 oz", OZ),
        ("3 ounces", 3 * OZ),
        ("2 lbs", 2 * 453.59237),
        ("4.00 x 4.0 oz", 453.59237),  # 4 servings of 4 oz = 1 lb, by hand
        ("2.00 x 20.0 g", 40.0),
        ("1.00 container - each 6 oz", 6 * OZ),
        ("0.65 can - each 5 oz net weight", 0.65 * 5 * OZ),
    ],
)
def test_mass_units(text: str, grams: float) -> None:
    amount = parse_amount(text)
    assert (amount.grams, amount.millilitres, amount.reason) == (
        pytest.approx(grams),
        None,
        "mass",
    )


@pytest.mark.parametrize(
    ("text", "millilitres"),
    [
        ("2.00 x 2.0 tbsp", 4 * 14.78676478125),  # 59.147059125 ml
        ("1.00 x 0.25 Cup", 59.147059125),  # a quarter cup is the same 4 tbsp
        ("1.00 cup", 236.5882365),
        ("3.00 tbsp", 44.36029434375),
        ("2 tsp.", 9.8578431875),
        ("1.00 Cubic Inch", 16.387064),
        ("2 cubic inches", 32.774128),
        ("1.06 x 8.0 Fluid ounce", 1.06 * 8 * FL_OZ),  # 250.78352...
        ("12 fl. oz", 12 * FL_OZ),
        ("1.00 can - each 12 fl oz", 12 * FL_OZ),
        ("330 ml", 330.0),
        ("1.5 l", 1500.0),
        ("2 dl", 200.0),
    ],
)
def test_volume_units(text: str, millilitres: float) -> None:
    amount = parse_amount(text)
    assert (amount.grams, amount.millilitres, amount.reason) == (
        None,
        pytest.approx(millilitres),
        "volume",
    )


@pytest.mark.parametrize(
    "text",
    [
        "1.00 bar",
        "1.00 pouch",
        "2.00 slice",
        "1.00 full recipe",
        "1.50 serving",
        "2.00 x 20.0 pieces",
        "4.00 container",
        "1.00 link",
        "2.00 burger",
        "1.00 Pill",
        "1.00 softgel",
        "2.50 x 3.0 cooked links",
        "0.80 Each",
        "1.50 Fillet (large)",
    ],
)
def test_count_units_never_convert(text: str) -> None:
    assert parse_amount(text) == Amount(None, None, "count unit")


@pytest.mark.parametrize("text", ["1.00 shake (11 fl oz)", "4.00 medium-ish", "about 2", ""])
def test_anything_else_stays_unconverted(text: str) -> None:
    amount = parse_amount(text)
    assert (amount.grams, amount.millilitres) == (None, None)
    assert amount.reason in {"unrecognised unit", "blank", "count unit"}


def test_liquid_rule_on_the_bundled_table() -> None:
    """Every FDC food the rule calls a liquid, listed and checked by hand."""
    table = food_table()
    liquids = {
        fdc_id: liquid_density(description, category)
        for fdc_id, description, category in table.select(
            "fdc_id", "description", "category"
        ).iter_rows()
        if liquid_density(description, category) is not None
    }
    milk = {"746772", "746776", "746778", "746782"}  # cow's milk 1%, skim, 2 %, whole
    plant_milks = {"1999630", "1999631", "2257044", "2257045", "2257046"}  # soy, almond, oat
    juices = {"325287", "2003590", "2003591", "2003592", "2003593", "2003594", "2003595"}
    juices |= {"2003596", "2003597", "2727587", "2727588", "2727589"}  # incl. tomato juice
    others = {"2259792", "2259793", "2647437"}  # buttermilk; plain yogurt whole, nonfat
    assert {k for k, v in liquids.items() if v == MILK_DENSITY} == milk
    assert {k for k, v in liquids.items() if v == AQUEOUS_DENSITY} == plant_milks | juices | others
    # Not liquids: Greek (strained) yogurt, cheese, cream, sauces, applesauce, oils.
    for fdc_id in ("330137", "2259794", "2647440", "746766", "2346386", "332282", "2346414"):
        row = table.filter(pl.col("fdc_id") == fdc_id).row(0, named=True)
        assert liquid_density(row["description"], row["category"]) is None, row


def test_density_constants() -> None:
    assert (MILK_DENSITY.g_per_ml, MILK_DENSITY.relative_error) == (1.03, 0.01)
    assert (AQUEOUS_DENSITY.g_per_ml, AQUEOUS_DENSITY.relative_error) == (1.0, 0.05)
    assert liquid_density("Milk, dry, nonfat", "Dairy and Egg Products") is None
    assert liquid_density("Milk, canned, condensed, sweetened", "Dairy and Egg Products") is None
    assert liquid_density("Broth, chicken, ready-to-serve", "Soups, Sauces, and Gravies") == (
        AQUEOUS_DENSITY
    )
