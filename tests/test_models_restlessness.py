"""Restlessness: Fitbit-classic restless stages, then movement epochs, else null."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from restless.models.features import canonical
from restless.models.restlessness import restlessness
from restless.models.sleep_metrics import period_stages, segments, sleep_metrics


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def period(start: str, end: str, source: str = "fitbit") -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "source": [source],
            "file_id": ["f1"],
            "period_key": ["k1"],
            "start_at": [u(start)],
            "end_at": [u(end)],
        }
    )
    return canonical({"sleep_periods": frame}, "sleep_periods").with_row_index("period_id")


def stages(rows: list[tuple[str, str, str]], source: str = "fitbit") -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "participant_id": "p1",
            "source": source,
            "file_id": "f1",
            "period_key": "k1",
            "start_at": [u(r[0]) for r in rows],
            "end_at": [u(r[1]) for r in rows],
            "stage": [r[2] for r in rows],
        }
    )
    return canonical({"sleep_stages": frame}, "sleep_stages")


def minute_epochs(
    start: str, count: int, source: str = "garmin_fit", **measures: dict[int, float]
) -> pl.DataFrame:
    """``count`` 60-s epochs from ``start``; intensity 0 unless ``measures`` says otherwise
    (``{column: {epoch index: value}}``)."""
    t0 = u(start)
    data: dict[str, list] = {
        "participant_id": ["p1"] * count,
        "source": [source] * count,
        "file_id": ["f2"] * count,
        "epoch_start_at": [t0 + timedelta(minutes=i) for i in range(count)],
        "epoch_s": [60.0] * count,
        "intensity": [0.0] * count,
    }
    for column, values in measures.items():
        base = data.get(column, [None] * count)
        data[column] = [values.get(i, base[i]) for i in range(count)]
    return canonical({"movement_epochs": pl.DataFrame(data)}, "movement_epochs")


def run(p: pl.DataFrame, staged: pl.DataFrame, epochs: pl.DataFrame) -> pl.DataFrame:
    ps = period_stages(p, staged)
    segs = segments(ps)
    sleep = p.join(sleep_metrics(p, segs), on="period_id")
    return restlessness(sleep, ps, segs, epochs).drop("period_id")


def expected(
    method: str | None,
    minutes: float | None,
    count: int | None,
    coverage: float,
    source: str | None,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "restlessness_method": [method],
            "restless_min": [minutes],
            "restless_count": [count],
            "coverage": [coverage],
            "movement_source": [source],
        },
        schema={
            "restlessness_method": pl.String,
            "restless_min": pl.Float64,
            "restless_count": pl.Int64,
            "coverage": pl.Float64,
            "movement_source": pl.String,
        },
    )


NO_EPOCHS = minute_epochs("2026-01-10T00:00", 0)


def test_classic_log_restless_minutes_between_onset_and_offset() -> None:
    # Onset 23:10, offset 06:50. Restless 01:10-01:13 + 01:13-01:14 (one bout, 4 min) and
    # 03:20-03:25 (5 min): 9 min in 2 bouts. The 06:50-07:00 restless bout lies after the
    # final offset and does not count. Vendor stages beat the (moving) epochs.
    p = period("2026-01-10T23:00", "2026-01-11T07:00")
    staged = stages(
        [
            ("2026-01-10T23:00", "2026-01-10T23:10", "wake"),
            ("2026-01-10T23:10", "2026-01-11T01:10", "asleep"),
            ("2026-01-11T01:10", "2026-01-11T01:13", "restless"),
            ("2026-01-11T01:13", "2026-01-11T01:14", "restless"),
            ("2026-01-11T01:14", "2026-01-11T03:14", "asleep"),
            ("2026-01-11T03:14", "2026-01-11T03:20", "wake"),
            ("2026-01-11T03:20", "2026-01-11T03:25", "restless"),
            ("2026-01-11T03:25", "2026-01-11T06:50", "asleep"),
            ("2026-01-11T06:50", "2026-01-11T07:00", "restless"),
        ]
    )
    epochs = minute_epochs("2026-01-10T23:00", 480, intensity={5: 3.0})
    assert_frame_equal(run(p, staged, epochs), expected("vendor_restless", 9.0, 2, 1.0, None))


def test_classic_log_tst_excludes_restless() -> None:
    p = period("2026-01-10T23:00", "2026-01-11T00:00")
    staged = stages(
        [
            ("2026-01-10T23:00", "2026-01-10T23:20", "asleep"),
            ("2026-01-10T23:20", "2026-01-10T23:30", "restless"),
            ("2026-01-10T23:30", "2026-01-11T00:00", "asleep"),
        ]
    )
    ps = period_stages(p, staged)
    got = sleep_metrics(p, segments(ps)).select("tst_min", "waso_min", "awakenings")
    want = pl.DataFrame({"tst_min": [50.0], "waso_min": [10.0], "awakenings": [0]})
    assert_frame_equal(got, want)


# Sleep window 23:10:30 - 06:40:15 = 449.75 min (one light stage; no restless stages).
WINDOW_STAGE = [("2026-01-10T23:10:30", "2026-01-11T06:40:15", "light")]


def test_epoch_movement_counts_only_the_overlapping_part_of_each_epoch() -> None:
    # Epoch index i starts at 23:00 + i min. Moving epochs: 10 (23:10-23:11, 0.5 min
    # inside), 120-121 (01:00-01:02, one bout of 2 min), 240 (03:00, 1 min), 460
    # (06:40-06:41, 0.25 min inside), 461 (06:41, outside). 0.5+2+1+0.25 = 3.75 min in
    # 4 bouts; epochs cover the whole window.
    p = period("2026-01-10T23:00", "2026-01-11T07:00", source="garmin_fit")
    moving = {i: 2.0 for i in (10, 120, 121, 240, 460, 461)}
    epochs = minute_epochs("2026-01-10T23:00", 480, intensity=moving)
    got = run(p, stages(WINDOW_STAGE, source="garmin_fit"), epochs)
    assert_frame_equal(got, expected("epoch_movement", 3.75, 4, 1.0, "garmin_fit"))


def test_epoch_gap_lowers_coverage_and_ignores_null_epochs() -> None:
    # Epochs 02:00-02:59 (indices 180-239) missing and 03:30-03:49 carry no measure at all:
    # covered = 449.75 - 60 - 20 = 369.75 min; still above 2/3 of the window.
    p = period("2026-01-10T23:00", "2026-01-11T07:00", source="garmin_fit")
    epochs = minute_epochs("2026-01-10T23:00", 480, intensity={240: 1.0})
    epochs = epochs.filter(~pl.int_range(pl.len()).is_between(180, 239)).with_columns(
        pl.when(
            pl.col("epoch_start_at").is_between(
                u("2026-01-11T03:30"), u("2026-01-11T03:49"), closed="both"
            )
        )
        .then(None)
        .otherwise(pl.col("intensity"))
        .alias("intensity")
    )
    got = run(p, stages(WINDOW_STAGE, source="garmin_fit"), epochs)
    assert_frame_equal(got, expected("epoch_movement", 1.0, 1, 369.75 / 449.75, "garmin_fit"))


def test_too_little_epoch_coverage_gives_no_method() -> None:
    # Epochs 23:00-00:59 cover 109.5 of 449.75 min (< 2/3): null method, null values,
    # coverage falls back to the stage coverage of the period (449.75/480).
    p = period("2026-01-10T23:00", "2026-01-11T07:00", source="garmin_fit")
    epochs = minute_epochs("2026-01-10T23:00", 120, intensity={30: 4.0})
    got = run(p, stages(WINDOW_STAGE, source="garmin_fit"), epochs)
    assert_frame_equal(got, expected(None, None, None, 449.75 / 480, None))


def test_acceleration_threshold_and_source_choice() -> None:
    # Window 23:00-23:04 (4 min). Source "axivity" covers it fully: mean_accel 40 mg (not
    # above the 40 mg threshold), 41 mg (moving), steps 1 (moving), activity_count 0.
    # Source "fitbit" covers only 3 min, so it loses despite being the sleep source.
    p = period("2026-01-10T23:00", "2026-01-10T23:04")
    staged = stages([("2026-01-10T23:00", "2026-01-10T23:04", "light")])
    axivity = canonical(
        {
            "movement_epochs": pl.DataFrame(
                {
                    "participant_id": "p1",
                    "source": "axivity",
                    "file_id": "f3",
                    "epoch_start_at": [u(f"2026-01-10T23:0{i}") for i in range(4)],
                    "epoch_s": 60.0,
                    "mean_accel_mg": [40.0, 41.0, None, None],
                    "steps": [None, None, 1, None],
                    "activity_count": [None, None, None, 0.0],
                }
            )
        },
        "movement_epochs",
    )
    fitbit = minute_epochs("2026-01-10T23:00", 3, source="fitbit", intensity={0: 5.0, 1: 5.0})
    got = run(p, staged, pl.concat([axivity, fitbit]))
    assert_frame_equal(got, expected("epoch_movement", 2.0, 1, 1.0, "axivity"))


def test_no_stages_no_epochs_is_null() -> None:
    p = period("2026-01-10T23:00", "2026-01-11T07:00")
    got = run(p, stages([]), NO_EPOCHS)
    assert_frame_equal(got, expected(None, None, None, 0.0, None))
