"""Oakley / Actiware scoring: pinned constants, hand-computed sums, and agreement with
Actiware's own Sleep/Wake column in the real English, French and Dutch exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from restless.ingest import actiware
from restless.ingest.base import ReadContext
from restless.models.oakley import (
    LEAD_IN_S,
    MISSING_MARGIN_S,
    WAKE_THRESHOLDS,
    oakley_epochs,
    oakley_score,
    oakley_scored,
    oakley_sleep,
    oakley_weights,
    oakley_weights_exact,
    threshold_value,
)

from .conftest import real_file

F = Fraction

# --- the published constants --------------------------------------------------------------


def test_sixty_second_weights_are_the_published_ones() -> None:
    # Actiware manual appendix A: E-2/25 + E-1/5 + E0 + E+1/5 + E+2/25
    assert oakley_weights_exact(60) == (F(1, 25), F(1, 5), F(1), F(1, 5), F(1, 25))


def test_thirty_second_weights_are_the_published_ones() -> None:
    # 0.04 (E-4 + E-3 + E+3 + E+4) + 0.2 (E-2 + E-1 + E+1 + E+2) + 2 E0
    assert oakley_weights_exact(30) == (
        F(1, 25), F(1, 25), F(1, 5), F(1, 5), F(2), F(1, 5), F(1, 5), F(1, 25), F(1, 25)
    )  # fmt: skip


def test_derived_weights_for_15_s_and_2_min() -> None:
    # The rule that reproduces both published sets gives, for 15-s epochs, 0.04 on the
    # epochs 5-8 away, 0.2 on those 1-4 away and 4 on E0; for 2-min epochs 0.12 E+-1 and
    # 0.5 E0 (the same tables pyActigraphy ships for 15-s and 120-s data).
    fifteen = oakley_weights_exact(15)
    assert len(fifteen) == 17
    assert fifteen[:4] == fifteen[-4:] == (F(1, 25),) * 4
    assert fifteen[4:8] == fifteen[9:13] == (F(1, 5),) * 4
    assert fifteen[8] == F(4)
    assert oakley_weights_exact(120) == (F(3, 25), F(1, 2), F(3, 25))
    # every epoch length spans exactly +-2 minutes of neighbours
    for epoch_s in (10, 15, 30, 60):
        assert (len(oakley_weights(epoch_s)) // 2) * epoch_s == 120


def test_threshold_levels() -> None:
    assert WAKE_THRESHOLDS == {"low": 20.0, "medium": 40.0, "high": 80.0}
    assert threshold_value("Medium") == 40.0
    assert threshold_value(37.5) == 37.5
    with pytest.raises(ValueError, match="unknown wake threshold"):
        threshold_value("auto")
    assert (LEAD_IN_S, MISSING_MARGIN_S) == (120, 60)


# --- hand-computed sums -------------------------------------------------------------------


def test_manual_example_sixty_seconds() -> None:
    # The Actiware manual's example: 100, 42, 20, 13, 67 around 12:00 ->
    # 100/25 + 42/5 + 20 + 13/5 + 67/25 = 4 + 8.4 + 20 + 2.6 + 2.68 = 37.68
    counts = [100, 42, 20, 13, 67]
    assert oakley_score(counts, 60)[2] == pytest.approx(37.68)
    assert oakley_sleep(counts, 60, "medium")[2]  # 37.68 <= 40: sleep
    assert not oakley_sleep(counts, 60, "low")[2]  # 37.68 > 20: wake


def test_thirty_second_hand_example() -> None:
    # 0.04 (10 + 20 + 70 + 80) + 0.2 (30 + 40 + 50 + 60) + 2 x 5 = 7.2 + 36 + 10 = 53.2
    counts = [10, 20, 30, 40, 5, 50, 60, 70, 80]
    assert oakley_score(counts, 30)[4] == pytest.approx(53.2)
    assert not oakley_sleep(counts, 30, 40)[4]
    assert oakley_sleep(counts, 30, 80)[4]


def test_fifteen_second_hand_example() -> None:
    # one count of 10 on E0 weighs 4 x 10 = 40 (sleep: not above 40); 11 -> 44 (wake);
    # 100 counts four epochs (1 min) before weigh 20, five epochs before weigh 4.
    assert oakley_score([10], 15)[0] == 40.0
    assert oakley_sleep([10], 15, 40).tolist() == [True]
    assert oakley_sleep([11], 15, 40).tolist() == [False]
    assert oakley_score([100, 0, 0, 0, 0], 15)[4] == pytest.approx(20.0)
    assert oakley_score([100, 0, 0, 0, 0, 0], 15)[5] == pytest.approx(4.0)


def test_a_sum_of_exactly_the_threshold_is_sleep_despite_float_rounding() -> None:
    counts = [55, 38, 48, 25, 5, 44, 0, 22, 50]
    # 0.04 (55 + 38 + 22 + 50) + 0.2 (48 + 25 + 44 + 0) + 2 x 5 = 6.6 + 23.4 + 10 = 40
    naive = float(np.correlate(np.array(counts, float), oakley_weights(30), "valid")[0])
    assert naive > 40.0  # plain floating point would call it wake
    assert oakley_sleep(counts, 30, 40)[4]


def test_missing_neighbours_count_zero_and_epochs_without_counts_are_not_asleep() -> None:
    counts = [np.nan, 0, 30, np.nan, 0]
    scores = oakley_score(counts, 60)
    assert np.isnan(scores[0]) and np.isnan(scores[3])
    assert scores[2] == pytest.approx(30.0)  # neighbours 0, NaN->0
    assert scores[4] == pytest.approx(30 / 25)
    assert oakley_sleep(counts, 60, 40).tolist() == [False, True, True, False, True]
    assert oakley_sleep(pl.Series([None, 5], dtype=pl.Int64), 60, 40).tolist() == [False, True]


def test_end_of_recording_is_scored_with_the_future_as_zero() -> None:
    counts = [0, 0, 0, 0, 300]
    assert oakley_score(counts, 60)[4] == pytest.approx(300 + 0 + 0)
    assert oakley_scored(counts, 60)[4]


def test_scored_mask_lead_in_and_missing_margin() -> None:
    counts = [0.0] * 10
    counts[6] = np.nan
    # 60 s: first 2 epochs (2 min) unscored; 1 epoch (1 min) either side of the gap
    assert oakley_scored(counts, 60).tolist() == [
        False, False, True, True, True, False, False, False, True, True
    ]  # fmt: skip
    # 15 s: 8 lead-in epochs, 4 either side of a missing count
    fifteen = [0.0] * 30
    fifteen[20] = np.nan
    mask = oakley_scored(fifteen, 15)
    assert not mask[:8].any() and mask[8:16].all()
    assert not mask[16:25].any() and mask[25:].all()


# --- the polars frame helper --------------------------------------------------------------


def test_oakley_epochs_on_a_grid_with_a_gap_and_off_wrist() -> None:
    t0 = datetime(2024, 3, 1, 22, 0, tzinfo=UTC)
    minutes = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]  # minute 5 is missing
    counts = [0, 0, 0, 0, 0, 0, 0, 500, 0, 0, 0, 41]
    wear = [True] * 12
    wear[7] = False  # minute 8 off-wrist: its 500 counts are ignored
    frame = pl.DataFrame(
        {
            "participant_id": ["p1"] * 12,
            "epoch_start_at": [t0 + timedelta(minutes=m) for m in minutes],
            "epoch_s": [60.0] * 12,
            "activity_count": [float(c) for c in counts],
            "is_wear": wear,
        }
    )
    out = oakley_epochs(frame, "medium")
    assert out.columns == [
        "participant_id", "epoch_start_at", "epoch_s", "activity", "is_asleep", "method"
    ]  # fmt: skip
    assert out["method"].unique().to_list() == ["oakley"]
    by_minute = dict(zip(minutes, out["is_asleep"].to_list(), strict=True))
    # lead-in: minutes 0, 1; missing minute 5 -> 4, 6 unscored; off-wrist 8 -> 7, 8, 9
    for minute in (0, 1, 4, 6, 7, 8, 9):
        assert by_minute[minute] is None, minute
    assert by_minute[2] is True and by_minute[3] is True and by_minute[10] is True
    # minute 11: 41/5 = 8.2 -> sleep; minute 12: 41 > 40 -> wake (end scored, future 0)
    assert by_minute[11] is True and by_minute[12] is False


def test_oakley_epochs_refuses_mixed_epoch_lengths() -> None:
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "epoch_start_at": [t0, t0 + timedelta(seconds=30)],
            "epoch_s": [30.0, 60.0],
            "activity_count": [0.0, 0.0],
        }
    )
    with pytest.raises(ValueError, match="one epoch length"):
        oakley_epochs(frame)


# --- agreement with Actiware's own Sleep/Wake column (issue 4, "a real client") ---------

EXPORTS = [
    # (path parts, zone, minimum agreement, expected scored epochs)
    (("wearables", "respironics_rpx_csv", "test_sample_rpx_eng.csv"), "Europe/London", 1.0, 20156),
    (("wearables", "respironics_rpx_csv", "test_sample.csv"), "Europe/Paris", 1.0, 11552),
    # Dutch 15-s export, derived weights: 59 of 59 scored epochs agree (measured)
    (("wearables", "actiwatch_csv", "Actiwatch.csv"), "Europe/Amsterdam", 1.0, 59),
]


def _scored_against_vendor(parts: tuple[str, ...], zone: str) -> tuple[pl.DataFrame, object]:
    path = real_file(*parts)
    head = actiware.header(path)
    result = actiware.read(path, ReadContext("p1", zone))
    ours = oakley_epochs(result.tables["movement_epochs"], head.wake_threshold)
    vendor = result.tables["sleep_epochs"].select(
        "epoch_start_at", pl.col("is_asleep").alias("vendor")
    )
    joined = ours.join(vendor, on="epoch_start_at", how="full", coalesce=True)
    assert joined.height == result.tables["movement_epochs"].height
    return joined, head


@pytest.mark.parametrize(("parts", "zone", "minimum", "scored"), EXPORTS)
def test_oakley_reproduces_actiware_sleep_wake(parts, zone, minimum, scored) -> None:
    joined, head = _scored_against_vendor(parts, zone)
    assert head.wake_threshold == 40.0
    compared = joined.filter(pl.col("vendor").is_not_null())
    agree = compared.select((pl.col("is_asleep") == pl.col("vendor")).mean()).item()
    print(
        f"\n{parts[-1]}: {head.epoch_s}-s epochs, threshold {head.wake_threshold:g}: "
        f"Oakley agrees with Actiware on {agree:.2%} of {compared.height} scored epochs"
    )
    assert compared.height == scored
    assert agree >= minimum
    # the epochs Actiware leaves unscored are exactly the ones restless leaves unscored
    assert joined["is_asleep"].is_null().to_list() == joined["vendor"].is_null().to_list()


def test_agreement_is_a_real_check_wrong_weights_fail_it() -> None:
    joined, _head = _scored_against_vendor(EXPORTS[0][0], EXPORTS[0][1])
    counts = joined.sort("epoch_start_at")["activity"]
    vendor = joined.sort("epoch_start_at")["vendor"]
    scored = vendor.is_not_null().to_numpy()
    truth = vendor.to_numpy()[scored].astype(bool)
    # the 60-s weights on 30-s epochs agree on only ~97% (SCIENCE.md section 4)
    wrong = oakley_sleep(counts, 60, 40)[scored]
    assert 0.96 < (wrong == truth).mean() < 0.99
    # pyActigraphy's convention (sleep only below the threshold) flips the epochs whose sum
    # is exactly 40: the real export scores those sleep
    exact = oakley_score(counts, 30)
    at_threshold = scored & np.isclose(exact, 40.0)
    assert at_threshold.sum() >= 1
    assert vendor.to_numpy()[at_threshold].astype(bool).all()


def test_dutch_15_s_export_rejects_the_thirty_second_weights() -> None:
    joined, _head = _scored_against_vendor(EXPORTS[2][0], EXPORTS[2][1])
    joined = joined.sort("epoch_start_at")
    scored = joined["vendor"].is_not_null().to_numpy()
    truth = joined["vendor"].to_numpy()[scored].astype(bool)
    counts = joined["activity"].to_numpy()
    # the 30-s weights applied epoch-for-epoch to 15-s data (+-1 minute only, E0 x 2)
    weights = oakley_weights(30)
    padded = np.concatenate([np.zeros(4), np.nan_to_num(counts), np.zeros(4)])
    wrong = np.correlate(padded, weights, "valid") <= 40
    assert (wrong[scored] == truth).mean() < 0.9
