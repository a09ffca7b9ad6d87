"""features.magnesium_response: hand-computed comparisons, the weekly block bootstrap, and
simulated participants whose true effect is known (coverage of the 95 % interval)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandera.errors
import polars as pl
import pytest

from restless.models import params
from restless.models.features import compute_features
from restless.models.response import (
    magnesium_response,
    spearman_rho,
    supplement_periods,
    weighted_ranks,
    weighted_spearman,
)
from restless.schemas.features import MagnesiumResponse
from tests.test_models_features import D10, D11, PEOPLE, scenario

MONDAY = date(2025, 1, 6)
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "night_date": pl.Date(),
    "sleep_source": pl.String(),
    "restlessness_method": pl.String(),
    "restless_min": pl.Float64(),
    "plms_index": pl.Float64(),
    "waso_min": pl.Float64(),
    "sleep_efficiency": pl.Float64(),
    "magnesium_total_mg": pl.Float64(),
    "magnesium_pct_rda": pl.Float64(),
    "magnesium_supplement_mg": pl.Float64(),
    "is_log_complete": pl.Boolean(),
    "vendor_sleep_score": pl.Float64(),
    "vendor_restfulness_score": pl.Float64(),
}
DEFAULTS = {
    "participant_id": "p1",
    "sleep_source": "fitbit",
    "restlessness_method": "vendor_restless",
    "is_log_complete": True,
}


def nights(start: date = MONDAY, **columns: list) -> pl.DataFrame:
    """A nightly-shaped frame, one row per list element on consecutive nights from ``start``;
    columns not given take DEFAULTS or null. ``magnesium_total_mg`` defaults to 3.2 x the
    percentage (an allowance of 320 mg)."""
    n = len(next(iter(columns.values())))
    data = {name: [DEFAULTS.get(name)] * n for name in INPUT_SCHEMA}
    data["night_date"] = [start + timedelta(days=i) for i in range(n)]
    if "magnesium_pct_rda" in columns and "magnesium_total_mg" not in columns:
        data["magnesium_total_mg"] = [
            None if p is None else 3.2 * p for p in columns["magnesium_pct_rda"]
        ]
    data.update(columns)
    return pl.DataFrame(data, schema=INPUT_SCHEMA)


def row(out: pl.DataFrame, **key: object) -> dict:
    hit = out.filter(**{k: v for k, v in key.items() if v is not None})
    if "restlessness_method" in key and key["restlessness_method"] is None:
        hit = hit.filter(pl.col("restlessness_method").is_null())
    assert hit.height == 1, hit
    return hit.row(0, named=True)


# --- Spearman's rho ------------------------------------------------------------------------


def test_spearman_with_ties_matches_the_hand_computation() -> None:
    # x ranks 1, 2.5, 2.5, 4, 5; y ranks 2, 1, 3.5, 3.5, 5 (both mean 3):
    # sum dx*dy = 2 + 1 - 0.25 + 0.5 + 4 = 7.25; sum dx^2 = sum dy^2 = 9.5 -> 29/38
    assert spearman_rho([1, 2, 2, 3, 4], [2, 1, 3, 3, 5]) == pytest.approx(29 / 38, abs=1e-12)
    assert spearman_rho([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman_rho([1, 1, 1], [1, 2, 3]) is None  # no variation: undefined
    assert spearman_rho([1.0], [2.0]) is None


def test_spearman_agrees_with_polars_average_rank_correlation() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 40).astype(float)  # many ties
    y = x + rng.integers(-3, 4, 40)
    expected = pl.DataFrame({"x": x, "y": y}).select(pl.corr("x", "y", method="spearman")).item()
    assert spearman_rho(x, y) == pytest.approx(expected, abs=1e-12)


def test_weighted_ranks_are_the_ranks_of_the_repeated_values() -> None:
    values = np.array([3.0, 1.0, 3.0, 2.0, 5.0])
    weights = np.array([[2, 1, 0, 3, 1], [1, 1, 1, 1, 1]])
    repeated = np.repeat(values, weights[0])
    ranks = pl.Series(repeated).rank("average").to_numpy()
    got = weighted_ranks(values, weights)
    for i, v in enumerate(values):
        if weights[0, i]:
            assert got[0, i] == pytest.approx(ranks[repeated == v][0])
    assert got[1].tolist() == [3.5, 1.0, 3.5, 2.0, 5.0]
    y = np.array([1.0, 4.0, 2.0, 2.0, 0.0])
    rho = weighted_spearman(values, y, weights[:1])[0]
    assert rho == pytest.approx(spearman_rho(repeated, np.repeat(y, weights[0])))


# --- Hand-computed comparisons -------------------------------------------------------------


def test_rda_comparison_and_correlation_by_hand() -> None:
    frame = nights(
        magnesium_pct_rda=[120.0, 100.0, 99.9, 50.0, 150.0, 150.0, None, 80.0],
        restless_min=[10.0, 20.0, 30.0, 50.0, None, 100.0, 100.0, 40.0],
        is_log_complete=[True, True, True, True, True, False, True, None],
    )
    out = magnesium_response(
        frame, measures=("restless_min",), min_nights_per_group=2, min_nights_correlation=3
    )
    assert out.height == 3 and set(out["label"]) == {params.RESPONSE_LABEL}
    rda = row(out, comparison="rda")
    # a: nights 1-2 (120 %, exactly 100 %) -> 10, 20; b: nights 3-4 (99.9 %, 50 %) -> 30, 50.
    # Night 5 has no measure, 6 an incomplete log, 7 no percentage, 8 an unknown log state.
    assert (rda["nights_group_a"], rda["nights_group_b"], rda["nights_compared"]) == (2, 2, 4)
    assert (rda["mean_a"], rda["mean_b"], rda["difference"]) == (15.0, 40.0, -25.0)
    assert (rda["first_night_date"], rda["last_night_date"]) == (MONDAY, MONDAY + timedelta(3))
    # each group lies in one calendar week: every replicate redraws that week -> no spread
    assert (rda["ci_low"], rda["ci_high"]) == pytest.approx((-25.0, -25.0))
    assert rda["status"] == "ok" and rda["spearman_rho"] is None
    corr = row(out, comparison="correlation")
    # complete nights 1-4: totals 384, 320, 319.68, 160 mg against 10, 20, 30, 50 min
    assert corr["spearman_rho"] == pytest.approx(-1.0) and corr["nights_compared"] == 4
    assert corr["nights_group_a"] is None and corr["difference"] is None
    supp = row(out, comparison="supplement")  # no supplement at all: nothing "on"
    assert supp["status"] == "insufficient_data" and supp["supplement_start_date"] is None
    assert (supp["nights_group_a"], supp["nights_group_b"]) == (0, 7)
    MagnesiumResponse.validate(out, lazy=True)


def test_correlation_pairs_night_d_with_day_d_intake() -> None:
    totals = [float(v) for v in [200, 450, 300, 150, 500, 250, 350, 400, 100, 600] * 3]
    restless = [60.0 - t / 10 for t in totals]  # night D falls with day D's total
    out = magnesium_response(nights(magnesium_total_mg=totals, restless_min=restless))
    assert row(out, comparison="correlation")["spearman_rho"] == pytest.approx(-1.0)
    # had the night followed day D-1 instead, pairing with day D would blur the link
    lagged = [60.0, *restless[:-1]]
    blurred = magnesium_response(nights(magnesium_total_mg=totals, restless_min=lagged))
    assert row(blurred, comparison="correlation")["spearman_rho"] > -0.5


def test_interval_resamples_whole_calendar_weeks() -> None:
    # a: week 1 all 10 min, week 2 all 20 min (Monday-Sunday); b: weeks 3-4 all 0 min.
    # Whole-week replicates of mean(a) are 10, 15, 20 with chances 1/4, 1/2, 1/4, expanded
    # about 15 by sqrt(K/(K-1)) = sqrt(2): the 2.5 and 97.5 % points are 15 -/+ 5 sqrt(2).
    # Resampling single nights would give values strictly inside (10, 20) instead.
    frame = nights(
        magnesium_pct_rda=[130.0] * 14 + [60.0] * 14,
        restless_min=[10.0] * 7 + [20.0] * 7 + [0.0] * 14,
    )
    rda = row(magnesium_response(frame, measures=("restless_min",)), comparison="rda")
    assert rda["status"] == "ok" and rda["difference"] == 15.0
    half = 5 * math.sqrt(2)
    assert (rda["ci_low"], rda["ci_high"]) == pytest.approx((15 - half, 15 + half))


def test_bootstrap_is_reproducible_with_the_fixed_seed() -> None:
    rng = np.random.default_rng(11)
    frame = nights(
        magnesium_pct_rda=rng.uniform(50, 150, 60).tolist(),
        restless_min=rng.uniform(0, 60, 60).tolist(),
        magnesium_supplement_mg=[None] * 30 + [200.0] * 30,
    )
    first, again = magnesium_response(frame), magnesium_response(frame)
    assert first.equals(again)
    other = magnesium_response(frame, seed=params.RESPONSE_BOOTSTRAP_SEED + 1)
    assert not first["ci_low"].equals(other["ci_low"])
    assert first["difference"].equals(other["difference"])  # the estimates do not move


def test_rows_do_not_depend_on_other_participants() -> None:
    rng = np.random.default_rng(5)
    one = nights(
        magnesium_pct_rda=rng.uniform(50, 150, 40).tolist(),
        restless_min=rng.uniform(0, 60, 40).tolist(),
    )
    two = one.with_columns(pl.lit("p0").alias("participant_id"), pl.col("restless_min") * 2)
    alone = magnesium_response(one)
    together = magnesium_response(pl.concat([two, one])).filter(participant_id="p1")
    assert alone.equals(together)


def test_below_the_minimum_nights_per_group_is_insufficient_data() -> None:
    # 13 nights at or above the allowance, 20 below: one short of the default 14
    frame = nights(magnesium_pct_rda=[120.0] * 13 + [80.0] * 20, restless_min=[5.0] * 33)
    rda = row(magnesium_response(frame, measures=("restless_min",)), comparison="rda")
    assert rda["status"] == "insufficient_data"
    assert (rda["nights_group_a"], rda["nights_group_b"], rda["nights_compared"]) == (13, 20, 33)
    stats = ["mean_a", "mean_b", "difference", "ci_low", "ci_high", "spearman_rho"]
    assert all(rda[name] is None for name in stats)
    enough = nights(magnesium_pct_rda=[120.0] * 14 + [80.0] * 20, restless_min=[5.0] * 34)
    rda = row(magnesium_response(enough, measures=("restless_min",)), comparison="rda")
    assert rda["status"] == "ok" and rda["difference"] == 0.0
    short = magnesium_response(
        frame.head(27).with_columns(pl.col("restless_min") + pl.int_range(27))
    )
    corr = row(short, comparison="correlation", measure="restless_min")
    assert corr["status"] == "insufficient_data" and corr["nights_compared"] == 27  # < 28


def test_constant_measure_has_no_rank_correlation() -> None:
    frame = nights(magnesium_pct_rda=[120.0] * 14 + [80.0] * 20, restless_min=[5.0] * 34)
    corr = row(magnesium_response(frame), comparison="correlation", measure="restless_min")
    assert corr["status"] == "insufficient_data" and corr["spearman_rho"] is None
    assert corr["nights_compared"] == 34


# --- Methods and devices are never pooled --------------------------------------------------


def test_methods_and_devices_are_never_mixed() -> None:
    # 28 nights alternating a Fitbit night (vendor_restless: 5 min above, 15 below the
    # allowance) and a Garmin night (epoch_movement: 100 above, 200 below).
    n = 28
    fitbit = [i % 2 == 0 for i in range(n)]
    above = [(i // 2) % 2 == 0 for i in range(n)]
    frame = nights(
        sleep_source=["fitbit" if f else "garmin_fit" for f in fitbit],
        restlessness_method=["vendor_restless" if f else "epoch_movement" for f in fitbit],
        magnesium_pct_rda=[120.0 if a else 80.0 for a in above],
        restless_min=[
            (5.0 if a else 15.0) if f else (100.0 if a else 200.0)
            for f, a in zip(fitbit, above, strict=True)
        ],
        waso_min=[(30.0 if a else 40.0) if f else 10.0 for f, a in zip(fitbit, above, strict=True)],
    )
    out = magnesium_response(frame, min_nights_per_group=2)
    restless = out.filter(measure="restless_min")
    assert restless.height == 6  # 2 methods x 3 comparisons
    vendor = row(out, measure="restless_min", comparison="rda", sleep_source="fitbit")
    epoch = row(out, measure="restless_min", comparison="rda", sleep_source="garmin_fit")
    assert vendor["restlessness_method"] == "vendor_restless"
    assert epoch["restlessness_method"] == "epoch_movement"
    assert (vendor["mean_a"], vendor["mean_b"], vendor["nights_compared"]) == (5.0, 15.0, 14)
    assert (epoch["mean_a"], epoch["mean_b"], epoch["nights_compared"]) == (100.0, 200.0, 14)
    # sleep measures: one night set per device, no restlessness method
    waso = out.filter(measure="waso_min", comparison="rda")
    assert waso["restlessness_method"].null_count() == 2
    assert sorted(waso["sleep_source"]) == ["fitbit", "garmin_fit"]
    assert row(out, measure="waso_min", comparison="rda", sleep_source="fitbit")[
        "difference"
    ] == pytest.approx(-10.0)
    MagnesiumResponse.validate(out, lazy=True)


# --- The PLMS index of raw ankle nights ------------------------------------------------------


def test_plms_index_is_compared_per_raw_accel_method() -> None:
    # Raw ankle nights: PLMS index 10, 14 after days at or above the allowance, 30, 22 below:
    # mean_a = 12, mean_b = 26, difference -14 (fewer PLMS per hour in group a). The nights'
    # restless minutes give their own rows; both carry the method 'raw_accel'.
    frame = nights(
        sleep_source=["axivity_left"] * 4,
        restlessness_method=["raw_accel"] * 4,
        magnesium_pct_rda=[150.0, 110.0, 60.0, 90.0],
        plms_index=[10.0, 14.0, 30.0, 22.0],
        restless_min=[3.0, 4.0, 9.0, 7.0],
    )
    out = magnesium_response(frame, min_nights_per_group=2, min_nights_correlation=4)
    assert set(out["measure"]) == {"plms_index", "restless_min"}
    plms = row(out, measure="plms_index", comparison="rda")
    assert (plms["mean_a"], plms["mean_b"], plms["difference"]) == (12.0, 26.0, -14.0)
    assert plms["restlessness_method"] == "raw_accel" and plms["status"] == "ok"
    # totals 480, 352, 192, 288 mg rank 4, 3, 1, 2; PLMS index ranks 1, 2, 4, 3: rho = -1
    corr = row(out, measure="plms_index", comparison="correlation")
    assert corr["spearman_rho"] == pytest.approx(-1.0)
    MagnesiumResponse.validate(out, lazy=True)


# --- Vendor scores as measures -------------------------------------------------------------


def test_vendor_scores_are_methodless_measures_higher_is_better() -> None:
    # Score-only Oura nights (no sleep period: no method, no restless minutes). Nights 1-2 at
    # or above the allowance score restfulness 90, 80; nights 3-4 below score 60, 70:
    # mean_a = 85, mean_b = 65, difference +20 (a calmer night in group a). Sleep scores
    # 88, 86 vs 70, 74 -> +15.
    frame = nights(
        sleep_source=["oura"] * 4,
        restlessness_method=[None] * 4,
        magnesium_pct_rda=[150.0, 110.0, 60.0, 90.0],
        vendor_restfulness_score=[90.0, 80.0, 60.0, 70.0],
        vendor_sleep_score=[88.0, 86.0, 70.0, 74.0],
    )
    out = magnesium_response(frame, min_nights_per_group=2, min_nights_correlation=4)
    assert set(out["measure"]) == {"vendor_restfulness_score", "vendor_sleep_score"}
    assert out["restlessness_method"].null_count() == out.height  # never a method
    calm = row(out, measure="vendor_restfulness_score", comparison="rda")
    assert (calm["mean_a"], calm["mean_b"], calm["difference"]) == (85.0, 65.0, 20.0)
    assert calm["sleep_source"] == "oura" and calm["status"] == "ok"
    score = row(out, measure="vendor_sleep_score", comparison="rda")
    assert score["difference"] == 15.0
    # totals 480, 352, 192, 288 mg rank 4, 3, 1, 2; restfulness ranks 4, 3, 1, 2: rho = 1
    corr = row(out, measure="vendor_restfulness_score", comparison="correlation")
    assert corr["spearman_rho"] == pytest.approx(1.0)
    MagnesiumResponse.validate(out, lazy=True)
    # a vendor score with a restlessness method breaks the contract
    broken = out.with_columns(pl.lit("epoch_movement").alias("restlessness_method"))
    with pytest.raises(pandera.errors.SchemaErrors):
        MagnesiumResponse.validate(broken, lazy=True)


def test_unknown_magnesium_gives_insufficient_data_with_no_nights_compared() -> None:
    # A MyFitnessPal log: complete days (enough calories) but no magnesium at all.
    frame = nights(
        sleep_source=["oura"] * 30,
        restlessness_method=[None] * 30,
        magnesium_total_mg=[None] * 30,
        magnesium_pct_rda=[None] * 30,
        vendor_restfulness_score=[float(60 + i % 30) for i in range(30)],
    )
    out = magnesium_response(frame)
    assert set(out["status"]) == {"insufficient_data"}
    for comparison in ("rda", "correlation"):
        got = row(out, measure="vendor_restfulness_score", comparison=comparison)
        assert got["nights_compared"] == 0 and got["first_night_date"] is None
    supp = row(out, measure="vendor_restfulness_score", comparison="supplement")
    assert (supp["nights_group_a"], supp["nights_group_b"]) == (0, 30)
    assert supp["supplement_start_date"] is None
    MagnesiumResponse.validate(out, lazy=True)


# --- Supplement start and stop -------------------------------------------------------------


def test_supplement_start_and_stop_are_detected_on_the_right_nights() -> None:
    # nights 0-9 no dose, night 10 a logged 0 mg, 11-30 250 mg (night 20 unlogged), 31-39 none
    supplement = [None] * 10 + [0.0] + [250.0] * 20 + [None] * 9
    supplement[20] = None
    on = [11 <= i <= 30 for i in range(40)]
    restless = [10.0 if o else 20.0 for o in on]
    restless[11] = None  # the start night has no measure: the start is still night 11
    frame = nights(
        start=date(2025, 3, 3),
        magnesium_supplement_mg=supplement,
        magnesium_pct_rda=[90.0] * 40,
        restless_min=restless,
    )
    periods = supplement_periods(frame)
    assert periods.row(0) == ("p1", date(2025, 3, 14), date(2025, 4, 3))
    supp = row(magnesium_response(frame), comparison="supplement", measure="restless_min")
    assert (supp["supplement_start_date"], supp["supplement_stop_date"]) == (
        date(2025, 3, 14),
        date(2025, 4, 3),
    )
    # on: nights 12-30 (19, the unlogged night 20 included); off: 0-10 and 31-39 (20)
    assert (supp["nights_group_a"], supp["nights_group_b"]) == (19, 20)
    assert (supp["mean_a"], supp["mean_b"], supp["difference"]) == (10.0, 20.0, -10.0)
    assert supp["status"] == "ok"
    # incomplete food logs do not matter for the period comparison
    incomplete = frame.with_columns(pl.lit(False).alias("is_log_complete"))
    again = row(magnesium_response(incomplete), comparison="supplement", measure="restless_min")
    assert again["difference"] == -10.0
    # a supplement that continues to the last night has no stop
    ongoing = frame.with_columns(
        pl.when(pl.col("night_date") >= date(2025, 3, 14))
        .then(250.0)
        .otherwise(pl.col("magnesium_supplement_mg"))
        .alias("magnesium_supplement_mg")
    )
    assert supplement_periods(ongoing).row(0) == ("p1", date(2025, 3, 14), None)


# --- Simulated participants with a known truth ---------------------------------------------


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * math.sqrt(1 - phi**2), n)
    noise = np.empty(n)
    noise[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + shocks[i]
    return noise


def simulated_rda(seed: int, delta: float, n: int = 120, phi: float = 0.6) -> pl.DataFrame:
    """restless_min = 30 - delta * [day at or above the allowance] + AR(1) noise (sd 8).

    Days above/below follow a persistent chain (60 % chance of keeping yesterday's state,
    else a coin flip), so exposure and noise both cluster in time."""
    rng = np.random.default_rng(seed)
    above = np.empty(n, dtype=bool)
    above[0] = rng.random() < 0.5
    for i in range(1, n):
        above[i] = above[i - 1] if rng.random() < 0.6 else rng.random() < 0.5
    pct = np.where(above, 130.0, 70.0) + rng.uniform(-25, 25, n)
    restless = 30.0 - delta * above + ar1(rng, n, phi, 8.0)
    return nights(magnesium_pct_rda=pct.tolist(), restless_min=restless.tolist())


def simulated_supplement(seed: int, delta: float, n: int = 120, phi: float = 0.3) -> pl.DataFrame:
    """A supplement from night 60 on: restless_min = 30 - delta * [on] + AR(1) noise (sd 8)."""
    rng = np.random.default_rng(seed)
    on = np.arange(n) >= 60
    restless = 30.0 - delta * on + ar1(rng, n, phi, 8.0)
    return nights(
        start=date(2025, 1, 8),  # a Wednesday: the start splits a calendar week
        magnesium_supplement_mg=[200.0 if o else None for o in on],
        magnesium_pct_rda=[90.0] * n,
        restless_min=restless.tolist(),
    )


def coverage(frames, comparison: str, truth: float) -> float:
    hits = []
    for frame in frames:
        got = row(magnesium_response(frame, measures=("restless_min",)), comparison=comparison)
        assert got["status"] == "ok"
        hits.append(got["ci_low"] <= truth <= got["ci_high"])
    return float(np.mean(hits))


@pytest.mark.parametrize("delta", [6.0, 0.0])
def test_rda_interval_covers_the_true_difference_in_most_seeds(delta: float) -> None:
    seeds = range(50) if delta else range(100, 150)
    share = coverage((simulated_rda(s, delta) for s in seeds), "rda", -delta)
    print(f"rda, true difference {-delta + 0.0}: covered in {share:.0%} of 50 seeds")
    assert share >= 0.85, share


@pytest.mark.parametrize("delta", [6.0, 0.0])
def test_supplement_interval_covers_the_true_difference_in_most_seeds(delta: float) -> None:
    seeds = range(200, 250) if delta else range(300, 350)
    share = coverage((simulated_supplement(s, delta) for s in seeds), "supplement", -delta)
    print(f"supplement, true difference {-delta + 0.0}: covered in {share:.0%} of 50 seeds")
    assert share >= 0.85, share


# --- Contract and entry point --------------------------------------------------------------


def test_empty_nightly_gives_an_empty_valid_table() -> None:
    out = magnesium_response(pl.DataFrame(schema=INPUT_SCHEMA))
    assert out.height == 0
    MagnesiumResponse.validate(out, lazy=True)


def test_compute_features_adds_the_response_table() -> None:
    out = compute_features(scenario(), PEOPLE)
    response = out["magnesium_response"]
    MagnesiumResponse.validate(response, lazy=True)
    # two nights only: every comparison is short of data, and still a labelled row
    assert set(response["status"]) == {"insufficient_data"}
    assert set(response["label"]) == {params.RESPONSE_LABEL}
    vendor = row(response, measure="restless_min", comparison="supplement")
    # the 200 mg dose on day 10 starts the supplement; night 11 without one stops it
    assert (vendor["supplement_start_date"], vendor["supplement_stop_date"]) == (D10, D11)
    assert vendor["restlessness_method"] == "vendor_restless"
    assert response.height == 3 * response.select("measure", "sleep_source").n_unique()


def test_schema_rejects_broken_rows() -> None:
    frame = nights(magnesium_pct_rda=[120.0] * 14 + [80.0] * 14, restless_min=[5.0] * 28)
    good = magnesium_response(frame, measures=("restless_min",))
    MagnesiumResponse.validate(good, lazy=True)
    broken = [
        good.with_columns(pl.lit("magnesium works").alias("label")),
        good.with_columns(pl.lit(None, dtype=pl.Float64).alias("difference")),
        good.with_columns(pl.lit(None, dtype=pl.String).alias("restlessness_method")),
        good.with_columns(pl.lit(3).alias("nights_group_a")),
        pl.concat([good, good]),
    ]
    for frame in broken:
        with pytest.raises(pandera.errors.SchemaErrors):
            MagnesiumResponse.validate(frame, lazy=True)
