"""Actigraphy sleep scorers: constants pinned to the papers, hand-computed cases, frames."""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from restless.models import actigraphy_sleep as acti
from restless.schemas.core import SleepEpoch

W, S = False, True


def seq(*parts: tuple[bool | None, int]) -> list[bool | None]:
    """A sleep/wake sequence from (state, count) runs."""
    return [state for state, n in parts for _ in range(n)]


# --- constants pinned to the papers ---------------------------------------------------------


def test_cole_kripke_parameter_sets_match_cole_1992():
    sets = acti.COLE_KRIPKE_SETS
    assert sets["1min_mean"].p == 0.001
    assert sets["1min_mean"].weights == (106, 54, 58, 76, 230, 74, 67)
    assert sets["10s_overlap"].p == 0.00001
    assert sets["10s_overlap"].weights == (50, 30, 300, 400, 1400, 500, 350)
    assert sets["10s_nonoverlap"].p == 0.00001
    assert sets["10s_nonoverlap"].weights == (550, 378, 413, 699, 1736, 287, 309)
    assert sets["30s_nonoverlap"].p == 0.0001
    assert sets["30s_nonoverlap"].weights == (50, 30, 14, 28, 121, 8, 50)
    assert acti.COLE_KRIPKE_SLEEP_BELOW == 1.0
    assert (acti.COLE_KRIPKE_BEFORE, acti.COLE_KRIPKE_AFTER) == (4, 2)


def test_cole_kripke_values_pyactigraphy_gets_wrong():
    # pyActigraphy: W+2 = 300 (10-s non-overlapping) and W0 = 12 (30-s); the paper: 309, 121.
    assert acti.COLE_KRIPKE_SETS["10s_nonoverlap"].weights[6] == 309
    assert acti.COLE_KRIPKE_SETS["30s_nonoverlap"].weights[4] == 121


def test_actilife_webster_sadeh_constants():
    assert (acti.ACTILIFE_CK_DIVISOR, acti.ACTILIFE_CK_CAP) == (100.0, 300.0)
    assert acti.WEBSTER_AFTER_WAKE == ((4, 1), (10, 3), (15, 4))
    assert acti.WEBSTER_SURROUNDED == ((6, 10), (10, 20))  # rule (d): 10 min, not 15
    assert (
        acti.SADEH_INTERCEPT,
        acti.SADEH_COEF_MEAN_W5,
        acti.SADEH_COEF_NAT,
        acti.SADEH_COEF_SD_LAST6,
        acti.SADEH_COEF_LG,
    ) == (7.601, 0.065, 1.08, 0.056, 0.703)
    assert acti.SADEH_HALF_WINDOW * 2 + 1 == 11
    assert acti.SADEH_SD_EPOCHS == 6
    assert acti.SADEH_NAT_RANGE == (50.0, 100.0)
    assert acti.SADEH_SLEEP_FROM == 0.0
    assert (acti.ACTILIFE_SADEH_CAP, acti.ACTILIFE_SADEH_THRESHOLD) == (300.0, -4.0)


def test_van_hees_constants():
    assert acti.ANGLE_EPOCH_S == 5.0
    assert acti.RAW_MEDIAN_WINDOW_S == 5.0
    assert (acti.SIB_ANGLE_THRESHOLD_DEG, acti.SIB_TIME_THRESHOLD_MIN) == (5.0, 5.0)
    assert (acti.HDCZA_ROLL_MIN, acti.HDCZA_PERCENTILE, acti.HDCZA_MULTIPLIER) == (5, 10, 15)
    assert (acti.HDCZA_MIN_BLOCK_MIN, acti.HDCZA_MAX_GAP_MIN) == (30, 60)
    assert acti.HDCZA_THRESHOLD_CLIP_DEG == (0.13, 0.50)  # GGIR R/HASPT.R
    assert acti.SKDH_THRESHOLD_CLIP_DEG == (0.1, 1.0)  # scikit-digital-health
    assert (acti.NIGHT_WINDOW_HOUR, acti.DAYSLEEPER_WINDOW_HOUR) == (12, 18)


def test_parameters_are_json_ready():
    stored = json.loads(json.dumps(acti.as_dict()))
    assert stored["cole_kripke_sets"]["30s_nonoverlap"]["weights"][4] == 121
    assert stored["webster_surrounded"][0] == [6, 10]


