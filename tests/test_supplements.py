"""Supplement forms: the one vocabulary, fractions pinned to SCIENCE.md section 7, conversion."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import cronometer, supplement_log
from restless.models import supplements as s
from restless.schemas.core import CORE_MODELS, polars_schema, reader_columns
from restless.schemas.supplement_forms import FORM_ALIASES, FORM_KEYS, form_from_text

# (formula, % Mg) exactly as printed in SCIENCE.md section 7.
SCIENCE_PERCENTAGES = [
    ("MgO", 60.3),
    ("Mg(OH)2", 41.7),
    ("MgCO3", 28.8),
    ("MgCO3·3H2O", 17.6),
    ("4MgCO3·Mg(OH)2·4H2O", 26.0),
    ("MgCl2", 25.5),
    ("MgCl2·6H2O", 12.0),
    ("MgSO4", 20.2),
    ("MgSO4·7H2O", 9.9),
    ("Mg3(C6H5O7)2", 16.2),
    ("Mg3(C6H5O7)2·9H2O", 11.9),
    ("MgC6H6O7", 11.3),
    ("Mg(C2H4NO2)2", 14.1),
    ("Mg(C2H4NO2)2·H2O", 12.8),
    ("MgC4H4O5", 15.5),
    ("MgC4H4O5·3H2O", 11.6),
    ("Mg(C3H5O3)2", 12.0),
    ("Mg(C3H5O3)2·2H2O", 10.2),
    ("Mg(C4H6NO4)2", 8.4),
    ("Mg(C4H6NO4)2·2H2O", 7.5),
    ("Mg(C4H6NO4)2·4H2O", 6.7),
    ("Mg(C2H6NO3S)2", 8.9),
    ("Mg(C4H7O5)2", 8.3),
    ("Mg(C5H3N2O4)2", 7.3),
    ("Mg(C5H3N2O4)2·2H2O", 6.6),
    ("Mg(C6H11O7)2", 5.9),
    ("Mg(C6H11O7)2·2H2O", 5.4),
]


@pytest.mark.parametrize(("formula", "percent"), SCIENCE_PERCENTAGES)
def test_fraction_matches_science_table(formula: str, percent: float) -> None:
    assert 100 * s.elemental_fraction(formula) == pytest.approx(percent, abs=0.05 + 1e-9)


def test_molar_masses_by_hand() -> None:
    # Sums written out from the atomic weights of SCIENCE.md section 7.
    assert s.molar_mass("MgO") == pytest.approx(24.305 + 15.999)
    assert s.molar_mass("H2O") == pytest.approx(s.WATER_G_PER_MOL, abs=1e-9)
    assert s.molar_mass("MgCl2·6H2O") == pytest.approx(24.305 + 2 * 35.45 + 6 * 18.015)
    citrate = 3 * 24.305 + 2 * (6 * 12.011 + 5 * 1.008 + 7 * 15.999)
    assert s.molar_mass("Mg3(C6H5O7)2") == pytest.approx(citrate)
    assert s.atom_counts("4MgCO3·Mg(OH)2·4H2O") == {"Mg": 5, "C": 4, "O": 18, "H": 10}


@pytest.mark.parametrize("bad", ["MgXy2", "Mg(OH2", "MgOH)2", "2"])
def test_formula_parser_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        s.molar_mass(bad)


def test_published_label_cross_checks() -> None:
    # Magnesioboi: 48.62 mg Mg from 404.85 mg magnesium lactate; folona: 190 mg per 1350 mg.
    lactate = s.FORMS_BY_KEY["lactate"]
    assert s.elemental_fraction(lactate.assumed) == pytest.approx(48.62 / 404.85, abs=5e-4)
    glycinate = s.FORMS_BY_KEY["glycinate"]
    assert s.elemental_fraction(glycinate.assumed) == pytest.approx(190 / 1350, abs=1e-3)


def test_forms_table_covers_the_fourteen_forms_and_hydrates() -> None:
    table = s.forms_table()
    assert table["form"].to_list() == [
        "oxide", "hydroxide", "carbonate", "chloride", "sulfate", "citrate", "glycinate",
        "malate", "lactate", "aspartate", "taurate", "l-threonate", "orotate", "gluconate",
    ]  # fmt: skip
    assumed = dict(zip(table["form"], table["elemental_fraction"], strict=True))
    assert 100 * assumed["chloride"] == pytest.approx(12.0, abs=0.05)
    assert 100 * assumed["sulfate"] == pytest.approx(9.9, abs=0.05)
    assert 100 * assumed["carbonate"] == pytest.approx(26.0, abs=0.05)
    assert 100 * assumed["oxide"] == pytest.approx(60.3, abs=0.05)
    hydrates = dict(zip(table["form"], table["hydrate_assumed"], strict=True))
    assert "6H2O" in hydrates["chloride"] and "7H2O" in hydrates["sulfate"]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("Magnesium Glycinate 500mg caps", "glycinate"),
        ("Mg bisglycinate chelate", "glycinate"),
        ("Magnesium L-Threonate (Magtein)", "l-threonate"),
        ("Epsom salt", "sulfate"),
        ("magnesium sulphate", "sulfate"),
        ("Magnesium hydroxide", "hydroxide"),
        ("Milk of Magnesia", "hydroxide"),
        ("milk_of   magnesia", "hydroxide"),
        ("Natural Calm magnesium citrate", "citrate"),
        ("MAGNESIUM OXIDE 400", "oxide"),
        ("Magnesium citrate + oxide blend", None),
        ("Magnezijum", None),
        ("Titanium dioxide", None),
        ("", None),
        (None, None),
    ],
)
def test_form_from_text(text: str | None, form: str | None) -> None:
    assert form_from_text(text) == form


def test_every_alias_names_its_form_and_no_other() -> None:
    aliases = [alias for names in FORM_ALIASES.values() for alias in names]
    assert len(aliases) == len(set(aliases))
    for key, names in FORM_ALIASES.items():
        assert key in names
        for alias in names:
            assert form_from_text(f"Magnesium {alias.upper()} 200 mg") == key


def test_every_form_key_has_its_chemistry() -> None:
    # The vocabulary (contract) and the chemistry (models) list the same forms, in order.
    assert tuple(f.key for f in s.FORMS) == FORM_KEYS
    assert s.forms_table()["form"].to_list() == list(FORM_KEYS)


def test_readers_and_models_use_the_one_vocabulary() -> None:
    assert supplement_log.form_from_text is form_from_text
    assert cronometer.form_from_text is form_from_text
    assert s.form_from_text is form_from_text


def _doses(rows: list[dict]) -> pl.DataFrame:
    schema = polars_schema("supplement_doses")
    base = {c: None for c in reader_columns("supplement_doses")}
    full = [{**base, "local_date": date(2026, 3, 1), **row} for row in rows]
    return pl.DataFrame(full, schema={c: schema[c] for c in base}, orient="row")


def test_fill_elemental_hand_example_and_rules() -> None:
    frame = _doses(
        [
            {"row_number": 1, "product": "Mg glycinate", "form": "glycinate", "amount_mg": 1000.0,
             "amount_basis": "compound"},
            {"row_number": 2, "product": "Magnesium chloride flakes", "form": None,
             "amount_mg": 500.0, "amount_basis": "compound"},
            {"row_number": 3, "product": "Mg (as citrate)", "form": None, "amount_mg": 150.0,
             "amount_basis": "elemental"},
            {"row_number": 4, "product": "Mystery", "form": "xyz", "amount_mg": 100.0,
             "amount_basis": "compound"},
            {"row_number": 5, "product": "Own lab value", "form": "oxide", "amount_mg": 100.0,
             "amount_basis": "compound", "elemental_fraction": 0.5,
             "magnesium_elemental_mg": 50.0},
        ]
    )  # fmt: skip
    filled = s.fill_elemental(frame)
    assert filled.columns == frame.columns and filled.schema == frame.schema
    by_row = {r["row_number"]: r for r in filled.iter_rows(named=True)}
    # 1000 mg x 24.305 / (24.305 + 2 x (2 x 12.011 + 4 x 1.008 + 14.007 + 2 x 15.999)) = 141 mg
    glycinate_mass = 24.305 + 2 * (2 * 12.011 + 4 * 1.008 + 14.007 + 2 * 15.999)
    assert by_row[1]["magnesium_elemental_mg"] == pytest.approx(1000 * 24.305 / glycinate_mass)
    assert round(by_row[1]["magnesium_elemental_mg"]) == 141
    assert by_row[1]["hydrate_assumed"] == "Mg(C2H4NO2)2 (anhydrous)"
    # Chloride: form taken from the product, hexahydrate assumed: 500 x 24.305 / 203.295.
    assert by_row[2]["form"] == "chloride"
    assert by_row[2]["magnesium_elemental_mg"] == pytest.approx(500 * 24.305 / 203.295)
    assert by_row[3]["elemental_fraction"] == 1.0
    assert by_row[3]["magnesium_elemental_mg"] == 150.0
    assert by_row[3]["hydrate_assumed"] is None
    assert by_row[4]["elemental_fraction"] is None and by_row[4]["magnesium_elemental_mg"] is None
    assert by_row[5]["magnesium_elemental_mg"] == 50.0  # a value already given is kept
    assert s.convertible(filled)["row_number"].to_list() == [1, 2, 3, 5]
    bad = s.unconvertible(filled)
    assert bad["row_number"].to_list() == [4]
    assert bad["reason"].to_list() == [
        "unknown form 'xyz': cannot convert compound mass to elemental magnesium"
    ]
    assert bad.select("column", "check", "value").row(0) == ("form", s.UNKNOWN_FORM_CHECK, "xyz")


def test_fill_elemental_is_idempotent_and_keeps_lineage() -> None:
    frame = _doses(
        [{"row_number": 1, "product": "Mag citrate", "form": "Citrate", "amount_mg": 200.0,
          "amount_basis": "compound"}]
    ).with_columns(participant_id=pl.lit("p1"), source=pl.lit("supplement_log"),
                   file_id=pl.lit("f1"))  # fmt: skip
    once = s.fill_elemental(frame)
    assert_frame_equal(s.fill_elemental(once), once)
    assert once["participant_id"].to_list() == ["p1"]
    CORE_MODELS["supplement_doses"].validate(once, lazy=True)
    citrate_mass = 3 * 24.305 + 2 * (6 * 12.011 + 5 * 1.008 + 7 * 15.999)
    assert once["magnesium_elemental_mg"][0] == pytest.approx(200 * 3 * 24.305 / citrate_mass)
