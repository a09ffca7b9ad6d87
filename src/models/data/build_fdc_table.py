"""Build ``fdc_foods.csv``, the bundled food-composition table, from a FoodData Central file.

Why a build script: the bundled table must be reproducible from its public-domain source
(PROVENANCE.md), so nobody has to trust hand edits. The source is the USDA FoodData Central
*Foundation Foods* data pivoted wide, one row per food, nutrient columns named
``"<FDC nutrient name> (<unit>)"`` with amounts per 100 g of edible portion (the
``aplehn/Nutrition-Optimizer`` ``sorted_food_data.csv``).

That file's text went through a UTF-8 -> Latin-1 -> UTF-8 round trip (``Âµg`` for ``µg``,
``Â\\xa0`` for a no-break space): every text cell is repaired by reversing it, then
whitespace (no-break spaces included) is collapsed.

Run (from the repository root; ``$FDC`` = ``../shared/data/real/foodlogs/fooddata_central``)::

    python -m restless.models.data.build_fdc_table \\
        --source $FDC/aplehn__Nutrition-Optimizer/sorted_food_data.csv

This is a development tool (file I/O, standard library only); the models layer only reads
its output.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

OUTPUT = Path(__file__).with_name("fdc_foods.csv")

NUTRIENTS: dict[str, tuple[str, ...]] = {
    "magnesium_mg_per_100g": ("Magnesium, Mg (mg)",),  # FDC nutrient 1090
    "iron_mg_per_100g": ("Iron, Fe (mg)",),  # 1089
    "calcium_mg_per_100g": ("Calcium, Ca (mg)",),  # 1087
    "potassium_mg_per_100g": ("Potassium, K (mg)",),  # 1092
    # FDC Foundation Foods give energy under one of three names; the first present wins
    # (1008 "Energy", then the Atwater specific 2048 and general 2047 factors).
    "energy_kcal_per_100g": (
        "Energy (kcal)",
        "Energy (Atwater Specific Factors) (kcal)",
        "Energy (Atwater General Factors) (kcal)",
    ),
}
"""Output column -> source column names (per 100 g), in order of preference."""

COLUMNS = ("fdc_id", "description", "category", *NUTRIENTS)


def repair_text(text: str) -> str:
    """Undo UTF-8 read as Latin-1 (``Âµ`` -> ``µ``); collapse whitespace incl. no-break spaces."""
    if "Â" in text or "Ã" in text:
        # not mojibake after all (a real "Â"): keep the text as it is
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("latin-1").decode("utf-8")
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _number(text: str, where: str) -> str:
    """A non-negative finite amount as written in the source ('' when blank)."""
    text = text.strip()
    if not text:
        return ""
    value = float(text)  # ValueError names the cell below
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {text!r} is not a non-negative amount")
    return text


def build_rows(source_rows: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """Compact rows (COLUMNS) from the wide source rows (header first), sorted by fdc_id."""
    header = [repair_text(cell) for cell in source_rows[0]]
    index = {name: i for i, name in enumerate(header)}
    for needed in ("description", "fdcId", "category", "Magnesium, Mg (mg)"):
        if needed not in index:
            raise ValueError(f"source has no {needed!r} column (after header repair)")
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, row in enumerate(source_rows[1:], start=2):
        fdc_id = row[index["fdcId"]].strip()
        if not fdc_id.isdigit():
            raise ValueError(f"line {number}: fdcId {fdc_id!r} is not a number")
        if fdc_id in seen:
            raise ValueError(f"line {number}: fdcId {fdc_id} repeated")
        seen.add(fdc_id)
        record = {
            "fdc_id": fdc_id,
            "description": repair_text(row[index["description"]]),
            "category": repair_text(row[index["category"]]),
        }
        for column, names in NUTRIENTS.items():
            cells = [row[index[n]] for n in names if n in index and row[index[n]].strip()]
            record[column] = _number(cells[0], f"line {number} {column}") if cells else ""
        out.append(record)
    return sorted(out, key=lambda r: int(r["fdc_id"]))


def read_source(path: Path) -> list[list[str]]:
    """The source CSV as rows of text."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_table(rows: Sequence[dict[str, str]], path: Path) -> None:
    """The compact table, LF line endings, deterministic (same source -> same bytes)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--source`` wide FDC CSV, ``--output`` (default: the bundled table)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    rows = build_rows(read_source(args.source))
    write_table(rows, args.output)
    with_mg = sum(1 for r in rows if r["magnesium_mg_per_100g"])
    print(f"wrote {len(rows)} foods ({with_mg} with magnesium) to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
