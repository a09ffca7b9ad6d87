"""Cronometer servings / daily summary / biometrics on the real exports and small fixtures."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import cronometer, registry
from restless.ingest.base import SNIFF_BYTES, NothingToLoad, ReadContext, RejectedFile

from .conftest import SHARED_REAL, real_file, validate

CRONO = SHARED_REAL / "foodlogs" / "cronometer"
UTC_CTX = ReadContext(participant_id="p1", timezone="UTC")
NEW_YORK = ReadContext(participant_id="p1", timezone="America/New_York")


def real(relative: str) -> Path:
    return real_file("foodlogs", "cronometer", relative)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def detect(path: Path):
    return registry.detect_format(path, cronometer.FORMATS)


# --- Every real file -------------------------------------------------------------------------

REAL_FILES = {
    "davidgma__cron-csv/servings.csv": "cronometer_servings",
    "dhjelmar__Diabetes/servings.csv": "cronometer_servings",
    "dhjelmar__Diabetes/biometrics.csv": "cronometer_biometrics",
    "shiroyasha__nutrition-optimizer/servings.csv": "cronometer_servings",
    "stackingrockss__dashboard/servings.csv": "cronometer_servings",
    "stackingrockss__dashboard/dailysummary.csv": "cronometer_dailysummary",
    "maximumpeaches__tracking/dailysummary.csv": "cronometer_dailysummary",
    "dawndrain__nutrition-dii-calculator/cronometer_dailysummary.csv": "cronometer_dailysummary",
}


def test_every_real_file_is_recognised_and_loads_or_is_skipped_with_reason() -> None:
    if not CRONO.exists():
        pytest.skip(f"shared real Cronometer files not available: {CRONO}")
    found = {str(p.relative_to(CRONO)) for p in CRONO.rglob("*.csv")}
    assert set(REAL_FILES) <= found
    for relative, expected in REAL_FILES.items():
        fmt = detect(CRONO / relative)
        assert fmt is not None and fmt.name == expected, relative
        if expected == "cronometer_biometrics":
            with pytest.raises(NothingToLoad, match="biometrics"):
                fmt.read(CRONO / relative, UTC_CTX)
            continue
        result = fmt.read(CRONO / relative, UTC_CTX)
        validate(result, "cronometer")
        assert result.rejected_rows == [] and result.error is None
        n_rows = len(csv_rows(CRONO / relative))
        main = "intake_items" if expected == "cronometer_servings" else "daily_nutrition"
        assert result.tables[main].height == n_rows, relative


def test_myfitnesspal_exports_are_not_taken_for_cronometer() -> None:
    mfp = SHARED_REAL / "foodlogs" / "myfitnesspal"
    if not mfp.exists():
        pytest.skip(f"shared real MyFitnessPal files not available: {mfp}")
    for path in mfp.rglob("*.csv"):
        assert detect(path) is None, path


# --- davidgma: 24 h times, blank Time, blank Mg --------------------------------------------


def test_davidgma_magnesium_totals_and_blank_counts() -> None:
    path = real("davidgma__cron-csv/servings.csv")
    rows = csv_rows(path)
    items = cronometer.read_servings(path, UTC_CTX).tables["intake_items"]
    day = [r for r in rows if r["Day"] == "2020-07-15"]
    expected_mg = sum(float(r["Magnesium (mg)"]) for r in day if r["Magnesium (mg)"])
    got = items.filter(pl.col("local_date") == date(2020, 7, 15))["magnesium_mg"].sum()
    assert got == pytest.approx(expected_mg, abs=1e-9)
    blank_by_day = Counter(r["Day"] for r in rows if not r["Magnesium (mg)"].strip())
    nulls = items.filter(pl.col("magnesium_mg").is_null()).group_by("local_date").len()
    assert {d.isoformat(): n for d, n in nulls.iter_rows()} == dict(blank_by_day)
    assert (items["nutrient_origin"] == "missing").sum() == sum(blank_by_day.values())
    # 62 rows have no Time: local_time and consumed_at stay null, others are 24 h clock times.
    assert items["local_time"].null_count() == sum(1 for r in rows if not r["Time"]) == 62
    first = items.row(0, named=True)
    assert (first["local_time"], first["item_name"]) == (time(5, 17), "Jasmine Tea")
    assert first["consumed_at"] == datetime(2020, 7, 15, 5, 17, tzinfo=UTC)
    assert items["caffeine_mg"].null_count() == items.height  # no Caffeine column in this era
    assert not items["is_supplement"].any()


# --- dhjelmar: 12 h clock, fall-back night, Supplements category ---------------------------


def test_dhjelmar_twelve_hour_times_and_dst_in_new_york() -> None:
    path = real("dhjelmar__Diabetes/servings.csv")
    rows = csv_rows(path)
    items = cronometer.read_servings(path, NEW_YORK).tables["intake_items"]
    zone = ZoneInfo("America/New_York")
    for row, item in zip(rows, items.iter_rows(named=True), strict=True):
        clock = datetime.strptime(row["Time"], "%I:%M %p").time()
        assert item["local_time"] == clock
        local = datetime.combine(date.fromisoformat(row["Day"]), clock, tzinfo=zone)
        assert item["consumed_at"] == local.astimezone(UTC)
    # 2022-11-06 is the US fall-back day: 10:11 AM is EST (UTC-5), the day before EDT (UTC-4).
    sunday = items.filter(pl.col("local_date") == date(2022, 11, 6)).row(0, named=True)
    assert sunday["consumed_at"] == datetime(2022, 11, 6, 15, 11, tzinfo=UTC)
    saturday = items.filter(pl.col("local_date") == date(2022, 11, 5)).row(0, named=True)
    local = datetime.combine(saturday["local_date"], saturday["local_time"])
    assert saturday["consumed_at"].replace(tzinfo=None) - local == timedelta(hours=4)


def test_dhjelmar_protein_shake_is_food_despite_supplements_category() -> None:
    path = real("dhjelmar__Diabetes/servings.csv")
    result = cronometer.read_servings(path, UTC_CTX)
    items = result.tables["intake_items"]
    shakes = items.filter(pl.col("item_name").str.starts_with("Premier Protein"))
    assert shakes.height == 9 and set(shakes["category"]) == {"Supplements"}
    assert not shakes["is_supplement"].any()
    assert result.tables["supplement_doses"].height == 0
    blank = sum(1 for r in csv_rows(path) if not r["Magnesium (mg)"])
    assert items["magnesium_mg"].null_count() == blank == 22


# --- shiroyasha: legacy era, unpadded dates, real supplements -------------------------------


def test_shiroyasha_unpadded_dates_and_supplements() -> None:
    path = real("shiroyasha__nutrition-optimizer/servings.csv")
    rows = csv_rows(path)
    result = cronometer.read_servings(path, UTC_CTX)
    items, doses = result.tables["intake_items"], result.tables["supplement_doses"]
    expected_dates = [date(*map(int, r["Day"].split("-"))) for r in rows]
    assert items["local_date"].to_list() == expected_dates
    assert items["local_date"][0] == date(2011, 4, 18)  # written "2011-4-18"
    assert items["local_date"].n_unique() == len({r["Day"] for r in rows}) == 196
    assert items["local_time"].null_count() == items.height  # no Time column
    assert items["meal_group"].null_count() == items.height  # no Group column
    multivitamin = items.filter(pl.col("item_name") == "Basic's Men's Multivitamin Health Formula")
    assert multivitamin.height == 4 and multivitamin["is_supplement"].all()
    supplement_names = set(items.filter("is_supplement")["item_name"])
    assert supplement_names == {
        "Basic's Men's Multivitamin Health Formula",
        "Magnezijum",
        "Multivitamin Oligovit",
        "Polivit B",
        "Vitamin D3",
    }
    foods = ["Beverages, rich chocolate, powder", "Milk, chocolate, lowfat, with added vitamin A"]
    assert not items.filter(pl.col("item_name").str.starts_with(foods[1]))["is_supplement"].any()
    assert not items.filter(pl.col("item_name") == foods[0])["is_supplement"].any()
    # Dose rows: supplement servings with a magnesium value, counted with the csv module.
    with_mg = [r for r in rows if r["Food Name"] in supplement_names and r["Magnesium (mg)"]]
    assert doses.height == len(with_mg) == 46
    assert doses["amount_mg"].sum() == pytest.approx(
        sum(float(r["Magnesium (mg)"]) for r in with_mg)
    )
    assert set(doses["amount_basis"]) == {"elemental"}
    assert doses["magnesium_elemental_mg"].to_list() == doses["amount_mg"].to_list()
    assert set(doses["elemental_fraction"]) == {1.0}
    row_of = dict(zip(items["row_number"], items["item_name"], strict=True))
    assert {row_of[n] for n in doses["row_number"]} == {
        "Basic's Men's Multivitamin Health Formula",
        "Magnezijum",
        "Multivitamin Oligovit",
    }
    blank = sum(1 for r in rows if not r["Magnesium (mg)"])
    assert (items["nutrient_origin"] == "missing").sum() == blank == 178


# --- stackingrockss: no Time column ---------------------------------------------------------


def test_stackingrockss_servings_without_time_column() -> None:
    path = real("stackingrockss__dashboard/servings.csv")
    items = cronometer.read_servings(path, NEW_YORK).tables["intake_items"]
    assert items.height == 43
    assert items["local_time"].null_count() == 43 and items["consumed_at"].null_count() == 43
    assert items["magnesium_mg"].null_count() == 31
    assert set(items["meal_group"]) == {"Uncategorized"}
    assert items["category"].null_count() == 13  # "" in the export is unknown, not a category


# --- daily summaries -------------------------------------------------------------------------


def test_maximumpeaches_dailysummary_blank_magnesium_stays_null() -> None:
    path = real("maximumpeaches__tracking/dailysummary.csv")
    rows = csv_rows(path)
    daily = cronometer.read_dailysummary(path, UTC_CTX).tables["daily_nutrition"]
    assert daily.height == len(rows) == 294
    blank = {date.fromisoformat(r["Date"]) for r in rows if not r["Magnesium (mg)"]}
    assert len(blank) == 30
    assert set(daily.filter(pl.col("magnesium_mg").is_null())["local_date"]) == blank
    # SOURCES.md calls these "Energy = 0" days; the cells are blank, so they stay unknown.
    blank_energy = sum(1 for r in rows if not r["Energy (kcal)"])
    assert daily["energy_kcal"].null_count() == blank_energy == 29
    assert (daily["energy_kcal"] == 0).sum() == 0
    assert daily["magnesium_mg"].sum() == pytest.approx(
        sum(float(r["Magnesium (mg)"]) for r in rows if r["Magnesium (mg)"])
    )
    assert daily["caffeine_mg"].null_count() == 294 and daily["alcohol_g"].null_count() == 294
    assert set(daily["is_completed"]) == {False}


def test_small_daily_summaries() -> None:
    one = real("dawndrain__nutrition-dii-calculator/cronometer_dailysummary.csv")
    row = cronometer.read_dailysummary(one, UTC_CTX).tables["daily_nutrition"].row(0, named=True)
    assert row["local_date"] == date(2025, 3, 6)
    assert (row["magnesium_mg"], row["energy_kcal"], row["is_completed"]) == (190.5, 1477.23, False)
    five = real("stackingrockss__dashboard/dailysummary.csv")
    daily = cronometer.read_dailysummary(five, UTC_CTX).tables["daily_nutrition"]
    assert daily.filter(pl.col("local_date") == date(2025, 6, 25))["magnesium_mg"][0] is None
    assert daily.filter(pl.col("local_date") == date(2025, 6, 21))["magnesium_mg"][0] == 91.86


# --- Synthetic fixtures ----------------------------------------------------------------------

HEADER = (
    "Day,Time,Group,Food Name,Amount,Energy (kcal),B12 (Cobalamin) (µg),Magnesium (mg),"
    "Iron (mg),Caffeine (mg),Category\n"
)
SERVINGS = HEADER + (
    '2026-3-29,02:30,Supplements,"Magnesium Glycinate","2.00 capsule",0,,200.00,,,"Supplements"\n'
    '2026-03-29,9:05 PM,Dinner,"Lentils","200.00 g",230,0,72.00,6.6,,"Legumes"\n'
    '2026-03-29,,Snacks,"Gummy Vitamins","1.00 gummy",10,,,,,""\n'
    '2026-03-30,07:00,Breakfast,"Coffee","1.00 cup",2,,7.00,,95,"Beverages"\n'
    '2026-03-30,07:05,Breakfast,"Premier Protein Shake","1.00 shake",160,,90.00,,,"Supplements"\n'
    '2026-03-30,07:10,My Supplements,"Mag Complex","1.00 scoop",5,,150.00,,,""\n'
    '2026-03-31,08:00,Breakfast,"Oats","40.00 g",150,abc,n/a,1.0,,"Cereal"\n'
    '2026-02-30,08:00,Breakfast,"Not a day","40.00 g",150,,50.00,1.0,,""\n'
    '2026-04-01,8:99,Breakfast,"Not a time","40.00 g",150,,50.00,1.0,,""\n'
    '2026-04-01,08:00,Breakfast,"Big","1.00 g","1,234.50",,-1.00,,,""\n'
)


def _write(tmp_path: Path, text: str, name: str = "servings.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_synthetic_servings_supplements_rejects_and_dst(tmp_path: Path) -> None:
    berlin = ReadContext(participant_id="p1", timezone="Europe/Berlin")
    result = cronometer.read_servings(_write(tmp_path, SERVINGS), berlin)
    items = {r["row_number"]: r for r in result.tables["intake_items"].iter_rows(named=True)}
    assert sorted(items) == [1, 2, 3, 4, 5, 6, 10]
    assert [items[n]["is_supplement"] for n in (1, 2, 3, 4, 5, 6)] == [
        True, False, True, False, False, True,
    ]  # fmt: skip
    # 02:30 on the Berlin spring-forward night is read with the CET offset: 01:30 UTC.
    assert items[1]["consumed_at"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert items[2]["consumed_at"] == datetime(2026, 3, 29, 19, 5, tzinfo=UTC)  # CEST
    assert any("spring-forward gap" in w for w in result.warnings)
    assert items[3]["magnesium_mg"] is None and items[3]["nutrient_origin"] == "missing"
    assert items[4]["caffeine_mg"] == 95.0 and items[2]["caffeine_mg"] is None
    assert items[10]["energy_kcal"] == 1234.5 and items[10]["magnesium_mg"] == -1.0
    rejected = [(r.table, r.row_number, r.column, r.check, r.value) for r in result.rejected_rows]
    assert rejected == [
        ("intake_items", 7, "Magnesium (mg)", "number_format", "n/a"),
        ("intake_items", 8, "Day", "date_format", "2026-02-30"),
        ("intake_items", 9, "Time", "time_format", "8:99"),
    ]
    doses = result.tables["supplement_doses"]
    assert doses["row_number"].to_list() == [1, 6]  # the gummy has no magnesium value
    assert doses["form"].to_list() == ["glycinate", None]
    assert doses["amount_mg"].to_list() == [200.0, 150.0]
    assert doses["taken_at"][0] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "amount", "category", "group", "expected"),
    [
        ("Mg citrate", "1.00 serving", None, None, True),
        ("Magnesium", "1.00 serving", None, None, True),
        ("Fish oil softgels", "2.00 serving", None, None, True),
        ("Daily One", "1.00 Caplet", None, None, True),
        ("Kids Multi-Vitamin", "1.00 serving", None, None, True),
        ("Iron bisglycinate", "1.00 serving", "Supplements", None, True),
        ("Premier Protein Shake", "1.00 shake", "Supplements", None, False),
        ("Whey protein", "1.00 scoop", None, "My supplements", False),
        ("Potassium citrate", "1.00 g", None, None, False),
        ("Vitamin Water", "1.00 bottle", "Beverages", None, False),
        ("Haribo Gummy Bears", "10.00 g", "Sweets", None, False),
        ("Milk, with added vitamin D", "1.00 cup", None, None, False),
    ],
)
def test_supplement_rule(name, amount, category, group, expected) -> None:
    items = pl.DataFrame(
        {"item_name": [name], "amount_text": [amount], "category": [category],
         "meal_group": [group]},
        schema=dict.fromkeys(("item_name", "amount_text", "category", "meal_group"), pl.String),
    )  # fmt: skip
    assert cronometer.is_supplement(items).to_list() == [expected]


def test_wrong_columns_reject_the_file_naming_them(tmp_path: Path) -> None:
    no_name = "Day,Time,Amount,Energy (kcal),Magnesium (mg)\n2026-01-01,,1.00 g,1,2\n"
    path = _write(tmp_path, no_name)
    assert detect(path) is not None and detect(path).name == "cronometer_servings"
    with pytest.raises(RejectedFile, match="'Food Name'"):
        cronometer.read_servings(path, UTC_CTX)
    no_energy = "Day,Food Name,Magnesium (mg)\n2026-01-01,Oats,2\n"
    with pytest.raises(RejectedFile, match=r"'Amount', 'Energy \(kcal\)'"):
        cronometer.read_servings(_write(tmp_path, no_energy, "e.csv"), UTC_CTX)
    ragged = HEADER + "2026-01-01,,,Oats,1 g,1,,2,,,x,EXTRA,MORE\n"
    with pytest.raises(RejectedFile, match="not a readable CSV"):
        cronometer.read_servings(_write(tmp_path, ragged, "r.csv"), UTC_CTX)
    twice = "Day,Food Name,Amount,Energy (kcal),Magnesium (mg), Magnesium (mg)\n"
    with pytest.raises(RejectedFile, match="duplicate column"):
        cronometer.read_servings(
            _write(tmp_path, twice + "2026-01-01,a,1 g,1,2,3\n", "d.csv"), UTC_CTX
        )


def test_header_without_magnesium_and_header_only(tmp_path: Path) -> None:
    no_mg = "Day,Food Name,Amount,Energy (kcal)\n2026-01-01,Oats,40 g,150\n"
    result = cronometer.read_servings(_write(tmp_path, no_mg), UTC_CTX)
    assert result.tables["intake_items"]["nutrient_origin"].to_list() == ["missing"]
    assert any("Magnesium (mg)" in w for w in result.warnings)
    with pytest.raises(NothingToLoad):
        cronometer.read_servings(_write(tmp_path, HEADER, "h.csv"), UTC_CTX)


def test_daily_summary_rejects_bad_cells_and_repeated_dates(tmp_path: Path) -> None:
    text = (
        "Date,Energy (kcal),Magnesium (mg),Completed\n"
        "2026-01-01,2000,350.5,true\n"
        "2026-1-2,1800,,FALSE\n"
        "2026-01-03,x,300,false\n"
        "2026-01-01,2100,360,true\n"
        "2026-01-04,1900,310,maybe\n"
    )
    result = cronometer.read_dailysummary(_write(tmp_path, text, "dailysummary.csv"), UTC_CTX)
    daily = result.tables["daily_nutrition"]
    assert daily["local_date"].to_list() == [date(2026, 1, 1), date(2026, 1, 2)]
    assert daily["magnesium_mg"].to_list() == [350.5, None]
    assert daily["is_completed"].to_list() == [True, False]
    rejected = [(r.row_number, r.column, r.check, r.value) for r in result.rejected_rows]
    assert rejected == [
        (3, "Energy (kcal)", "number_format", "x"),
        (4, "Date", "unique_date", "2026-01-01"),
        (5, "Completed", "boolean_format", "maybe"),
    ]


def test_sniffers_decide_by_header(tmp_path: Path) -> None:
    servings, daily, bio = cronometer.FORMATS
    assert servings.sniff(SERVINGS.encode(), "x.csv") and not daily.sniff(SERVINGS.encode(), "x")
    summary = b"Date,Energy (kcal),Magnesium (mg),Completed\n"
    assert daily.sniff(summary, "servings.csv") and not servings.sniff(summary, "servings.csv")
    biometrics = b"Day,Time,Group,Metric,Unit,Amount\n"
    assert bio.sniff(biometrics, "x") and not servings.sniff(biometrics, "x")
    bom = "\ufeffDay,Food Name,Amount,Energy (kcal)\n".encode()
    assert servings.sniff(bom, "x")
    mfp = b"Date,Meal,Calories,Fat (g),Sodium (mg),Protein (g)\n"
    assert not any(f.sniff(mfp, "x.csv") for f in cronometer.FORMATS)
    assert len(SERVINGS.encode()) < SNIFF_BYTES


def test_rereading_gives_identical_frames(tmp_path: Path) -> None:
    path = _write(tmp_path, SERVINGS)
    first = cronometer.read_servings(path, NEW_YORK)
    second = cronometer.read_servings(path, NEW_YORK)
    for table in first.tables:
        assert_frame_equal(first.tables[table], second.tables[table])
    assert first.rejected_rows == second.rejected_rows


def test_format_declarations() -> None:
    names = {f.name: f for f in cronometer.FORMATS}
    assert set(names) == {"cronometer_servings", "cronometer_dailysummary", "cronometer_biometrics"}
    assert {f.source for f in cronometer.FORMATS} == {"cronometer"}
    for table in ("intake_items", "supplement_doses"):
        cover = names["cronometer_servings"].coverage[table]
        assert (cover.kind, cover.column) == ("dates", "local_date")
    cover = names["cronometer_dailysummary"].coverage["daily_nutrition"]
    assert (cover.kind, cover.column) == ("dates", "local_date")
