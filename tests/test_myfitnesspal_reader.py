"""MyFitnessPal readers on the real exports (checked with the csv/json modules) and fixtures."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest

from restless.ingest import myfitnesspal, registry
from restless.ingest.base import Coverage, NothingToLoad, ReadContext, ReadResult, RejectedFile
from restless.schemas.core import CORE_MODELS, polars_schema, reader_columns

from .conftest import real_file

MFP = ("foodlogs", "myfitnesspal")
KARI = (*MFP, "kari0219__health_stats")
MARCUS = (*MFP, "marcus-furius__health-intel")
KARI_NUTRITION = (*KARI, "Nutrition-Summary-2019-05-01-to-2019-06-15.csv")
MARCUS_NUTRITION = (*MARCUS, "Nutrition-Summary-2024-07-02-to-2026-03-02.csv")
MARCUS_DIARY = (*MARCUS, "mfp_diary_2025-03.json")
MTMK = (*MFP, "mtmk__mfp_nut_csv_parser", "mfp.csv")
DAWNDRAIN = (*MFP, "dawndrain__nutrition-dii-calculator", "myfitnesspal.csv")
UTC_CTX = ReadContext(participant_id="p1", timezone="UTC")
NEW_YORK = ReadContext(participant_id="p1", timezone="America/New_York")

REAL_FILES = {
    DAWNDRAIN: "mfp_nutrition_summary",
    MTMK: "mfp_nutrition_summary",
    KARI_NUTRITION: "mfp_nutrition_summary",
    (*KARI, "Exercise-Summary-2019-05-01-to-2019-06-15.csv"): "mfp_exercise_summary",
    (*KARI, "Measurement-Summary-2019-05-01-to-2019-06-15.csv"): "mfp_measurement_summary",
    MARCUS_NUTRITION: "mfp_nutrition_summary",
    (*MARCUS, "Exercise-Summary-2024-07-02-to-2026-03-02.csv"): "mfp_exercise_summary",
    (*MARCUS, "Measurement-Summary-2024-07-02-to-2026-03-02.csv"): "mfp_measurement_summary",
    MARCUS_DIARY: "mfp_diary_json",
}
SKIP_REASONS = {
    "mfp_exercise_summary": "without a start time",
    "mfp_measurement_summary": "body weight",
}


def csv_records(path: Path) -> list[dict[str, str]]:
    """Rows by the csv module (BOM removed); only rows whose first cell is a date."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["Date"] or "")]


def validate(result: ReadResult) -> pl.DataFrame:
    """The intake frame has the reader columns/dtypes and passes the pandera model."""
    frame = result.tables["intake_items"]
    assert frame.columns == reader_columns("intake_items")
    schema = polars_schema("intake_items")
    assert frame.schema == {c: schema[c] for c in frame.columns}
    full = frame.with_columns(
        participant_id=pl.lit("p1"), source=pl.lit("myfitnesspal"), file_id=pl.lit("f")
    )
    CORE_MODELS["intake_items"].validate(full, lazy=True)
    return frame


# --- Every real file ---------------------------------------------------------------------


@pytest.mark.parametrize("parts", list(REAL_FILES), ids=lambda p: "/".join(p[-2:]))
def test_every_real_file_is_recognised_and_loads_or_is_skipped_with_reason(
    parts: tuple[str, ...],
) -> None:
    path = real_file(*parts)
    fmt = registry.detect_format(path)
    assert fmt is not None and fmt.name == REAL_FILES[parts]
    assert fmt.source == "myfitnesspal"
    if fmt.name in SKIP_REASONS:
        with pytest.raises(NothingToLoad, match=SKIP_REASONS[fmt.name]):
            fmt.read(path, UTC_CTX)
        assert fmt.coverage == {}
        return
    result = fmt.read(path, UTC_CTX)
    items = validate(result)
    assert result.rejected_rows == [] and result.error is None
    assert fmt.coverage == {"intake_items": Coverage("dates", "local_date")}
    assert any("no magnesium" in w for w in result.warnings)
    # Meal totals: no food names, no amounts, magnesium unknown, never guessed.
    assert items["item_name"].str.ends_with(" (meal total)").all()
    assert (items["item_name"] == items["meal_group"] + " (meal total)").all()
    assert items["amount_text"].null_count() == items.height
    assert set(items["nutrient_origin"]) == {"missing"}
    assert not items["is_supplement"].any()
    for column in ("magnesium_mg", "caffeine_mg", "alcohol_g"):
        assert items[column].null_count() == items.height, column


