"""compute_features end to end on a tiny hand-computed participant, plus the contracts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest.base import ReadContext
from restless.models import params
from restless.models.features import canonical, compute_features
from restless.models.nightly import daily_activity
from restless.models.nights import participant_zones
from restless.schemas.features import FEATURE_MODELS, DailyIntake, Nightly

CONTRACT = [
    "participant_id",
    "night_date",
    "timezone",
    "sleep_onset_at",
    "sleep_offset_at",
    "tst_min",
    "sol_min",
    "waso_min",
    "sleep_efficiency",
    "awakenings",
    "lm_count",
    "lm_index",
    "plms_count",
    "plms_index",
    "periodicity_index",
    "restless_min",
    "restlessness_method",
    "coverage",
    "magnesium_food_mg",
    "magnesium_supplement_mg",
    "magnesium_total_mg",
    "magnesium_rda_mg",
    "magnesium_pct_rda",
    "magnesium_3d_mean_mg",
    "magnesium_7d_mean_mg",
    "magnesium_evening_mg",
    "iron_mg",
    "calcium_mg",
    "caffeine_mg",
    "caffeine_after_14_mg",
    "alcohol_g",
    "energy_kcal",
    "is_log_complete",
    "steps",
    "active_min",
]

PEOPLE = pl.DataFrame(
    {
        "participant_id": ["p1"],
        "timezone": ["Europe/Berlin"],
        "sex": ["female"],
        "birth_year": [1990],
        "is_pregnant": [False],
        "is_lactating": [None],
    }
)
D10, D11, D12 = date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def lineage(source: str, n: int) -> dict[str, list[str]]:
    return {"participant_id": ["p1"] * n, "source": [source] * n, "file_id": [f"{source}-1"] * n}


def scenario() -> dict[str, pl.DataFrame]:
    """Berlin (CET = UTC+1), female born 1990 (RDA 320 mg in 2026).

    Night 10: fitbit 22:00-06:00 local (21:00-05:00 UTC), asleep except restless
      01:00-01:05 UTC -> TST 475, restless 5 min in 1 bout.
    Night 11: fitbit 00:30-07:30 local (23:30-06:30 UTC) without stages, vendor 400 min
      asleep; a 14:00 nap the same day is ignored.
    Day 10: breakfast 08:00 (Mg 100, 600 kcal), dinner 19:00 (Mg 150, 900 kcal), dose 20:30
      (200 mg) -> total 450, complete; evening window 18:00-22:00 local -> 150 + 200.
    Day 11: one untimed item (Mg 100, 500 kcal) -> incomplete; no timed item -> evening null.
    Day 12: intake (Mg 300, 2,000 kcal) but no sleep: a daily_intake row, not a night.
    Steps (garmin_fit, local day 10): 120+100+99+0+null in 60-s epochs and 1,600 in one
      15-min epoch -> 1,919 steps; cadence >= 100 in 2 one-minute epochs and the 15-min
      epoch (106.7/min) -> 17 active min. A fitbit epoch of 5,000 steps covers only 60 s of
      that day and loses. 23:30 UTC on the 10th is 00:30 local on the 11th: 500 steps.
    """
    sleep_periods = pl.DataFrame(
        {
            **lineage("fitbit", 3),
            "period_key": ["k10", "k11", "nap11"],
            "start_at": [u("2026-01-10T21:00"), u("2026-01-11T23:30"), u("2026-01-11T13:00")],
            "end_at": [u("2026-01-11T05:00"), u("2026-01-12T06:30"), u("2026-01-11T14:00")],
            "vendor_minutes_asleep": [None, 400.0, 55.0],
        }
    )
    sleep_stages = pl.DataFrame(
        {
            **lineage("fitbit", 3),
            "period_key": ["k10"] * 3,
            "start_at": [u("2026-01-10T21:00"), u("2026-01-11T01:00"), u("2026-01-11T01:05")],
            "end_at": [u("2026-01-11T01:00"), u("2026-01-11T01:05"), u("2026-01-11T05:00")],
            "stage": ["asleep", "restless", "asleep"],
        }
    )
    intake_items = pl.DataFrame(
        {
            **lineage("cronometer", 4),
            "row_number": [0, 1, 2, 3],
            "local_date": [D10, D10, D11, D12],
            "local_time": [time(8), time(19), None, None],
            "item_name": ["oats", "spinach", "bread", "beans"],
            "is_supplement": [False] * 4,
            "energy_kcal": [600.0, 900.0, 500.0, 2000.0],
            "magnesium_mg": [100.0, 150.0, 100.0, 300.0],
            "nutrient_origin": ["export"] * 4,
        }
    )
    supplement_doses = pl.DataFrame(
        {
            **lineage("supplement_log", 1),
            "row_number": [0],
            "local_date": [D10],
            "local_time": [time(20, 30)],
            "taken_at": [u("2026-01-10T19:30")],
            "product": ["Mg citrate"],
            "amount_mg": [200.0],
            "amount_basis": ["elemental"],
            "magnesium_elemental_mg": [200.0],
        }
    )
    minute = [u("2026-01-10T10:00") + timedelta(minutes=i) for i in range(5)]
    movement_epochs = pl.concat(
        [
            pl.DataFrame(
                {
                    **lineage("garmin_fit", 7),
                    "epoch_start_at": [*minute, u("2026-01-10T12:00"), u("2026-01-10T23:30")],
                    "epoch_s": [60.0] * 5 + [900.0, 60.0],
                    "steps": [120, 100, 99, 0, None, 1600, 500],
                }
            ),
            pl.DataFrame(
                {
                    **lineage("fitbit", 1),
                    "epoch_start_at": [u("2026-01-10T15:00")],
                    "epoch_s": [60.0],
                    "steps": [5000],
                }
            ),
        ]
    )
    return {
        "sleep_periods": sleep_periods,
        "sleep_stages": sleep_stages,
        "intake_items": intake_items,
        "supplement_doses": supplement_doses,
        "movement_epochs": movement_epochs,
    }


def test_nightly_end_to_end() -> None:
    nightly = compute_features(scenario(), PEOPLE)["nightly"]
    got = nightly.select(
        "night_date",
        "timezone",
        "sleep_period_key",
        "tst_min",
        "sleep_efficiency",
        "restlessness_method",
        "restless_min",
        "restless_count",
        "coverage",
        "magnesium_total_mg",
        "magnesium_pct_rda",
        "magnesium_3d_mean_mg",
        "magnesium_evening_mg",
        "is_log_complete",
        "steps",
        "active_min",
        "lm_count",
    )
    expected = pl.DataFrame(
        {
            "night_date": [D10, D11],
            "timezone": ["Europe/Berlin"] * 2,
            "sleep_period_key": ["k10", "k11"],
            "tst_min": [475.0, 400.0],
            "sleep_efficiency": [475 / 480 * 100, 400 / 420 * 100],
            "restlessness_method": ["vendor_restless", None],
            "restless_min": [5.0, None],
            "restless_count": [1, None],
            "coverage": [1.0, 0.0],
            "magnesium_total_mg": [450.0, 100.0],
            "magnesium_pct_rda": [450 / 320 * 100, 100 / 320 * 100],
            "magnesium_3d_mean_mg": [450.0, 450.0],
            "magnesium_evening_mg": [350.0, None],
            "is_log_complete": [True, False],
            "steps": [1919, 500],
            "active_min": [17.0, 1.0],
            "lm_count": [None, None],
        },
        schema_overrides={"lm_count": pl.Int64},
    )
    assert_frame_equal(got, expected)


def test_nightly_has_the_contract_columns_and_day_without_sleep_is_only_daily() -> None:
    out = compute_features(scenario(), PEOPLE)
    assert set(CONTRACT) <= set(out["nightly"].columns)
    assert out["nightly"]["night_date"].to_list() == [D10, D11]
    assert out["daily_intake"]["local_date"].to_list() == [D10, D11, D12]
    assert out["nightly"].schema["sleep_onset_at"] == pl.Datetime("us", "UTC")


def test_result_does_not_depend_on_input_row_order() -> None:
    core = scenario()
    shuffled = {
        name: frame.sample(fraction=1.0, shuffle=True, seed=7) for name, frame in core.items()
    }
    first, second = compute_features(core, PEOPLE), compute_features(shuffled, PEOPLE)
    for name in ("nightly", "daily_intake"):
        assert_frame_equal(first[name], second[name])


def test_missing_and_empty_tables_give_empty_valid_frames() -> None:
    empty = {"sleep_periods": scenario()["sleep_periods"].clear()}
    out = compute_features(empty, PEOPLE)
    assert out["nightly"].height == 0 and out["daily_intake"].height == 0
    assert set(CONTRACT) <= set(out["nightly"].columns)


def test_daily_activity_picks_one_source_per_day() -> None:
    epochs = canonical({"movement_epochs": scenario()["movement_epochs"]}, "movement_epochs")
    got = daily_activity(epochs, participant_zones(PEOPLE))
    expected = pl.DataFrame(
        {
            "participant_id": ["p1", "p1"],
            "local_date": [D10, D11],
            "steps": [1919, 500],
            "active_min": [17.0, 1.0],
        }
    )
    assert_frame_equal(got, expected)


def test_schemas_reject_broken_rows() -> None:
    nightly = compute_features(scenario(), PEOPLE)["nightly"]
    with pytest.raises(pandera.errors.SchemaErrors):
        Nightly.validate(nightly.with_columns(pl.lit(120.0).alias("sleep_efficiency")), lazy=True)
    with pytest.raises(pandera.errors.SchemaErrors):
        Nightly.validate(pl.concat([nightly, nightly]), lazy=True)
    daily = compute_features(scenario(), PEOPLE)["daily_intake"]
    with pytest.raises(pandera.errors.SchemaErrors):
        DailyIntake.validate(daily.with_columns(pl.col("magnesium_total_mg") + 1.0), lazy=True)
    assert {"daily_intake": DailyIntake, "nightly": Nightly} == {
        k: FEATURE_MODELS[k] for k in ("daily_intake", "nightly")
    }
    assert set(FEATURE_MODELS) == {
        "daily_intake",
        "nightly",
        "magnesium_response",
        "imi_histogram",
        "leg_movements",
    }


def test_params_are_recorded_as_json() -> None:
    recorded = json.loads(json.dumps(params.as_dict()))
    assert recorded["night_boundary_hour"] == 12
    assert recorded["sleep_source_priority"][:1] == ["actigraph"]
    assert recorded["sleep_source_priority"][-5:] == [  # raw recordings' own windows last
        "axivity",
        "geneactiv",
        "actigraph_raw",
        "matrix",
        "raw_csv",
    ]
    assert recorded["hdcza_min_covered_h"] == 16.0
    assert [31, 50, 420.0, 320.0, 360.0, 320.0] in recorded["magnesium_rda_mg"]
    assert recorded["magnesium_supplement_ul_mg"][-1] == [9, 200, 350.0]
    assert recorded["log_min_energy_kcal"] == 1000.0


def test_real_fitbit_log_reproduces_the_vendor_summary() -> None:
    # The shared real export has a classic log (asleep 73, awake 6 + restless 5 min in one
    # bout per levels.summary) and a stages log (asleep 236, awake 32). Our TST must equal
    # Fitbit's minutesAsleep, WASO its minutesAwake (classic: awake + restless).
    path = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
    path = path / "wearables" / "fitbit" / "sleep-1995-06-23_Fitbit.json"
    if not path.exists():
        pytest.skip(f"shared real Fitbit file not available: {path}")
    from restless.ingest import fitbit

    fmt = next(f for f in fitbit.FORMATS if f.name == "fitbit_sleep")
    result = fmt.read(path, ReadContext(participant_id="p1", timezone="UTC"))
    core = {
        table: frame.with_columns(
            participant_id=pl.lit("p1"), source=pl.lit("fitbit"), file_id=pl.lit("f1")
        )
        for table, frame in result.tables.items()
    }
    people = pl.DataFrame({"participant_id": ["p1"], "timezone": ["UTC"]})
    got = compute_features(core, people)["nightly"].select(
        "night_date", "tst_min", "waso_min", "sol_min", "restless_min", "restless_count"
    )
    expected = pl.DataFrame(
        {
            "night_date": [date(1995, 6, 24), date(1995, 7, 10)],
            "tst_min": [73.0, 236.0],
            "waso_min": [6.0, 32.0],
            "sol_min": [0.0, 0.0],
            "restless_min": [5.0, None],
            "restless_count": [1, None],
        }
    )
    assert_frame_equal(got, expected)


# --- Vendor scores and score-only nights --------------------------------------------------


def oura_day_scores(day: date, **scores: float) -> pl.DataFrame:
    """core.vendor_scores rows of one Oura daily_sleep document (``day`` = Oura's day)."""
    return pl.DataFrame(
        {
            **lineage("oura", len(scores)),
            "local_date": [day] * len(scores),
            "period_key": [None] * len(scores),
            "score_name": list(scores),
            "value": list(scores.values()),
        },
        schema_overrides={"period_key": pl.String},
    )


def test_score_only_night_from_oura_daily_sleep() -> None:
    # Oura day 12 scores the sleep that ended on the 12th = night 11, which has a Fitbit
    # period: the row stays Fitbit's and takes no Oura number (vendors are never mixed).
    # Oura day 13 = night 12, which has no period at all: a score-only row. Day 12's intake
    # (300 mg, 2,000 kcal, untimed) is that night's exposure: complete log, 3-day mean over
    # complete days 10 and 12 = (450 + 300) / 2, no evening window without an onset.
    core = scenario()
    core["vendor_scores"] = pl.concat(
        [
            oura_day_scores(D12, oura_sleep_score=90.0, oura_contributor_restfulness=60.0),
            oura_day_scores(
                date(2026, 1, 13),
                oura_sleep_score=82.0,
                oura_contributor_restfulness=71.0,
                oura_contributor_timing=50.0,
            ),
        ]
    )
    nightly = compute_features(core, PEOPLE)["nightly"]
    got = nightly.select(
        "night_date",
        "timezone",
        "sleep_source",
        "sleep_period_key",
        "sleep_onset_at",
        "time_in_bed_min",
        "tst_min",
        "restlessness_method",
        "restless_min",
        "coverage",
        "vendor_sleep_score",
        "vendor_restfulness_score",
        "magnesium_total_mg",
        "magnesium_3d_mean_mg",
        "magnesium_evening_mg",
        "energy_kcal",
        "is_log_complete",
    )
    expected = pl.DataFrame(
        {
            "night_date": [D10, D11, D12],
            "timezone": ["Europe/Berlin"] * 3,
            "sleep_source": ["fitbit", "fitbit", "oura"],
            "sleep_period_key": ["k10", "k11", None],
            "sleep_onset_at": [u("2026-01-10T21:00"), u("2026-01-11T23:30"), None],
            "time_in_bed_min": [480.0, 420.0, None],
            "tst_min": [475.0, 400.0, None],
            "restlessness_method": ["vendor_restless", None, None],
            "restless_min": [5.0, None, None],
            "coverage": [1.0, 0.0, 0.0],
            "vendor_sleep_score": [None, None, 82.0],
            "vendor_restfulness_score": [None, None, 71.0],
            "magnesium_total_mg": [450.0, 100.0, 300.0],
            "magnesium_3d_mean_mg": [450.0, 450.0, 375.0],
            "magnesium_evening_mg": [350.0, None, None],
            "energy_kcal": [1500.0, 500.0, 2000.0],
            "is_log_complete": [True, False, True],
        },
        schema_overrides={
            "sleep_onset_at": pl.Datetime("us", "UTC"),
            "vendor_sleep_score": pl.Float64,
            "vendor_restfulness_score": pl.Float64,
        },
    )
    assert_frame_equal(got, expected)
    assert nightly.filter(pl.col("night_date") == D12)["lm_count"].to_list() == [None]


def test_vendor_scores_come_from_the_nights_own_source() -> None:
    # WHOOP night 10 (sleep performance 77 % on the period) and Garmin night 11 (overall 81,
    # restlessness score 64 on the period); Oura daily scores exist for both nights (days 11
    # and 12) and must not leak into them. No intake: nightly rows still come out.
    periods = pl.DataFrame(
        {
            "participant_id": ["p1", "p1"],
            "source": ["whoop", "garmin_fit"],
            "file_id": ["w", "g"],
            "period_key": ["w10", "g11"],
            "start_at": [u("2026-01-10T22:00"), u("2026-01-11T22:00")],
            "end_at": [u("2026-01-11T06:00"), u("2026-01-12T06:00")],
            "vendor_sleep_score": [77.0, 81.0],
            "vendor_restlessness_score": [None, 64.0],
        }
    )
    core = {
        "sleep_periods": periods,
        "vendor_scores": pl.concat(
            [
                oura_day_scores(D11, oura_sleep_score=50.0, oura_contributor_restfulness=40.0),
                oura_day_scores(D12, oura_sleep_score=55.0, oura_contributor_restfulness=45.0),
            ]
        ),
    }
    got = compute_features(core, PEOPLE)["nightly"].select(
        "night_date", "sleep_source", "vendor_sleep_score", "vendor_restfulness_score"
    )
    expected = pl.DataFrame(
        {
            "night_date": [D10, D11],
            "sleep_source": ["whoop", "garmin_fit"],
            "vendor_sleep_score": [77.0, 81.0],
            "vendor_restfulness_score": [None, 64.0],
        },
        schema_overrides={"vendor_restfulness_score": pl.Float64},
    )
    assert_frame_equal(got, expected)


def test_nightly_schema_keeps_score_only_rows_honest() -> None:
    core = scenario()
    core["vendor_scores"] = oura_day_scores(date(2026, 1, 13), oura_sleep_score=82.0)
    nightly = compute_features(core, PEOPLE)["nightly"]
    Nightly.validate(nightly, lazy=True)
    score_only = pl.col("sleep_period_key").is_null()
    broken = [
        # a score-only row without any score
        nightly.with_columns(
            pl.when(score_only)
            .then(None)
            .otherwise(pl.col("vendor_sleep_score"))
            .alias("vendor_sleep_score")
        ),
        # a score-only row with a window
        nightly.with_columns(
            pl.when(score_only)
            .then(pl.lit(60.0))
            .otherwise(pl.col("time_in_bed_min"))
            .alias("time_in_bed_min")
        ),
        # a period without its time in bed
        nightly.with_columns(
            pl.when(score_only).then(pl.col("time_in_bed_min")).alias("time_in_bed_min")
        ),
    ]
    for frame in broken:
        with pytest.raises(pandera.errors.SchemaErrors):
            Nightly.validate(frame, lazy=True)
