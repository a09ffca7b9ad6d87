"""Sleep as Android backups: the real export zips, expanded as the flow does, checked
against an independent csv-module parse and instants worked out by hand from each
record's own time zone; plus small generated records for DST and zones.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from restless.ingest import registry, sleep_as_android
from restless.ingest.base import SNIFF_BYTES, NothingToLoad, ReadContext
from restless.ingest.inbox import expand_archive, scan_inbox

from .conftest import SHARED_REAL, real_file, validate

CTX = ReadContext(participant_id="p1", timezone="Asia/Tokyo")  # never used for SAA times
ZIPS = ("sleep-export.1606738537.zip", "sleep-export.1606907034.zip")
FIXED = sleep_as_android.FIXED
HEADER = ",".join(FIXED)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def expanded(zip_name: str, tmp_path: Path) -> dict[str, Path]:
    """The zip's members, extracted by the flow's own safe archive expansion."""
    source = real_file("wearables", "sleep_as_android", zip_name)
    inbox = tmp_path / "inbox" / "p1"
    inbox.mkdir(parents=True)
    (inbox / zip_name).write_bytes(source.read_bytes())
    archive = scan_inbox(tmp_path / "inbox").files[0]
    assert archive.is_archive
    members = expand_archive(archive, tmp_path / "scratch")
    return {m.path.name: m.path for m in members}


def records(path: Path) -> list[tuple[list[str], list[str]]]:
    """(header row, value row) pairs read with the csv module."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    return [(rows[i], rows[i + 1]) for i in range(0, len(rows), 2)]


@pytest.mark.parametrize("zip_name", ZIPS)
def test_real_export_members_are_recognised(zip_name: str, tmp_path: Path) -> None:
    members = expanded(zip_name, tmp_path)
    assert set(members) == {"sleep-export.csv", "prefs.xml", "alarms.json"}
    names = {name: registry.detect_format(path) for name, path in members.items()}
    assert names["sleep-export.csv"].name == "sleep_as_android_csv"
    for settings in ("prefs.xml", "alarms.json"):
        fmt = names[settings]
        assert fmt.name == "sleep_as_android_settings"
        with pytest.raises(NothingToLoad, match="nothing restless loads"):
            fmt.read(members[settings], CTX)


def test_no_other_real_file_is_claimed(tmp_path: Path) -> None:
    real_file("wearables", "sleep_as_android", ZIPS[0])
    for path in SHARED_REAL.rglob("*"):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        for fmt in sleep_as_android.FORMATS:
            assert not fmt.sniff(head, path.name), (fmt.name, path)


@pytest.mark.parametrize("zip_name", ZIPS)
def test_real_export_matches_csv_module(zip_name: str, tmp_path: Path) -> None:
    path = expanded(zip_name, tmp_path)["sleep-export.csv"]
    parsed = records(path)
    result = sleep_as_android.read(path, CTX)
    validate(result, "sleep_as_android")
    periods = result.tables["sleep_periods"]
    epochs = result.tables["movement_epochs"]
    # A record whose To equals its From (shorter than the clock's minute) is rejected.
    short = [values[0] for _, values in parsed if values[2] == values[3]]
    assert sorted(r.value for r in result.rejected_rows) == sorted(
        f"{v[2]} -> {v[3]}" for _, v in parsed if v[0] in short
    )
    assert {r.check for r in result.rejected_rows} == {"end_after_start"}
    assert sorted(periods["period_key"]) == sorted(v[0] for _, v in parsed if v[0] not in short)
    # Tracked records (with events) give one epoch per actigraphy value; manual ones none.
    expected_values = []
    for header, values in parsed:
        n_times = sum(1 for name in header[len(FIXED) :] if name != "Event")
        tracked = "Event" in header
        if tracked and values[0] not in short:
            expected_values += values[len(FIXED) : len(FIXED) + n_times]
    assert epochs.height == len(expected_values)
    kept = [float(v) for v in expected_values if float(v) >= 0]
    assert epochs["activity_count"].drop_nulls().sum() == pytest.approx(sum(kept))
    assert epochs["activity_count"].null_count() == sum(float(v) < 0 for v in expected_values)
    manual = periods.filter(pl.col("log_type") == "sleep_as_android_manual")["period_key"]
    assert sorted(manual) == sorted(v[0] for h, v in parsed if "Event" not in h)
    assert result.timezone_hint == "Europe/London"