# --- Cole-Kripke ----------------------------------------------------------------------------


def test_cole_kripke_d_hand_computed():
    d = acti.cole_kripke_d([10, 20, 30, 40, 50, 60, 70, 80])
    # D4 = 0.001 (106*10 + 54*20 + 58*30 + 76*40 + 230*50 + 74*60 + 67*70) = 27.55
    # D5 = 0.001 (106*20 + 54*30 + 58*40 + 76*50 + 230*60 + 74*70 + 67*80) = 34.2
    assert d[4] == pytest.approx(27.55)
    assert d[5] == pytest.approx(34.2)
    assert np.isnan(d[:4]).all() and np.isnan(d[6:]).all()  # ends unscored


def test_cole_kripke_d_below_one_is_sleep():
    counts = [0.0] * 12
    counts[6] = 4.0  # D6 = 0.001 * 230 * 4 = 0.92
    assert acti.cole_kripke_d(counts)[6] == pytest.approx(0.92)
    assert acti.cole_kripke(counts, rescore=False)[6] is True
    counts[6] = 5.0  # D6 = 1.15, D7 = 0.001 * 76 * 5 = 0.38, D5 = 0.001 * 74 * 5 = 0.37
    d = acti.cole_kripke_d(counts)
    assert (d[5], d[6], d[7]) == pytest.approx((0.37, 1.15, 0.38))
    assert acti.cole_kripke(counts, rescore=False).to_list()[5:8] == [S, W, S]


@pytest.mark.parametrize("setting", sorted(acti.COLE_KRIPKE_SETS))
def test_each_weight_lands_on_its_minute(setting):
    params = acti.COLE_KRIPKE_SETS[setting]
    counts = np.zeros(20)
    counts[10] = 1.0
    d = acti.cole_kripke_d(counts, setting)
    # The impulse is W-4 for minute 14 (four minutes later), ..., W+2 for minute 8.
    expected = params.p * np.array(params.weights)
    assert d[8:15][::-1] == pytest.approx(expected)
    assert d[4:8] == pytest.approx(0.0) and d[15:18] == pytest.approx(0.0)


def test_actilife_counts_divide_by_100_and_cap_at_300():
    plain = acti.cole_kripke_d([10, 20, 30, 40, 50, 60, 70, 80])
    scaled = acti.cole_kripke_d(
        [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000], actilife_counts=True
    )
    assert scaled[4:6] == pytest.approx(plain[4:6])
    capped = acti.cole_kripke_d([0, 0, 0, 0, 40_000, 0, 0], actilife_counts=True)
    assert capped[4] == pytest.approx(0.001 * 230 * 300)
    with pytest.raises(ValueError, match="1-min"):
        acti.cole_kripke_d([0] * 7, "30s_nonoverlap", actilife_counts=True)


def test_zero_padding_scores_the_ends():
    d = acti.cole_kripke_d([50, 0, 0, 0, 0], edges="zero_pad")
    assert d[0] == pytest.approx(0.001 * 230 * 50)
    assert d[4] == pytest.approx(0.001 * 106 * 50)
    assert acti.cole_kripke([0] * 5, edges="zero_pad").to_list() == [S] * 5


def test_missing_minute_leaves_its_window_unscored():
    counts = [0.0] * 12
    counts[6] = None
    scores = acti.cole_kripke(counts, rescore=False).to_list()
    # minute 6 is read by minutes 4..10 (W+2 .. W-4)
    assert scores[4:11] == [None] * 7
    assert scores[0:4] == [None] * 4 and scores[11] is None  # recording ends


# --- Webster rescoring ----------------------------------------------------------------------


def rescored(states: list[bool | None], epoch_s: float = 60.0) -> list[bool | None]:
    return acti.webster_rescore(pl.Series(states, dtype=pl.Boolean), epoch_s).to_list()


def test_webster_rule_a_after_4_min_wake_next_minute():
    assert rescored(seq((W, 4), (S, 3))) == seq((W, 5), (S, 2))
    assert rescored(seq((W, 3), (S, 3))) == seq((W, 3), (S, 3))


def test_webster_rule_b_after_10_min_wake_next_3_minutes():
    assert rescored(seq((W, 10), (S, 5))) == seq((W, 13), (S, 2))
    assert rescored(seq((W, 9), (S, 5))) == seq((W, 10), (S, 4))  # only rule (a)


