"""MyFitnessPal exports -> intake_items (meal totals), or a clear reason why nothing loads.

MyFitnessPal (MFP) Premium exports three CSV files per date range, and some users scrape
the web diary to JSON:

* **Nutrition Summary** (``Date,Meal[,Time],Calories,...,Calcium,Iron[,Note]``): one row
  per meal and day (with ``Time``: per meal and logged time). These are *meal totals*:
  there are no food names or amounts, so nothing can be looked up in a food table. Each
  row becomes one intake_items row named ``'<Meal> (meal total)'``.
* **scraped web diary** (JSON list of ``{date, ..., totals, meals: [{name, ...}]}``):
  the same meal totals (its numbers equal the CSV's for the same days), same rows.
* **Exercise Summary** and **Measurement Summary**: no canonical table fits (below).

What the rows carry (SCIENCE.md section 9):

* ``energy_kcal`` = ``Calories``; ``potassium_mg`` = ``Potassium`` (mg, no unit suffix).
  MFP adds up its entries with a missing value counted as 0, so a meal total of exactly
  0 mg potassium next to positive calories means "none of the foods said", not "none
  eaten": it is stored as null (unknown) and counted in a warning. A positive total can
  still be an undercount (some foods lacked the value).
* ``calcium_mg`` and ``iron_mg`` are **null**: MFP's ``Calcium`` and ``Iron`` are % Daily
  Value, and the mg basis MFP divides by is not stated in the export and was not verified
  (SCIENCE.md section 9), so converting them to mg would be a guess.
* ``magnesium_mg``, ``caffeine_mg`` and ``alcohol_g`` are null: MFP exports have no such
  columns. ``nutrient_origin`` is ``'missing'``: the features layer counts these days'
  magnesium as unknown and flags them, never as zero, and the food look-up leaves meal
  totals alone (no food name, no amount).
* ``local_time`` from ``Time`` (``h:mm AM/PM``) where the export has it; ``meal_group`` is
  the meal name as the user named it (``Preworkout/Workout``, ``Snack (1)``).

File quirks handled: UTF-8 byte-order mark, CRLF, ``YYYY-MM-DD`` or US ``M/D/YYYY``
dates, thousands separators (``"1,234.5"``), and **unquoted multi-line notes**: the 2019
exports write a ``Note`` that spans lines without quoting it, so its following lines
appear as extra physical lines (a naive CSV reader makes garbage rows of them). Logical
rows are rebuilt by :func:`logical_rows`: a physical line that starts with a date and has
the header's fields opens a row; every other line continues the previous row's note
(notes are not stored: free text). ``row_number`` is the record's first physical line
minus one (the header), so a quarantined row points straight at its line in the file.
Slash dates are month-first unless one of the file's slash dates only reads day-first.

Overlap: the scraped diary and a Nutrition Summary of the same days hold the same meals.
Both cover their dates for source ``myfitnesspal``, but the warehouse replaces rows of the
same *format* only, so holding both for the same days counts those meals twice until the
loader lets these two formats replace each other's dates.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)

SOURCE = "myfitnesspal"
INTAKE = "intake_items"
RAW = csv_text.RAW

NUTRITION_REQUIRED = ("Date", "Meal", "Calories")
NUTRITION_OPTIONAL = ("Time", "Potassium")
ITEM_SUFFIX = " (meal total)"
DAY_TOTAL = "Day total"
"""meal_group of a scraped day that has totals but no meal breakdown."""

_DATE_START = re.compile(r'^\s*"?(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})"?\s*,')
_OTHER_FORMATS = {"meal", "calories", "exercise", "food name", "energy (kcal)", "day", "metric"}

NO_MAGNESIUM = (
    "MyFitnessPal exports no magnesium, caffeine or alcohol and gives Calcium and Iron as "
    "% Daily Value: these stay unknown (null) for the {n} meal totals; magnesium is not "
    "looked up (meal totals carry no food names)"
)


# --- Sniffing ---------------------------------------------------------------------------


def _cells(head: bytes) -> set[str]:
    return {cell.lower() for cell in csv_text.header_cells(head)}


def sniff_nutrition(head: bytes, name: str) -> bool:
    """Nutrition Summary: ``Date``, ``Meal`` and ``Calories`` columns."""
    return {"date", "meal", "calories"} <= _cells(head)


def sniff_exercise(head: bytes, name: str) -> bool:
    """Exercise Summary: ``Date``, ``Exercise`` and ``Exercise Calories``/``Minutes``."""
    cells = _cells(head)
    return {"date", "exercise"} <= cells and bool({"exercise calories", "exercise minutes"} & cells)


def sniff_measurement(head: bytes, name: str) -> bool:
    """Measurement Summary: ``Date`` first, a ``Weight`` column, then the user's own
    measurement names (``CycleTime``, ``n_Body Fat``), none of another format's columns."""
    cells = csv_text.header_cells(head)
    lower = {cell.lower() for cell in cells}
    return (
        bool(cells)
        and cells[0].lower() == "date"
        and "weight" in lower
        and not (lower & _OTHER_FORMATS)
    )


