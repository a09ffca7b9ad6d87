"""Daily intake: magnesium sources, completeness, allowance, limit, rolling and evening."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.models.features import canonical, compute_features
from restless.models.intake import (
    evening_magnesium,
    magnesium_events,
    magnesium_rda_mg,
    magnesium_supplement_ul_mg,
    rolling_magnesium,
    with_local_times,
)
from restless.models.nights import participant_zones

UTC_PERSON = pl.DataFrame(
    {
        "participant_id": ["p1"],
        "timezone": ["UTC"],
        "sex": ["female"],
        "birth_year": [1990],
        "is_pregnant": [False],
        "is_lactating": [False],
    }
)


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def items(rows: list[dict]) -> pl.DataFrame:
    """Intake items of p1; each row gives local_date and what it needs."""
    base = {
        "participant_id": "p1",
        "source": "cronometer",
        "file_id": "f1",
        "item_name": "food",
        "is_supplement": False,
        "nutrient_origin": "export",
    }
    full = [{**base, "row_number": i, **row} for i, row in enumerate(rows)]
    return canonical({"intake_items": pl.DataFrame(full)}, "intake_items")


def doses(rows: list[dict]) -> pl.DataFrame:
    base = {
        "participant_id": "p1",
        "source": "supplement_log",
        "file_id": "f2",
        "product": "Mg glycinate",
        "amount_mg": 0.0,
        "amount_basis": "elemental",
    }
    full = [{**base, "row_number": i, **row} for i, row in enumerate(rows)]
    return canonical({"supplement_doses": pl.DataFrame(full)}, "supplement_doses")


def nutrition(rows: list[dict]) -> pl.DataFrame:
    base = {"participant_id": "p1", "source": "cronometer", "file_id": "f3"}
    return canonical(
        {"daily_nutrition": pl.DataFrame([{**base, **r} for r in rows])}, "daily_nutrition"
    )


def daily(core: dict[str, pl.DataFrame], people: pl.DataFrame = UTC_PERSON) -> pl.DataFrame:
    return compute_features(core, people)["daily_intake"]


D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)


def test_blank_magnesium_cells_are_unknown_not_zero() -> None:
    # Food Mg 100 + (blank) + 50.5 = 150.5 with one unknown item; the supplement row of the
    # food log (200 mg) is not food and has no dose record, so no supplement magnesium.
    # Energy 800 + 700 + (blank) + 0 = 1500; iron only known on one item.
    frame = items(
        [
            {"local_date": D1, "magnesium_mg": 100.0, "energy_kcal": 800.0, "iron_mg": 2.5},
            {"local_date": D1, "magnesium_mg": None, "energy_kcal": 700.0},
            {"local_date": D1, "magnesium_mg": 50.5, "energy_kcal": None},
            {"local_date": D1, "magnesium_mg": 200.0, "energy_kcal": 0.0, "is_supplement": True},
        ]
    )
    got = daily({"intake_items": frame}).select(
        "local_date",
        "intake_basis",
        "magnesium_food_mg",
        "magnesium_unknown_items",
        "magnesium_supplement_mg",
        "magnesium_total_mg",
        "energy_kcal",
        "iron_mg",
        "calcium_mg",
        "is_log_complete",
    )
    expected = pl.DataFrame(
        {
            "local_date": [D1],
            "intake_basis": ["servings"],
            "magnesium_food_mg": [150.5],
            "magnesium_unknown_items": [1],
            "magnesium_supplement_mg": [None],
            "magnesium_total_mg": [150.5],
            "energy_kcal": [1500.0],
            "iron_mg": [2.5],
            "calcium_mg": [None],
            "is_log_complete": [True],
        },
        schema_overrides={"magnesium_supplement_mg": pl.Float64, "calcium_mg": pl.Float64},
    )
    assert_frame_equal(got, expected)


def test_supplement_counted_once_from_doses_and_ul_uses_supplements_only() -> None:
    # D1: food 100, a logged capsule row (200) that is also a dose (200) -> total 300.
    # D2: food 500 + doses 250 + 150 = 400 supplement > 350 UL -> flagged.
    # D3: food 500 + dose 300: total 800 is far above 350 but supplements are not.
    frame = items(
        [
            {"local_date": D1, "magnesium_mg": 100.0, "energy_kcal": 1500.0},
            {"local_date": D1, "magnesium_mg": 200.0, "is_supplement": True},
            {"local_date": D2, "magnesium_mg": 500.0, "energy_kcal": 1500.0},
            {"local_date": D3, "magnesium_mg": 500.0, "energy_kcal": 1500.0},
        ]
    )
    taken = doses(
        [
            {"local_date": D1, "magnesium_elemental_mg": 200.0},
            {"local_date": D2, "magnesium_elemental_mg": 250.0},
            {"local_date": D2, "magnesium_elemental_mg": 150.0},
            {"local_date": D3, "magnesium_elemental_mg": 300.0},
        ]
    )
    got = daily({"intake_items": frame, "supplement_doses": taken}).select(
        "local_date",
        "magnesium_food_mg",
        "magnesium_supplement_mg",
        "magnesium_total_mg",
        "magnesium_supplement_ul_mg",
        "is_supplement_over_ul",
        "supplement_dose_count",
    )
    expected = pl.DataFrame(
        {
            "local_date": [D1, D2, D3],
            "magnesium_food_mg": [100.0, 500.0, 500.0],
            "magnesium_supplement_mg": [200.0, 400.0, 300.0],
            "magnesium_total_mg": [300.0, 900.0, 800.0],
            "magnesium_supplement_ul_mg": [350.0, 350.0, 350.0],
            "is_supplement_over_ul": [False, True, False],
            "supplement_dose_count": [1, 2, 1],
        }
    )
    assert_frame_equal(got, expected)


def test_daily_summary_only_where_no_items_and_supplement_only_days() -> None:
    # D1 has items (Mg 120) and a summary (Mg 999): items win, the summary is ignored.
    # D2 has only the summary: its totals, basis 'daily_summary'.
    # D3 has only a dose: total = supplement, no food log, so not complete.
    frame = items([{"local_date": D1, "magnesium_mg": 120.0, "energy_kcal": 1200.0}])
    summary = nutrition(
        [
            {"local_date": D1, "magnesium_mg": 999.0, "energy_kcal": 3000.0},
            {"local_date": D2, "magnesium_mg": 320.0, "energy_kcal": 1800.0, "caffeine_mg": 95.0},
        ]
    )
    taken = doses([{"local_date": D3, "magnesium_elemental_mg": 100.0}])
    got = daily(
        {"intake_items": frame, "daily_nutrition": summary, "supplement_doses": taken}
    ).select(
        "local_date",
        "intake_basis",
        "magnesium_food_mg",
        "magnesium_total_mg",
        "energy_kcal",
        "caffeine_mg",
        "is_log_complete",
    )
    expected = pl.DataFrame(
        {
            "local_date": [D1, D2, D3],
            "intake_basis": ["servings", "daily_summary", None],
            "magnesium_food_mg": [120.0, 320.0, None],
            "magnesium_total_mg": [120.0, 320.0, 100.0],
            "energy_kcal": [1200.0, 1800.0, None],
            "caffeine_mg": [None, 95.0, None],
            "is_log_complete": [True, True, False],
        },
        schema_overrides={"caffeine_mg": pl.Float64},
    )
    assert_frame_equal(got, expected)


def test_log_completeness_and_late_caffeine() -> None:
    # D1: times 08:00, 14:00, 16:00, untimed, 20:00 -> caffeine 95+95+40+30 = 260, after
    #     14:00 (inclusive) 95+40 = 135; 2,000 kcal with afternoon items -> complete.
    # D2: 2,000 kcal but every timed item before noon -> incomplete; no caffeine data.
    # D3: 800 kcal, untimed -> incomplete (energy); late caffeine null (no times).
    frame = items(
        [
            {"local_date": D1, "local_time": time(8), "caffeine_mg": 95.0, "energy_kcal": 500.0},
            {"local_date": D1, "local_time": time(14), "caffeine_mg": 95.0},
            {"local_date": D1, "local_time": time(16), "caffeine_mg": 40.0},
            {"local_date": D1, "caffeine_mg": 30.0, "energy_kcal": 1500.0},
            {"local_date": D1, "local_time": time(20), "caffeine_mg": None},
            {"local_date": D2, "local_time": time(9), "energy_kcal": 1000.0},
            {"local_date": D2, "local_time": time(11, 59), "energy_kcal": 1000.0},
            {"local_date": D3, "caffeine_mg": 80.0, "energy_kcal": 800.0},
        ]
    )
    got = daily({"intake_items": frame}).select(
        "local_date", "caffeine_mg", "caffeine_after_14_mg", "is_log_complete"
    )
    expected = pl.DataFrame(
        {
            "local_date": [D1, D2, D3],
            "caffeine_mg": [260.0, None, 80.0],
            "caffeine_after_14_mg": [135.0, None, None],
            "is_log_complete": [True, False, False],
        }
    )
    assert_frame_equal(got, expected)


def test_allowance_by_age_band_across_the_30_31_boundary() -> None:
    # Born 1995: 30 on 2025-12-31 (RDA 310 for women, 400 for men), 31 on 2026-01-01
    # (320 / 420). Totals 248 and 240 mg -> 80 % and 75 % for the woman.
    people = pl.DataFrame(
        {
            "participant_id": ["p1", "p2"],
            "timezone": ["UTC", "UTC"],
            "sex": ["female", "male"],
            "birth_year": [1995, 1995],
            "is_pregnant": [None, None],
            "is_lactating": [None, None],
        }
    )
    rows = [
        ("p1", date(2025, 12, 31), 248.0),
        ("p1", date(2026, 1, 1), 240.0),
        ("p2", date(2025, 12, 31), 200.0),
        ("p2", date(2026, 1, 1), 210.0),
    ]
    frame = pl.concat(
        items([{"local_date": d, "magnesium_mg": mg}]).with_columns(
            pl.lit(p).alias("participant_id")
        )
        for p, d, mg in rows
    )
    got = daily({"intake_items": frame}, people).select(
        "participant_id", "local_date", "magnesium_rda_mg", "magnesium_pct_rda"
    )
    expected = pl.DataFrame(
        {
            "participant_id": ["p1", "p1", "p2", "p2"],
            "local_date": [date(2025, 12, 31), date(2026, 1, 1)] * 2,
            "magnesium_rda_mg": [310.0, 320.0, 400.0, 420.0],
            "magnesium_pct_rda": [80.0, 75.0, 50.0, 50.0],
        }
    )
    assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("sex", "age", "pregnant", "lactating", "rda", "ul"),
    [
        ("female", 30, True, False, 350.0, 350.0),
        ("female", 31, True, False, 360.0, 350.0),
        ("female", 17, True, False, 400.0, 350.0),
        ("female", 17, False, True, 360.0, 350.0),
        ("female", 25, False, True, 310.0, 350.0),
        ("female", 45, True, True, 360.0, 350.0),  # pregnancy wins
        ("female", 55, True, False, 320.0, 350.0),  # no pregnancy row past 50
        ("male", 17, False, False, 410.0, 350.0),
        ("male", 51, False, False, 420.0, 350.0),
        ("female", 14, False, False, 360.0, 350.0),
        ("male", 13, False, False, 240.0, 350.0),
        ("female", 9, False, False, 240.0, 350.0),
        ("male", 8, False, False, 130.0, 110.0),
        ("female", 4, False, False, 130.0, 110.0),
        ("male", 3, False, False, 80.0, 65.0),
        ("female", 1, False, False, 80.0, 65.0),
        ("female", 0, False, False, None, None),  # infants: AI by month, not by year
        (None, 40, False, False, None, 350.0),  # sex unknown: no RDA, UL still known
        ("female", None, False, False, None, None),
    ],
)
def test_rda_and_ul_table(
    sex: str | None,
    age: int | None,
    pregnant: bool,
    lactating: bool,
    rda: float | None,
    ul: float | None,
) -> None:
    frame = pl.DataFrame(
        {"sex": [sex], "age": [age], "is_pregnant": [pregnant], "is_lactating": [lactating]},
        schema={
            "sex": pl.String,
            "age": pl.Int64,
            "is_pregnant": pl.Boolean,
            "is_lactating": pl.Boolean,
        },
    )
    got = frame.select(
        magnesium_rda_mg(pl.col("age")).alias("rda"),
        magnesium_supplement_ul_mg(pl.col("age")).alias("ul"),
    )
    assert got.row(0) == (rda, ul)


def test_rolling_means_skip_incomplete_and_missing_days() -> None:
    # Totals: D1 300 ok, D2 200 incomplete, D3 400 ok, D4 none, D5 100 ok, D6 500 ok,
    # D7 none, D8 600 ok. 3-day means: D3 (300,400)=350, D5 (400,100)=250,
    # D7 (100,500)=300, D8 (500,600)=550, D2 (300)=300, D4 (400)=400.
    # 7-day: D7 over D1..D7 (300,400,100,500)=325, D8 over D2..D8 (400,100,500,600)=400.
    day = [date(2026, 1, d) for d in range(1, 9)]
    daily_frame = pl.DataFrame(
        {
            "participant_id": "p1",
            "local_date": [day[0], day[1], day[2], day[4], day[5], day[7]],
            "magnesium_total_mg": [300.0, 200.0, 400.0, 100.0, 500.0, 600.0],
            "is_log_complete": [True, False, True, True, True, True],
        }
    )
    keys = pl.DataFrame({"participant_id": "p1", "night_date": day})
    got = rolling_magnesium(keys, daily_frame, "night_date")
    expected = pl.DataFrame(
        {
            "participant_id": "p1",
            "night_date": day,
            "magnesium_3d_mean_mg": [300.0, 300.0, 350.0, 400.0, 250.0, 300.0, 300.0, 550.0],
            "magnesium_7d_mean_mg": [
                300.0,
                300.0,
                350.0,
                350.0,
                800 / 3,
                325.0,
                325.0,
                400.0,
            ],
        }
    )
    assert_frame_equal(got, expected)


def test_rolling_mean_is_null_without_complete_days() -> None:
    daily_frame = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "local_date": [date(2026, 1, 1)],
            "magnesium_total_mg": [300.0],
            "is_log_complete": [False],
        }
    )
    keys = pl.DataFrame({"participant_id": ["p1"], "night_date": [date(2026, 1, 2)]})
    got = rolling_magnesium(keys, daily_frame, "night_date")
    assert got.select("magnesium_3d_mean_mg", "magnesium_7d_mean_mg").row(0) == (None, None)


BERLIN_PERSON = UTC_PERSON.with_columns(pl.lit("Europe/Berlin").alias("timezone"))


def test_evening_magnesium_window_before_onset() -> None:
    # Europe/Berlin, CET (UTC+1). Night 2026-01-10: onset 22:30 local, window 18:30-22:30.
    #   items: 12:00 (100, out), 19:00 (80, in), 22:30 (999, at onset: out), untimed (40),
    #   dose 21:00 (200, in) -> 280; untimed share 1 of 5 magnesium-bearing = 0.2.
    # Night 2026-01-11: onset 00:30 local on the 12th, window 20:30-00:30: item 23:45 on
    #   the 11th (60) and a dose 00:10 on the 12th (100) -> 160.
    # Night 2026-01-12: timed items, none inside -> 0.0.
    # Night 2026-01-13: only an untimed item -> null (cannot judge).
    d10, d11, d12, d13 = (date(2026, 1, d) for d in (10, 11, 12, 13))
    food = items(
        [
            {"local_date": d10, "local_time": time(12), "magnesium_mg": 100.0},
            {"local_date": d10, "local_time": time(19), "magnesium_mg": 80.0},
            {"local_date": d10, "local_time": time(22, 30), "magnesium_mg": 999.0},
            {"local_date": d10, "magnesium_mg": 40.0},
            {"local_date": d11, "local_time": time(23, 45), "magnesium_mg": 60.0},
            {"local_date": d12, "local_time": time(8), "magnesium_mg": 70.0},
            {"local_date": d13, "magnesium_mg": 90.0},
        ]
    )
    taken = doses(
        [
            {"local_date": d10, "local_time": time(21), "magnesium_elemental_mg": 200.0},
            {"local_date": d12, "local_time": time(0, 10), "magnesium_elemental_mg": 100.0},
        ]
    )
    zones = participant_zones(BERLIN_PERSON)
    events = magnesium_events(
        with_local_times(food, zones, "consumed_at"), with_local_times(taken, zones, "taken_at")
    )
    nights = pl.DataFrame(
        {
            "participant_id": "p1",
            "night_date": [d10, d11, d12, d13],
            "sleep_onset_at": [
                u("2026-01-10T21:30"),
                u("2026-01-11T23:30"),
                u("2026-01-12T22:00"),
                u("2026-01-13T22:00"),
            ],
        }
    )
    got = evening_magnesium(nights, events)
    expected = pl.DataFrame(
        {
            "participant_id": "p1",
            "night_date": [d10, d11, d12, d13],
            "magnesium_evening_mg": [280.0, 160.0, 0.0, None],
        }
    )
    assert_frame_equal(got, expected)
    share = daily({"intake_items": food, "supplement_doses": taken}, BERLIN_PERSON)
    assert share.filter(pl.col("local_date") == d10)["magnesium_untimed_share"].to_list() == [0.2]


def test_local_time_derived_from_instant_in_participant_zone() -> None:
    # An item with only consumed_at 2026-07-01 12:30 UTC is 14:30 in Berlin (CEST), so its
    # caffeine is afternoon caffeine.
    frame = items(
        [
            {
                "local_date": date(2026, 7, 1),
                "consumed_at": u("2026-07-01T12:30"),
                "caffeine_mg": 60.0,
            }
        ]
    )
    got = daily({"intake_items": frame}, BERLIN_PERSON).select("caffeine_after_14_mg")
    assert got.row(0) == (60.0,)