def test_webster_rule_c_after_15_min_wake_next_4_minutes():
    assert rescored(seq((W, 15), (S, 8))) == seq((W, 19), (S, 4))
    assert rescored(seq((W, 14), (S, 8))) == seq((W, 17), (S, 5))  # rule (b)


def test_webster_rules_a_to_c_take_a_shorter_sleep_run_whole():
    assert rescored(seq((W, 15), (S, 2), (W, 1), (S, 5))) == seq((W, 18), (S, 5))


def test_webster_rule_d_6_min_sleep_between_10_min_wake():
    assert rescored(seq((W, 10), (S, 6), (W, 10))) == seq((W, 26))
    # 7 minutes is too long for (d): only rule (b) applies
    assert rescored(seq((W, 10), (S, 7), (W, 10))) == seq((W, 13), (S, 4), (W, 10))
    # 9 minutes of wake on one side is too short for (d): rule (a) then (b)'s 3 min on the left
    assert rescored(seq((W, 9), (S, 6), (W, 10))) == seq((W, 10), (S, 5), (W, 10))


def test_webster_rule_d_is_10_not_15_min_of_surrounding_wake():
    # pyActigraphy documents rule (d) with 15 min of wake; with 12 min on both sides that
    # reading would only rescore (b)'s first 3 minutes. The paper's 10 min rescores all 6.
    assert rescored(seq((W, 12), (S, 6), (W, 12))) == seq((W, 30))


def test_webster_rule_e_10_min_sleep_between_20_min_wake():
    assert rescored(seq((W, 20), (S, 10), (W, 20))) == seq((W, 50))
    assert rescored(seq((W, 19), (S, 10), (W, 20))) == seq((W, 23), (S, 6), (W, 20))


def test_webster_no_cascade_and_wake_stays_wake():
    # rule (a) rescores one minute; that minute does not make a 5-min wake run for another pass
    assert rescored(seq((W, 4), (S, 1), (W, 1), (S, 2))) == seq((W, 6), (S, 2))
    assert rescored(seq((S, 3), (W, 2), (S, 3))) == seq((S, 3), (W, 2), (S, 3))


def test_webster_leaves_sleep_at_the_ends_and_next_to_gaps():
    states = seq((S, 2), (W, 10), (S, 5), (None, 2))
    # the first sleep run has no wake before it; the last has no wake after it, so (d) is
    # out, but (b) still takes its first 3 minutes
    assert rescored(states) == seq((S, 2), (W, 13), (S, 2), (None, 2))


def test_webster_in_30_second_epochs_counts_minutes():
    # 4 min of wake = 8 epochs; the next 1 min = 2 epochs
    assert rescored(seq((W, 8), (S, 4)), epoch_s=30) == seq((W, 10), (S, 2))
    assert rescored(seq((W, 7), (S, 4)), epoch_s=30) == seq((W, 7), (S, 4))


def test_cole_kripke_rescores_by_default():
    counts = [500.0] * 10 + [0.0] * 10  # awake 10 min, then still
    raw = acti.cole_kripke(counts, rescore=False).to_list()
    final = acti.cole_kripke(counts).to_list()
    first_sleep = raw.index(True)
    assert final[first_sleep : first_sleep + 3] == [W, W, W]
    assert final[first_sleep + 3] is True


# --- Sadeh ----------------------------------------------------------------------------------


def test_sadeh_ps_hand_computed():
    counts = [0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0]
    ps = acti.sadeh_ps(counts)
    # MEAN-W-5 = 60/11, NAT = 1 (50 <= 60 < 100), SD-last-6 = sd(0,0,0,0,0,60) = sqrt(600),
    # LG = ln(61)
    expected = 7.601 - 0.065 * 60 / 11 - 1.08 * 1 - 0.056 * math.sqrt(600) - 0.703 * math.log(61)
    assert ps[5] == pytest.approx(expected)
    assert ps[5] == pytest.approx(1.9048, abs=1e-4)
    assert np.isnan(np.delete(ps, 5)).all()  # an 11-minute window fits only at minute 5
    assert acti.sadeh(counts)[5] is True