@pytest.mark.parametrize("parts", [DAWNDRAIN, MTMK, KARI_NUTRITION, MARCUS_NUTRITION, MARCUS_DIARY])
def test_percent_daily_value_columns_never_become_mg(parts: tuple[str, ...]) -> None:
    path = real_file(*parts)
    fmt = registry.detect_format(path)
    items = fmt.read(path, UTC_CTX).tables["intake_items"]
    # MFP's Calcium and Iron are % Daily Value with an unverified DV basis: not stored.
    assert items["calcium_mg"].null_count() == items.height
    assert items["iron_mg"].null_count() == items.height


# --- kari0219: unquoted multi-line notes -------------------------------------------------


def test_kari_multiline_notes_rebuild_exactly_the_logical_rows() -> None:
    path = real_file(*KARI_NUTRITION)
    records = csv_records(path)  # independent: the csv module, then a date in the first cell
    assert len(records) == 166
    physical = path.read_text(encoding="utf-8-sig").split("\n")
    assert physical[-1] == ""  # ends with a line break
    header, rows, stray = myfitnesspal.logical_rows(path.read_text(encoding="utf-8-sig"))
    assert header[0] == "Date" and header[-1] == "Note"  # the BOM is gone
    assert len(rows) == 166 and stray == []
    # Nothing lost: every physical line after the header belongs to exactly one row.
    assert sum(r.note_lines for r in rows) == len(physical) - 2 == 949
    assert [r.fields[:2] for r in rows] == [(r["Date"], r["Meal"]) for r in records]
    assert sum(1 for r in rows if r.fields[-1].strip()) == 75  # SOURCES.md: 75 rows carry a note
    # The first note: line 18 opens 2019-05-07 Preworkout/Workout, lines 19-35 continue it.
    first = next(r for r in rows if r.fields[-1])
    assert (first.line, first.fields[:2]) == (18, ("2019-05-07", "Preworkout/Workout"))
    next_start = next(r.line for r in rows if r.line > first.line)
    assert first.note_lines == next_start - first.line == 18
    assert first.fields[-1].startswith("https://mennohenselmans.com/how-stick-diet/\n* ")

    result = myfitnesspal.read_nutrition(path, UTC_CTX)
    items = validate(result)
    assert items.height == 166 and result.rejected_rows == []
    assert items["row_number"].to_list() == [r.line - 1 for r in rows]
    assert items["energy_kcal"].to_list() == [float(r["Calories"]) for r in records]
    assert set(items["meal_group"]) == {
        "Preworkout/Workout",
        "Breakfast",
        "Lunch",
        "Snack (1)",
        "Dinner",
        "Snack (2)",
    }


def test_kari_daily_energy_matches_the_csv_module() -> None:
    path = real_file(*KARI_NUTRITION)
    records = csv_records(path)
    expected: dict[str, float] = {}
    for r in records:
        expected[r["Date"]] = expected.get(r["Date"], 0.0) + float(r["Calories"])
    items = myfitnesspal.read_nutrition(path, UTC_CTX).tables["intake_items"]
    daily = items.group_by("local_date").agg(pl.col("energy_kcal").sum())
    got = {d.isoformat(): kcal for d, kcal in daily.iter_rows()}
    assert got == pytest.approx(expected)
    # 2019-05-07 (the day whose rows carry the long notes), by hand from the file:
    # 142.4 + 305.7 + 323.9 + 210.0 + 55.0 + 453.1
    assert got["2019-05-07"] == pytest.approx(1490.1)


# --- marcus-furius: CRLF, Post-Workout, the scraped diary --------------------------------


