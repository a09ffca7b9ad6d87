"""Oura v2 JSON: the real daily_sleep export and synthetic sleep documents (DST, trip)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import oura, registry
from restless.ingest.base import SNIFF_BYTES, NothingToLoad, ReadContext, RejectedFile

from .conftest import SHARED_REAL, real_file, validate

DAILY = (
    "foodlogs",
    "oura",
    "marcus-furius__health-intel",
    "daily_sleep_2025-03-08_2026-03-08.json",
)
UTC_CTX = ReadContext(participant_id="p1", timezone="UTC")
TOKYO = ReadContext(participant_id="p1", timezone="Asia/Tokyo")


def write_json(tmp_path: Path, data: object, name: str = "sleep.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- Real daily_sleep ------------------------------------------------------------------------


def test_real_daily_sleep_is_recognised_and_loads() -> None:
    path = real_file(*DAILY)
    docs = json.loads(path.read_text(encoding="utf-8"))
    fmt = registry.detect_format(path)
    assert fmt is not None and (fmt.name, fmt.source) == ("oura_daily_sleep", "oura")
    result = fmt.read(path, UTC_CTX)
    validate(result, "oura")
    assert result.rejected_rows == [] and result.error is None and result.timezone_hint is None
    scores = result.tables["vendor_scores"]
    assert len(docs) == 349
    numbers = sum(
        (d["score"] is not None) + sum(v is not None for v in d["contributors"].values())
        for d in docs
    )
    assert scores.height == numbers == 349 * 8
    assert scores["local_date"].n_unique() == 349
    assert scores["period_key"].null_count() == scores.height  # a day's score, no period
    names = Counter(scores["score_name"].to_list())
    assert names["oura_sleep_score"] == 349
    assert names["oura_contributor_restfulness"] == 349
    assert len(names) == 8


def test_real_daily_sleep_values_of_one_day() -> None:
    path = real_file(*DAILY)
    doc = next(d for d in json.loads(path.read_text(encoding="utf-8")) if d["day"] == "2025-06-22")
    result = oura.read_daily_sleep(path, UTC_CTX)
    day = result.tables["vendor_scores"].filter(pl.col("local_date") == date(2025, 6, 22))
    values = dict(day.select("score_name", "value").iter_rows())
    assert values["oura_sleep_score"] == doc["score"] == 88
    assert values["oura_contributor_restfulness"] == doc["contributors"]["restfulness"] == 86
    assert values == {
        "oura_sleep_score": doc["score"],
        **{f"oura_contributor_{k}": v for k, v in doc["contributors"].items()},
    }


def test_data_wrapper_reads_like_the_list(tmp_path: Path) -> None:
    path = real_file(*DAILY)
    docs = json.loads(path.read_text(encoding="utf-8"))[:5]
    as_list = write_json(tmp_path, docs, "list.json")
    wrapped = write_json(tmp_path, {"data": docs, "next_token": None}, "page.json")
    fmt = registry.detect_format(wrapped)
    assert fmt is not None and fmt.name == "oura_daily_sleep"
    assert_frame_equal(
        oura.read_daily_sleep(as_list, UTC_CTX).tables["vendor_scores"],
        oura.read_daily_sleep(wrapped, UTC_CTX).tables["vendor_scores"],
    )


def test_sniffers_take_no_other_real_file() -> None:
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    others = [
        p
        for p in SHARED_REAL.rglob("*")
        if p.is_file() and p.suffix in (".json", ".csv") and "oura" not in p.parts
    ]
    assert any(p.name.startswith("sleep-") and p.suffix == ".json" for p in others)  # Fitbit
    for other in others:
        head = other.read_bytes()[:SNIFF_BYTES]
        for fmt in oura.FORMATS:
            assert not fmt.sniff(head, other.name), (fmt.name, other)


def test_malformed_daily_sleep_documents(tmp_path: Path) -> None:
    good = {"id": "a", "day": "2026-01-01", "score": 70, "contributors": {"restfulness": 60}}
    docs: list[Any] = [
        good,
        {"id": "b", "day": "2026-01-02", "score": 140, "contributors": {}},
        {"id": "c", "day": "2026-01-03", "score": 70, "contributors": "restful"},
        {"id": "d", "day": "January 4", "score": 70, "contributors": {}},
        {"id": "e", "day": "2026-01-01", "score": 71, "contributors": {}},
        {"id": "f", "day": "2026-01-05", "score": None, "contributors": {"restfulness": 55}},
        [1, 2],
    ]
    result = oura.read_daily_sleep(write_json(tmp_path, docs), UTC_CTX)
    validate(result, "oura")
    assert {(r.row_number, r.column, r.check) for r in result.rejected_rows} == {
        (1, "score", "score_0_100"),
        (2, "contributors", "contributors_object"),
        (3, "day", "date_format"),
        (4, "day", "unique_day"),
        (6, "", "document_object"),
    }
    rows = result.tables["vendor_scores"].select("local_date", "score_name", "value").rows()
    assert rows == [
        (date(2026, 1, 1), "oura_contributor_restfulness", 60.0),
        (date(2026, 1, 1), "oura_sleep_score", 70.0),
        (date(2026, 1, 5), "oura_contributor_restfulness", 55.0),  # null score: not a row
    ]


# --- Synthetic sleep documents ---------------------------------------------------------------


def sleep_doc(
    doc_id: str,
    start: str,
    end: str,
    day: str,
    phases: str | None,
    movement: str | None,
    kind: str = "long_sleep",
    **extra: Any,
) -> dict[str, Any]:
    """A v2 sleep document (fields as the API documents them; durations in seconds)."""
    in_bed = int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    doc: dict[str, Any] = {
        "id": doc_id,
        "average_breath": 14.5,
        "average_heart_rate": 58.25,
        "average_hrv": 41,
        "awake_time": 1800,
        "bedtime_end": end,
        "bedtime_start": start,
        "day": day,
        "deep_sleep_duration": 6000,
        "efficiency": 88,
        "heart_rate": {"interval": 300.0, "items": [None, 61.0, 57.0], "timestamp": start},
        "hrv": {"interval": 300.0, "items": [None, 38.0, 44.0], "timestamp": start},
        "latency": 900,
        "light_sleep_duration": 12000,
        "low_battery_alert": False,
        "lowest_heart_rate": 49,
        "movement_30_sec": movement,
        "period": 0,
        "readiness": None,
        "readiness_score_delta": None,
        "rem_sleep_duration": 4800,
        "restless_periods": 7,
        "sleep_phase_5_min": phases,
        "sleep_score_delta": None,
        "sleep_algorithm_version": "v2",
        "time_in_bed": in_bed,
        "total_sleep_duration": in_bed - 1800,
        "type": kind,
    }
    doc.update(extra)
    return doc


# Saturday 2026-03-07 23:10 EST (-05:00) to Sunday 07:02:30 EDT (-04:00): New York springs
# forward at 02:00 in between, so 6 h 52.5 min pass (04:10:00 to 11:02:30 UTC) although the
# wall clocks differ by 7 h 52.5 min.
DST_PHASES = "44" + "2" * 10 + "1" * 12 + "3" * 6 + "4" + "2" * 20 + "1" * 8 + "3" * 10 + "2" * 10
DST_PHASES += "4" * 4  # 83 five-minute slots, the last only 2.5 min long
DST_MOVEMENT = ("1" * 20 + "223" + "4" + "2") * 33  # 825 thirty-second epochs
TRIP_PHASES = "4" * 3 + "2" * 40 + "1" * 20 + "3" * 27  # 90 slots = 7.5 h
TRIP_MOVEMENT = "1" * 890 + "4" * 10  # 900 epochs = 7.5 h


def trip_docs() -> list[dict[str, Any]]:
    """Friday and Saturday nights in New York (the DST weekend), then a night and a nap in
    Paris, listed out of order."""
    return [
        sleep_doc(
            "paris-night",
            "2026-03-12T23:30:00+01:00",
            "2026-03-13T07:00:00+01:00",
            "2026-03-13",
            TRIP_PHASES,
            TRIP_MOVEMENT,
        ),
        sleep_doc(
            "dst-night",
            "2026-03-07T23:10:00-05:00",
            "2026-03-08T07:02:30-04:00",
            "2026-03-08",
            DST_PHASES,
            DST_MOVEMENT,
        ),
        sleep_doc(
            "friday",
            "2026-03-06T22:45:00-05:00",
            "2026-03-07T06:15:00-05:00",
            "2026-03-07",
            "2" * 90,
            "1" * 900,
        ),
        sleep_doc(
            "paris-nap",
            "2026-03-13T15:00:00+01:00",
            "2026-03-13T15:40:00+01:00",
            "2026-03-13",
            "2" * 8,
            "1" * 80,
            kind="late_nap",
            restless_periods=0,
        ),
    ]


def stage_minutes(stages: pl.DataFrame) -> dict[str, float]:
    spans = stages.with_columns(
        ((pl.col("end_at") - pl.col("start_at")).dt.total_seconds() / 60).alias("min")
    )
    return dict(spans.group_by("stage").agg(pl.col("min").sum()).sort("stage").iter_rows())


def test_sleep_documents_land_at_their_own_offsets(tmp_path: Path) -> None:
    path = write_json(tmp_path, trip_docs())
    fmt = registry.detect_format(path)
    assert fmt is not None and (fmt.name, fmt.source) == ("oura_sleep", "oura")
    result = fmt.read(path, UTC_CTX)
    validate(result, "oura")
    assert result.rejected_rows == [] and result.warnings == []
    periods = result.tables["sleep_periods"]
    assert periods.select("period_key", "start_at", "end_at").rows() == [
        ("friday", utc(2026, 3, 7, 3, 45), utc(2026, 3, 7, 11, 15)),
        ("dst-night", utc(2026, 3, 8, 4, 10), utc(2026, 3, 8, 11, 2, 30)),
        ("paris-night", utc(2026, 3, 12, 22, 30), utc(2026, 3, 13, 6, 0)),
        ("paris-nap", utc(2026, 3, 13, 14, 0), utc(2026, 3, 13, 14, 40)),
    ]
    dst = periods.row(1, named=True)
    assert dst["end_at"] - dst["start_at"] == timedelta(hours=6, minutes=52, seconds=30)
    assert dst["vendor_time_in_bed_min"] == 412.5
    assert periods["is_nap"].to_list() == [False, False, False, True]
    assert periods["log_type"].to_list() == ["long_sleep"] * 3 + ["late_nap"]
    assert result.timezone_hint == "Etc/GMT-1"  # newest period at +01:00 (POSIX sign)
    # The participant's configured zone plays no part: the offsets in the file decide.
    again = fmt.read(path, TOKYO)
    for table, frame in result.tables.items():
        assert_frame_equal(frame, again.tables[table])


def test_dst_night_stages_and_movement(tmp_path: Path) -> None:
    result = oura.read_sleep(write_json(tmp_path, trip_docs()), UTC_CTX)
    stages = result.tables["sleep_stages"].filter(pl.col("period_key") == "dst-night")
    # Each character is 5 minutes; the 83rd slot is clipped to bedtime_end (2.5 min).
    assert len(DST_PHASES) == 83
    counts = Counter(DST_PHASES)
    assert stage_minutes(stages) == {
        "deep": counts["1"] * 5.0,
        "light": counts["2"] * 5.0,
        "rem": counts["3"] * 5.0,
        "wake": counts["4"] * 5.0 - 2.5,
    }
    assert stage_minutes(stages) == {"deep": 100.0, "light": 200.0, "rem": 80.0, "wake": 32.5}
    assert stages.height == 10  # runs of one phase are one interval
    assert stages["start_at"][0] == utc(2026, 3, 8, 4, 10)
    assert stages["end_at"][-1] == utc(2026, 3, 8, 11, 2, 30)
    # Slots are placed by elapsed time: the light run at slot 69 starts 345 min after
    # 04:10 UTC = 09:55 UTC = 05:55 EDT (counting wall-clock minutes from 23:10 would say 04:55).
    light_starts = stages.filter(pl.col("stage") == "light")["start_at"].to_list()
    assert light_starts == [utc(2026, 3, 8, 4, 20), utc(2026, 3, 8, 6, 45), utc(2026, 3, 8, 9, 55)]

    epochs = result.tables["movement_epochs"]
    night = epochs.filter(
        pl.col("epoch_start_at").is_between(utc(2026, 3, 8, 4, 10), utc(2026, 3, 8, 11, 2, 30))
    )
    assert night.height == len(DST_MOVEMENT) == 825
    assert night["epoch_s"].unique().to_list() == [30.0]
    assert night["activity_count"].sum() == sum(int(c) - 1 for c in DST_MOVEMENT) == 264
    assert (night["activity_count"] > 0).sum() == sum(c != "1" for c in DST_MOVEMENT) == 165
    words = Counter(night["activity_type"].to_list())
    assert words == {"no_motion": 660, "restless": 99, "tossing_and_turning": 33, "active": 33}
    assert night["epoch_start_at"][-1] == utc(2026, 3, 8, 11, 2)
    assert epochs.height == 825 + 900 + 900 + 80
    assert epochs["epoch_start_at"].is_unique().all()


def test_vendor_numbers_and_restlessness(tmp_path: Path) -> None:
    result = oura.read_sleep(write_json(tmp_path, trip_docs()), UTC_CTX)
    paris = result.tables["sleep_periods"].filter(pl.col("period_key") == "paris-night")
    row = paris.row(0, named=True)
    assert row["vendor_time_in_bed_min"] == 450.0  # 27000 s
    assert row["vendor_minutes_asleep"] == 420.0  # (27000 - 1800) s
    assert row["vendor_minutes_awake"] == 30.0
    assert row["vendor_minutes_to_fall_asleep"] == 15.0
    assert row["vendor_efficiency_pct"] == 88.0
    assert row["vendor_restless_count"] == 7
    assert row["vendor_sleep_score"] is None and row["is_main_vendor"] is None
    scores = result.tables["vendor_scores"]
    mine = dict(
        scores.filter(pl.col("period_key") == "paris-night")
        .select("score_name", "value")
        .iter_rows()
    )
    assert mine == {
        "oura_restless_periods": 7.0,
        "oura_deep_min": 100.0,
        "oura_light_min": 200.0,
        "oura_rem_min": 80.0,
        "oura_lowest_heart_rate_bpm": 49.0,
        "oura_average_heart_rate_bpm": 58.25,
        "oura_average_hrv_ms": 41.0,
    }
    assert scores.filter(pl.col("period_key") == "paris-night")["local_date"][0] == date(
        2026, 3, 13
    )
    nap = scores.filter(
        (pl.col("period_key") == "paris-nap") & (pl.col("score_name") == "oura_restless_periods")
    )
    assert nap["value"].to_list() == [0.0]


def test_rereading_gives_identical_frames(tmp_path: Path) -> None:
    docs = trip_docs()
    one = oura.read_sleep(write_json(tmp_path, docs, "a.json"), UTC_CTX)
    two = oura.read_sleep(write_json(tmp_path, docs[::-1], "b.json"), UTC_CTX)
    for table, frame in one.tables.items():
        assert_frame_equal(frame, two.tables[table])
    assert one.timezone_hint == two.timezone_hint


def test_types_naps_and_deleted_periods(tmp_path: Path) -> None:
    start, end = "2026-04-01T13:00:00+00:00", "2026-04-01T13:30:00+00:00"
    docs = [
        sleep_doc(
            kind,
            start.replace("13:", f"{10 + i}:"),
            end.replace("13:", f"{10 + i}:"),
            "2026-04-01",
            "22",
            "1" * 60,
            kind=kind,
        )
        for i, kind in enumerate(["long_sleep", "sleep", "late_nap", "rest", "deleted", "siesta"])
    ]
    result = oura.read_sleep(write_json(tmp_path, docs), UTC_CTX)
    validate(result, "oura")
    naps = dict(result.tables["sleep_periods"].select("period_key", "is_nap").iter_rows())
    assert naps == {
        "long_sleep": False,
        "sleep": True,
        "late_nap": True,
        "rest": True,
        "siesta": None,  # an unknown type is kept, nap-ness unknown
    }
    assert result.warnings == ["1 sleep period(s) of type 'deleted' skipped"]


def test_malformed_sleep_documents(tmp_path: Path) -> None:
    good = sleep_doc(
        "good",
        "2026-05-01T23:00:00-04:00",
        "2026-05-02T00:00:00-04:00",
        "2026-05-02",
        "2" * 12,
        "1" * 120,
    )
    docs: list[Any] = [
        good,
        "not a document",
        {**good, "id": None},
        {**good, "id": "naive", "bedtime_start": "2026-05-03T23:00:00"},
        {**good, "id": "backwards", "bedtime_end": "2026-05-01T22:00:00-04:00"},
        {**good, "id": "badday", "day": "02.05.2026"},
        sleep_doc(
            "odd-chars",
            "2026-05-04T23:00:00-04:00",
            "2026-05-05T00:00:00-04:00",
            "2026-05-05",
            "22x2",
            "1192",
            restless_periods="seven",
        ),
        {**good, "efficiency": 90},  # the same id again
        {**good, "id": "twin"},  # the same bedtimes as 'good' under another id
        {**good, "id": "garbled", "bedtime_start": "yesterday"},
        sleep_doc(
            "too-long",
            "2026-05-06T23:00:00-04:00",
            "2026-05-06T23:10:00-04:00",
            "2026-05-07",
            "2223",
            "1" * 21,
            total_sleep_duration=300,
            awake_time=300,
        ),
    ]
    result = oura.read_sleep(write_json(tmp_path, docs), UTC_CTX)
    validate(result, "oura")
    found = Counter((r.row_number, r.table, r.column, r.check) for r in result.rejected_rows)
    expected = {
        (1, "sleep_periods", "", "document_object"): 1,
        (2, "sleep_periods", "id", "required_value"): 1,
        (3, "sleep_periods", "bedtime_start", "datetime_with_offset"): 1,
        (4, "sleep_periods", "bedtime_end", "end_after_start"): 1,
        (5, "sleep_periods", "day", "date_format"): 1,
        (6, "sleep_stages", "sleep_phase_5_min[2]", "known_sleep_phase"): 1,
        (6, "movement_epochs", "movement_30_sec[2]", "known_movement_class"): 1,
        (7, "sleep_periods", "id", "unique_period_key"): 1,
        (8, "sleep_stages", "start_at", "unique_instant"): 1,  # one run of light sleep
        (8, "movement_epochs", "epoch_start_at", "unique_instant"): 120,
        (9, "sleep_periods", "bedtime_start", "datetime_format"): 1,
    }
    assert found == expected
    periods = result.tables["sleep_periods"]
    assert periods["period_key"].to_list() == ["good", "twin", "odd-chars", "too-long"]
    odd = periods.filter(pl.col("period_key") == "odd-chars").row(0, named=True)
    assert odd["vendor_restless_count"] is None  # not a number: unknown, never 0
    stages = result.tables["sleep_stages"].filter(pl.col("period_key") == "odd-chars")
    # '22x2': the unknown slot stays empty, so two light intervals around a 5 min gap.
    assert stages.select("start_at", "end_at").rows() == [
        (utc(2026, 5, 5, 3, 0), utc(2026, 5, 5, 3, 10)),
        (utc(2026, 5, 5, 3, 15), utc(2026, 5, 5, 3, 20)),
    ]
    # 'too-long': 10 min in bed but 4 phase slots and 21 epochs; the tails are dropped.
    too_long = result.tables["sleep_stages"].filter(pl.col("period_key") == "too-long")
    assert too_long["end_at"].max() == utc(2026, 5, 7, 3, 10)
    assert sorted(result.warnings) == [
        "sleep document 10: movement_30_sec runs past bedtime_end (tail dropped)",
        "sleep document 10: sleep_phase_5_min runs past bedtime_end (tail dropped)",
    ]


def test_damaged_and_wrong_files(tmp_path: Path) -> None:
    text = json.dumps(trip_docs()[:2], indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) * 3 // 4], encoding="utf-8")
    result = oura.read_sleep(cut, UTC_CTX)
    assert result.error is not None and "after 1 complete records" in result.error
    assert result.tables["sleep_periods"]["period_key"].to_list() == ["paris-night"]
    with pytest.raises(NothingToLoad, match="no documents"):
        oura.read_sleep(write_json(tmp_path, {"data": [], "next_token": None}), UTC_CTX)
    with pytest.raises(RejectedFile, match="'data'"):
        oura.read_sleep(write_json(tmp_path, {"sleep": trip_docs()}), UTC_CTX)
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(RejectedFile, match="not valid JSON"):
        oura.read_sleep(garbage, UTC_CTX)


def test_sniff_sleep_whose_first_document_outgrows_the_head(tmp_path: Path) -> None:
    doc = trip_docs()[0]
    doc["heart_rate"]["items"] = [55.0] * 20_000  # far beyond the 64 KiB sniffed
    path = write_json(tmp_path, [doc])
    head = path.read_bytes()[:SNIFF_BYTES]
    assert len(path.read_bytes()) > SNIFF_BYTES
    assert oura.sniff_sleep(head, path.name)
    assert not oura.sniff_daily_sleep(head, path.name) and not oura.sniff_other(head, path.name)


# --- Other Oura documents --------------------------------------------------------------------

OTHER_DOCS = {
    "daily_readiness": {
        "id": "r1",
        "contributors": {"activity_balance": 80, "hrv_balance": 77, "resting_heart_rate": 90},
        "day": "2026-03-08",
        "score": 81,
        "temperature_deviation": -0.1,
        "temperature_trend_deviation": 0.05,
        "timestamp": "2026-03-08T00:00:00+00:00",
    },
    "daily_activity": {
        "id": "a1",
        "class_5_min": "1112223",
        "score": 90,
        "active_calories": 300,
        "contributors": {"meet_daily_targets": 60, "stay_active": 80},
        "day": "2026-03-08",
        "steps": 9000,
    },
    "heartrate": {"bpm": 61, "source": "awake", "timestamp": "2026-03-08T10:00:00+00:00"},
    "daily_spo2": {"id": "s1", "day": "2026-03-08", "spo2_percentage": {"average": 97.1}},
}


@pytest.mark.parametrize("kind", sorted(OTHER_DOCS))
def test_other_documents_are_skipped_with_their_type(tmp_path: Path, kind: str) -> None:
    path = write_json(tmp_path, {"data": [OTHER_DOCS[kind]], "next_token": None})
    fmt = registry.detect_format(path)
    assert fmt is not None and fmt.name == "oura_other"
    with pytest.raises(NothingToLoad, match=f"'{kind}'"):
        fmt.read(path, UTC_CTX)
