"""Night assignment (noon to noon, local wall clock, DST-safe) and main-period choice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal

from restless.models.features import canonical, compute_features
from restless.models.nights import assign_nights, main_periods, participant_zones

BERLIN = pl.DataFrame({"participant_id": ["p1"], "timezone": ["Europe/Berlin"]})


def u(text: str) -> datetime:
    """A UTC instant from an ISO string."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def periods(rows: list[tuple[str, str, str, str]], participant: str = "p1") -> pl.DataFrame:
    """Sleep periods from (source, period_key, start UTC, end UTC)."""
    return canonical(
        {
            "sleep_periods": pl.DataFrame(
                {
                    "participant_id": participant,
                    "source": [r[0] for r in rows],
                    "file_id": "f1",
                    "period_key": [r[1] for r in rows],
                    "start_at": [u(r[2]) for r in rows],
                    "end_at": [u(r[3]) for r in rows],
                }
            )
        },
        "sleep_periods",
    )


def stages(rows: list[tuple[str, str, str, str]], participant: str = "p1") -> pl.DataFrame:
    """Sleep stages from (period_key, start UTC, end UTC, stage), source fitbit."""
    return canonical(
        {
            "sleep_stages": pl.DataFrame(
                {
                    "participant_id": participant,
                    "source": "fitbit",
                    "file_id": "f1",
                    "period_key": [r[0] for r in rows],
                    "start_at": [u(r[1]) for r in rows],
                    "end_at": [u(r[2]) for r in rows],
                    "stage": [r[3] for r in rows],
                }
            )
        },
        "sleep_stages",
    )


def night_dates(frame: pl.DataFrame) -> pl.DataFrame:
    zones = participant_zones(BERLIN)
    return assign_nights(frame, zones).select("period_key", "night_date").sort("period_key")


def test_noon_boundary_follows_local_clock_on_spring_forward() -> None:
    # 2026-03-29 Europe/Berlin: 02:00 CET -> 03:00 CEST, so noon local is 10:00 UTC.
    frame = periods(
        [
            ("fitbit", "a_1130_local", "2026-03-29T09:30", "2026-03-29T10:00"),  # 11:30 CEST
            ("fitbit", "b_1230_local", "2026-03-29T10:30", "2026-03-29T11:00"),  # 12:30 CEST
            ("fitbit", "c_2200_local", "2026-03-28T21:00", "2026-03-29T05:00"),  # 22:00 CET
        ]
    )
    expected = pl.DataFrame(
        {
            "period_key": ["a_1130_local", "b_1230_local", "c_2200_local"],
            "night_date": [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 28)],
        }
    )
    assert_frame_equal(night_dates(frame), expected)


def test_noon_boundary_follows_local_clock_on_fall_back() -> None:
    # 2026-10-25 Europe/Berlin: 03:00 CEST -> 02:00 CET, so noon local is 11:00 UTC.
    frame = periods(
        [
            ("fitbit", "a_1130_local", "2026-10-25T10:30", "2026-10-25T11:00"),  # 11:30 CET
            ("fitbit", "b_1230_local", "2026-10-25T11:30", "2026-10-25T12:00"),  # 12:30 CET
        ]
    )
    expected = pl.DataFrame(
        {
            "period_key": ["a_1130_local", "b_1230_local"],
            "night_date": [date(2026, 10, 24), date(2026, 10, 25)],
        }
    )
    assert_frame_equal(night_dates(frame), expected)


def test_period_starting_after_midnight_belongs_to_previous_night() -> None:
    # 00:30 CET on 2026-01-15 is 23:30 UTC on 2026-01-14.
    frame = periods([("fitbit", "k", "2026-01-14T23:30", "2026-01-15T06:30")])
    expected = pl.DataFrame({"period_key": ["k"], "night_date": [date(2026, 1, 14)]})
    assert_frame_equal(night_dates(frame), expected)


def test_dst_nights_have_real_elapsed_tst() -> None:
    # Spring forward: 22:00 CET -> 07:00 CEST is 8 h of real time (9 h of wall clock);
    # one light stage 21:30-04:30 UTC = 420 min. Fall back: 23:00 CEST -> 07:00 CET is
    # 9 h real (8 h wall clock); asleep 21:15-05:45 UTC = 510 min.
    frame = periods(
        [
            ("fitbit", "spring", "2026-03-28T21:00", "2026-03-29T05:00"),
            ("fitbit", "fall", "2026-10-24T21:00", "2026-10-25T06:00"),
        ]
    )
    staged = stages(
        [
            ("spring", "2026-03-28T21:30", "2026-03-29T04:30", "light"),
            ("fall", "2026-10-24T21:15", "2026-10-25T05:45", "asleep"),
        ]
    )
    nightly = compute_features({"sleep_periods": frame, "sleep_stages": staged}, BERLIN)["nightly"]
    expected = pl.DataFrame(
        {
            "night_date": [date(2026, 3, 28), date(2026, 10, 24)],
            "sleep_period_key": ["spring", "fall"],
            "time_in_bed_min": [480.0, 540.0],
            "tst_min": [420.0, 510.0],
            "sol_min": [30.0, 15.0],
            "waso_min": [0.0, 0.0],
        }
    )
    got = nightly.select(expected.columns).sort("night_date")
    assert_frame_equal(got, expected)


