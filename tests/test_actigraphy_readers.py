"""Epoch-actigraphy readers (ActiGraph CSV/AGD, Actical, MESA, MotionWatch) on the real
sample files, checked against independent parses (csv, sqlite3, xml modules) and
instants worked out by hand from each file's header.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import sqlite3
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from restless.ingest import actical, actigraph_agd, actigraph_csv, mesa, motionwatch, registry
from restless.ingest.base import SNIFF_BYTES, ReadContext, ReadResult, RejectedFile

from .conftest import SHARED_REAL, real_file, validate

BRUSSELS = ReadContext(participant_id="p1", timezone="Europe/Brussels")
NEW_YORK = ReadContext(participant_id="p1", timezone="America/New_York")
WEARABLES = "wearables"

OWN_FILES = {
    "actigraph_csv": {
        "actigraph_csv/ActiGraph13.csv",
        "actigraph_csv/ActiGraph13_timestamps_headers.csv",
    },
    "actigraph_agd": {"actigraph_agd/test_sample.agd"},
    "actical_csv": {"actical_csv/Actical.csv"},
    "mesa_csv": {"mesa_csv/test_sample_mesa.csv"},
    "motionwatch_mtn": {"actigraphy_mtn/test_sample.mtn"},
}
FORMATS = {
    fmt.name: fmt
    for module in (actigraph_csv, actigraph_agd, actical, mesa, motionwatch)
    for fmt in module.FORMATS
}
IDENTIFYING = (
    "CLE2A2123456",  # ActiGraph13.csv serial
    "TAS1D48140206",  # ActiGraph13_timestamps_headers.csv serial
    "myUUID",  # .agd deviceserial
    "TEST_SAMPLE",  # .agd subjectname, .mtn +UserID
    "AM2105031920",  # Actical Identity
    "B11FFFF",  # Actical device serial
    "007565",  # .mtn serial
    "1980-01-01",  # .mtn date of birth
)


def assert_private(result: ReadResult) -> None:
    """No identifying header value appears in any cell of any output frame."""
    for frame in result.tables.values():
        for column in frame.columns:
            text = frame[column].cast(pl.String).drop_nulls().to_list()
            assert not any(secret in value for value in text for secret in IDENTIFYING)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- Sniffing ---------------------------------------------------------------------------------


def test_each_sniffer_claims_exactly_its_own_real_files() -> None:
    """Over every real file (wearables and food logs), no reader grabs another format."""
    real_file(WEARABLES, "actigraph_csv", "ActiGraph13.csv")
    files = [p for p in SHARED_REAL.rglob("*") if p.is_file() and p.suffix != ".md"]
    assert len(files) > 50
    for name, fmt in FORMATS.items():
        claimed = set()
        for path in files:
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
            if fmt.sniff(head, path.name):
                claimed.add(path.relative_to(SHARED_REAL).as_posix())
        assert claimed == {f"{WEARABLES}/{own}" for own in OWN_FILES[name]}, name


def test_registry_routes_the_real_files_to_these_readers() -> None:
    for name, relatives in OWN_FILES.items():
        for relative in relatives:
            found = registry.detect_format(real_file(WEARABLES, *relative.split("/")))
            assert found is not None and found.name == name


def test_actilife_raw_export_is_not_claimed_as_epochs() -> None:
    """A raw ('at 30 Hz') ActiLife CSV is acceleration, not epoch counts."""
    raw_head = (
        b"------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v3.2.1 "
        b"date format M/d/yyyy at 30 Hz  Filter Normal -----------\r\nSerial Number: X\r\n"
    )
    assert not actigraph_csv.sniff(raw_head, "raw.csv")
    assert actigraph_csv.sniff(raw_head.replace(b"at 30 Hz  ", b""), "epochs.csv")


# --- ActiGraph CSV ----------------------------------------------------------------------------


def actilife_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[10:]


def test_actigraph13_without_timestamps_or_names() -> None:
    path = real_file(WEARABLES, "actigraph_csv", "ActiGraph13.csv")
    rows = actilife_rows(path)
    result = actigraph_csv.read(path, BRUSSELS)
    epochs = result.tables["movement_epochs"]
    validate(result, "actigraph")
    assert_private(result)
    assert epochs.height == len(rows) == 990
    # Header: date format M/d/yyyy, Start Date 8/26/2013, Start Time 09:00:00, epoch
    # 00:00:15; Brussels is on CEST (UTC+2) in August.
    assert epochs["epoch_start_at"][0] == utc(2013, 8, 26, 7, 0, 0)
    assert epochs["epoch_start_at"][-1] == utc(2013, 8, 26, 7, 0, 0) + timedelta(seconds=989 * 15)
    assert epochs["epoch_s"].unique().to_list() == [15.0]
    # Mode = 13: axis1, axis2, axis3, steps.
    assert epochs["activity_count"].sum() == sum(float(r[0]) for r in rows)
    assert epochs["steps"].sum() == sum(int(r[3]) for r in rows) == 1118
    assert result.warnings == [] and result.rejected_rows == []


def test_actigraph13_with_timestamps_and_names() -> None:
    path = real_file(WEARABLES, "actigraph_csv", "ActiGraph13_timestamps_headers.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        lines = handle.readlines()
    table = list(csv.DictReader(lines[10:]))
    result = actigraph_csv.read(path, BRUSSELS)
    epochs = result.tables["movement_epochs"]
    validate(result, "actigraph")
    assert_private(result)
    assert epochs.height == len(table) == 1000
    # The header declares dd/MM/yyyy, but Download Date 09-19-2017 only reads month
    # first: Start Date 09-12-2017 is 12 September, as the TimeStamp column says.
    assert any("contradict the declared date order" in w for w in result.warnings)
    assert epochs["epoch_start_at"][0] == utc(2017, 9, 12, 13, 0, 0)  # 15:00 CEST
    assert epochs["epoch_s"].unique().to_list() == [1.0]
    shown = [datetime.fromisoformat(r["TimeStamp"].rstrip("Z")) - timedelta(hours=2) for r in table]
    assert epochs["epoch_start_at"].dt.replace_time_zone(None).to_list() == shown
    assert epochs["activity_count"].sum() == sum(float(r["axis1"]) for r in table)
    assert epochs["steps"].sum() == sum(int(r["steps"]) for r in table) == 442


def test_actilife_date_order_resolution() -> None:
    order = actigraph_csv.date_order("dd/MM/yyyy")
    assert actigraph_csv.resolve_dates("09-12-2017", "10-12-2017", order)[0] == date(2017, 12, 9)
    start, used, warnings = actigraph_csv.resolve_dates("09-12-2017", "09-19-2017", order)
    assert start == date(2017, 9, 12) and used == ("M", "d", "y") and warnings
    with pytest.raises(RejectedFile, match="does not read as a date"):
        actigraph_csv.resolve_dates("31-31-2017", None, order)


def _actilife(path: Path, start_date: str, start_time: str, epoch: str, rows: list[str]) -> Path:
    header = [
        "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v1.0 "
        "date format dd/MM/yyyy Filter Normal -----------",
        "Serial Number: NEO1XXXXXXX",
        f"Start Time {start_time}",
        f"Start Date {start_date}",
        f"Epoch Period (hh:mm:ss) {epoch}",
        "Download Time 10:00:00",
        "Download Date 01/04/2021",
        "Current Memory Address: 0",
        "Current Battery Voltage: 4.1     Mode = 13",
        "--------------------------------------------------",
    ]
    path.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    return path


def test_actigraph_epochs_run_on_elapsed_time_across_spring_forward(tmp_path: Path) -> None:
    """The device clock ignores DST: 01:58 local + 60-s epochs are consecutive UTC minutes."""
    rows = ["10,0,0,1", "20,0,0,0", "30,0,0,2", "x,0,0,0", "40,0,0,0"]
    path = _actilife(tmp_path / "dst.csv", "28/03/2021", "01:58:00", "00:01:00", rows)
    result = actigraph_csv.read(path, BRUSSELS)
    epochs = result.tables["movement_epochs"]
    validate(result, "actigraph")
    # 01:58 CET = 00:58 UTC; rows 1-3 and 5 (row 4 is not a number and is rejected).
    assert epochs["epoch_start_at"].to_list() == [
        utc(2021, 3, 28, 0, 58),
        utc(2021, 3, 28, 0, 59),
        utc(2021, 3, 28, 1, 0),
        utc(2021, 3, 28, 1, 2),
    ]
    assert epochs["activity_count"].to_list() == [10.0, 20.0, 30.0, 40.0]
    assert [(r.row_number, r.column, r.check) for r in result.rejected_rows] == [
        (4, "axis1", "count_number")
    ]


def test_actigraph_without_epoch_length_is_rejected(tmp_path: Path) -> None:
    path = _actilife(tmp_path / "raw.csv", "01/03/2021", "10:00:00", "00:00:00", ["1,2,3,4"])
    with pytest.raises(RejectedFile, match="raw"):
        actigraph_csv.read(path, BRUSSELS)


# --- ActiGraph AGD ----------------------------------------------------------------------------


def test_agd_real_file_read_only_and_matches_sqlite() -> None:
    path = real_file(WEARABLES, "actigraph_agd", "test_sample.agd")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as con:
        count, axis1, steps, first = con.execute(
            "SELECT count(*), sum(axis1), sum(steps), min(dataTimestamp) FROM data"
        ).fetchone()
        epoch = con.execute(
            "SELECT settingValue FROM settings WHERE settingName = 'epochlength'"
        ).fetchone()[0]
    con.close()
    result = actigraph_agd.read(path, BRUSSELS)
    epochs = result.tables["movement_epochs"]
    validate(result, "actigraph")
    assert_private(result)
    assert epochs.height == count == 5394
    assert epochs["activity_count"].sum() == axis1
    assert epochs["steps"].sum() == steps
    assert epochs["epoch_s"].unique().to_list() == [float(epoch)] == [10.0]
    # startdatetime 636909372000000000 ticks = 2019-04-15 15:00:00 local (CEST, UTC+2).
    assert first == ticks(2019, 4, 15, 15, 0, 0) == 636909372000000000
    assert epochs["epoch_start_at"][0] == utc(2019, 4, 15, 13, 0)
    assert epochs["epoch_start_at"][-1] == utc(2019, 4, 15, 13, 0) + timedelta(seconds=5393 * 10)
    assert "sleep_periods" not in result.tables  # its sleep table is empty
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


UNIX_EPOCH_TICKS = 621_355_968_000_000_000
""".NET ticks (100 ns since 0001-01-01) at 1970-01-01 00:00, the published constant."""


def ticks(*local: int) -> int:
    """.NET ticks of a naive local wall time, via the Unix epoch (not the reader's formula)."""
    return UNIX_EPOCH_TICKS + calendar.timegm((*local, 0, 0, 0)[:6]) * 10_000_000


def _agd(path: Path, *, sleep: bool) -> Path:
    tick = 10_000_000
    start = ticks(2021, 7, 2, 22, 30, 0)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE settings (settingID INTEGER, settingName, settingValue)")
        con.execute(
            "CREATE TABLE data (dataTimestamp INTEGER, axis1 REAL, axis2 REAL, axis3 REAL,"
            " steps REAL)"
        )
        settings = [("epochlength", "60"), ("startdatetime", str(start)), ("subjectname", "Jo")]
        con.executemany(
            "INSERT INTO settings VALUES (?, ?, ?)", [(i, *s) for i, s in enumerate(settings)]
        )
        con.executemany(
            "INSERT INTO data VALUES (?, ?, 0, 0, ?)",
            [(start + i * 60 * tick, float(10 * i), float(i % 2)) for i in range(5)],
        )
        if sleep:
            con.execute(
                "CREATE TABLE sleep (sleepID INTEGER, inBedTimestamp INTEGER,"
                " outBedTimestamp INTEGER, timeAsleep INTEGER)"
            )
            con.execute("INSERT INTO sleep VALUES (1, ?, ?, 90)", (start, start + 2 * 3600 * tick))
    con.close()
    return path


def test_agd_sleep_table_becomes_actilife_sleep_periods(tmp_path: Path) -> None:
    path = _agd(tmp_path / "night.agd", sleep=True)
    assert actigraph_agd.sniff(path.read_bytes()[:SNIFF_BYTES], path.name)
    result = actigraph_agd.read(path, NEW_YORK)
    validate(result, "actigraph")
    start = utc(2021, 7, 3, 2, 30)  # 22:30 EDT (UTC-4)
    periods = result.tables["sleep_periods"]
    assert periods.select("start_at", "end_at", "log_type").rows() == [
        (start, start + timedelta(hours=2), "actilife_sleep")
    ]
    assert result.tables["movement_epochs"]["epoch_start_at"][0] == start
    assert result.tables["movement_epochs"]["steps"].to_list() == [0, 1, 0, 1, 0]
    assert "Jo" not in str(result.tables)


def test_agd_damaged_database_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.agd"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2000)
    with pytest.raises(RejectedFile):
        actigraph_agd.read(path, BRUSSELS)


# --- Actical ----------------------------------------------------------------------------------


def test_actical_real_file_matches_csv_module() -> None:
    path = real_file(WEARABLES, "actical_csv", "Actical.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    data = [r for r in rows[26:] if r and r[0].isdigit()]
    result = actical.read(path, NEW_YORK)
    epochs = result.tables["movement_epochs"]
    validate(result, "actical")
    assert_private(result)
    assert epochs.height == len(data) == 501
    # Start Date 13-May-21, Start Time 00:00; New York is on EDT (UTC-4) in May.
    assert epochs["epoch_start_at"][0] == utc(2021, 5, 13, 4, 0)
    assert epochs["epoch_start_at"][-1] == utc(2021, 5, 13, 4, 0) + timedelta(minutes=500)
    assert epochs["epoch_s"].unique().to_list() == [60.0]
    assert epochs["activity_count"].sum() == sum(float(r[5]) for r in data)
    assert epochs["steps"].sum() == sum(int(r[6]) for r in data)


# --- MESA -------------------------------------------------------------------------------------


def test_mesa_real_file_anchor_wake_and_interval_mapping() -> None:
    path = real_file(WEARABLES, "mesa_csv", "test_sample_mesa.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = mesa.read(path, NEW_YORK)
    validate(result, "mesa")
    epochs = result.tables["movement_epochs"]
    assert epochs.height == len(rows) == 4
    # No dates: origin 2000-01-01 (a Saturday) + dayofweek 5 days = Thursday 2000-01-06,
    # and MESA's dayofweek 5 is Thursday (1 = Sunday).
    assert rows[0]["dayofweek"] == "5" and date(2000, 1, 6).strftime("%A") == "Thursday"
    start = utc(2000, 1, 6, 5, 0)  # 00:00:00 EST (UTC-5)
    assert epochs["epoch_start_at"].to_list() == [
        start + timedelta(seconds=30 * i) for i in range(4)
    ]
    assert any("synthetic" in w for w in result.warnings)
    assert epochs["epoch_s"].unique().to_list() == [30.0]
    assert epochs["activity_count"].to_list() == [None, 100.0, 40.0, 0.0]
    assert epochs["is_wear"].to_list() == [r["offwrist"] == "0" for r in rows]
    scored = result.tables["sleep_epochs"]
    # wake 1 everywhere; the first epoch is off-wrist and EXCLUDED, so unscored.
    assert scored["is_asleep"].to_list() == [None, False, False, False]
    assert scored["method"].unique().to_list() == ["vendor"]
    # REST (line 3) and REST-S (line 4) form one rest interval, 00:01:00-00:02:00.
    periods = result.tables["sleep_periods"]
    assert periods.select("start_at", "end_at", "log_type").rows() == [
        (start + timedelta(minutes=1), start + timedelta(minutes=2), "mesa_rest")
    ]
    assert "mesaid" not in str(result.tables)


def test_mesa_configurable_origin_and_midnight_wrap(tmp_path: Path) -> None:
    """Without daybymidnight the day advances when linetime wraps; two rest runs."""
    lines = [
        "mesaid,line,linetime,offwrist,activity,marker,wake,interval,dayofweek",
        "7,1,23:59:00,0,5,0,1,ACTIVE,1",
        "7,2,23:59:30,0,0,0,0,REST,1",
        "7,3,00:00:00,0,0,0,0,REST-S,1",
        "7,4,00:00:30,0,9,0,1,ACTIVE,2",
        "7,5,00:01:00,1,0,0,0,REST,2",
    ]
    path = tmp_path / "mesa.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = mesa.read_mesa(path, BRUSSELS, time_origin=date(2021, 3, 6))
    validate(result, "mesa")
    # Day 1 = 2021-03-06 + dayofweek 1 = Sunday 2021-03-07; 23:59 CET = 22:59 UTC.
    assert date(2021, 3, 7).strftime("%A") == "Sunday"
    first = utc(2021, 3, 7, 22, 59)
    epochs = result.tables["movement_epochs"]
    assert epochs["epoch_start_at"].to_list() == [
        first + timedelta(seconds=30 * i) for i in range(5)
    ]
    assert result.tables["sleep_epochs"]["is_asleep"].to_list() == [False, True, True, False, None]
    periods = result.tables["sleep_periods"].select("start_at", "end_at").rows()
    assert periods == [
        (first + timedelta(seconds=30), first + timedelta(seconds=90)),
        (first + timedelta(seconds=120), first + timedelta(seconds=150)),
    ]


# --- MotionWatch ------------------------------------------------------------------------------


def test_motionwatch_real_file_matches_xml_module() -> None:
    path = real_file(WEARABLES, "actigraphy_mtn", "test_sample.mtn")
    root = ET.parse(path).getroot()
    channel = next(c for c in root.iter("channel") if c.findtext("name") == "motion")
    values = [float(v) for v in channel.findtext("data").replace("\n", "").split(",") if v]
    start_text = next(
        p.findtext("content") for p in root.iter("property") if p.findtext("name") == "=StartTime"
    )
    result = motionwatch.read(path, BRUSSELS)
    validate(result, "motionwatch")
    assert_private(result)
    epochs = result.tables["movement_epochs"]
    assert epochs.height == len(values) == 5978
    assert epochs["activity_count"].sum() == sum(values)
    assert channel.findtext("epoch") == "5" and epochs["epoch_s"].unique().to_list() == [5.0]
    # =StartTime 2018-05-23 17:30:00, Brussels CEST (UTC+2).
    assert start_text == "2018-05-23 17:30:00"
    assert epochs["epoch_start_at"][0] == utc(2018, 5, 23, 15, 30)
    assert epochs["epoch_start_at"][-1] == utc(2018, 5, 23, 15, 30) + timedelta(seconds=5977 * 5)


def test_motionwatch_refuses_entity_declarations(tmp_path: Path) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE motionfile [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><motionfile>&b;</motionfile>'
    )
    path = tmp_path / "bomb.mtn"
    path.write_bytes(bomb)
    with pytest.raises(RejectedFile, match="entity"):
        motionwatch.read(path, BRUSSELS)
