"""Night-level sleep metrics from a hand-written hypnogram (SCIENCE.md section 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from restless.models.features import canonical
from restless.models.sleep_metrics import period_stages, segments, sleep_metrics


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def main_period(key: str, start: str, end: str, **vendor: float | int) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "source": ["fitbit"],
            "file_id": ["f1"],
            "period_key": [key],
            "start_at": [u(start)],
            "end_at": [u(end)],
            **{name: [value] for name, value in vendor.items()},
        }
    )
    return canonical({"sleep_periods": frame}, "sleep_periods").with_row_index("period_id")


def stages(rows: list[tuple[str | None, str, str, str]]) -> pl.DataFrame:
    """Stages of participant p1, source fitbit, from (period_key, start, end, stage)."""
    frame = pl.DataFrame(
        {
            "participant_id": "p1",
            "source": "fitbit",
            "file_id": "f1",
            "period_key": pl.Series([r[0] for r in rows], dtype=pl.String),
            "start_at": [u(r[1]) for r in rows],
            "end_at": [u(r[2]) for r in rows],
            "stage": [r[3] for r in rows],
        }
    )
    return canonical({"sleep_stages": frame}, "sleep_stages")


def metrics(period: pl.DataFrame, staged: pl.DataFrame) -> pl.DataFrame:
    return sleep_metrics(period, segments(period_stages(period, staged))).drop("period_id")


def expected_row(**values: object) -> pl.DataFrame:
    schema = {
        "is_staged": pl.Boolean,
        "sleep_onset_at": pl.Datetime("us", "UTC"),
        "sleep_offset_at": pl.Datetime("us", "UTC"),
        "time_in_bed_min": pl.Float64,
        "tst_min": pl.Float64,
        "sol_min": pl.Float64,
        "waso_min": pl.Float64,
        "sleep_efficiency": pl.Float64,
        "awakenings": pl.Int64,
        "stage_coverage": pl.Float64,
    }
    return pl.DataFrame({k: [values[k]] for k in schema}, schema=schema)


# 22:00-06:00 in bed (480 min). Sleep from 22:20 to 05:40 (SPT 440 min).
HYPNOGRAM = [
    ("k1", "2026-01-10T22:00", "2026-01-10T22:20", "wake"),  # latency, 20
    ("k1", "2026-01-10T22:20", "2026-01-11T00:20", "light"),  # 120
    ("k1", "2026-01-11T00:20", "2026-01-11T00:30", "wake"),  # 10 } one bout
    ("k1", "2026-01-11T00:30", "2026-01-11T00:35", "wake"),  # 5  }
    ("k1", "2026-01-11T00:35", "2026-01-11T02:35", "deep"),  # 120
    ("k1", "2026-01-11T02:35", "2026-01-11T02:45", "restless"),  # 10, not sleep, not a wake bout
    ("k1", "2026-01-11T02:45", "2026-01-11T04:45", "rem"),  # 120
    ("k1", "2026-01-11T04:45", "2026-01-11T04:50", "wake"),  # 5, second bout
    ("k1", "2026-01-11T04:50", "2026-01-11T05:40", "light"),  # 50
    ("k1", "2026-01-11T05:40", "2026-01-11T06:00", "wake"),  # final wake, 20
]


def test_hand_written_hypnogram() -> None:
    # TST = 120+120+120+50 = 410; SOL = 20; WASO = 440-410 = 30 (15 wake + 10 restless
    # + 5 wake); SE = 410/480*100; awakenings = 2 (00:20-00:35 merged, 04:45).
    period = main_period("k1", "2026-01-10T22:00", "2026-01-11T06:00")
    got = metrics(period, stages(HYPNOGRAM))
    expected = expected_row(
        is_staged=True,
        sleep_onset_at=u("2026-01-10T22:20"),
        sleep_offset_at=u("2026-01-11T05:40"),
        time_in_bed_min=480.0,
        tst_min=410.0,
        sol_min=20.0,
        waso_min=30.0,
        sleep_efficiency=410 / 480 * 100,
        awakenings=2,
        stage_coverage=1.0,
    )
    assert_frame_equal(got, expected)


def test_unkeyed_stages_inside_the_period_count_and_gaps_lower_coverage() -> None:
    # Stages without period_key are matched by time: light 23:00-01:00 and 01:30-05:00,
    # nothing logged 01:00-01:30 and 05:00-06:00. A stage of the next period (07:00) and
    # one of another source are ignored. TST = 120 + 210 = 330, SPT = 360, WASO = 30 (the
    # gap is not sleep), coverage = 330/480; no wake stage, so 0 awakenings.
    period = main_period("k1", "2026-01-10T22:00", "2026-01-11T06:00")
    staged = stages(
        [
            (None, "2026-01-10T23:00", "2026-01-11T01:00", "light"),
            (None, "2026-01-11T01:30", "2026-01-11T05:00", "light"),
            (None, "2026-01-11T07:00", "2026-01-11T08:00", "light"),
        ]
    )
    other = staged.head(1).with_columns(pl.lit("oura").alias("source"))
    got = metrics(period, pl.concat([staged, other]))
    expected = expected_row(
        is_staged=True,
        sleep_onset_at=u("2026-01-10T23:00"),
        sleep_offset_at=u("2026-01-11T05:00"),
        time_in_bed_min=480.0,
        tst_min=330.0,
        sol_min=60.0,
        waso_min=30.0,
        sleep_efficiency=330 / 480 * 100,
        awakenings=0,
        stage_coverage=330 / 480,
    )
    assert_frame_equal(got, expected)


def test_short_wake_laid_over_sleep_is_not_counted_twice() -> None:
    # Fitbit shortData: a 2-min wake (22:30-22:32) on top of light 22:00-23:00.
    # TST = 58, WASO = 2, one awakening, coverage 60/60.
    period = main_period("k1", "2026-01-10T22:00", "2026-01-10T23:00")
    staged = stages(
        [
            ("k1", "2026-01-10T22:00", "2026-01-10T23:00", "light"),
            ("k1", "2026-01-10T22:30", "2026-01-10T22:32", "wake"),
        ]
    )
    got = metrics(period, staged)
    expected = expected_row(
        is_staged=True,
        sleep_onset_at=u("2026-01-10T22:00"),
        sleep_offset_at=u("2026-01-10T23:00"),
        time_in_bed_min=60.0,
        tst_min=58.0,
        sol_min=0.0,
        waso_min=2.0,
        sleep_efficiency=58 / 60 * 100,
        awakenings=1,
        stage_coverage=1.0,
    )
    assert_frame_equal(got, expected)


def test_period_without_stages_takes_vendor_summary() -> None:
    period = main_period(
        "k1",
        "2026-01-10T22:00",
        "2026-01-11T06:00",
        vendor_minutes_asleep=400.0,
        vendor_minutes_to_fall_asleep=12.0,
        vendor_minutes_awake=30.0,
        vendor_awake_count=3,
    )
    got = metrics(period, stages([]))
    expected = expected_row(
        is_staged=False,
        sleep_onset_at=u("2026-01-10T22:00"),
        sleep_offset_at=u("2026-01-11T06:00"),
        time_in_bed_min=480.0,
        tst_min=400.0,
        sol_min=12.0,
        waso_min=30.0,
        sleep_efficiency=400 / 480 * 100,
        awakenings=3,
        stage_coverage=0.0,
    )
    assert_frame_equal(got, expected)


def test_period_without_stages_or_vendor_fields_stays_null() -> None:
    # in_bed says nothing about sleep: still "no scored stages".
    period = main_period("k1", "2026-01-10T22:00", "2026-01-11T06:00")
    staged = stages([("k1", "2026-01-10T22:00", "2026-01-11T06:00", "in_bed")])
    got = metrics(period, staged)
    expected = expected_row(
        is_staged=False,
        sleep_onset_at=u("2026-01-10T22:00"),
        sleep_offset_at=u("2026-01-11T06:00"),
        time_in_bed_min=480.0,
        tst_min=None,
        sol_min=None,
        waso_min=None,
        sleep_efficiency=None,
        awakenings=None,
        stage_coverage=0.0,
    )
    assert_frame_equal(got, expected)


def test_segments_partition_overlapping_stages() -> None:
    period = main_period("k1", "2026-01-10T22:00", "2026-01-10T23:00")
    staged = stages(
        [
            ("k1", "2026-01-10T22:00", "2026-01-10T23:00", "deep"),
            ("k1", "2026-01-10T22:10", "2026-01-10T22:20", "restless"),
            ("k1", "2026-01-10T22:15", "2026-01-10T22:16", "wake"),
        ]
    )
    got = segments(period_stages(period, staged)).select(
        "seg_start_at", "seg_end_at", "stage_class", "dur_min"
    )
    expected = pl.DataFrame(
        {
            "seg_start_at": [u(f"2026-01-10T22:{m}") for m in ("00", "10", "15", "16", "20")],
            "seg_end_at": [
                u(f"2026-01-10T{t}") for t in ("22:10", "22:15", "22:16", "22:20", "23:00")
            ],
            "stage_class": ["sleep", "restless", "wake", "restless", "sleep"],
            "dur_min": [10.0, 5.0, 1.0, 4.0, 40.0],
        }
    )
    assert_frame_equal(got, expected)