def sniff_diary_json(head: bytes, name: str) -> bool:
    """Scraped web diary: a JSON list of day objects with ``date``, ``totals``, ``meals``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"[") and all(
        key in head for key in (b'"date"', b'"totals"', b'"meals"', b'"calories"')
    )


# --- Logical rows of a Nutrition Summary ---------------------------------------------------


@dataclass(frozen=True)
class LogicalRow:
    """One record of an MFP CSV: its first physical line (1-based, header = line 1), its
    fields (one per header column) and the physical lines its unquoted note spanned."""

    line: int
    fields: tuple[str, ...]
    note_lines: int = 1


@dataclass
class _Open:
    line: int
    cells: list[str]
    note: list[str]


def _record_start(line: str, width: int, has_note: bool) -> list[str] | None:
    """The fields of a line that opens a record (starts with a date, has the header's
    fields), the note rejoined from its commas; None for any other line."""
    if not _DATE_START.match(line):
        return None
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        return None
    if has_note and len(cells) >= width - 1:
        return [*cells[: width - 1], ",".join(cells[width - 1 :])]
    if not has_note and len(cells) == width:
        return cells
    return None


def logical_rows(text: str) -> tuple[list[str], list[LogicalRow], list[tuple[int, str]]]:
    """Header, logical rows and stray lines (line number, text) of an MFP CSV text.

    With a trailing ``Note`` column, a line that does not open a record continues the
    open record's note (blank lines included). Without one, or before the first record,
    such a line is stray (the caller rejects it), except a blank line, which is skipped.
    """
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()  # the file's final line break
    if not lines or not lines[0].strip():
        raise RejectedFile("no header line")
    try:
        header = [cell.strip() for cell in next(csv.reader([lines[0]]))]
    except csv.Error as err:
        raise RejectedFile(f"header is not CSV: {err}") from err
    width = len(header)
    has_note = header[-1].lower() == "note"
    rows: list[LogicalRow] = []
    stray: list[tuple[int, str]] = []
    current: _Open | None = None

    def close() -> None:
        if current is not None:
            note = "\n".join(current.note)
            rows.append(
                LogicalRow(current.line, (*current.cells[:-1], note), len(current.note))
                if has_note
                else LogicalRow(current.line, tuple(current.cells))
            )

    for number, line in enumerate(lines[1:], start=2):
        cells = _record_start(line, width, has_note)
        if cells is not None:
            close()
            current = _Open(number, cells, [cells[-1]] if has_note else [])
        elif has_note and current is not None:
            current.note.append(line)
        elif line.strip():
            stray.append((number, line))
    close()
    return header, rows, stray


def _nutrition_cells(path: Path) -> tuple[pl.DataFrame, list[RejectedRow], list[str]]:
    """``row_number`` and ``raw:<column>`` text columns of a Nutrition Summary."""
    text, warnings = csv_text.read_text(path)
    header, rows, stray = logical_rows(text)
    lowered = [name.lower() for name in header]
    duplicated = sorted({n for n in header if lowered.count(n.lower()) > 1})
    if duplicated:
        raise RejectedFile(f"duplicate column names in header: {duplicated}")
    rejected = [
        RejectedRow(INTAKE, number - 1, "", "row_shape", line[:200]) for number, line in stray
    ]
    if not rows:
        if rejected:
            raise RejectedFile(
                f"no line has the header's {len(header)} fields starting with a date "
                f"({len(rejected)} other lines)"
            )
        raise NothingToLoad("MyFitnessPal nutrition summary has a header but no rows")
    frame = pl.DataFrame(
        {name: [row.fields[i] for row in rows] for i, name in enumerate(header)},
        schema=dict.fromkeys(header, pl.String),
    ).with_columns(
        pl.when(pl.col(name).str.strip_chars() != "").then(pl.col(name)).alias(name)
        for name in header
    )
    cells = csv_text.match_columns(frame, NUTRITION_REQUIRED, NUTRITION_OPTIONAL)
    cells = cells.with_columns(
        pl.Series("row_number", [row.line - 1 for row in rows], dtype=pl.Int64),
        (pl.col(RAW + "Meal").str.strip_chars() + ITEM_SUFFIX).alias(RAW + "Item"),
    )
    return cells, rejected, warnings


# --- Shared: meal-total cells -> intake_items ---------------------------------------------


def parse_date(text: pl.Expr, us_order: bool = True) -> pl.Expr:
    """``YYYY-MM-DD`` (unpadded too) or a slash date, ``M/D/YYYY`` unless ``us_order`` is
    False (``D/M/YYYY``); null if neither."""
    slash = "%m/%d/%Y" if us_order else "%d/%m/%Y"
    return pl.coalesce(
        localtime.parse_date(text), text.str.strip_chars().str.to_date(slash, strict=False)
    )


def _slash_order(dates: pl.Series) -> tuple[bool, list[str]]:
    """US month-first unless some slash date only reads day-first (``25/12/2019``)."""
    slash = dates.drop_nulls().str.strip_chars().filter(dates.drop_nulls().str.contains("/"))
    if slash.is_empty():
        return True, []
    us = slash.str.to_date("%m/%d/%Y", strict=False).null_count()
    eu = slash.str.to_date("%d/%m/%Y", strict=False).null_count()
    if us > 0 and eu == 0:
        return False, ["slash dates read day-first (D/M/YYYY): some have a day above 12"]
    return True, []


def _intake(
    cells: pl.DataFrame, ctx: ReadContext
) -> tuple[pl.DataFrame, list[RejectedRow], list[str]]:
    """intake_items from ``raw:Date/Meal/Item/Time/Calories/Potassium`` meal-total cells."""
    zone = localtime.reader_zone(ctx)
    us_order, warnings = _slash_order(cells[RAW + "Date"])
    raw = {name: pl.col(RAW + name) for name in ("Date", "Meal", "Item", "Time")}
    frame = cells.with_columns(
        parse_date(raw["Date"], us_order).alias("local_date"),
        localtime.parse_time(raw["Time"]).alias("local_time"),
        raw["Meal"].str.strip_chars().alias("meal_group"),
        raw["Item"].str.strip_chars().alias("item_name"),
        csv_text.parse_number(pl.col(RAW + "Calories")).alias("energy_kcal"),
        csv_text.parse_number(pl.col(RAW + "Potassium")).alias("potassium_mg"),
    )
    checks = [
        ("Date", "date_format", pl.col("local_date").is_null()),
        ("Time", "time_format", raw["Time"].is_not_null() & pl.col("local_time").is_null()),
        ("Meal", "required_value", pl.col("meal_group").is_null()),
        *(
            (column, "number_format", pl.col(RAW + column).is_not_null() & pl.col(name).is_null())
            for column, name in (("Calories", "energy_kcal"), ("Potassium", "potassium_mg"))
        ),
    ]
    kept, rejected = csv_text.reject_rows(frame, INTAKE, checks)
    unknown_k = (pl.col("potassium_mg") == 0) & (pl.col("energy_kcal") > 0)
    zeros = kept.filter(unknown_k).height
    if zeros:
        warnings.append(
            f"{zeros} meal total(s) with calories but exactly 0 mg potassium: stored as "
            "unknown (MFP counts foods without a potassium value as 0)"
        )
    naive = localtime.combine(pl.col("local_date"), pl.col("local_time"))
    intake = kept.with_columns(
        pl.when(unknown_k).then(None).otherwise(pl.col("potassium_mg")).alias("potassium_mg"),
        localtime.local_to_utc(naive, zone, non_existent="shift_forward").alias("consumed_at"),
        pl.lit(False).alias("is_supplement"),
        pl.lit("missing").alias("nutrient_origin"),
    )
    warnings += localtime.gap_warnings(kept, naive, zone)
    if intake.height:
        warnings.append(NO_MAGNESIUM.format(n=intake.height))
    return csv_text.typed(intake, INTAKE), rejected, warnings


# --- Readers --------------------------------------------------------------------------------


def read_nutrition(path: Path, ctx: ReadContext) -> ReadResult:
    """Nutrition Summary CSV -> intake_items, one row per meal total."""
    cells, stray, warnings = _nutrition_cells(path)
    intake, rejected, more = _intake(cells, ctx)
    rejected = sorted([*stray, *rejected], key=lambda r: (r.row_number, r.column, r.check))
    return ReadResult(tables={INTAKE: intake}, warnings=warnings + more, rejected_rows=rejected)


def _json_number(value: object) -> str | None:
    """A JSON number as text for the shared parser; other values pass as their text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)  # not a number: fails number_format
    if isinstance(value, int | float):
        return repr(float(value)) if math.isfinite(value) else str(value)
    return str(value)