def test_sadeh_nat_counts_50_but_not_100():
    counts = [0, 0, 0, 0, 50, 99, 100, 49, 0, 0, 0]
    ps = acti.sadeh_ps(counts)
    # NAT = 2 (50 and 99; not 100, not 49). GGIR/pyActigraphy's 50 < c would give 1.
    sd = statistics.stdev([0, 0, 0, 0, 50, 99])
    expected = 7.601 - 0.065 * 298 / 11 - 1.08 * 2 - 0.056 * sd - 0.703 * math.log(100)
    assert ps[5] == pytest.approx(expected)
    assert ps[5] == pytest.approx(-1.8799, abs=1e-4)
    assert acti.sadeh(counts)[5] is False


def test_sadeh_sd_and_lg_look_back_not_forward():
    counts = [0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0]
    # SD over minutes 0..5 (all 0) and LG of minute 5 (ln 1 = 0): the 80 one minute later
    # only enters MEAN-W-5 and NAT
    assert acti.sadeh_ps(counts)[5] == pytest.approx(7.601 - 0.065 * 80 / 11 - 1.08)


def test_sadeh_still_night_is_sleep_and_constant_sd_is_zero():
    assert acti.sadeh_ps([0] * 11)[5] == pytest.approx(7.601)
    ps = acti.sadeh_ps([20] * 11)
    assert ps[5] == pytest.approx(7.601 - 0.065 * 20 - 0.703 * math.log(21))


def test_sadeh_actilife_cap_and_threshold():
    counts = [0, 0, 0, 0, 0, 1000, 0, 0, 0, 0, 0]
    capped = acti.sadeh_ps(counts, cap_counts=acti.ACTILIFE_SADEH_CAP)
    sd = statistics.stdev([0, 0, 0, 0, 0, 300])
    assert capped[5] == pytest.approx(7.601 - 0.065 * 300 / 11 - 0.056 * sd - 0.703 * math.log(301))
    assert acti.sadeh(counts, cap_counts=300)[5] is False  # PS about -4.35
    quiet = [0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0]  # PS about -1.8: wake by the paper
    assert acti.sadeh(quiet)[5] is False
    assert acti.sadeh(quiet, sleep_from=acti.ACTILIFE_SADEH_THRESHOLD)[5] is True


def test_sadeh_zero_padding_scores_the_first_minute():
    ps = acti.sadeh_ps([0, 0, 0], edges="zero_pad")
    assert ps == pytest.approx([7.601] * 3)


# --- z-angle and 5-s epochs from raw samples ------------------------------------------------


def test_z_angle_of_known_vectors():
    x = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    y = np.array([0.0, 1.0, 0.0, 0.0, 0.0, math.sqrt(3)])
    z = np.array([0.0, 0.0, 1.0, -1.0, 1.0, 1.0])
    assert acti.z_angle_deg(x, y, z) == pytest.approx([0, 0, 90, -90, 45, 30])


def test_5s_epochs_of_a_still_vertical_sensor():
    samples = np.tile([0.0, 0.0, 1.0], (120, 1))  # 12 s at 10 Hz
    frame = acti.summarise_5s_epochs(samples, 10.0)
    assert frame["epoch"].to_list() == [0, 1]  # the last 2 s are no whole epoch
    assert frame["z_angle_deg"].to_list() == pytest.approx([90.0, 90.0])
    assert frame["z_g"].to_list() == pytest.approx([1.0, 1.0])


def test_5s_rolling_median_removes_a_spike():
    samples = np.tile([0.0, 0.0, 1.0], (100, 1))
    samples[20] = [0.0, 0.0, 9.0]  # one sample spike; a plain mean would give z = 1.16
    frame = acti.summarise_5s_epochs(samples, 10.0)
    assert frame["z_g"][0] == pytest.approx(1.0)


def brute_force_epochs(samples: np.ndarray, fs: float) -> np.ndarray:
    """Reference: centred median over an explicit odd 5-s window, truncated at the ends."""
    n = round(fs * 5)
    half = (n if n % 2 else n + 1) // 2
    filtered = np.array(
        [np.median(samples[max(0, k - half) : k + half + 1], axis=0) for k in range(len(samples))]
    )
    epoch = np.floor(np.arange(len(samples)) / (fs * 5) + 1e-9).astype(int)
    complete = math.floor(len(samples) / (fs * 5) + 1e-9)
    angle = acti.z_angle_deg(filtered[:, 0], filtered[:, 1], filtered[:, 2])
    cols = np.column_stack([filtered, angle])
    return np.array([cols[epoch == e].mean(axis=0) for e in range(complete)])


