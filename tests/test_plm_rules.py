"""WASM 2016 / AASM leg-movement rules on hand-built event lists (no signal involved).

Every expected value below is computed by hand from the rules in SCIENCE.md section 1
(Ferri et al., Sleep Med 2016;26:86-95): durations and onset-to-onset intervals in seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.models import plm_params
from restless.models.legs.indices import imi_histogram, night_indices, nightly_indices
from restless.models.legs.series import merge_bilateral, score_movements

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def lms(*events: tuple[float, float]) -> pl.DataFrame:
    """Monolateral LMs from (onset_s, duration_s) pairs."""
    return pl.DataFrame(
        {
            "start_at": [at(a) for a, _ in events],
            "end_at": [at(a + d) for a, d in events],
            "duration_s": [d for _, d in events],
        },
        schema={
            "start_at": pl.Datetime("us", "UTC"),
            "end_at": pl.Datetime("us", "UTC"),
            "duration_s": pl.Float64,
        },
    )


def periodic(onsets: list[float], duration: float = 1.0) -> pl.DataFrame:
    return lms(*((o, duration) for o in onsets))


def series_flags(left: pl.DataFrame, right: pl.DataFrame | None = None, **kw) -> list[bool]:
    return score_movements(left, right, **kw)["in_series"].to_list()


# --- PLM series: inter-movement intervals ------------------------------------------------


def test_imi_of_10_s_continues_a_series_and_9_9_s_ends_it():
    assert series_flags(periodic([0, 10, 20, 30])) == [True] * 4
    # 0 -> 9.9 is too short: the series 9.9, 19.9, 29.9 then has only 3 CLMs
    assert series_flags(periodic([0, 9.9, 19.9, 29.9])) == [False] * 4
    # ... but the CLM with the short IMI may start the next series (4 CLMs from 9.9 s)
    assert series_flags(periodic([0, 9.9, 19.9, 29.9, 39.9])) == [False] + [True] * 4


def test_imi_of_90_s_continues_a_series_and_90_1_s_ends_it():
    assert series_flags(periodic([0, 90, 180, 270])) == [True] * 4
    assert series_flags(periodic([0, 90, 180, 270.1])) == [False] * 4
    scored = score_movements(periodic([0, 90, 180, 270.1]))
    assert scored["imi_s"].to_list() == [None, 90.0, 90.0, pytest.approx(90.1)]


def test_three_clms_are_no_series_four_are():
    assert series_flags(periodic([0, 20, 40])) == [False] * 3
    assert series_flags(periodic([0, 20, 40, 60])) == [True] * 4


def test_a_10_5_s_movement_inside_a_series_breaks_it():
    # onsets 0, 20, 40 (1 s), a 10.5 s LM at 60, then 80, 100, 120 (1 s): 3 + 3 CLMs
    left = lms((0, 1), (20, 1), (40, 1), (60, 10.5), (80, 1), (100, 1), (120, 1))
    scored = score_movements(left)
    assert scored["is_clm"].to_list() == [True, True, True, False, True, True, True]
    assert scored["in_series"].to_list() == [False] * 7
    # a 10.0 s movement is still a CLM (0.5-10 s inclusive): one series of 7
    left = lms((0, 1), (20, 1), (40, 1), (60, 10.0), (80, 1), (100, 1), (120, 1))
    assert series_flags(left) == [True] * 7


def test_series_are_numbered_in_time_order():
    onsets = [0, 20, 40, 60, 300, 320, 340, 360, 380]
    scored = score_movements(periodic(onsets))
    assert scored["series_id"].to_list() == [1, 1, 1, 1, 2, 2, 2, 2, 2]
    assert scored["in_series"].all()


def test_aasm_option_accepts_imis_from_5_s():
    onsets = [0, 6, 12, 18]
    assert series_flags(periodic(onsets)) == [False] * 4
    assert series_flags(periodic(onsets), standard="aasm") == [True] * 4
    assert series_flags(periodic([0, 4.9, 9.8, 14.7]), standard="aasm") == [False] * 4
    with pytest.raises(ValueError, match="standard"):
        score_movements(periodic(onsets), standard="icsd")


def test_movements_shorter_than_0_5_s_are_not_leg_movements():
    scored = score_movements(lms((0, 1), (10, 0.4), (20, 1), (30, 1), (40, 1)))
    assert scored.height == 4  # the 0.4 s twitch is dropped, IMI 0 -> 20 is 20 s
    assert scored["imi_s"].to_list() == [None, 20.0, 10.0, 10.0]
    assert scored["in_series"].all()
    assert score_movements(lms((0, 0.5)))["is_clm"].to_list() == [True]


# --- bilateral merge ---------------------------------------------------------------------


def test_bilateral_merge_under_0_5_s_gap_and_not_at_0_6_s():
    merged = merge_bilateral(lms((0, 1)), lms((1.4, 1)))  # gap 0.4 s
    assert merged["side"].to_list() == ["bilateral"]
    assert merged["duration_s"].to_list() == [pytest.approx(2.4)]
    assert merged["n_monolateral"].to_list() == [2]
    merged = merge_bilateral(lms((0, 1)), lms((1.6, 1)))  # gap 0.6 s
    assert merged["side"].to_list() == ["left", "right"]
    merged = merge_bilateral(lms((0, 1)), lms((1.5, 1)))  # gap exactly 0.5 s: not "< 0.5"
    assert merged["side"].to_list() == ["left", "right"]
    merged = merge_bilateral(lms((0, 3)), lms((1, 1)))  # overlap
    assert merged["side"].to_list() == ["bilateral"]
    assert merged["duration_s"].to_list() == [3.0]


def test_bilateral_merge_chains_and_combines_peak_and_area():
    left = lms((0, 1), (2.2, 1)).with_columns(peak_g=pl.Series([0.1, 0.3]), area_g_s=0.05)
    right = lms((0.8, 1.7)).with_columns(peak_g=pl.Series([0.2]), area_g_s=0.1)
    merged = merge_bilateral(left, right)
    assert merged.select("duration_s", "peak_g", "area_g_s", "n_monolateral").row(0) == (
        pytest.approx(3.2),
        pytest.approx(0.3),
        pytest.approx(0.2),
        3,
    )


def test_bilateral_clm_limits_15_s_and_4_monolateral_clms():
    # 14 s: left 0-7, right 6.8-14 -> bilateral CLM
    assert score_movements(lms((0, 7)), lms((6.8, 7.2)))["is_clm"].to_list() == [True]
    # 15 s exactly is still a CLM; 15.5 s is not
    assert score_movements(lms((0, 8)), lms((7.8, 7.2)))["is_clm"].to_list() == [True]
    assert score_movements(lms((0, 8)), lms((7.8, 7.7)))["is_clm"].to_list() == [False]
    # 4 monolateral LMs chained (L R L R), 6 s in all: CLM; a fifth makes it not one
    four = score_movements(lms((0, 1), (2.2, 1)), lms((0.8, 1.7), (3.0, 3.0)))
    assert four.select("side", "n_monolateral", "is_clm").row(0) == ("bilateral", 4, True)
    five = score_movements(lms((0, 1), (2.2, 1), (5.8, 1)), lms((0.8, 1.7), (3.0, 3.0)))
    assert five.select("n_monolateral", "is_clm").row(0) == (5, False)
    # a component longer than 10 s is no CLM, so the bilateral LM (12 s) is none either
    long_part = score_movements(lms((0, 10.5)), lms((10.7, 1.3)))
    assert long_part.select("duration_s", "is_clm").row(0) == (pytest.approx(12.0), False)


def test_a_bilateral_movement_breaks_or_joins_a_series_like_any_lm():
    left = periodic([0, 20, 40, 60])
    right = lms((39.5, 16.0))  # merges with the left LM at 40: 16 s bilateral, not a CLM
    scored = score_movements(left, right)
    assert scored["side"].to_list() == ["left", "left", "bilateral", "left"]
    assert scored["in_series"].to_list() == [False] * 4
    right = lms((40.2, 1.0))  # merges into a 1.2 s bilateral CLM: the series holds
    assert series_flags(left, right) == [True] * 4


def test_empty_and_one_sided_input():
    empty = lms()
    scored = score_movements(empty)
    assert scored.height == 0
    assert scored.columns == list(score_movements(periodic([0])).columns)
    assert score_movements(None, periodic([0, 20, 40, 60]))["side"].unique().to_list() == ["right"]


# --- indices -----------------------------------------------------------------------------


def test_periodicity_index_counts_imis_in_runs_of_three():
    # IMIs: 20 20 20 | 5 | 20 20 | 200 | 20 20 20 20 -> periodic: 3 + 0 + 0 + 4 = 7 of 11
    onsets = [0, 20, 40, 60, 65, 85, 105, 305, 325, 345, 365, 385]
    scored = score_movements(periodic(onsets))
    periodic_flags = scored["is_periodic_imi"].to_list()
    assert periodic_flags == [False, True, True, True] + [False] * 4 + [True] * 4
    night = night_indices(scored, T0, at(3600))
    assert night["imi_count"].item() == 11
    assert night["periodicity_index"].item() == pytest.approx(7 / 11)


def test_night_indices_without_epochs_count_the_whole_period_as_sleep():
    # series of 4 inside the 1-h period, an isolated LM before it, a 12 s LM inside
    left = lms((-1800, 1), (100, 1), (120, 1), (140, 1), (160, 1), (1000, 12))
    scored = score_movements(left)
    night = night_indices(scored, T0, at(3600))
    row = night.row(0, named=True)
    assert row["tst_min"] == 60.0
    assert (row["lm_count"], row["clm_count"], row["long_movement_count"]) == (5, 4, 1)
    assert row["plms_count"] == 4
    assert row["plms_index"] == pytest.approx(4.0)
    assert row["lm_index"] == pytest.approx(5.0)
    assert row["plmw_count"] is None and row["plmw_index"] is None
    assert row["lm_pre_sleep_count"] == 1  # the LM 30 min before onset
    late = night_indices(scored, T0, at(3600), recorded_from=at(-1200))
    assert late["lm_pre_sleep_count"].item() is None  # the hour before onset is not covered


def test_night_indices_split_plms_and_plmw_by_epoch():
    # 2 h period; epochs of 30 min: sleep, wake, sleep, sleep
    epochs = pl.DataFrame(
        {
            "epoch_start_at": [at(i * 1800) for i in range(4)],
            "epoch_s": [1800.0] * 4,
            "is_asleep": [True, False, True, True],
        },
        schema_overrides={"epoch_start_at": pl.Datetime("us", "UTC")},
    )
    # one series of 6 spanning sleep (1760, 1780) and wake (1800 ... 1860)
    onsets = [1760, 1780, 1800, 1820, 1840, 1860]
    scored = score_movements(periodic(onsets))
    night = night_indices(scored, T0, at(7200), epochs=epochs).row(0, named=True)
    assert night["tst_min"] == 90.0 and night["wake_in_period_min"] == 30.0
    assert night["plms_count"] == 2 and night["plmw_count"] == 4
    assert night["plms_index"] == pytest.approx(2 / 1.5)
    assert night["plmw_index"] == pytest.approx(4 / 0.5)
    assert night["lm_count"] == 2


def test_night_indices_summarise_thresholds_and_nonwear_of_blocks_in_the_period():
    blocks = pl.DataFrame(
        {
            "block_start_at": [at(-450), at(0), at(450)],
            "block_end_at": [at(0), at(450), at(900)],
            "baseline_g": [0.008, 0.010, 0.012],
            "noise_g": [0.001, 0.002, 0.003],
            "onset_threshold_g": [0.014, 0.022, 0.030],
            "offset_threshold_g": [0.011, 0.016, 0.021],
            "clipped_samples": [0, 0, 0],
            "is_nonwear": [True, False, True],
        },
        schema_overrides={
            "block_start_at": pl.Datetime("us", "UTC"),
            "block_end_at": pl.Datetime("us", "UTC"),
        },
    )
    night = night_indices(score_movements(lms()), T0, at(900), blocks=blocks).row(0, named=True)
    assert night["onset_threshold_g"] == pytest.approx(0.026)  # median of the 2 inside
    assert night["noise_g"] == pytest.approx(0.0025)
    assert night["nonwear_min"] == pytest.approx(7.5)
    assert night["lm_count"] == 0 and night["lm_index"] == 0.0
    assert night["periodicity_index"] is None


def test_nightly_indices_keep_window_keys():
    scored = score_movements(periodic([0, 20, 40, 60]))
    windows = pl.DataFrame(
        {"night_date": ["2026-03-01", "2026-03-02"], "sleep_onset_at": [T0, at(86400)]}
    ).with_columns(sleep_offset_at=pl.col("sleep_onset_at") + pl.duration(hours=8))
    out = nightly_indices(scored, windows)
    assert out["night_date"].to_list() == ["2026-03-01", "2026-03-02"]
    assert out["plms_count"].to_list() == [4, 0]


def test_imi_histogram_bins_by_hand():
    # IMIs 1.0, 9.99, 10.0, 150.0 (all in sleep)
    scored = score_movements(periodic([0, 1.0, 10.99, 20.99, 170.99], duration=0.5))
    hist = imi_histogram(scored, T0, at(3600))
    linear = hist.filter(pl.col("scale") == "linear")
    assert linear.height == 51 and linear["imi_count"].sum() == 4
    counts = dict(zip(linear["bin_lo_s"].to_list(), linear["imi_count"].to_list(), strict=True))
    assert counts[0.0] == 1 and counts[8.0] == 1 and counts[10.0] == 1 and counts[100.0] == 1
    log = hist.filter(pl.col("scale") == "log")
    assert log.height == 32  # [0, 1) + 30 bins from 1 to 1000 s + [1000, inf)
    assert log.filter(pl.col("imi_count") > 0)["bin_lo_s"].to_list() == pytest.approx(
        [1.0, 10**0.9, 10.0, 10**2.1]
    )


def test_scoring_is_independent_of_input_order():
    shuffled = periodic([60, 0, 40, 20])
    assert_frame_equal(score_movements(shuffled), score_movements(periodic([0, 20, 40, 60])))


def test_parameters_are_stored_as_json():
    stored = json.loads(json.dumps(plm_params.as_dict()))
    assert stored["imi_min_s"] == {"wasm2016": 10.0, "aasm": 5.0}
    assert stored["imi_max_s"] == 90.0
    assert stored["clm_max_bilateral_s"] == 15.0
    assert stored["plm_min_series"] == 4
    public = {k.lower() for k in dir(plm_params) if k.isupper()}
    assert public == set(stored), "every parameter must be stored with the run"