def read_diary_json(path: Path, ctx: ReadContext) -> ReadResult:
    """Scraped web diary JSON -> intake_items, one row per meal of each day.

    ``row_number`` counts meal records through the file (1-based). A day with totals but
    no meal list becomes one ``'Day total'`` row; a day listed twice keeps its first copy
    (the repeat is rejected as ``unique_date``).
    """
    text, warnings = csv_text.read_text(path)
    try:
        days = json.loads(text)
    except json.JSONDecodeError as err:
        raise RejectedFile(f"not valid JSON: {err}") from err
    if not isinstance(days, list) or not all(isinstance(d, dict) for d in days):
        raise RejectedFile("not a list of day objects (expected the scraped MFP diary shape)")
    records: list[dict[str, str | None]] = []
    rejected: list[RejectedRow] = []
    seen: set[str] = set()
    mismatched: list[str] = []
    for day in days:
        date = day.get("date")
        meals = day.get("meals")
        totals = day.get("totals") if isinstance(day.get("totals"), dict) else {}
        if not isinstance(meals, list) or not meals:
            whole_day = totals or day
            meals = [] if whole_day.get("calories") is None else [{**whole_day, "name": None}]
        for meal in meals:
            number = len(records) + len(rejected) + 1
            if not isinstance(meal, dict):
                rejected.append(RejectedRow(INTAKE, number, "meals", "meal_shape", str(meal)))
                continue
            if str(date) in seen:
                rejected.append(RejectedRow(INTAKE, number, "date", "unique_date", str(date)))
                continue
            name = meal.get("name")
            item = DAY_TOTAL if name is None else f"{str(name).strip()}{ITEM_SUFFIX}"
            records.append(
                {
                    "row_number": str(number),
                    RAW + "Date": None if date is None else str(date),
                    RAW + "Meal": DAY_TOTAL if name is None else str(name),
                    RAW + "Item": item,
                    RAW + "Time": None,
                    RAW + "Calories": _json_number(meal.get("calories")),
                    RAW + "Potassium": _json_number(meal.get("potassium")),
                }
            )
        summed = sum(
            m["calories"]
            for m in meals
            if isinstance(m, dict) and isinstance(m.get("calories"), int | float)
        )
        total = totals.get("calories")
        if isinstance(total, int | float) and abs(total - summed) > 1:
            mismatched.append(str(date))
        seen.add(str(date))
    if mismatched:
        warnings.append(f"meal calories do not add up to the day total on {mismatched}")
    if not records:
        if rejected:
            raise RejectedFile(f"no usable meal records ({len(rejected)} rejected)")
        raise NothingToLoad("MyFitnessPal diary JSON lists no logged days")
    cells = pl.DataFrame(records, schema=dict.fromkeys(records[0], pl.String)).with_columns(
        pl.col("row_number").cast(pl.Int64)
    )
    intake, more_rejected, more = _intake(cells, ctx)
    rejected = sorted([*rejected, *more_rejected], key=lambda r: (r.row_number, r.column))
    return ReadResult(tables={INTAKE: intake}, warnings=warnings + more, rejected_rows=rejected)