@pytest.mark.parametrize("chunk_s", [0.3, 4.0, 7.7, 3600.0])
def test_chunked_epochs_equal_the_whole_recording(chunk_s):
    rng = np.random.default_rng(7)
    fs = 12.5  # 62.5 samples per epoch: epochs of 63 and 62 samples
    samples = rng.normal(size=(int(fs * 61), 3))
    frame = acti.summarise_5s_epochs(samples, fs, chunk_s=chunk_s)
    expected = brute_force_epochs(samples, fs)
    got = frame.select("x_g", "y_g", "z_g", "z_angle_deg").to_numpy()
    assert got.shape == expected.shape == (12, 4)
    assert got == pytest.approx(expected)


def test_5s_epochs_carry_their_start_time():
    start = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    frame = acti.summarise_5s_epochs(np.zeros((500, 3)), 50.0, start_at=start)
    assert frame["epoch_start_at"].to_list() == [start, start + timedelta(seconds=5)]


# --- van Hees 2015 sustained inactivity -----------------------------------------------------


def still_block(n_still: int) -> np.ndarray:
    """Moving (0/10 degrees alternating), n_still epochs at 50 degrees, moving again."""
    moving = np.tile([0.0, 10.0], 10)
    return np.concatenate([moving, np.full(n_still, 50.0), moving])


def test_sib_of_exactly_5_minutes():
    sib = acti.sustained_inactivity(still_block(60)).to_list()
    assert sib[20:80] == [True] * 60
    assert not any(sib[:20]) and not any(sib[80:])


def test_no_sib_at_4_9_minutes():
    assert not any(acti.sustained_inactivity(still_block(59)).to_list())  # 59 x 5 s = 4.92 min


def test_sib_change_threshold_is_strictly_above_5_degrees():
    z = np.concatenate([np.full(30, 0.0), np.full(30, 5.0)])
    assert all(acti.sustained_inactivity(z).to_list())
    z = np.concatenate([np.full(30, 0.0), np.full(30, 5.01)])
    assert not any(acti.sustained_inactivity(z).to_list())


def test_sib_missing_angle_is_unscored_and_breaks_the_bout():
    z = np.zeros(100)
    z[50] = np.nan
    sib = acti.sustained_inactivity(z).to_list()
    assert sib[50] is None
    assert not any(sib[:50]) and not any(sib[51:])  # 50 and 49 epochs: both under 5 min
    assert all(acti.sustained_inactivity(np.zeros(60)).to_list())  # recording ends count


# --- HDCZA ----------------------------------------------------------------------------------


def test_hdcza_threshold_is_the_clipped_10th_percentile_times_15():
    change = np.linspace(0.0, 1.0, 101)  # 10th percentile 0.1 -> 1.5
    assert acti.hdcza_threshold(change) == 0.50
    assert acti.hdcza_threshold(change, clip_deg=acti.SKDH_THRESHOLD_CLIP_DEG) == 1.0
    assert acti.hdcza_threshold(change, clip_deg=None) == pytest.approx(1.5)
    still = np.zeros(100)
    assert acti.hdcza_threshold(still) == 0.13
    assert acti.hdcza_threshold(still, clip_deg=acti.SKDH_THRESHOLD_CLIP_DEG) == 0.1
    mid = np.full(100, 0.02)  # 0.02 x 15 = 0.3, inside both ranges
    assert acti.hdcza_threshold(mid) == pytest.approx(0.3)


