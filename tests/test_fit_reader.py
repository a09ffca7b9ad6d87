"""The Garmin FIT reader: two backends, one answer; real files; round trips through fit_writer.

Real files come from ../shared/data/real/wearables/fit (skipped when absent). Expected
numbers are computed independently inside the tests: from fitparse's raw messages
(hand-differencing counters, counting records), from garmin-fit-sdk's own
``expand_heart_rates``, or from the values written with ``restless.demo.fit_writer``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import fitparse
import polars as pl
import pytest
from fitparse.utils import FitEOFError
from garmin_fit_sdk import Decoder, Profile, Stream, expand_heart_rates
from polars.testing import assert_frame_equal

from restless.demo.fit_writer import (
    MonitoringEpoch,
    write_accelerometer_file,
    write_monitoring_file,
    write_sleep_file,
)
from restless.ingest.base import NothingToLoad, ReadContext, ReadResult, RejectedFile
from restless.ingest.fit import FORMATS, read, sniff
from restless.ingest.fit.messages import FIT_EPOCH_S, PROFILE
from restless.ingest.registry import detect_format
from restless.schemas.core import CORE_MODELS, polars_schema, reader_columns

FIT_DIR = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "wearables" / "fit"
)
REAL_FILES = sorted(p.name for p in FIT_DIR.glob("*.fit")) if FIT_DIR.is_dir() else []
BACKENDS = ("sdk", "fitparse")

# What each real file gives (SOURCES.md rows); reasons must name the damage.
EXPECTED: dict[str, tuple[str, str]] = {
    "20170518-191602-1740899583.fit": ("loaded", ""),
    "HrmPluginTestActivity.fit": ("loaded", ""),
    "MonitoringFile.fit": ("loaded", ""),
    "activity-small-fenix2-run.fit": ("loaded", ""),
    "activity_poolswim_with_hr.fit": ("loaded", ""),
    "bpg-garmin.fit": ("loaded", ""),
    "developer-types-sample.fit": ("loaded", ""),
    "event_timestamp.fit": ("loaded", ""),
    "garmin-edge-820-bike.fit": ("loaded", ""),
    "garmin-fenix-5-bike.fit": ("loaded", ""),
    "garmin-fenix-5-run.fit": ("loaded", ""),
    "garmin-fr935-cr.fit": ("loaded", ""),
    "mornindew-broken.fit": ("loaded", ""),
    "sample_mulitple_header.fit": ("loaded", ""),
    "triathlon_summary_last.fit": ("loaded", ""),
    "unterminated-strings.fit": ("loaded", ""),
    "valid_only_contain_fileid.fit": ("loaded", ""),
    # The last record runs past the declared data end: the "CRC" is message bytes.
    "nick.fit": ("partial", "message at byte 403437 runs past the declared data size"),
    "activity-filecrc.fit": (
        "rejected",
        "FIT file CRC mismatch (computed 0xA1D5, stored 0xB1D5): content cannot be trusted",
    ),
    # First chained file intact (no heart rate), second one's CRC is wrong.
    "activity-activity-filecrc.fit": (
        "rejected",
        "chained FIT file at byte 771: FIT file CRC mismatch (computed 0xA1D5, stored 0xB1D5)",
    ),
    "activity-settings-corruptheader.fit": (
        "rejected",
        "83 bytes after the FIT data at byte 771 are not a valid chained FIT header",
    ),
    "activity-settings-nodata.fit": (
        "rejected",
        "FIT file truncated inside the message at byte 783",
    ),
    "strava-android-app-201.10-b1218918.fit": (
        "rejected",
        "data message at byte 7471 uses undefined local message type 11",
    ),
    # garmin-fit-sdk cannot decode compressed-timestamp headers; fitparse could, but both
    # reject so the warehouse never depends on the configured backend.
    "antfs-dump.63.fit": ("rejected", "compressed-timestamp record headers (first at byte 426)"),
    "compressed-speed-distance.fit": (
        "rejected",
        "compressed-timestamp record headers (first at byte 936)",
    ),
    "0134902991.fit": ("skipped", "FIT activity file: nothing restless uses"),  # HR all 0
    "Activity.fit": ("skipped", "FIT activity file: nothing restless uses"),
    "DeveloperData.fit": ("skipped", "FIT activity file: nothing restless uses"),
    "Settings.fit": ("skipped", "FIT settings file: nothing restless uses"),
    "WeightScaleSingleUser.fit": ("skipped", "FIT weight file: nothing restless uses"),
    "WorkoutRepeatSteps.fit": ("skipped", "FIT workout file: nothing restless uses"),
    "activity-settings.fit": ("skipped", "FIT activity file: nothing restless uses"),
    "activity_truncated.fit": ("skipped", "FIT activity file: nothing restless uses"),
    "elemnt-bolt-no-application-id-inside-developer-data-id.fit": (
        "skipped",
        "FIT activity file: nothing restless uses",
    ),
}

KEYS = {
    "movement_epochs": ["epoch_start_at"],
    "heart_rate": ["measured_at"],
    "hrv_intervals": ["beat_index"],
    "sleep_stages": ["start_at"],
    "sleep_periods": ["period_key"],
}


def real(name: str) -> Path:
    if not FIT_DIR.is_dir():
        pytest.skip("../shared/data/real/wearables/fit is not present (no shared real data)")
    path = FIT_DIR / name
    if not path.exists():
        pytest.skip(f"real FIT sample {name} is not present")
    return path


def ctx(backend: str = "sdk") -> ReadContext:
    return ReadContext(participant_id="p01", timezone="UTC", fit_backend=backend)


@cache
def outcome(path: Path, backend: str) -> tuple[str, str, ReadResult | None]:
    """(loaded/partial/rejected/skipped, reason, result) of reading ``path``."""
    try:
        result = read(path, ctx(backend))
    except RejectedFile as error:
        return "rejected", str(error), None
    except NothingToLoad as error:
        return "skipped", str(error), None
    return ("partial" if result.error else "loaded"), result.error or "", result


def utc_us(fit_seconds: float) -> datetime:
    return datetime.fromtimestamp(fit_seconds + FIT_EPOCH_S, UTC)


def assert_canonical(result: ReadResult) -> None:
    """Exactly the reader columns, in the schema's dtypes, for every table."""
    for table, df in result.tables.items():
        assert df.columns == reader_columns(table), table
        schema = polars_schema(table)
        assert {c: df.schema[c] for c in df.columns} == {c: schema[c] for c in df.columns}