def read_exercise(path: Path, ctx: ReadContext) -> ReadResult:
    """Exercise Summary: nothing canonical fits (reason in the exception)."""
    raise NothingToLoad(
        "MyFitnessPal Exercise Summary holds per-day exercise entries (calories, minutes, "
        "steps) without a start time: movement_epochs needs timed epochs, and the steps it "
        "lists (Health Connect/Fitbit adjustments) come from devices whose own exports load "
        "them; calories burned are not used"
    )


def read_measurement(path: Path, ctx: ReadContext) -> ReadResult:
    """Measurement Summary: nothing canonical fits (reason in the exception)."""
    raise NothingToLoad(
        "MyFitnessPal Measurement Summary holds body weight and user-defined measurements "
        "(unitless, per day): no canonical table uses them"
    )


_DATES = Coverage("dates", "local_date")

FORMATS: list[Format] = [
    Format(
        name="mfp_nutrition_summary",
        source=SOURCE,
        family="mfp_meal_totals",
        sniff=sniff_nutrition,
        read=read_nutrition,
        coverage={INTAKE: _DATES},
        uses_local_time=True,
    ),
    Format(
        name="mfp_diary_json",
        source=SOURCE,
        family="mfp_meal_totals",
        sniff=sniff_diary_json,
        read=read_diary_json,
        coverage={INTAKE: _DATES},
        uses_local_time=True,
    ),
    Format(
        name="mfp_exercise_summary",
        source=SOURCE,
        sniff=sniff_exercise,
        read=read_exercise,
        coverage={},
    ),
    Format(
        name="mfp_measurement_summary",
        source=SOURCE,
        sniff=sniff_measurement,
        read=read_measurement,
        coverage={},
    ),
]