def movement(n: int) -> np.ndarray:
    """n epochs alternating 0 and 10 degrees: an angle change of 10 every epoch."""
    return np.tile([0.0, 10.0], n // 2 + 1)[:n]


def blocks(*parts: tuple[str, float]) -> np.ndarray:
    """A z-angle series from ('move' | 'still', minutes) parts, 12 epochs a minute."""
    return np.concatenate(
        [
            movement(round(m * 12)) if kind == "move" else np.full(round(m * 12), 30.0)
            for kind, m in parts
        ]
    )


def test_hdcza_keeps_blocks_over_30_min():
    assert acti.hdcza(blocks(("move", 60), ("still", 25), ("move", 60))).start is None
    found = acti.hdcza(blocks(("move", 60), ("still", 35), ("move", 60)))
    assert found.start is not None and found.end is not None
    assert abs(found.start - 60 * 12) <= 3 and abs(found.end - 95 * 12) <= 3
    assert found.threshold_deg == 0.13  # 10th percentile of change is 0: clipped


def test_hdcza_merges_gaps_under_60_min_only():
    merged = acti.hdcza(
        blocks(("move", 60), ("still", 120), ("move", 50), ("still", 90), ("move", 60))
    )
    assert merged.end is not None and merged.start is not None
    assert (merged.end - merged.start) / 12 == pytest.approx(260, abs=0.5)
    apart = acti.hdcza(
        blocks(("move", 60), ("still", 120), ("move", 70), ("still", 90), ("move", 60))
    )
    assert apart.end is not None and apart.start is not None
    assert (apart.end - apart.start) / 12 == pytest.approx(120, abs=0.5)  # the longer block
    assert abs(apart.start - 60 * 12) <= 3


def synthetic_day(start: datetime, sleep_from_h: float, sleep_to_h: float) -> pl.DataFrame:
    """24 h of 5-s z-angles from ``start``: noisy wake, still sleep with two turns."""
    rng = np.random.default_rng(3)
    n = 24 * 720
    hours = np.arange(n) / 720
    z = rng.normal(0, 15, n)  # awake: large epoch-to-epoch changes
    asleep = (hours >= sleep_from_h) & (hours < sleep_to_h)
    posture = np.where(hours < (sleep_from_h + sleep_to_h) / 2, -20.0, 35.0)  # one turn
    z[asleep] = posture[asleep] + rng.normal(0, 0.05, asleep.sum())
    nap = (hours >= 3) & (hours < 3.4)  # a 24-min still spell in the afternoon: too short
    z[nap] = 10 + rng.normal(0, 0.05, nap.sum())
    times = [start + timedelta(seconds=5 * i) for i in range(n)]
    return pl.DataFrame({"epoch_start_at": times, "z_angle_deg": z}).with_columns(
        pl.col("epoch_start_at").dt.cast_time_unit("us")
    )


def test_hdcza_finds_a_planted_7_hour_night_within_5_minutes():
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    angles = synthetic_day(noon, sleep_from_h=11.0, sleep_to_h=18.0)  # 23:00 to 06:00
    nights = acti.hdcza_windows(angles, "UTC")
    assert nights.height == 1
    night = nights.row(0, named=True)
    assert night["night_date"] == noon.date()
    assert not night["is_daysleeper"]
    assert night["covered_h"] == pytest.approx(24.0)
    planted_start, planted_end = noon + timedelta(hours=11), noon + timedelta(hours=18)
    assert abs(night["spt_start_at"] - planted_start) <= timedelta(minutes=5)
    assert abs(night["spt_end_at"] - planted_end) <= timedelta(minutes=5)


def test_hdcza_reruns_18_to_18_for_daysleepers():
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    angles = synthetic_day(noon, sleep_from_h=16.0, sleep_to_h=23.5)  # 04:00 to 11:30
    night = acti.hdcza_windows(angles, "UTC").row(0, named=True)
    assert night["is_daysleeper"]
    assert night["window_start_at"] == noon + timedelta(hours=6)
    assert abs(night["spt_end_at"] - (noon + timedelta(hours=23.5))) <= timedelta(minutes=5)


def test_hdcza_windows_are_local_noon_to_noon():
    start = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 in Amsterdam (UTC+2)
    angles = synthetic_day(start, sleep_from_h=11.0, sleep_to_h=18.0)
    nights = acti.hdcza_windows(angles, "Europe/Amsterdam")
    assert nights["night_date"].to_list() == [start.date()]
    assert nights["window_start_at"][0] == start


# --- core.sleep_epochs rows -----------------------------------------------------------------


def epochs_frame(counts: list[float | None], epoch_s: float, start: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "epoch_start_at": [start + timedelta(seconds=epoch_s * i) for i in range(len(counts))],
            "epoch_s": [epoch_s] * len(counts),
            "activity_count": pl.Series(counts, dtype=pl.Float64),
        }
    ).with_columns(pl.col("epoch_start_at").dt.cast_time_unit("us"))


def with_lineage(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        participant_id=pl.lit("p1"), source=pl.lit("axivity"), file_id=pl.lit("f1")
    )


