"""Philips Actiware CSV exports (English, French, Dutch): header, epochs, vendor sleep/wake,
REST intervals, locale dates and decimals, privacy, and generated edge cases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from restless.ingest import actiware, registry
from restless.ingest.base import NothingToLoad, ReadContext, RejectedFile
from restless.schemas.core import LINEAGE_COLUMNS, reader_columns
from restless.schemas.validate import validate_table

from .conftest import real_file

LINEAGE = ("p1", "respironics", "f1")

ENGLISH = ("wearables", "respironics_rpx_csv", "test_sample_rpx_eng.csv")
FRENCH = ("wearables", "respironics_rpx_csv", "test_sample.csv")
DUTCH = ("wearables", "actiwatch_csv", "Actiwatch.csv")
LONDON = ReadContext("p1", "Europe/London")
PARIS = ReadContext("p1", "Europe/Paris")
AMSTERDAM = ReadContext("p1", "Europe/Amsterdam")


def _independent_epochs(path: Path, title: list[str], activity: int, sleep_wake: int):
    """Epoch rows by the csv module alone: the table starts after its known title row."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    start = max(i for i, r in enumerate(records) if r[: len(title)] == title)
    rows = [r for r in records[start + 1 :] if r and r[0].strip()]
    counts = [float(r[activity]) for r in rows if r[activity].strip().lower() != "nan"]
    scores = [r[sleep_wake].strip() for r in rows]
    return rows, counts, scores


# --- header -------------------------------------------------------------------------------


def test_english_header() -> None:
    head = actiware.header(real_file(*ENGLISH))
    assert head.language == "en"
    assert head.device_type == "Actiwatch 2"
    assert head.epoch_s == 30
    assert (head.wake_threshold, head.wake_threshold_selection) == (40.0, "medium")
    assert head.date_order == "dmy"  # a UK export: 14/07/2015 appears in its statistics
    assert head.start_local == datetime(2015, 7, 4, 9, 45)
    assert (head.utc_offset_min, head.samples, head.decimal_comma) == (60, 20160, False)


def test_french_header_reads_4_02_2015_as_4_february() -> None:
    head = actiware.header(real_file(*FRENCH))
    assert head.language == "fr"
    assert head.epoch_s == 60  # "Longueur de la période : 60 secondes"
    assert (head.wake_threshold, head.wake_threshold_selection) == (40.0, "medium")  # Moyen
    assert head.date_order == "dmy"
    assert head.start_local == datetime(2015, 2, 4, 11, 45)


def test_dutch_header_with_decimal_commas() -> None:
    head = actiware.header(real_file(*DUTCH))
    assert head.language == "nl"
    assert head.device_type == "Spectrum Plus"
    assert head.epoch_s == 15  # "Periodelengte: 15 seconden"
    # "Waakdrempelwaarde: 40,00", "Waakdrempelselectie: Gemiddeld"
    assert (head.wake_threshold, head.wake_threshold_selection) == (40.0, "medium")
    assert head.decimal_comma
    assert head.start_local == datetime(2019, 11, 23, 6, 0)
    assert head.samples == 40320


# --- epochs -------------------------------------------------------------------------------


def test_english_epochs_against_an_independent_parse() -> None:
    path = real_file(*ENGLISH)
    title = ["Line", "Date", "Time", "Activity", "Marker", "White Light", "Sleep/Wake"]
    rows, counts, scores = _independent_epochs(path, title, activity=3, sleep_wake=6)
    result = actiware.read(path, LONDON)
    movement = result.tables["movement_epochs"]
    assert movement.columns == reader_columns("movement_epochs")
    assert movement.height == len(rows) == 20160
    assert movement["activity_count"].sum() == sum(counts) == 3_780_329
    assert movement["epoch_s"].unique().to_list() == [30.0]
    assert movement["is_wear"].null_count() == 20160  # the export has no off-wrist column
    # header 04/07/2015 09:45:00 is 4 July, British Summer Time (UTC+1)
    first = datetime(2015, 7, 4, 8, 45, tzinfo=UTC)
    assert movement["epoch_start_at"][0] == first
    assert movement["epoch_start_at"][-1] == first + timedelta(seconds=30 * 20159)
    assert result.error is None and result.warnings == [] and result.rejected_rows == []

    sleep = result.tables["sleep_epochs"]
    assert sleep.columns == reader_columns("sleep_epochs")
    assert sleep["method"].unique().to_list() == ["actiware_vendor"]
    assert sleep["is_asleep"].sum() == scores.count("0")
    assert (~sleep["is_asleep"]).sum() == scores.count("1")
    assert sleep["is_asleep"].null_count() == scores.count("NaN") == 4


