"""Fitbit account-export JSON: sleep logs, heart rate, steps, skipped series, DST."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import fitbit, fitbit_series, fitbit_sleep, registry
from restless.ingest.base import NothingToLoad, ReadContext, RejectedFile

from .conftest import SHARED_REAL, real_file, validate

FITBIT = SHARED_REAL / "wearables" / "fitbit"
UTC_CTX = ReadContext(participant_id="p1", timezone="UTC")
BERLIN = ReadContext(participant_id="p1", timezone="Europe/Berlin")
NEW_YORK = ReadContext(participant_id="p1", timezone="America/New_York")


def real(name: str) -> Path:
    return real_file("wearables", "fitbit", name)


def write_json(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def stage_minutes(stages: pl.DataFrame) -> dict[str, float]:
    spans = stages.with_columns(
        ((pl.col("end_at") - pl.col("start_at")).dt.total_seconds() / 60).alias("min")
    )
    return dict(spans.group_by("stage").agg(pl.col("min").sum()).iter_rows())


def assert_no_overlap(stages: pl.DataFrame) -> None:
    for _, group in stages.sort("start_at").group_by("period_key"):
        starts, ends = group["start_at"].to_list(), group["end_at"].to_list()
        assert all(e <= s for e, s in zip(ends, starts[1:], strict=False))
        assert all(e > s for s, e in zip(starts, ends, strict=True))


# --- Real files ------------------------------------------------------------------------------


def test_every_real_file_is_recognised_and_loads_or_is_skipped() -> None:
    if not FITBIT.exists():
        pytest.skip(f"shared real Fitbit files not available: {FITBIT}")
    expected = {
        "sleep-1995-06-23_Fitbit.json": "fitbit_sleep",
        "heart_rate-1995-06-24.json": "fitbit_heart_rate",
        "calories-1995-06-23_Fitbit.json": "fitbit_series",
    }
    assert {p.name for p in FITBIT.iterdir()} == set(expected)
    for name, format_name in expected.items():
        fmt = registry.detect_format(FITBIT / name, fitbit.FORMATS)
        assert fmt is not None and fmt.name == format_name
        if format_name == "fitbit_series":
            with pytest.raises(NothingToLoad, match="'calories'"):
                fmt.read(FITBIT / name, UTC_CTX)
            continue
        result = fmt.read(FITBIT / name, BERLIN)
        validate(result, "fitbit")
        assert result.rejected_rows == [] and result.warnings == [] and result.error is None


def test_real_sleep_stages_match_the_vendor_summary() -> None:
    path = real("sleep-1995-06-23_Fitbit.json")
    logs = json.loads(path.read_text())
    result = fitbit_sleep.read_sleep(path, UTC_CTX)
    periods, stages = result.tables["sleep_periods"], result.tables["sleep_stages"]
    assert periods["period_key"].to_list() == [
        "12345:1995-07-11T02:28:30.000",
        "12345:1995-06-24T22:47:30.000",
    ]  # the same logId twice: the key needs the start time
    assert_no_overlap(stages)
    stage_log = logs[0]
    mine = stage_minutes(stages.filter(pl.col("period_key") == periods["period_key"][0]))
    summary = {k: v["minutes"] for k, v in stage_log["levels"]["summary"].items()}
    assert summary == {"deep": 59, "wake": 32, "light": 143, "rem": 34}
    for stage, minutes in summary.items():
        assert mine[stage] == pytest.approx(minutes, abs=0.5)  # vendor rounds 30 s epochs
    assert mine["light"] + mine["deep"] + mine["rem"] == stage_log["minutesAsleep"] == 236
    wakes = stages.filter(
        (pl.col("stage") == "wake") & (pl.col("period_key").str.contains("07-11"))
    )
    assert wakes.height == stage_log["levels"]["summary"]["wake"]["count"] == 11
    # A short wake cuts the deep interval it falls in: 03:39:00-04:09:30 deep, 04:08:30 wake.
    split = stages.filter(pl.col("start_at") == datetime(1995, 7, 11, 3, 39, tzinfo=UTC))
    assert split["end_at"][0] == datetime(1995, 7, 11, 4, 8, 30, tzinfo=UTC)
    first = periods.row(0, named=True)
    assert first["start_at"] == datetime(1995, 7, 11, 2, 28, 30, tzinfo=UTC)
    assert first["end_at"] == datetime(1995, 7, 11, 6, 57, tzinfo=UTC)  # the log's endTime
    assert (first["log_type"], first["is_main_vendor"]) == ("stages", True)
    assert (first["vendor_minutes_asleep"], first["vendor_time_in_bed_min"]) == (236.0, 268.0)
    assert (first["vendor_efficiency_pct"], first["vendor_awake_count"]) == (96.0, 11)
    assert first["vendor_restless_count"] is None and first["vendor_restless_min"] is None


def test_real_classic_log_restlessness() -> None:
    path = real("sleep-1995-06-23_Fitbit.json")
    result = fitbit_sleep.read_sleep(path, BERLIN)
    classic = result.tables["sleep_periods"].row(1, named=True)
    assert (classic["log_type"], classic["is_main_vendor"]) == ("classic", False)
    assert (classic["vendor_restless_count"], classic["vendor_restless_min"]) == (1, 5.0)
    assert classic["vendor_awake_count"] == 1
    # Berlin in June is CEST (UTC+2): 22:47:30 local -> 20:47:30 UTC.
    assert classic["start_at"] == datetime(1995, 6, 24, 20, 47, 30, tzinfo=UTC)
    assert classic["end_at"] - classic["start_at"] == timedelta(minutes=79)
    stages = result.tables["sleep_stages"].filter(pl.col("period_key") == classic["period_key"])
    assert stages["stage"].to_list() == ["asleep", "restless", "wake", "asleep"]
    assert stage_minutes(stages) == {"asleep": 73.0, "restless": 5.0, "wake": 1.0}


def test_real_heart_rate_values_and_zone() -> None:
    path = real("heart_rate-1995-06-24.json")
    records = json.loads(path.read_text())
    frame = fitbit_series.read_heart_rate(path, NEW_YORK).tables["heart_rate"]
    assert frame.height == len(records) == 201
    assert frame["bpm"].sum() == sum(r["value"]["bpm"] for r in records)
    assert frame["confidence"].sum() == sum(r["value"]["confidence"] for r in records)
    # "06/24/95 16:00:10" in New York (EDT, UTC-4).
    assert frame["measured_at"][0] == datetime(1995, 6, 24, 20, 0, 10, tzinfo=UTC)
    assert frame["measured_at"].is_sorted()


# --- Synthetic sleep logs across DST ---------------------------------------------------------


def classic_log(start: str, end: str, levels: list[tuple[str, str, int]]) -> dict:
    return {
        "logId": 777,
        "dateOfSleep": end[:10],
        "startTime": start,
        "endTime": end,
        "duration": sum(s for _, _, s in levels) * 1000,
        "minutesAsleep": 0,
        "timeInBed": sum(s for _, _, s in levels) // 60,
        "type": "classic",
        "mainSleep": True,
        "levels": {
            "summary": {"restless": {"count": 1, "minutes": 10}, "awake": {"count": 1}},
            "data": [{"dateTime": t, "level": lv, "seconds": s} for t, lv, s in levels],
        },
    }


def test_classic_log_across_berlin_fall_back_night(tmp_path: Path) -> None:
    # 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET (01:00 UTC). In bed 23:00 CEST
    # (21:00 UTC) to 06:00 CET (05:00 UTC): 8 h elapsed although the wall clock shows 7 h.
    levels = [
        ("2026-10-24T23:00:00.000", "asleep", 3 * 3600),  # to 02:00 CEST
        ("2026-10-25T02:00:00.000", "restless", 600),  # first 02:00 (CEST)
        ("2026-10-25T02:10:00.000", "asleep", 50 * 60),  # to 02:00 CET (01:00 UTC)
        ("2026-10-25T02:00:00.000", "awake", 300),  # second 02:00 (CET)
        ("2026-10-25T02:05:00.000", "asleep", 3 * 3600 + 55 * 60),  # to 06:00 CET
    ]
    log = classic_log("2026-10-24T23:00:00.000", "2026-10-25T06:00:00.000", levels)
    result = fitbit_sleep.read_sleep(write_json(tmp_path, "sleep-2026-10-24.json", [log]), BERLIN)
    validate(result, "fitbit")
    assert result.warnings == [] and result.rejected_rows == []
    period = result.tables["sleep_periods"].row(0, named=True)
    assert period["start_at"] == datetime(2026, 10, 24, 21, 0, tzinfo=UTC)
    assert period["end_at"] == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)
    assert period["end_at"] - period["start_at"] == timedelta(hours=8)
    stages = result.tables["sleep_stages"]
    assert stages["start_at"].to_list()[1:4] == [
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 10, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ]
    assert stages.filter(pl.col("stage") == "wake")["end_at"][0] == datetime(
        2026, 10, 25, 1, 5, tzinfo=UTC
    )
    assert_no_overlap(stages)


def test_log_starting_in_the_repeated_hour_follows_its_end_time(tmp_path: Path) -> None:
    # Asleep at the second 02:30 (CET, 01:30 UTC) for 2 h -> 04:30 CET = 03:30 UTC.
    log = classic_log(
        "2026-10-25T02:30:00.000",
        "2026-10-25T04:30:00.000",
        [("2026-10-25T02:30:00.000", "asleep", 7200)],
    )
    result = fitbit_sleep.read_sleep(write_json(tmp_path, "sleep.json", [log]), BERLIN)
    period = result.tables["sleep_periods"].row(0, named=True)
    assert period["start_at"] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert period["end_at"] == datetime(2026, 10, 25, 3, 30, tzinfo=UTC)
    assert result.warnings == []


def test_spring_forward_night_and_bad_logs(tmp_path: Path) -> None:
    # 2026-03-29 Berlin: 02:00 CET jumps to 03:00 CEST. 23:00 CET (22:00 UTC) + 8 h = 06:00
    # UTC = 08:00 CEST on the wall clock (9 h later by the clock).
    good = classic_log(
        "2026-03-28T23:00:00.000",
        "2026-03-29T08:00:00.000",
        [
            ("2026-03-28T23:00:00.000", "asleep", 4 * 3600),
            ("2026-03-29T04:00:00.000", "asleep", 4 * 3600),
        ],
    )
    unknown_level = classic_log(
        "2026-03-30T23:00:00.000",
        "2026-03-31T00:00:00.000",
        [
            ("2026-03-30T23:00:00.000", "asleep", 1800),
            ("2026-03-30T23:30:00.000", "snoring", 1800),
        ],
    )
    no_start = {"logId": 1, "startTime": "yesterday", "levels": {}}
    path = write_json(tmp_path, "sleep.json", [good, no_start, unknown_level])
    result = fitbit_sleep.read_sleep(path, BERLIN)
    periods = result.tables["sleep_periods"]
    assert periods.height == 2
    assert periods["end_at"][0] == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # The rejected 'snoring' half hour still takes its time: the log ends at its endTime.
    assert periods["end_at"][1] == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)
    assert result.warnings == []
    rejected = [(r.table, r.row_number, r.column, r.check, r.value) for r in result.rejected_rows]
    assert ("sleep_periods", 1, "startTime", "datetime_format", "yesterday") in rejected
    assert ("sleep_stages", 2, "levels.data[1].level", "known_sleep_level", "snoring") in rejected
    assert (
        result.tables["sleep_stages"]
        .filter(pl.col("period_key").str.starts_with("777:2026-03-30"))
        .height
        == 1
    )


def test_short_wakes_split_long_stages(tmp_path: Path) -> None:
    log = {
        "logId": 5,
        "startTime": "2026-01-10T23:00:00.000",
        "endTime": "2026-01-11T01:00:00.000",
        "duration": 7200000,
        "type": "stages",
        "levels": {
            "summary": {"wake": {"count": 3, "minutes": 4}},
            "data": [
                {"dateTime": "2026-01-10T23:00:00.000", "level": "light", "seconds": 3600},
                {"dateTime": "2026-01-11T00:00:00.000", "level": "deep", "seconds": 3600},
            ],
            "shortData": [
                {"dateTime": "2026-01-10T23:30:00.000", "level": "wake", "seconds": 60},
                {"dateTime": "2026-01-10T23:59:30.000", "level": "wake", "seconds": 90},
                {"dateTime": "2026-01-11T02:00:00.000", "level": "wake", "seconds": 30},
            ],
        },
    }
    result = fitbit_sleep.read_sleep(write_json(tmp_path, "sleep.json", [log]), UTC_CTX)
    stages = result.tables["sleep_stages"]
    t = lambda h, m, s=0: datetime(2026, 1, 10 + (h < 12), h, m, s, tzinfo=UTC)  # noqa: E731
    assert list(stages.select("start_at", "end_at", "stage").iter_rows()) == [
        (t(23, 0), t(23, 30), "light"),
        (t(23, 30), t(23, 31), "wake"),
        (t(23, 31), t(23, 59, 30), "light"),
        (t(23, 59, 30), t(0, 1), "wake"),  # the wake straddles the light/deep boundary
        (t(0, 1), t(1, 0), "deep"),
    ]
    assert [(r.column, r.check) for r in result.rejected_rows] == [
        ("levels.shortData[2].dateTime", "inside_sleep_log")
    ]


# --- Series ----------------------------------------------------------------------------------


def hr(stamp: str, bpm: object = 60) -> dict:
    return {"dateTime": stamp, "value": {"bpm": bpm, "confidence": 2}}


def test_heart_rate_fall_back_hour_is_resolved_by_file_order(tmp_path: Path) -> None:
    # New York 2026-11-01: 01:00-01:59 happens twice (EDT = UTC-4, then EST = UTC-5).
    stamps = ["00:59:55", "01:00:05", "01:30:00", "01:59:55", "01:00:05", "01:30:00", "02:00:05"]
    records = [hr(f"11/01/26 {s}", 60 + i) for i, s in enumerate(stamps)]
    path = write_json(tmp_path, "heart_rate-2026-11-01.json", records)
    frame = fitbit_series.read_heart_rate(path, NEW_YORK).tables["heart_rate"]
    assert frame["measured_at"].to_list() == [
        datetime(2026, 11, 1, 4, 59, 55, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 0, 5, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 59, 55, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 0, 5, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 7, 0, 5, tzinfo=UTC),
    ]
    assert frame["bpm"].to_list() == list(range(60, 67))


def test_heart_rate_gap_and_bad_records_are_rejected(tmp_path: Path) -> None:
    # New York 2026-03-08: 02:00-02:59 does not exist.
    records = [
        hr("03/08/26 01:59:50"),
        hr("03/08/26 02:30:00"),
        hr("03/08/26 03:00:10", "fast"),
        {"dateTime": "03/08/26 03:00:20"},
        hr("not a time"),
        hr("03/08/26 03:00:30", 72),
        hr("03/08/26 03:00:30", 73),
    ]
    path = write_json(tmp_path, "heart_rate.json", records)
    result = fitbit_series.read_heart_rate(path, NEW_YORK)
    frame = result.tables["heart_rate"]
    assert frame["measured_at"].to_list() == [
        datetime(2026, 3, 8, 6, 59, 50, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, 30, tzinfo=UTC),
    ]
    assert frame["bpm"].to_list() == [60, 72]
    rejected = [(r.row_number, r.column, r.check, r.value) for r in result.rejected_rows]
    assert rejected == [
        (1, "dateTime", "local_time_exists", "03/08/26 02:30:00"),
        (2, "value.bpm", "bpm_integer", str({"bpm": "fast", "confidence": 2})),
        (3, "value", "heart_rate_object", "None"),
        (4, "dateTime", "datetime_format", "not a time"),
        (6, "dateTime", "unique_instant", "03/08/26 03:00:30"),
    ]


def test_steps_series_to_minute_epochs(tmp_path: Path) -> None:
    records = [
        {"dateTime": "01/10/26 08:00:00", "value": "0"},
        {"dateTime": "01/10/26 08:01:00", "value": "12"},
        {"dateTime": "01/10/26 08:02:00", "value": "1.5"},
        {"dateTime": "01/10/26 08:03:00", "value": "103"},
    ]
    path = write_json(tmp_path, "steps-2026-01-10.json", records)
    assert registry.detect_format(path, fitbit.FORMATS).name == "fitbit_steps"
    result = fitbit_series.read_steps(path, BERLIN)
    validate(result, "fitbit")
    epochs = result.tables["movement_epochs"]
    assert epochs["steps"].to_list() == [0, 12, 103]
    assert epochs["steps"].sum() == sum(int(r["value"]) for r in records if r["value"].isdigit())
    assert set(epochs["epoch_s"]) == {60.0}
    assert epochs["epoch_start_at"][0] == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)  # CET
    assert [(r.row_number, r.check) for r in result.rejected_rows] == [(2, "steps_integer")]


def test_identical_series_are_told_apart_by_name_only(tmp_path: Path) -> None:
    records = [{"dateTime": "01/10/26 08:00:00", "value": "3"}]
    head = json.dumps(records).encode()
    assert fitbit_series.sniff_steps(head, "steps-2026-01-10.json")
    assert not fitbit_series.sniff_series(head, "steps-2026-01-10.json")
    assert fitbit_series.sniff_series(head, "calories-2026-01-10.json")
    assert not fitbit_series.sniff_steps(head, "calories-2026-01-10.json")
    distance = write_json(tmp_path, "distance-2026-01-10.json", records)
    fmt = registry.detect_format(distance, fitbit.FORMATS)
    assert fmt is not None and fmt.name == "fitbit_series"
    with pytest.raises(NothingToLoad, match="'distance'"):
        fmt.read(distance, UTC_CTX)
    assert not fitbit_series.sniff_heart_rate(head, "heart_rate-2026-01-10.json")
    assert not any(f.sniff(b'[{"id": 1, "value": 3}]', "steps.json") for f in fitbit.FORMATS)
    assert not any(f.sniff(b"Day,Food Name\n", "steps.json") for f in fitbit.FORMATS)


def test_sleep_sniff_survives_a_first_log_longer_than_the_head() -> None:
    path = real("sleep-1995-06-23_Fitbit.json")
    head = path.read_bytes()[:1500]  # cut inside the first log
    assert fitbit_sleep.sniff_sleep(head, "x.json")
    assert not fitbit_series.sniff_heart_rate(head, "x.json")


def test_truncated_file_keeps_complete_records(tmp_path: Path) -> None:
    records = [hr(f"01/10/26 08:00:{s:02d}", 60 + s) for s in range(0, 50, 10)]
    text = json.dumps(records)
    path = tmp_path / "heart_rate-2026-01-10.json"
    path.write_text(text[: text.index("08:00:30") + 5])  # cut inside the 4th record
    result = fitbit_series.read_heart_rate(path, UTC_CTX)
    assert result.error is not None and "after 3 complete records" in result.error
    assert result.tables["heart_rate"]["bpm"].to_list() == [60, 70, 80]
    path.write_text("[{")
    with pytest.raises(RejectedFile):
        fitbit_series.read_heart_rate(path, UTC_CTX)
    with pytest.raises(NothingToLoad):
        fitbit_series.read_heart_rate(write_json(tmp_path, "empty.json", []), UTC_CTX)


def test_rereading_gives_identical_frames() -> None:
    for name, read in (
        ("sleep-1995-06-23_Fitbit.json", fitbit_sleep.read_sleep),
        ("heart_rate-1995-06-24.json", fitbit_series.read_heart_rate),
    ):
        path = real(name)
        first, second = read(path, BERLIN), read(path, BERLIN)
        for table in first.tables:
            assert_frame_equal(first.tables[table], second.tables[table])


def test_format_declarations() -> None:
    formats = {f.name: f for f in fitbit.FORMATS}
    assert set(formats) == {"fitbit_sleep", "fitbit_heart_rate", "fitbit_steps", "fitbit_series"}
    coverage = defaultdict(dict)
    for fmt in fitbit.FORMATS:
        assert fmt.source == "fitbit" and fmt.uses_local_time
        for table, cover in fmt.coverage.items():
            coverage[fmt.name][table] = (cover.kind, cover.column)
    assert coverage == {
        "fitbit_sleep": {
            "sleep_periods": ("span", "start_at"),
            "sleep_stages": ("span", "start_at"),
        },
        "fitbit_heart_rate": {"heart_rate": ("span", "measured_at")},
        "fitbit_steps": {"movement_epochs": ("span", "epoch_start_at")},
    }