# ---------------------------------------------------------------- the two backends agree


@pytest.mark.parametrize("name", REAL_FILES)
def test_backends_agree_on_every_real_file(name: str) -> None:
    path = real(name)
    sdk, fp = outcome(path, "sdk"), outcome(path, "fitparse")
    assert sdk[:2] == fp[:2]
    if sdk[2] is not None and fp[2] is not None:
        assert sdk[2].tables.keys() == fp[2].tables.keys()
        for table, df in sdk[2].tables.items():
            assert_frame_equal(df.sort(KEYS[table]), fp[2].tables[table].sort(KEYS[table]))
        assert (sdk[2].identity, sdk[2].timezone_hint) == (fp[2].identity, fp[2].timezone_hint)
        assert_canonical(sdk[2])
    if name in EXPECTED:
        kind, reason = EXPECTED[name]
        assert sdk[0] == kind
        assert reason in sdk[1]


def test_every_real_file_has_an_expected_outcome() -> None:
    if not REAL_FILES:
        pytest.skip("../shared/data/real/wearables/fit is not present")
    assert sorted(EXPECTED) == REAL_FILES


def test_profile_slice_matches_garmin_profile() -> None:
    """The by-number table the fitparse backend uses is the FIT profile the SDK ships."""
    for num, (name, fields) in PROFILE.items():
        sdk = Profile["messages"][num]
        assert sdk["name"] == name
        for field_num, spec in fields.items():
            field = sdk["fields"][field_num]
            assert field["name"] == spec.name
            scale = field["scale"][0] if len(field["components"]) <= 1 else 1
            assert (scale, field["offset"][0]) == (spec.scale, spec.offset), spec.name


def test_unknown_backend_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "s.fit"
    _sleep_file(path)
    with pytest.raises(ValueError, match="unknown fit_backend 'fitdecode'"):
        read(path, ctx("fitdecode"))


# ---------------------------------------------------------------- real values


def _raw_monitoring(path: Path) -> list[dict]:
    """fitparse's raw monitoring fields (raw units), with timestamp_16 resolved by hand."""
    rows, last = [], None
    for message in fitparse.FitFile(str(path)).get_messages():
        raw = {f.name: f.raw_value for f in message.fields}
        if "timestamp" in raw:
            last = raw["timestamp"]
        if message.name != "monitoring":
            continue
        if "timestamp_16" in raw:
            last = last + ((raw["timestamp_16"] - last) & 0xFFFF)
        rows.append({**raw, "at": last})
    return rows


