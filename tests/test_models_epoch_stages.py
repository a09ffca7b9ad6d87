"""Scored epochs stand in for stages in unstaged rest intervals (hand-computed night)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from restless.models.epoch_stages import epochs_as_stages
from restless.models.features import compute_features

T0 = datetime(2026, 1, 10, 22, 0, tzinfo=UTC)  # 23:00 Berlin


def _epochs(states: str, method: str, source: str = "respironics") -> pl.DataFrame:
    """One 60-s epoch per character: S asleep, W wake, . unscored."""
    return pl.DataFrame(
        {
            "participant_id": "p1",
            "source": source,
            "file_id": "f1",
            "epoch_start_at": [T0 + timedelta(minutes=i) for i in range(len(states))],
            "epoch_s": 60.0,
            "activity": 0.0,
            "is_asleep": [None if c == "." else c == "S" for c in states],
            "method": method,
        }
    )


def test_runs_merge_and_the_vendor_column_wins() -> None:
    vendor = _epochs("WWSSSWS", "actiware_vendor")
    oakley = _epochs("SSSSSSS", "oakley")
    stages = epochs_as_stages(pl.concat([oakley, vendor]))
    assert stages.select("stage", "start_at").rows() == [
        ("wake", T0),
        ("asleep", T0 + timedelta(minutes=2)),
        ("wake", T0 + timedelta(minutes=5)),
        ("asleep", T0 + timedelta(minutes=6)),
    ]
    assert stages["end_at"][-1] == T0 + timedelta(minutes=7)


def test_unscored_epochs_leave_gaps() -> None:
    stages = epochs_as_stages(_epochs("SS..SS", "oakley"))
    assert stages.height == 2
    assert stages["end_at"][0] == T0 + timedelta(minutes=2)
    assert stages["start_at"][1] == T0 + timedelta(minutes=4)


def test_a_rest_interval_gets_night_metrics_from_its_epochs() -> None:
    # rest interval 23:00-23:10 Berlin; epochs: 2 wake, 3 sleep, 1 wake, 4 sleep
    states = "WWSSSWSSSS"
    period = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "source": ["respironics"],
            "file_id": ["f1"],
            "period_key": ["r1"],
            "start_at": [T0],
            "end_at": [T0 + timedelta(minutes=10)],
            "log_type": ["actiware_rest"],
        }
    )
    people = pl.DataFrame(
        {
            "participant_id": ["p1"],
            "timezone": ["Europe/Berlin"],
            "sex": [None],
            "birth_year": [None],
        }
    )
    night = compute_features(
        {"sleep_periods": period, "sleep_epochs": _epochs(states, "actiware_vendor")}, people
    )["nightly"].row(0, named=True)
    assert night["night_date"] == date(2026, 1, 10)
    assert night["tst_min"] == 7.0  # hand count of S
    assert night["sol_min"] == 2.0
    assert night["waso_min"] == 1.0
    assert night["awakenings"] == 1
    assert night["sleep_efficiency"] == 70.0