def test_marcus_daily_energy_and_potassium_by_hand() -> None:
    path = real_file(*MARCUS_NUTRITION)
    assert b"\r\n" in path.read_bytes()[:400]
    records = csv_records(path)
    items = myfitnesspal.read_nutrition(path, UTC_CTX).tables["intake_items"]
    assert items.height == len(records) == 1593
    day = items.filter(pl.col("local_date") == date(2025, 3, 2)).sort("row_number")
    # By hand from the file: Breakfast 538.6, Dinner 993.6, Lunch 507.4, Snacks 856.6.
    assert day["energy_kcal"].sum() == pytest.approx(2896.2)
    assert day["energy_kcal"].sum() == pytest.approx(
        sum(float(r["Calories"]) for r in records if r["Date"] == "2025-03-02")
    )
    assert day["meal_group"].to_list() == ["Breakfast", "Dinner", "Lunch", "Snacks"]
    # Potassium is mg as exported; an exact 0 beside calories is unknown, not "none".
    assert day["potassium_mg"].to_list() == [40.5, None, None, None]
    zero = sum(1 for r in records if float(r["Potassium"]) == 0 and float(r["Calories"]) > 0)
    assert items["potassium_mg"].null_count() == zero == 1024
    assert "Post-Workout" in set(items["meal_group"])


def test_marcus_diary_json_gives_the_same_meal_totals_as_the_csv() -> None:
    diary_path = real_file(*MARCUS_DIARY)
    days = json.loads(diary_path.read_text(encoding="utf-8"))
    result = myfitnesspal.read_diary_json(diary_path, UTC_CTX)
    diary = validate(result)
    assert diary.height == sum(len(d["meals"]) for d in days) == 89
    assert diary["row_number"].to_list() == list(range(1, 90))
    totals = {d["date"]: d["totals"]["calories"] for d in days}
    daily = diary.group_by("local_date").agg(pl.col("energy_kcal").sum())
    assert {d.isoformat(): kcal for d, kcal in daily.iter_rows()} == pytest.approx(totals)
    assert diary["local_time"].null_count() == diary.height
    csv_items = myfitnesspal.read_nutrition(real_file(*MARCUS_NUTRITION), UTC_CTX).tables[
        "intake_items"
    ]
    keys = ["local_date", "meal_group", "energy_kcal", "potassium_mg"]
    same_days = csv_items.filter(pl.col("local_date").is_in(diary["local_date"].implode()))
    assert same_days.select(keys).sort(keys).equals(diary.select(keys).sort(keys))


# --- mtmk: BOM, Time column; dawndrain: CRLF with Note -----------------------------------


def test_mtmk_bom_and_twelve_hour_times() -> None:
    path = real_file(*MTMK)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    records = csv_records(path)
    items = myfitnesspal.read_nutrition(path, NEW_YORK).tables["intake_items"]
    assert items.height == len(records) == 78
    expected_times = [
        datetime.strptime(r["Time"], "%I:%M %p").time() if r["Time"] else None for r in records
    ]
    assert items["local_time"].to_list() == expected_times
    assert sum(t is None for t in expected_times) == 2
    first = items.row(0, named=True)
    assert (first["local_date"], first["local_time"]) == (date(2018, 7, 1), time(10, 0))
    assert first["consumed_at"] == datetime(2018, 7, 1, 14, 0, tzinfo=UTC)  # EDT = UTC-4
    assert first["item_name"] == "Breakfast (meal total)"
    untimed = items.filter(pl.col("local_time").is_null())
    assert untimed["consumed_at"].null_count() == untimed.height


def test_dawndrain_crlf_with_note_column() -> None:
    path = real_file(*DAWNDRAIN)
    items = myfitnesspal.read_nutrition(path, UTC_CTX).tables["intake_items"]
    assert items["meal_group"].to_list() == ["Breakfast", "Dinner", "Lunch"]
    assert items["energy_kcal"].to_list() == [214.5, 285.0, 750.0]
    assert items["potassium_mg"].to_list() == [198.0, None, None]
    assert not items["item_name"].str.contains("\r").any()


# --- Small fixtures: slash dates, separators, quoted notes, stray lines ------------------

HEADER = (
    "Date,Meal,Calories,Fat (g),Saturated Fat,Polyunsaturated Fat,Monounsaturated Fat,"
    "Trans Fat,Cholesterol,Sodium (mg),Potassium,Carbohydrates (g),Fiber,Sugar,Protein (g),"
    "Vitamin A,Vitamin C,Calcium,Iron,Note"
)
TAIL = "1,1,1,1,1,1,1,250.5,1,1,1,1,1,1,12.0,30.0"  # Fat..Iron (Potassium 250.5, Ca 12 %DV)


