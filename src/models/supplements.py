"""Elemental magnesium from a supplement's compound (salt) mass, by form.

Labels and logs often give the mass of the salt ("500 mg magnesium glycinate"), while
intake and the 350 mg supplemental upper limit are in elemental magnesium (SCIENCE.md
sections 6-7). The fraction is ``n_Mg x 24.305 / molar mass``, computed here from each
form's formula and the atomic weights of SCIENCE.md section 7 (IUPAC/CIAAW conventional
values), never typed in as a percentage.

Hydration-dependent salts are converted with the hydrate that is the usual supplement
raw material, and that formula is stored with every dose (``hydrate_assumed``) because a
wrong guess moves the result by a factor of about 1.3-2.5 (SCIENCE.md section 7):

* chloride -> MgCl2·6H2O: the hexahydrate is what supplements and flakes contain;
* sulfate -> MgSO4·7H2O: Epsom salt, the pharmacopoeial oral/bath form;
* carbonate -> 4MgCO3·Mg(OH)2·4H2O: pharmacopoeial "magnesium carbonate" (light/heavy)
  is this basic carbonate, not MgCO3;
* aspartate -> dihydrate and orotate -> dihydrate, gluconate -> dihydrate: the forms of
  the pharmacopoeial monographs and of the medicines sold;
* citrate, glycinate, malate, lactate -> anhydrous: supplement labels quote these salts
  anhydrous (trimagnesium dicitrate 16 %, bisglycinate 14 %; the Magnesioboi lactate
  label is 12.0 %, the anhydrous figure);
* oxide, hydroxide, taurate, L-threonate: no usual hydrate.

The form keys and the words naming them belong to the contract
(``restless.schemas.supplement_forms``); this module holds only their chemistry.
Everything here is pure polars / Python: frames in, frames out, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import polars as pl

from restless.schemas.supplement_forms import form_from_text

ATOMIC_WEIGHTS: dict[str, float] = {
    "Mg": 24.305,
    "O": 15.999,
    "H": 1.008,
    "C": 12.011,
    "N": 14.007,
    "Cl": 35.45,
    "S": 32.06,
}
"""g/mol, SCIENCE.md section 7 (Mg: CIAAW conventional value, https://ciaaw.org/magnesium.htm)."""

WATER_G_PER_MOL = 18.015
"""Water of hydration, SCIENCE.md section 7 (equals 2 x 1.008 + 15.999)."""

UNKNOWN_FORM_CHECK = "elemental_conversion"


@dataclass(frozen=True)
class SaltForm:
    """One form's chemistry: the anhydrous formula and the formula assumed when converting.

    ``key`` is a form key of ``restless.schemas.supplement_forms``, which also holds the
    words that name the form in free text.
    """

    key: str
    anhydrous: str
    assumed: str
    assumed_label: str


FORMS: tuple[SaltForm, ...] = (
    SaltForm("oxide", "MgO", "MgO", "MgO (no hydrate)"),
    SaltForm("hydroxide", "Mg(OH)2", "Mg(OH)2", "Mg(OH)2 (no hydrate)"),
    SaltForm("carbonate", "MgCO3", "4MgCO3·Mg(OH)2·4H2O", "4MgCO3·Mg(OH)2·4H2O (basic carbonate)"),
    SaltForm("chloride", "MgCl2", "MgCl2·6H2O", "MgCl2·6H2O (hexahydrate)"),
    SaltForm("sulfate", "MgSO4", "MgSO4·7H2O", "MgSO4·7H2O (heptahydrate)"),
    SaltForm("citrate", "Mg3(C6H5O7)2", "Mg3(C6H5O7)2", "Mg3(C6H5O7)2 (anhydrous)"),
    SaltForm("glycinate", "Mg(C2H4NO2)2", "Mg(C2H4NO2)2", "Mg(C2H4NO2)2 (anhydrous)"),
    SaltForm("malate", "MgC4H4O5", "MgC4H4O5", "MgC4H4O5 (anhydrous)"),
    SaltForm("lactate", "Mg(C3H5O3)2", "Mg(C3H5O3)2", "Mg(C3H5O3)2 (anhydrous)"),
    SaltForm("aspartate", "Mg(C4H6NO4)2", "Mg(C4H6NO4)2·2H2O", "Mg(C4H6NO4)2·2H2O (dihydrate)"),
    SaltForm("taurate", "Mg(C2H6NO3S)2", "Mg(C2H6NO3S)2", "Mg(C2H6NO3S)2 (no hydrate)"),
    SaltForm("l-threonate", "Mg(C4H7O5)2", "Mg(C4H7O5)2", "Mg(C4H7O5)2 (no hydrate)"),
    SaltForm("orotate", "Mg(C5H3N2O4)2", "Mg(C5H3N2O4)2·2H2O", "Mg(C5H3N2O4)2·2H2O (dihydrate)"),
    SaltForm("gluconate", "Mg(C6H11O7)2", "Mg(C6H11O7)2·2H2O", "Mg(C6H11O7)2·2H2O (dihydrate)"),
)

FORMS_BY_KEY: dict[str, SaltForm] = {form.key: form for form in FORMS}

_TOKEN = re.compile(r"([A-Z][a-z]?|\(|\)|\d+)")


def _count_atoms(part: str) -> dict[str, int]:
    """Atom counts of one formula part without '·' (``Mg(OH)2`` -> Mg 1, O 2, H 2)."""
    tokens = _TOKEN.findall(part)
    if "".join(tokens) != part:
        raise ValueError(f"cannot parse formula part {part!r}")
    stack: list[dict[str, int]] = [{}]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "(":
            stack.append({})
            i += 1
            continue
        has_count = i + 1 < len(tokens) and tokens[i + 1].isdigit()
        n = int(tokens[i + 1]) if has_count else 1
        if token == ")":
            if len(stack) == 1:
                raise ValueError(f"unbalanced parentheses in {part!r}")
            for element, count in stack.pop().items():
                stack[-1][element] = stack[-1].get(element, 0) + count * n
        elif token.isdigit() or token not in ATOMIC_WEIGHTS:
            raise ValueError(f"unexpected {token!r} in formula part {part!r}")
        else:
            stack[-1][token] = stack[-1].get(token, 0) + n
        i += 2 if has_count else 1
    if len(stack) != 1:
        raise ValueError(f"unbalanced parentheses in {part!r}")
    return stack[0]


def atom_counts(formula: str) -> dict[str, int]:
    """Atoms in a formula with hydrates/adducts joined by '·' and leading coefficients."""
    total: dict[str, int] = {}
    for raw in formula.split("·"):
        match = re.fullmatch(r"(\d*)(.+)", raw.strip())
        if match is None:
            raise ValueError(f"empty part in formula {formula!r}")
        coefficient = int(match.group(1) or 1)
        for element, n in _count_atoms(match.group(2)).items():
            total[element] = total.get(element, 0) + coefficient * n
    return total


def molar_mass(formula: str) -> float:
    """g/mol from the atomic weights above."""
    return sum(ATOMIC_WEIGHTS[element] * n for element, n in atom_counts(formula).items())


def elemental_fraction(formula: str) -> float:
    """Mass fraction of magnesium in a formula: n_Mg x 24.305 / molar mass."""
    counts = atom_counts(formula)
    return counts.get("Mg", 0) * ATOMIC_WEIGHTS["Mg"] / molar_mass(formula)


@cache
def forms_table() -> pl.DataFrame:
    """One row per form: fractions anhydrous and as assumed, with the formula assumed."""
    return pl.DataFrame(
        {
            "form": [f.key for f in FORMS],
            "formula_anhydrous": [f.anhydrous for f in FORMS],
            "fraction_anhydrous": [elemental_fraction(f.anhydrous) for f in FORMS],
            "hydrate_assumed": [f.assumed_label for f in FORMS],
            "elemental_fraction": [elemental_fraction(f.assumed) for f in FORMS],
        }
    )


def _normalised(frame: pl.DataFrame) -> pl.Series:
    """Form key per row: from ``form`` when it names one, else from ``product``."""
    form_text = frame["form"].to_list() if "form" in frame.columns else [None] * frame.height
    products = frame["product"].to_list() if "product" in frame.columns else [None] * frame.height
    keys = [
        form_from_text(form) if form is not None else form_from_text(product)
        for form, product in zip(form_text, products, strict=True)
    ]
    return pl.Series("form_key", keys, dtype=pl.String)


def fill_elemental(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill elemental fraction, hydrate and elemental mg of supplement_doses rows.

    * ``elemental`` rows: fraction 1.0, elemental mg = amount, no hydrate;
    * ``compound`` rows of a known form: the form's fraction (as assumed above) and formula;
    * ``compound`` rows of an unknown form stay null: see :func:`unconvertible`.

    Values a reader already filled are kept; a recognised ``form`` is replaced by its key.
    Columns, dtypes and row order are unchanged.
    """
    table = forms_table()
    fractions = dict(zip(table["form"], table["elemental_fraction"], strict=True))
    hydrates = dict(zip(table["form"], table["hydrate_assumed"], strict=True))
    key = _normalised(frame)
    is_elemental = pl.col("amount_basis") == "elemental"
    is_compound = pl.col("amount_basis") == "compound"
    known_fraction = pl.col("form_key").replace_strict(
        fractions, default=None, return_dtype=pl.Float64
    )
    known_hydrate = pl.col("form_key").replace_strict(
        hydrates, default=None, return_dtype=pl.String
    )
    filled = (
        frame.with_columns(key)
        .with_columns(
            pl.coalesce(pl.col("form_key"), pl.col("form")).alias("form"),
            pl.coalesce(
                pl.col("elemental_fraction"),
                pl.when(is_elemental).then(pl.lit(1.0)).when(is_compound).then(known_fraction),
            ).alias("elemental_fraction"),
            pl.coalesce(pl.col("hydrate_assumed"), pl.when(is_compound).then(known_hydrate)).alias(
                "hydrate_assumed"
            ),
        )
        .with_columns(
            pl.coalesce(
                pl.col("magnesium_elemental_mg"),
                pl.col("amount_mg") * pl.col("elemental_fraction"),
            ).alias("magnesium_elemental_mg")
        )
    )
    return filled.select(frame.columns).cast(dict(frame.schema))


def convertible(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of a :func:`fill_elemental` result that have elemental magnesium."""
    return frame.filter(pl.col("magnesium_elemental_mg").is_not_null())


def unconvertible(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of a :func:`fill_elemental` result that cannot be counted, with the reason.

    Adds ``column`` ('form'), ``check`` (:data:`UNKNOWN_FORM_CHECK`), ``value`` (the form
    text, else the product) and ``reason``, e.g. "unknown form 'xyz': cannot convert
    compound mass to elemental magnesium", ready for ``ops.quarantine``.
    """
    value = pl.coalesce(pl.col("form"), pl.col("product"), pl.lit(""))
    return frame.filter(pl.col("magnesium_elemental_mg").is_null()).with_columns(
        pl.lit("form").alias("column"),
        pl.lit(UNKNOWN_FORM_CHECK).alias("check"),
        value.alias("value"),
        pl.format(
            "unknown form '{}': cannot convert compound mass to elemental magnesium", value
        ).alias("reason"),
    )