def test_real_record_from_to_values_and_stages(tmp_path: Path) -> None:
    path = expanded(ZIPS[0], tmp_path)["sleep-export.csv"]
    header, values = next((h, v) for h, v in records(path) if v[0] == "1606734191337")
    assert values[1:4] == ["Europe/London", "30. 11. 2020 11:03", "30. 11. 2020 11:39"]
    result = sleep_as_android.read(path, CTX)
    period = result.tables["sleep_periods"].filter(pl.col("period_key") == "1606734191337")
    # London is on GMT (UTC+0) on 30 November: 11:03 -> 11:03 UTC, 11:39 -> 11:39 UTC.
    assert period.select("start_at", "end_at", "log_type").rows() == [
        (utc(2020, 11, 30, 11, 3), utc(2020, 11, 30, 11, 39), "sleep_as_android")
    ]
    assert period["vendor_time_in_bed_min"][0] == pytest.approx(0.61 * 60)
    times = [h for h in header[len(FIXED) :] if h != "Event"]
    assert len(times) == 37
    start, end = utc(2020, 11, 30, 11, 3), utc(2020, 11, 30, 11, 39)
    epochs = result.tables["movement_epochs"].filter(
        pl.col("epoch_start_at").is_between(start, end, closed="left")
    )
    assert epochs.height == 37
    assert epochs["epoch_s"][0] == pytest.approx(36 * 60 / 37)
    assert epochs["epoch_start_at"][1] - epochs["epoch_start_at"][0] == timedelta(
        microseconds=36 * 60 * 1_000_000 // 37
    )
    first_values = [float(v) for v in values[len(FIXED) : len(FIXED) + 37]]
    assert epochs["activity_count"].to_list() == pytest.approx(first_values)
    # LIGHT_START-1606734191337 .. LIGHT_END-1606736411337 (Unix milliseconds).
    stages = result.tables["sleep_stages"].filter(pl.col("period_key") == "1606734191337")
    assert stages.select("start_at", "end_at", "stage").rows() == [
        (
            utc(2020, 11, 30, 11, 3, 11) + timedelta(milliseconds=337),
            utc(2020, 11, 30, 11, 40, 11) + timedelta(milliseconds=337),
            "light",
        )
    ]
    scores = result.tables["vendor_scores"].filter(pl.col("period_key") == "1606734191337")
    # Begun at 11:03 local on 30 November: before noon, so the night of 29 November.
    assert dict(scores.select("score_name", "value").rows()) == {
        "saa_deep_sleep_fraction": 0.0,
        "saa_cycles": 0.0,
    }
    assert scores["local_date"].unique().to_list() == [date(2020, 11, 29)]


def test_no_comment_geo_or_device_id_is_stored(tmp_path: Path) -> None:
    path = expanded(ZIPS[0], tmp_path)["sleep-export.csv"]
    result = sleep_as_android.read(path, CTX)
    secrets = ["#fullmoon", "€¥$π", "Manually added", "3.30427818E18", "DEVICE", "LUX"]
    for frame in result.tables.values():
        assert not {"Comment", "Geo"} & set(frame.columns)
        for column in frame.columns:
            text = frame[column].cast(pl.String).drop_nulls().to_list()
            assert not any(s in value for value in text for s in secrets)


