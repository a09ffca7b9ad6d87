"""WHOOP sleeps.csv: the real export (own offsets, naps, ongoing cycle) and small fixtures."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import registry, whoop
from restless.ingest.base import SNIFF_BYTES, NothingToLoad, ReadContext, ReadResult, RejectedFile

from .conftest import SHARED_REAL, real_file, validate

SLEEPS = ("foodlogs", "whoop", "maximumpeaches__tracking", "sleeps.csv")
UTC_CTX = ReadContext(participant_id="p1", timezone="UTC")
NEW_YORK = ReadContext(participant_id="p1", timezone="America/New_York")

HEADER = (
    "Cycle start time,Cycle end time,Cycle timezone,Sleep onset,Wake onset,Sleep performance %,"
    "Respiratory rate (rpm),Asleep duration (min),In bed duration (min),"
    "Light sleep duration (min),Deep (SWS) duration (min),REM duration (min),"
    "Awake duration (min),Sleep need (min),Sleep debt (min),Sleep efficiency %,"
    "Sleep consistency %,Nap"
)
SCORE_HEADERS = {
    "whoop_sleep_performance_pct": "Sleep performance %",
    "whoop_respiratory_rate_rpm": "Respiratory rate (rpm)",
    "whoop_light_min": "Light sleep duration (min)",
    "whoop_deep_min": "Deep (SWS) duration (min)",
    "whoop_rem_min": "REM duration (min)",
    "whoop_sleep_need_min": "Sleep need (min)",
    "whoop_sleep_debt_min": "Sleep debt (min)",
    "whoop_sleep_consistency_pct": "Sleep consistency %",
}


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def period(result: ReadResult, key: str) -> dict:
    rows = result.tables["sleep_periods"].filter(pl.col("period_key") == key)
    assert rows.height == 1, key
    return rows.row(0, named=True)


def scores_of(result: ReadResult, key: str) -> dict[str, float]:
    frame = result.tables["vendor_scores"].filter(pl.col("period_key") == key)
    return dict(frame.select("score_name", "value").iter_rows())


def write(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "sleeps.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def row(
    onset: str,
    wake: str,
    zone: str = "UTC-04:00",
    nap: str = "false",
    performance: str = "80",
) -> str:
    """A sleeps.csv row; the cycle starts at the onset. Metrics are fixed small numbers."""
    metrics = f"{performance},15.5,400,450,200,90,110,50,480,30,89,70"
    return f"{onset},,{zone},{onset},{wake},{metrics},{nap}"


# --- The real export -------------------------------------------------------------------------


def test_real_export_is_recognised_and_every_row_loads() -> None:
    path = real_file(*SLEEPS)
    fmt = registry.detect_format(path)
    assert fmt is not None and (fmt.name, fmt.source) == ("whoop_sleeps", "whoop")
    rows = csv_rows(path)
    result = fmt.read(path, UTC_CTX)
    validate(result, "whoop")
    assert result.rejected_rows == [] and result.error is None and result.warnings == []
    periods = result.tables["sleep_periods"]
    assert periods.height == len(rows) == 381
    assert periods["is_nap"].sum() == sum(r["Nap"] == "true" for r in rows) == 115
    assert periods["is_main_vendor"].sum() == 381 - 115
    assert periods["start_at"].is_sorted()  # the export is newest first; output is by instant
    assert periods["period_key"].n_unique() == 381
    expected_scores = sum(1 for r in rows for h in SCORE_HEADERS.values() if r[h] != "")
    assert result.tables["vendor_scores"].height == expected_scores == 2914


def test_real_newest_row_with_blank_cycle_end_in_utc_minus_4() -> None:
    path = real_file(*SLEEPS)
    first = csv_rows(path)[0]
    assert (first["Cycle end time"], first["Cycle timezone"]) == ("", "UTC-04:00")
    assert (first["Sleep onset"], first["Wake onset"]) == (
        "2024-09-15 00:08:36",
        "2024-09-15 09:54:22",
    )
    result = whoop.read_sleeps(path, UTC_CTX)
    # 00:08:36 at UTC-04:00 is 04:08:36 UTC; 09:54:22 is 13:54:22 UTC.
    newest = period(result, "2024-09-15T04:08:36Z")
    assert newest["start_at"] == datetime(2024, 9, 15, 4, 8, 36, tzinfo=UTC)
    assert newest["end_at"] == datetime(2024, 9, 15, 13, 54, 22, tzinfo=UTC)
    assert (newest["is_nap"], newest["is_main_vendor"]) == (False, True)
    assert newest["vendor_time_in_bed_min"] == float(first["In bed duration (min)"]) == 583
    assert newest["vendor_minutes_asleep"] == float(first["Asleep duration (min)"]) == 491
    assert newest["vendor_minutes_awake"] == float(first["Awake duration (min)"]) == 92
    assert newest["vendor_efficiency_pct"] == float(first["Sleep efficiency %"]) == 84
    assert newest["vendor_sleep_score"] == float(first["Sleep performance %"]) == 100
    assert newest["vendor_restless_count"] is None  # WHOOP has no restlessness measure
    assert scores_of(result, "2024-09-15T04:08:36Z") == {
        name: float(first[header]) for name, header in SCORE_HEADERS.items()
    }
    dates = result.tables["vendor_scores"].filter(pl.col("period_key") == newest["period_key"])
    assert dates["local_date"].unique().to_list() == [date(2024, 9, 15)]
    assert result.timezone_hint == "Etc/GMT+4"  # the newest sleep's offset, POSIX sign


def test_real_nap_and_utcz_and_plus_one_rows() -> None:
    path = real_file(*SLEEPS)
    result = whoop.read_sleeps(path, UTC_CTX)
    # Nap 2024-09-14 17:31:23-19:08:23 at UTC-04:00; performance 13, consistency blank.
    nap = period(result, "2024-09-14T21:31:23Z")
    assert (nap["is_nap"], nap["is_main_vendor"], nap["vendor_sleep_score"]) == (True, False, 13)
    assert "whoop_sleep_consistency_pct" not in scores_of(result, nap["period_key"])
    # 'UTCZ' is UTC itself: 2024-02-03 23:19:39 -> 23:19:39 UTC, local date 2024-02-03.
    utcz = period(result, "2024-02-03T23:19:39Z")
    assert utcz["end_at"] == datetime(2024, 2, 4, 7, 4, 55, tzinfo=UTC)
    utcz_dates = result.tables["vendor_scores"].filter(pl.col("period_key") == utcz["period_key"])
    assert utcz_dates["local_date"].unique().to_list() == [date(2024, 2, 3)]
    # UTC+01:00 (a trip): 2024-02-16 22:02:33 local is 21:02:33 UTC.
    paris = period(result, "2024-02-16T21:02:33Z")
    assert paris["end_at"] == datetime(2024, 2, 17, 5, 30, 33, tzinfo=UTC)


def test_real_rows_use_their_own_offset_not_the_participant_zone() -> None:
    path = real_file(*SLEEPS)
    # WHOOP still stamps the cycle starting 2024-03-10 22:48:54 (after New York's spring
    # forward at 02:00) with UTC-05:00: read with its own offset it is 03:48:54 UTC, where
    # America/New_York rules would give 02:48:54 UTC.
    by_row = whoop.read_sleeps(path, NEW_YORK)
    assert period(by_row, "2024-03-11T03:48:54Z")["end_at"] == datetime(
        2024, 3, 11, 11, 42, 15, tzinfo=UTC
    )
    for table, frame in whoop.read_sleeps(path, UTC_CTX).tables.items():
        assert_frame_equal(frame, by_row.tables[table])


def test_real_file_order_is_irrelevant_and_rereading_is_identical(tmp_path: Path) -> None:
    path = real_file(*SLEEPS)
    lines = path.read_text(encoding="utf-8").splitlines()
    oldest_first = write(tmp_path, lines[:0:-1], header=lines[0])
    once, again = whoop.read_sleeps(path, UTC_CTX), whoop.read_sleeps(path, UTC_CTX)
    flipped = whoop.read_sleeps(oldest_first, UTC_CTX)
    for table, frame in once.tables.items():
        assert_frame_equal(frame, again.tables[table])
        assert_frame_equal(frame, flipped.tables[table])
    assert flipped.timezone_hint == once.timezone_hint


def test_sniffers_keep_to_their_own_files() -> None:
    sleeps = real_file(*SLEEPS).read_bytes()[:SNIFF_BYTES]
    assert whoop.sniff_sleeps(sleeps, "sleeps.csv") and not whoop.sniff_other(sleeps, "x.csv")
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    others = [
        p
        for p in SHARED_REAL.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".json") and p.name != "sleeps.csv"
    ]
    assert len(others) > 20
    for other in others:
        head = other.read_bytes()[:SNIFF_BYTES]
        assert not whoop.sniff_sleeps(head, other.name), other
        assert not whoop.sniff_other(head, other.name), other


# --- Small fixtures --------------------------------------------------------------------------


def test_offset_spellings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            row("2026-03-07 23:00:00", "2026-03-08 07:00:00", "UTC-05:00"),
            row("2026-03-08 23:00:00", "2026-03-09 07:00:00", "GMT-4"),
            row("2026-03-10 23:00:00", "2026-03-11 07:00:00", "UTC+05:30"),
            row("2026-03-11 23:00:00", "2026-03-12 07:00:00", "utcz"),
            row("2026-03-12 23:00:00", "2026-03-13 07:00:00", "UTC"),
            row("2026-03-13 23:00:00", "2026-03-14 07:00:00", "-0930"),
        ],
    )
    result = whoop.read_sleeps(path, UTC_CTX)
    validate(result, "whoop")
    assert result.rejected_rows == []
    starts = result.tables["sleep_periods"]["start_at"].to_list()
    assert starts == [
        datetime(2026, 3, 8, 4, 0, tzinfo=UTC),  # 23:00 at -05:00
        datetime(2026, 3, 9, 3, 0, tzinfo=UTC),  # 23:00 at -04:00 (after the DST change)
        datetime(2026, 3, 10, 17, 30, tzinfo=UTC),  # 23:00 at +05:30
        datetime(2026, 3, 11, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 12, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 14, 8, 30, tzinfo=UTC),  # 23:00 at -09:30
    ]
    assert result.timezone_hint is None  # newest offset -09:30 is no whole-hour zone


def test_bad_rows_are_rejected_with_named_checks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            row("2026-05-01 23:00:00", "2026-05-02 07:00:00"),  # 1: good
            row("2026-05-02 25:00:00", "2026-05-03 07:00:00"),  # 2: onset not a time
            row("2026-05-03 23:00:00", "soon"),  # 3: wake not a time
            row("2026-05-04 23:00:00", "2026-05-04 22:00:00"),  # 4: wake before onset
            row("2026-05-05 23:00:00", "2026-05-06 07:00:00", zone="Mars"),  # 5
            row("2026-05-06 23:00:00", "2026-05-07 07:00:00", nap="maybe"),  # 6
            row("2026-05-07 23:00:00", "2026-05-08 07:00:00", performance="n/a"),  # 7
            row("2026-05-01 23:00:00", "2026-05-02 07:00:00"),  # 8: same onset as 1
            row("2026-05-08 23:00:00", "2026-05-09 07:00:00", zone="UTC+15:00"),  # 9
        ],
    )
    result = whoop.read_sleeps(path, UTC_CTX)
    validate(result, "whoop")
    found = [(r.row_number, r.column, r.check) for r in result.rejected_rows]
    assert len(found) == len(set(found))  # one rejection per cell and check
    assert set(found) == {
        (2, "Sleep onset", "datetime_format"),
        (3, "Wake onset", "datetime_format"),
        (4, "Wake onset", "wake_after_onset"),
        (5, "Cycle timezone", "utc_offset_format"),
        (6, "Nap", "boolean_format"),
        (7, "Sleep performance %", "number_format"),
        (8, "Sleep onset", "unique_period"),
        (9, "Cycle timezone", "utc_offset_format"),
    }
    assert {r.table for r in result.rejected_rows} == {"sleep_periods"}
    assert next(r.value for r in result.rejected_rows if r.row_number == 5) == "Mars"
    periods = result.tables["sleep_periods"]
    assert periods["period_key"].to_list() == ["2026-05-02T03:00:00Z"]


def test_blank_metrics_keep_the_period_without_scores(tmp_path: Path) -> None:
    blank = "2023-10-30 01:00:03,2023-10-31 01:23:25,UTC-05:00,2023-10-30 01:00:03,"
    blank += "2023-10-30 02:34:00" + "," * 12 + ",false"
    result = whoop.read_sleeps(write(tmp_path, [blank]), UTC_CTX)
    validate(result, "whoop")
    only = result.tables["sleep_periods"].row(0, named=True)
    assert only["start_at"] == datetime(2023, 10, 30, 6, 0, 3, tzinfo=UTC)
    assert only["vendor_sleep_score"] is None and only["vendor_minutes_asleep"] is None
    assert result.tables["vendor_scores"].height == 0


def test_disturbances_column_when_present(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [row("2026-06-01 22:00:00", "2026-06-02 06:00:00") + ",7"],
        header=HEADER + ",Disturbances",
    )
    result = whoop.read_sleeps(path, UTC_CTX)
    assert scores_of(result, "2026-06-02T02:00:00Z")["whoop_disturbances"] == 7.0
    assert scores_of(result, "2026-06-02T02:00:00Z")["whoop_sleep_need_min"] == 480.0


def test_missing_nap_column_warns_and_leaves_is_nap_unknown(tmp_path: Path) -> None:
    header = "Cycle timezone,Sleep onset,Wake onset"
    path = write(tmp_path, ["UTC+02:00,2026-06-01 22:00:00,2026-06-02 06:00:00"], header=header)
    result = whoop.read_sleeps(path, UTC_CTX)
    validate(result, "whoop")
    assert result.tables["sleep_periods"]["is_nap"].to_list() == [None]
    assert any("'Nap'" in w for w in result.warnings)
    assert result.timezone_hint == "Etc/GMT-2"


def test_structural_problems(tmp_path: Path) -> None:
    with pytest.raises(NothingToLoad, match="no rows"):
        whoop.read_sleeps(write(tmp_path, []), UTC_CTX)
    no_wake = "Cycle timezone,Sleep onset,Nap"
    with pytest.raises(RejectedFile, match="'Wake onset'"):
        whoop.read_sleeps(write(tmp_path, ["UTC,2026-01-01 22:00:00,false"], no_wake), UTC_CTX)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (
            "Cycle start time,Cycle end time,Cycle timezone,Recovery score %,"
            "Resting heart rate (bpm),Sleep onset,Wake onset,Sleep performance %",
            "physiological_cycles.csv",
        ),
        (
            "Cycle start time,Cycle end time,Cycle timezone,Workout start time,"
            "Workout end time,Duration (min),Activity name",
            "workouts.csv",
        ),
        (
            "Cycle start time,Cycle end time,Cycle timezone,Question text,Answered yes,Notes",
            "journal_entries.csv",
        ),
    ],
)
def test_other_whoop_exports_are_skipped_with_their_name(
    tmp_path: Path, header: str, named: str
) -> None:
    path = write(tmp_path, ["2026-01-01 22:00:00,,UTC-05:00,1,2,3"], header=header)
    fmt = registry.detect_format(path, whoop.FORMATS)
    assert fmt is not None and fmt.name == "whoop_other"
    with pytest.raises(NothingToLoad, match=named):
        fmt.read(path, UTC_CTX)