def test_french_epochs_against_an_independent_parse() -> None:
    path = real_file(*FRENCH)
    title = ["Ligne", "Secondes", "Date", "Heure", "Activité"]
    rows, counts, scores = _independent_epochs(path, title, activity=4, sleep_wake=7)
    result = actiware.read(path, PARIS)
    movement = result.tables["movement_epochs"]
    assert movement.height == len(rows) == 11581
    assert movement["activity_count"].sum() == sum(counts) == 210_821
    assert movement["activity_count"].null_count() == 26  # trailing "NAN" counts
    # 4/02/2015 11:45:00, Paris winter time (UTC+1): 4 February, not 2 April
    assert movement["epoch_start_at"][0] == datetime(2015, 2, 4, 10, 45, tzinfo=UTC)
    sleep = result.tables["sleep_epochs"]
    assert sleep["is_asleep"].sum() == scores.count("0")
    assert sleep["is_asleep"].null_count() == scores.count("NAN") == 29


def test_dutch_epochs_match_ggirread_published_figures() -> None:
    # GGIRread's own test of this file: 860 rows, counts 4589, sleep column sum 55 (wake
    # epochs), non-wear 797.
    result = actiware.read(real_file(*DUTCH), AMSTERDAM)
    movement = result.tables["movement_epochs"]
    assert movement.height == 860
    assert movement["activity_count"].sum() == 4589
    assert (~movement["is_wear"]).sum() == 797
    assert movement["epoch_start_at"][0] == datetime(2019, 11, 23, 5, 0, tzinfo=UTC)
    sleep = result.tables["sleep_epochs"]
    assert (~sleep["is_asleep"]).sum() == 55
    off_wrist = sleep.filter(pl.col("epoch_start_at") < movement["epoch_start_at"][797])
    assert off_wrist["is_asleep"].null_count() == 797  # off-wrist epochs are unscored
    # the file is GGIRread's truncated copy: 860 of 40,320 epochs
    assert result.error is not None and "860 of the 40320" in result.error


# --- REST intervals -----------------------------------------------------------------------


def test_english_rest_intervals() -> None:
    path = real_file(*ENGLISH)
    periods = actiware.read(path, LONDON).tables["sleep_periods"]
    assert periods.columns == reader_columns("sleep_periods")
    assert periods.height == 7
    first = periods.row(0, named=True)
    # "REST","1","04/07/2015","21:05:00","05/07/2015","06:57:00","592.00",...,"46.00",...,"546.00"
    assert first["start_at"] == datetime(2015, 7, 4, 20, 5, tzinfo=UTC)
    assert first["end_at"] == datetime(2015, 7, 5, 5, 57, tzinfo=UTC)
    assert first["period_key"] == "2015-07-04T20:05:00Z"
    assert first["log_type"] == "actiware_rest"
    assert (first["vendor_time_in_bed_min"], first["vendor_minutes_asleep"]) == (592.0, 546.0)
    assert first["vendor_minutes_awake"] == 46.0 and first["vendor_efficiency_pct"] is None
    assert (first["end_at"] - first["start_at"]) == timedelta(minutes=592)


def test_rest_interval_starts_where_the_epoch_table_enters_rest() -> None:
    path = real_file(*ENGLISH)
    title = ["Line", "Date", "Time", "Activity", "Marker", "White Light", "Sleep/Wake"]
    rows, _counts, _scores = _independent_epochs(path, title, activity=3, sleep_wake=6)
    status = [r[7] for r in rows]
    entries = [i for i in range(1, len(rows)) if status[i] != "ACTIVE" == status[i - 1]]
    periods = actiware.read(path, LONDON).tables["sleep_periods"]
    start = datetime(2015, 7, 4, 8, 45, tzinfo=UTC)  # line 1
    assert periods["start_at"].to_list() == [start + timedelta(seconds=30 * i) for i in entries]