def test_monitoring_file_epochs_and_steps_match_hand_differencing() -> None:
    path = real("MonitoringFile.fit")
    raw = _raw_monitoring(path)
    intraday = [r for r in raw if "duration_min" not in r]
    summaries = [r for r in raw if "duration_min" in r]
    # Hand-differencing: raw cycles of walking (6) and running (1) are steps.
    steps, last = 0, {}
    for r in intraday:
        if r.get("cycles") is not None:
            steps += r["cycles"] - last.get(r["activity_type"], 0)
            last[r["activity_type"]] = r["cycles"]
    assert (len(intraday), steps) == (335, 3173)
    # ... and the device's own daily totals (walking 3142 + running 31) agree.
    assert sorted((r["activity_type"], r["steps"]) for r in summaries) == [(1, 31), (6, 3142)]

    for backend in BACKENDS:
        result = read(path, ctx(backend))
        epochs = result.tables["movement_epochs"]
        assert epochs.height == 335
        assert epochs["steps"].sum() == 3173
        assert epochs.filter(pl.col("activity_type") == "walking")["steps"].sum() == 3142
        assert epochs["epoch_start_at"][0] == utc_us(intraday[0]["at"])
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(intraday)]
        assert epochs["epoch_s"].to_list() == [*map(float, gaps), 60.0]  # all under the 1-h cap
        assert Counter(gaps).most_common(1) == [(60, 157)]
        names = {1: "running", 6: "walking", 8: "sedentary"}
        assert epochs["activity_type"].to_list() == [names[r["activity_type"]] for r in intraday]
        assert Counter(epochs["activity_type"]) == {"sedentary": 256, "walking": 78, "running": 1}
        assert epochs["intensity"].to_list() == [float(r["intensity"]) for r in intraday]
        assert result.timezone_hint == "Etc/GMT+6"  # local 00:00 at 06:00 UTC
        assert result.warnings == []  # daily summaries matched the epochs


def test_activity_heart_rate_rows_match_raw_records() -> None:
    path = real("20170518-191602-1740899583.fit")
    records = [
        m.get_raw_value("heart_rate")
        for m in fitparse.FitFile(str(path)).get_messages("record")
        if m.get_raw_value("heart_rate")
    ]
    result = read(path, ctx())
    assert result.tables["heart_rate"].height == len(records) == 1641
    assert result.tables["heart_rate"]["bpm"].sum() == sum(records)
    assert result.timezone_hint == "Etc/GMT-1"


def _us(fit_seconds: float) -> int:
    return round(fit_seconds * 1_000_000) + FIT_EPOCH_S * 1_000_000


def test_hr_messages_are_a_subset_of_sdk_expansion() -> None:
    """Rows = record heart rates + beat samples, each of which garmin-fit-sdk also expands."""
    path = real("activity_poolswim_with_hr.fit")
    messages, errors = Decoder(Stream.from_file(str(path))).read(merge_heart_rates=False)
    assert errors == []
    expanded = {
        (_us(h["timestamp"]), h["heart_rate"]) for h in expand_heart_rates(messages["hr_mesgs"])
    }
    records = {
        (_us(r["timestamp"].timestamp() - FIT_EPOCH_S), r["heart_rate"])
        for r in messages["record_mesgs"]
        if r.get("heart_rate")
    }
    events = [
        e
        for m in messages["hr_mesgs"]
        for e in (
            m["event_timestamp"]
            if isinstance(m["event_timestamp"], list)
            else [m["event_timestamp"]]
        )
    ]
    assert (len(events), len(set(events))) == (7579, 7572)  # 7 beat events are repeated
    for backend in BACKENDS:
        hr = read(path, ctx(backend)).tables["heart_rate"]
        rows = set(hr.select(pl.col("measured_at").dt.epoch("us"), "bpm").iter_rows())
        assert len(rows) == hr.height
        beats = rows - records
        assert records <= rows
        assert beats <= expanded
        assert len(beats) == len(set(events))  # every beat event, none of the 250 ms fillers
        assert len(expanded) > len(events)


def test_hrv_rows_match_raw_hrv_messages() -> None:
    path = real("garmin-fenix-5-run.fit")
    raw, last, stamp = [], None, None
    for message in fitparse.FitFile(str(path)).get_messages():
        if message.get_raw_value("timestamp") is not None:
            last = message.get_raw_value("timestamp")
        if message.name == "hrv":
            raw.extend((stamp := last, v) for v in message.get_raw_value("time") if v is not None)
    assert stamp is not None
    for backend in BACKENDS:
        hrv = read(path, ctx(backend)).tables["hrv_intervals"]
        assert hrv["beat_index"].to_list() == list(range(len(raw)))
        assert hrv["rr_ms"].to_list() == [float(v) for _, v in raw]  # raw unit is ms
        assert hrv["measured_at"].to_list() == [utc_us(t) for t, _ in raw]