def write(tmp_path: Path, text: str, name: str = "Nutrition-Summary.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_slash_dates_thousands_and_a_quoted_multiline_note(tmp_path: Path) -> None:
    text = (
        "\ufeff" + HEADER + "\r\n"
        f'5/3/2019,Breakfast,"1,234.5",{TAIL},"two lines\r\nof note"\r\n'
        f"12/31/2019,Dinner,300.0,{TAIL},\r\n"
        f"1/1/2020,Dinner,x,{TAIL},\r\n"
    )
    path = write(tmp_path, text)
    assert registry.detect_format(path).name == "mfp_nutrition_summary"
    result = myfitnesspal.read_nutrition(path, UTC_CTX)
    items = validate(result)
    assert items["local_date"].to_list() == [date(2019, 5, 3), date(2019, 12, 31)]
    assert items["energy_kcal"].to_list() == [1234.5, 300.0]
    assert items["potassium_mg"].to_list() == [250.5, 250.5]
    assert items["row_number"].to_list() == [1, 3]  # the quoted note took line 3 of the file
    assert [(r.row_number, r.column, r.check, r.value) for r in result.rejected_rows] == [
        (4, "Calories", "number_format", "x")
    ]


def test_day_first_slash_dates_are_recognised_from_a_day_above_12(tmp_path: Path) -> None:
    text = HEADER + "\n" + f"25/12/2019,Lunch,100,{TAIL},\n" + f"3/5/2019,Lunch,100,{TAIL},\n"
    result = myfitnesspal.read_nutrition(write(tmp_path, text), UTC_CTX)
    assert result.tables["intake_items"]["local_date"].to_list() == [
        date(2019, 12, 25),
        date(2019, 5, 3),
    ]
    assert any("day-first" in w for w in result.warnings)


def test_stray_line_without_note_column_is_rejected_not_loaded(tmp_path: Path) -> None:
    header = HEADER.removesuffix(",Note").replace("Meal,", "Meal,Time,")
    tail = TAIL
    text = (
        header
        + "\n"
        + f"2018-07-01,Breakfast,10:00 AM,40.0,{tail}\n"
        + "garbage line, 1, 2\n"
        + "\n"
        + f"2018-07-01,Lunch,25:00 PM,99.0,{tail}\n"
        + f"2018-07-02,Lunch,2:05 PM,99.0,{tail}\n"
    )
    result = myfitnesspal.read_nutrition(write(tmp_path, text), UTC_CTX)
    items = validate(result)
    assert items["row_number"].to_list() == [1, 5]
    assert items["local_time"].to_list() == [time(10, 0), time(14, 5)]
    assert [(r.row_number, r.check) for r in result.rejected_rows] == [
        (2, "row_shape"),
        (4, "time_format"),
    ]


def test_header_only_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(NothingToLoad, match="no rows"):
        myfitnesspal.read_nutrition(write(tmp_path, HEADER + "\r\n"), UTC_CTX)
    with pytest.raises(RejectedFile, match="'Calories'"):
        myfitnesspal.read_nutrition(write(tmp_path, "Date,Meal,Note\n2019-05-01,Lunch,\n"), UTC_CTX)
    with pytest.raises(RejectedFile, match="not valid JSON"):
        myfitnesspal.read_diary_json(write(tmp_path, "[{", "d.json"), UTC_CTX)


def test_diary_json_repeated_day_and_day_without_meals(tmp_path: Path) -> None:
    lunch = {"name": "Lunch", "calories": 500.0, "potassium": 0.0, "calcium": 40.0}
    days = [
        {"date": "2025-03-01", "totals": {"calories": 500.0}, "meals": [lunch]},
        {"date": "2025-03-02", "totals": {"calories": 800.0, "potassium": 900.0}, "meals": []},
        {
            "date": "2025-03-01",
            "totals": {"calories": 1.0},
            "meals": [{"name": "X", "calories": 1}],
        },
    ]
    path = write(tmp_path, json.dumps(days), "mfp_diary.json")
    assert registry.detect_format(path).name == "mfp_diary_json"
    result = myfitnesspal.read_diary_json(path, UTC_CTX)
    items = validate(result)
    assert items.select("row_number", "item_name", "energy_kcal", "potassium_mg").rows() == [
        (1, "Lunch (meal total)", 500.0, None),
        (2, "Day total", 800.0, 900.0),
    ]
    assert [(r.row_number, r.check) for r in result.rejected_rows] == [(3, "unique_date")]