def test_nap_at_two_pm_loses_to_the_night() -> None:
    # 14:00-15:00 CET nap and 23:00-07:00 CET night both start inside night 2026-01-10.
    frame = periods(
        [
            ("fitbit", "nap", "2026-01-10T13:00", "2026-01-10T14:00"),
            ("fitbit", "night", "2026-01-10T22:00", "2026-01-11T06:00"),
        ]
    )
    got = main_periods(assign_nights(frame, participant_zones(BERLIN))).select(
        "night_date", "period_key"
    )
    expected = pl.DataFrame({"night_date": [date(2026, 1, 10)], "period_key": ["night"]})
    assert_frame_equal(got, expected)


def test_main_period_prefers_source_priority_then_length() -> None:
    # Night 1: garmin_fit (7 h) outranks fitbit (9 h) and an unlisted source (10 h).
    # Night 2: two fitbit periods, the longer (6 h) wins over 5 h.
    frame = periods(
        [
            ("fitbit", "n1_fitbit", "2026-01-10T21:00", "2026-01-11T06:00"),
            ("garmin_fit", "n1_garmin", "2026-01-10T22:00", "2026-01-11T05:00"),
            ("zz_unknown", "n1_other", "2026-01-10T20:00", "2026-01-11T06:00"),
            ("fitbit", "n2_short", "2026-01-11T21:00", "2026-01-12T02:00"),
            ("fitbit", "n2_long", "2026-01-12T00:30", "2026-01-12T06:30"),
        ]
    )
    got = main_periods(assign_nights(frame, participant_zones(BERLIN))).select(
        "night_date", "source", "period_key"
    )
    expected = pl.DataFrame(
        {
            "night_date": [date(2026, 1, 10), date(2026, 1, 11)],
            "source": ["garmin_fit", "fitbit"],
            "period_key": ["n1_garmin", "n2_long"],
        }
    )
    assert_frame_equal(got, expected)


def test_participant_without_zone_uses_utc() -> None:
    # 23:30 UTC on 2026-01-14: Berlin says 00:30 on the 15th (night 14); UTC says 23:30
    # on the 14th (also night 14); 11:30 UTC is 12:30 Berlin (night 15) but night 14 in UTC.
    people = pl.DataFrame({"participant_id": ["p1", "p2"], "timezone": ["Europe/Berlin", None]})
    frame = pl.concat(
        [
            periods([("fitbit", "berlin", "2026-01-15T11:30", "2026-01-15T12:00")], "p1"),
            periods([("fitbit", "utc", "2026-01-15T11:30", "2026-01-15T12:00")], "p2"),
        ]
    )
    got = (
        assign_nights(frame, participant_zones(people))
        .select("participant_id", "timezone", "night_date")
        .sort("participant_id")
    )
    expected = pl.DataFrame(
        {
            "participant_id": ["p1", "p2"],
            "timezone": ["Europe/Berlin", "UTC"],
            "night_date": [date(2026, 1, 15), date(2026, 1, 14)],
        }
    )
    assert_frame_equal(got, expected)


def test_a_vendor_flagged_nap_is_never_the_main_sleep() -> None:
    """WHOOP/Oura flag naps: a 40-min afternoon nap alone on its night gives no night row,
    and next to a real night it never wins even when it is from a higher-priority source."""
    frame = periods(
        [
            ("oura", "nap", "2026-01-10T13:00", "2026-01-10T13:40"),  # 14:00 Berlin, alone
            ("oura", "nap2", "2026-01-11T13:00", "2026-01-11T16:00"),  # long nap
            ("oura", "night", "2026-01-11T22:00", "2026-01-12T00:00"),  # shorter real night
        ]
    ).with_columns(pl.Series("is_nap", [True, True, False]))
    main = main_periods(assign_nights(frame, participant_zones(BERLIN)))
    assert main.select("night_date", "period_key").rows() == [(date(2026, 1, 11), "night")]