def test_french_and_dutch_rest_intervals() -> None:
    french = actiware.read(real_file(*FRENCH), PARIS).tables["sleep_periods"]
    # "REPOS","1","4/02/2015","mer.","19:08:00","5/02/2015","jeu.","8:21:00","793.00"
    assert french.height == 6
    assert french["start_at"][0] == datetime(2015, 2, 4, 18, 8, tzinfo=UTC)
    assert french["end_at"][0] == datetime(2015, 2, 5, 7, 21, tzinfo=UTC)
    assert french["vendor_time_in_bed_min"][0] == 793.0
    dutch = actiware.read(real_file(*DUTCH), AMSTERDAM).tables["sleep_periods"]
    # RUST,1,23/11/2019,za,20:42:15,24/11/2019,zo,08:05:30,"683,25",...,"629,50"
    assert dutch.height == 6
    assert dutch["start_at"][0] == datetime(2019, 11, 23, 19, 42, 15, tzinfo=UTC)
    assert dutch["vendor_time_in_bed_min"][0] == 683.25
    assert dutch["vendor_minutes_asleep"][0] == 629.5


# --- privacy, validation, detection -------------------------------------------------------

IDENTIFYING = {
    ENGLISH: ["TEST_SAMPLE_UK", "01/01/1911"],
    FRENCH: ["TEST_SAMPLE", "TEST SAMPLE", "1/12/2018", "Femme"],
    DUTCH: ["myfile", "Nieuwe analyse"],
}


@pytest.mark.parametrize("parts", [ENGLISH, FRENCH, DUTCH])
def test_no_subject_field_leaves_the_reader(parts) -> None:
    path = real_file(*parts)
    result = actiware.read(path, ReadContext("p1", "Europe/Paris"))
    text = [repr(actiware.header(path)), *result.warnings, result.error or ""]
    for frame in result.tables.values():
        for column in frame.select(pl.col(pl.String)).columns:
            text.extend(v for v in frame[column].drop_nulls().to_list())
    text += [r.value for r in result.rejected_rows]
    for secret in IDENTIFYING[parts]:
        assert all(secret not in t for t in text), secret


@pytest.mark.parametrize(("parts", "ctx"), [(ENGLISH, LONDON), (FRENCH, PARIS), (DUTCH, AMSTERDAM)])
def test_every_row_passes_its_schema(parts, ctx) -> None:
    result = actiware.read(real_file(*parts), ctx)
    for table, frame in result.tables.items():
        with_lineage = frame.with_columns(
            *(pl.lit(v).alias(c) for c, v in zip(LINEAGE_COLUMNS, LINEAGE, strict=True))
        )
        valid, quarantine = validate_table(table, with_lineage)
        assert quarantine.height == 0, (table, quarantine.head())
        assert valid.height == frame.height


@pytest.mark.parametrize("parts", [ENGLISH, FRENCH, DUTCH])
def test_detected_by_content(parts) -> None:
    fmt = registry.detect_format(real_file(*parts))
    assert fmt is not None and fmt.name == "actiware_csv" and fmt.source == "respironics"


def test_a_foreign_zone_gets_an_offset_warning() -> None:
    result = actiware.read(real_file(*ENGLISH), ReadContext("p1", "America/New_York"))
    assert any("+01:00" in w and "America/New_York" in w for w in result.warnings)
    # 09:45 read as New York summer time (UTC-4)
    first = result.tables["movement_epochs"]["epoch_start_at"][0]
    assert first == datetime(2015, 7, 4, 13, 45, tzinfo=UTC)


# --- generated exports: date order, decimal commas, damage ---------------------------------


def _export(
    epochs: list[str], *, start_date: str, start_time: str, threshold: str, offset: str = "-04:00"
) -> str:
    header = [
        '"Actiware Export File  (Version 05.00 )"',
        '"Full Name:","Jane Q Public"',
        '"Date of Birth:","12/31/1970"',
        '"Actiwatch Type:","Actiwatch 2"',
        f'"Data Collection Start Date:","{start_date}"',
        f'"Data Collection Start Time:","{start_time}"',
        f'"Time Zone Offset:","{offset}","hours:minutes"',
        '"Epoch Length:","60","seconds",""',
        f'"Number of Data Samples:","{len(epochs)}","samples"',
        '"Wake Threshold Selection:","High"',
        f'"Wake Threshold Value:",{threshold},"activity counts"',
        "",
        '"-------------------- Epoch-by-Epoch Data -------------------"',
        "",
        '"Line","Date","Time","Off-Wrist Status","Activity","Marker","Sleep/Wake",'
        '"Interval Status",',
        "",
    ]
    return "\r\n".join(header + epochs) + "\r\n"