def test_minute_epochs_give_cole_kripke_1min_and_sadeh_rows():
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    counts = [300.0] * 10 + [0.0] * 20
    rows = acti.score_movement_epochs(epochs_frame(counts, 60.0, start))
    assert set(rows["method"].unique()) == {"cole_kripke_1min", "sadeh"}
    ck = rows.filter(pl.col("method") == "cole_kripke_1min")
    assert ck["is_asleep"].to_list() == acti.cole_kripke(counts).to_list()
    assert ck["epoch_start_at"][0] == start and ck["epoch_s"].unique().to_list() == [60.0]
    assert ck["activity"].to_list() == counts
    sadeh_rows = rows.filter(pl.col("method") == "sadeh")
    assert sadeh_rows["is_asleep"].to_list() == acti.sadeh(counts).to_list()
    SleepEpoch.validate(with_lineage(rows))


def test_5s_counts_reduce_to_overlapping_and_non_overlapping_maxima():
    minute = [0.0] * 12
    minute[5], minute[6] = 7.0, 9.0  # 25-30 s and 30-35 s: split by the 10-s grid
    counts = np.array(minute * 2)
    assert acti.minute_activity(counts, 5.0, "max_10s_overlap").tolist() == [16.0, 16.0]
    assert acti.minute_activity(counts, 5.0, "max_10s").tolist() == [9.0, 9.0]
    assert acti.minute_activity(counts, 5.0, "max_30s").tolist() == [9.0, 9.0]  # 0-30, 30-60 s
    assert acti.minute_activity(counts, 5.0, "sum_1min").tolist() == [16.0, 16.0]
    assert set(acti.applicable_methods(5.0)) == set(acti.COUNT_METHODS)
    assert acti.applicable_methods(30.0) == (
        "cole_kripke_1min",
        "cole_kripke_30s_nonoverlap",
        "sadeh",
    )


def test_methods_the_epoch_length_cannot_give_are_refused():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    frame = epochs_frame([0.0] * 60, 10.0, start)
    with pytest.raises(ValueError, match="cole_kripke_10s_overlap"):
        acti.score_movement_epochs(frame, ["cole_kripke_10s_overlap"])
    rows = acti.score_movement_epochs(frame, ["cole_kripke_10s_nonoverlap"])
    assert rows.height == 10 and rows["method"].unique().to_list() == ["cole_kripke_10s_nonoverlap"]


def test_a_missing_epoch_leaves_its_minute_null():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    frame = epochs_frame([0.0] * 40, 30.0, start).filter(
        pl.col("epoch_start_at") != start + timedelta(minutes=10)
    )
    rows = acti.score_movement_epochs(frame, ["cole_kripke_30s_nonoverlap"], rescore=False)
    assert rows.height == 20
    assert rows["activity"][10] is None
    # minute 10 is read by minutes 8..14 (it is their W+2 .. W-4)
    assert rows["is_asleep"].to_list()[8:15] == [None] * 7
    assert rows["is_asleep"][7] is True and rows["is_asleep"][15] is True


def test_sib_rows_for_core_sleep_epochs():
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    z = still_block(60)
    angles = pl.DataFrame(
        {
            "epoch_start_at": [start + timedelta(seconds=5 * i) for i in range(len(z))],
            "z_angle_deg": z,
        }
    ).with_columns(pl.col("epoch_start_at").dt.cast_time_unit("us"))
    rows = acti.sib_epochs(angles)
    assert rows.height == len(z)
    assert rows["method"].unique().to_list() == ["van_hees_sib"]
    assert rows["epoch_s"].unique().to_list() == [5.0]
    assert rows["activity"].null_count() == len(z)
    assert rows["is_asleep"].sum() == 60
    SleepEpoch.validate(with_lineage(rows))


@pytest.mark.parametrize("n", [1, 2, 7, 500, 501, 502, 5000])
@pytest.mark.parametrize("half", [0, 1, 3, 250])
def test_centred_rolling_median_equals_a_plain_one(n: int, half: int) -> None:
    """The bottleneck-based 5-s median behind the z-angle equals np.median over each
    centred window cut at both ends (checked against the windows themselves)."""
    from restless.models.actigraphy_sleep import centred_rolling_median

    x = np.random.default_rng(n + half).normal(size=(n, 3))
    expected = np.array(
        [np.median(x[max(i - half, 0) : i + half + 1], axis=0) for i in range(n)]
    ).reshape(n, 3)
    assert np.array_equal(centred_rolling_median(x, half), expected)