def _export(path: Path, rows: list[tuple[str, list[str], list[str]]]) -> Path:
    """A sleep-export.csv from (fixed-field text, value texts, event texts) per record."""
    lines = []
    for fixed, values, events in rows:
        header = [HEADER] + [f'"{i}:00"' for i in range(len(values))] + ['"Event"'] * len(events)
        lines.append(",".join(header))
        lines.append(",".join([fixed, *(f'"{v}"' for v in values), *(f'"{e}"' for e in events)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fixed(record_id: int, zone: str, start: str, end: str, hours: str) -> str:
    cells = [str(record_id), zone, start, end, end, hours, "4.5", "Jo's note", "10000"]
    cells += ["-1", "-1.0", "3", "0.25", "0", "ab12"]
    return ",".join(f'"{c}"' for c in cells)


def millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def test_each_record_uses_its_own_zone_and_dst_reading(tmp_path: Path) -> None:
    # Berlin, 31 Oct 2021: 02:30 happens twice; Id 00:30:40 UTC picks the first (CEST).
    first = utc(2021, 10, 31, 0, 30, 40)
    # New York in July is EDT (UTC-4): 23:10 -> 03:10 UTC next day.
    second = utc(2021, 7, 11, 3, 10, 5)
    path = _export(
        tmp_path / "sleep-export.csv",
        [
            (
                _fixed(
                    int(millis(first)),
                    "Europe/Berlin",
                    "31. 10. 2021 2:30",
                    "31. 10. 2021 6:30",
                    "5.000",
                ),
                ["1.0", "2.0", "3.0", "4.0", "5.0"],
                [
                    f"DEEP_START-{millis(first)}",
                    f"DEEP_END-{millis(first + timedelta(hours=1))}",
                    f"REM_START-{millis(first + timedelta(hours=2))}",
                    f"DEVICE-{millis(first)}-1.0E18",
                ],
            ),
            (
                _fixed(
                    int(millis(second)),
                    "America/New_York",
                    "10. 07. 2021 23:10",
                    "11. 07. 2021 7:10",
                    "8.000",
                ),
                ["0.5", "-0.001"],
                [f"TRACKING_STOPPED_BY_USER-{millis(second + timedelta(hours=8))}"],
            ),
            (_fixed(1, "Mars/Olympus", "01. 01. 2021 1:00", "01. 01. 2021 2:00", "1.0"), [], []),
        ],
    )
    result = sleep_as_android.read(path, CTX)
    validate(result, "sleep_as_android")
    periods = result.tables["sleep_periods"].sort("start_at")
    # 02:30 CEST = 00:30 UTC; 06:30 CET (clocks back at 03:00) = 05:30 UTC.
    assert periods.select("start_at", "end_at").rows() == [
        (utc(2021, 7, 11, 3, 10), utc(2021, 7, 11, 11, 10)),
        (utc(2021, 10, 31, 0, 30), utc(2021, 10, 31, 5, 30)),
    ]
    assert [(r.row_number, r.column, r.check) for r in result.rejected_rows] == [
        (3, "Tz", "known_time_zone")
    ]
    epochs = result.tables["movement_epochs"].sort("epoch_start_at")
    # Berlin record: 5 h / 5 values = one value per hour from 00:30 UTC.
    berlin = epochs.filter(pl.col("epoch_start_at") >= utc(2021, 10, 1))
    assert berlin["epoch_start_at"].to_list() == [
        utc(2021, 10, 31, 0, 30) + timedelta(hours=i) for i in range(5)
    ]
    assert berlin["epoch_s"].unique().to_list() == [3600.0]
    assert epochs.filter(pl.col("epoch_start_at") < utc(2021, 10, 1))[
        "activity_count"
    ].to_list() == [0.5, None]
    stages = result.tables["sleep_stages"].sort("start_at")
    assert stages.select("start_at", "end_at", "stage").rows() == [
        (first, first + timedelta(hours=1), "deep"),
        (first + timedelta(hours=2), utc(2021, 10, 31, 5, 30), "rem"),  # open: ends with period
    ]
    scores = result.tables["vendor_scores"]
    assert set(scores.select("local_date", "score_name", "value").rows()) == {
        (date(2021, 10, 30), "saa_rating", 4.5),
        (date(2021, 10, 30), "saa_deep_sleep_fraction", 0.25),
        (date(2021, 10, 30), "saa_cycles", 3.0),
        (date(2021, 7, 10), "saa_rating", 4.5),
        (date(2021, 7, 10), "saa_deep_sleep_fraction", 0.25),
        (date(2021, 7, 10), "saa_cycles", 3.0),
    }
    assert result.timezone_hint == "Europe/Berlin"  # the latest record's zone
    assert "Jo's note" not in str(result.tables)