# ---------------------------------------------------------------- round trips


T0 = datetime(2024, 3, 1, 22, 0, tzinfo=UTC)  # 17:00 at UTC-5


def _sleep_file(path: Path, assessment: dict[str, int] | None = None) -> list[tuple[datetime, str]]:
    start = datetime(2024, 3, 2, 4, 12, tzinfo=UTC)
    plan = [(0, "awake"), (9, "light"), (40, "deep"), (95, "light"), (130, "rem"), (155, "awake")]
    plan += [(158, "light"), (230, "deep"), (262, "rem"), (300, "unmeasurable"), (304, "light")]
    levels = [(start + timedelta(minutes=m), level) for m, level in plan]
    write_sleep_file(
        path,
        levels=levels,
        end_utc=start + timedelta(minutes=431),
        assessment=assessment,
        local_offset_s=-5 * 3600,
        time_created_utc=start + timedelta(minutes=440),
    )
    return levels


@pytest.mark.parametrize("backend", BACKENDS)
def test_sleep_round_trip(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "sleep.fit"
    scores = {"overall_sleep_score": 78, "sleep_restlessness_score": 41, "awakenings_count": 3}
    levels = _sleep_file(path, {**scores, "deep_sleep_score": 90})
    end = levels[0][0] + timedelta(minutes=431)
    written: Counter[str] = Counter()
    for (start, level), (stop, _) in zip(levels, [*levels[1:], (end, "")], strict=True):
        written["wake" if level == "awake" else level] += (stop - start).total_seconds() / 60
    assert written == {"light": 265, "deep": 87, "rem": 63, "wake": 12, "unmeasurable": 4}

    result = read(path, ctx(backend))
    stages = result.tables["sleep_stages"]
    minutes = stages.group_by("stage").agg(
        ((pl.col("end_at") - pl.col("start_at")).dt.total_seconds() / 60).sum().alias("min")
    )
    assert dict(minutes.iter_rows()) == dict(written)
    assert stages.height == len(levels)
    period = result.tables["sleep_periods"].row(0, named=True)
    assert (period["start_at"], period["end_at"]) == (levels[0][0], end)
    assert period["period_key"] == "2024-03-02T04:12:00+00:00" == stages["period_key"][0]
    assert (period["log_type"], period["vendor_sleep_score"]) == ("garmin_sleep", 78.0)
    assert (period["vendor_restlessness_score"], period["vendor_awake_count"]) == (41.0, 3)
    lineage = {
        "participant_id": pl.lit("p01"),
        "source": pl.lit("garmin_fit"),
        "file_id": pl.lit("f"),
    }
    for table in ("sleep_stages", "sleep_periods"):
        CORE_MODELS[table].validate(result.tables[table].with_columns(**lineage), lazy=True)


def _day_epochs() -> list[MonitoringEpoch]:
    """Mixed epochs from 22:00 to 00:45 local (UTC-5), a 20-min off-wrist gap, then more."""
    kinds = ["walking", "sedentary", "running", "walking", "generic", "sedentary"]
    epochs, at = [], T0 + timedelta(hours=5)  # 22:00 local on 2024-03-01
    for i in range(165):
        if 70 <= i < 90:  # off the wrist 23:10-23:30 local: no messages at all
            at += timedelta(minutes=1)
            continue
        kind = kinds[i % len(kinds)]
        epochs.append(
            MonitoringEpoch(
                start_utc=at,
                duration_s=60,
                activity_type=kind,
                intensity=i % 8,
                steps=0 if kind == "sedentary" else (i * 37) % 120,
                heart_rate=55 + i % 30 if i % 3 else None,
            )
        )
        at += timedelta(minutes=1)
    return epochs


@pytest.mark.parametrize("backend", BACKENDS)
def test_monitoring_round_trip_across_local_midnight(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "monitoring.fit"
    epochs = _day_epochs()
    write_monitoring_file(
        path, epochs=epochs, local_offset_s=-5 * 3600, time_created_utc=epochs[-1].start_utc
    )
    # The file really resets its counters at local midnight (05:00 UTC).
    walking = [r["cycles"] for r in _raw_monitoring(path) if r.get("activity_type") == 6]
    assert any(b < a for a, b in itertools.pairwise(walking))

    result = read(path, ctx(backend))
    got = result.tables["movement_epochs"]
    assert got["epoch_start_at"].to_list() == [e.start_utc for e in epochs]
    assert got["activity_count"].to_list() == [float(e.steps) for e in epochs]
    stepping = {"walking", "running"}
    assert got["steps"].to_list() == [e.steps if e.activity_type in stepping else 0 for e in epochs]
    assert got["activity_type"].to_list() == [e.activity_type for e in epochs]
    assert got["intensity"].to_list() == [float(e.intensity) for e in epochs]
    assert got["epoch_s"].to_list() == [60.0] * len(epochs)  # the gap is not filled
    hr = result.tables["heart_rate"]
    assert hr["bpm"].to_list() == [e.heart_rate for e in epochs if e.heart_rate is not None]
    assert result.timezone_hint == "Etc/GMT+5"


def test_timezone_hint_only_for_whole_hours(tmp_path: Path) -> None:
    epochs = _day_epochs()[:5]
    for offset, hint in [(5 * 3600 + 1800, None), (9 * 3600, "Etc/GMT-9"), (0, "Etc/GMT")]:
        path = tmp_path / f"m{offset}.fit"
        write_monitoring_file(path, epochs=epochs, local_offset_s=offset, time_created_utc=T0)
        assert read(path, ctx()).timezone_hint == hint


def test_accelerometer_without_calibration_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "raw.fit"
    write_accelerometer_file(
        path,
        start_utc=T0,
        samples_g=[(0.0, 0.0, 1.0)] * 50,
        sample_rate_hz=25,
        time_created_utc=T0,
        write_calibration=False,
    )
    with pytest.raises(NothingToLoad, match="FIT activity file: nothing restless uses"):
        read(path, ctx())


def test_writer_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.fit", tmp_path / "b.fit"
    for path in (a, b):
        write_monitoring_file(path, epochs=_day_epochs(), local_offset_s=0, time_created_utc=T0)
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- damage, identity, sniffing


@pytest.mark.parametrize("backend", BACKENDS)
def test_flipped_byte_rejects_and_truncation_keeps_whole_messages(
    tmp_path: Path, backend: str
) -> None:
    good = tmp_path / "good.fit"
    epochs = _day_epochs()
    write_monitoring_file(good, epochs=epochs, local_offset_s=0, time_created_utc=T0)
    data = good.read_bytes()

    flipped = tmp_path / "flipped.fit"
    flipped.write_bytes(data[:400] + bytes([data[400] ^ 0x10]) + data[401:])
    with pytest.raises(RejectedFile, match=r"FIT file CRC mismatch .*content cannot be trusted"):
        read(flipped, ctx(backend))

    cut = tmp_path / "cut.fit"
    cut.write_bytes(data[: len(data) // 2])
    whole = []  # independent count: fitparse yields whole messages until the EOF error
    with pytest.raises(FitEOFError):
        whole.extend(fitparse.FitFile(str(cut)).get_messages("monitoring"))
    n_epochs = sum(1 for m in whole if m.get_raw_value("current_activity_type_intensity"))
    result = read(cut, ctx(backend))
    assert result.error is not None and "truncated" in result.error
    assert_frame_equal(
        result.tables["movement_epochs"].drop("epoch_s").head(n_epochs - 1),
        read(good, ctx(backend)).tables["movement_epochs"].drop("epoch_s").head(n_epochs - 1),
    )
    assert result.tables["movement_epochs"].height == n_epochs


def test_identity_is_stable_and_hides_the_serial(tmp_path: Path) -> None:
    ids = []
    for serial in (3_900_000_001, 3_900_000_001, 3_900_000_002):
        path = tmp_path / f"s{len(ids)}.fit"
        start = datetime(2024, 3, 2, 4, 0, tzinfo=UTC)
        write_sleep_file(
            path,
            levels=[(start, "light"), (start + timedelta(hours=1), "deep")],
            end_utc=start + timedelta(hours=2),
            assessment=None,
            local_offset_s=0,
            time_created_utc=start,
            serial_number=serial,
        )
        ids.append(read(path, ctx()).identity)
    assert ids[0] == ids[1] != ids[2]
    assert all(len(i) == 16 and "3900000001" not in i for i in ids)


def test_sniff_by_content(tmp_path: Path) -> None:
    path = tmp_path / "sleep.bin"  # the name says nothing
    _sleep_file(path)
    assert sniff(path.read_bytes()[:64], "sleep.bin")
    assert not sniff(b"dateTime,value\n2024-01-01,3\n", "x.fit")
    assert detect_format(path, FORMATS) is FORMATS[0]
    assert set(FORMATS[0].coverage) == set(KEYS)