def test_us_month_first_export_crossing_midnight(tmp_path: Path) -> None:
    epochs = [
        '"1","07/04/2015","23:58:00","0","10","0","NaN","ACTIVE",',
        '"2","07/04/2015","23:59:00","0","0","0","NaN","ACTIVE",',
        '"3","07/05/2015","00:00:00","1","NaN","0","NaN","EXCLUDED",',
        '"4","07/05/2015","00:01:00","0","5","0","0","REST",',
    ]
    path = tmp_path / "us.csv"
    path.write_text(
        _export(epochs, start_date="07/04/2015", start_time="23:58:00", threshold='"80.00"'),
        encoding="utf-8",
    )
    head = actiware.header(path)
    assert head.date_order == "mdy"  # 07/04 -> 07/05 steps one minute only as July 4 -> 5
    assert head.start_local == datetime(2015, 7, 4, 23, 58)
    assert head.wake_threshold == 80.0
    result = actiware.read(path, ReadContext("p1", "America/New_York"))
    movement = result.tables["movement_epochs"]
    assert movement["epoch_start_at"][0] == datetime(2015, 7, 5, 3, 58, tzinfo=UTC)
    assert movement["is_wear"].to_list() == [True, True, False, True]
    assert movement["activity_count"].to_list() == [10.0, 0.0, None, 5.0]
    assert result.tables["sleep_epochs"]["is_asleep"].to_list() == [None, None, None, True]
    assert result.warnings == []  # -04:00 is New York's summer offset: no warning
    text = repr(head) + "".join(result.warnings)
    assert "Jane" not in text and "1970" not in text


def test_decimal_commas_and_a_bad_count(tmp_path: Path) -> None:
    epochs = [
        '"1","4/02/2015","11:45:00","0","12,0","0","NaN","ACTIVE",',
        '"2","4/02/2015","11:46:00","0","lots","0","NaN","ACTIVE",',
        '"3","4/02/2015","11:47:00","0","7","0","0","ACTIVE",',
    ]
    path = tmp_path / "comma.csv"
    path.write_text(
        _export(epochs, start_date="4/02/2015", start_time="11:45:00", threshold='"40,00"'),
        encoding="utf-8",
    )
    result = actiware.read(path, ReadContext("p1", "America/New_York"))
    head = actiware.header(path)
    assert head.wake_threshold == 40.0 and head.decimal_comma
    # one calendar day fits both orders: an English export falls back to month first
    assert head.date_order == "mdy"
    assert any("ambiguous" in w for w in result.warnings)
    assert result.error is None  # a rejected row is not a truncated export
    movement = result.tables["movement_epochs"]
    assert movement["activity_count"].to_list() == [12.0, 7.0]
    # line 3 keeps its own instant: two minutes after line 1
    assert movement["epoch_start_at"][1] - movement["epoch_start_at"][0] == timedelta(minutes=2)
    [bad] = result.rejected_rows
    assert (bad.table, bad.column, bad.check, bad.value) == (
        "movement_epochs", "activity", "count_format", "lots"
    )  # fmt: skip
    assert bad.row_number == 18  # the CSV record number of line 2


def test_header_without_epochs_and_without_table(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(
        _export([], start_date="4/02/2015", start_time="11:45:00", threshold='"40.00"'),
        encoding="utf-8",
    )
    with pytest.raises(NothingToLoad, match="no epoch rows"):
        actiware.read(empty, PARIS)
    cut = tmp_path / "cut.csv"
    cut.write_text(empty.read_text(encoding="utf-8").split('"Line"')[0], encoding="utf-8")
    with pytest.raises(RejectedFile, match="no epoch-by-epoch table"):
        actiware.read(cut, PARIS)
    assert not actiware.sniff(b'"Day","Food Name","Energy (kcal)"\n', "servings.csv")
