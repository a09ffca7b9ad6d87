"""The demo inbox: deterministic, internally consistent, readable, and it shows the effect.

The checks recompute everything from the written files with the standard library (csv,
json), Garmin's FIT decoder and restless's .cwa reader, never from the generator's
internals, so a generator bug cannot hide behind itself.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream

from restless.demo.ankle import FS as ANKLE_FS
from restless.demo.generate import (
    ANKLE_NIGHTS,
    NUTRIENTS,
    SUPPLEMENT_HEADER,
    DemoInfo,
    generate_demo_inbox,
)

FIT_EPOCH_UNIX_S = 631_065_600
GLYCINATE_FRACTION = 0.141
DST_CHANGE = date(2026, 3, 29)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoInfo:
    return generate_demo_inbox(tmp_path_factory.mktemp("demo_a"))


def _root(info: DemoInfo) -> Path:
    return info.inbox / info.participant_id


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _decode(path: Path) -> dict:
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert not errors, f"{path.name}: {errors}"
    return messages


def _fitbit_logs(root: Path) -> list[dict]:
    logs: list[dict] = []
    for path in sorted((root / "fitbit").glob("sleep-*.json")):
        logs.extend(json.loads(path.read_text(encoding="utf-8")))
    return logs


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- shape


def test_info_layout_and_dst(demo: DemoInfo) -> None:
    assert (demo.participant_id, demo.timezone, demo.sex, demo.birth_year) == (
        "demo01",
        "Europe/Berlin",
        "female",
        1979,
    )
    assert demo.last_night - demo.first_night == timedelta(days=74)
    assert demo.first_night < DST_CHANGE <= demo.last_night
    root = _root(demo)
    assert sorted(p.name for p in root.iterdir()) == [
        "cronometer",
        "fitbit",
        "garmin",
        "left",
        "supplements",
    ]
    assert {p.suffix for p in (root / "garmin").iterdir()} == {".fit"}
    assert {p.suffix for p in (root / "left").iterdir()} == {".cwa"}
    assert {p.suffix for p in (root / "fitbit").iterdir()} == {".json"}
    assert sorted(p.name for p in (root / "cronometer").iterdir()) == [
        "dailysummary.csv",
        "servings.csv",
    ]


def test_same_seed_same_bytes_other_seed_other_bytes(demo: DemoInfo, tmp_path: Path) -> None:
    again = generate_demo_inbox(tmp_path / "again")
    assert again.last_night == demo.last_night
    assert _hashes(_root(again)) == _hashes(_root(demo))
    other = generate_demo_inbox(tmp_path / "other", seed=7)
    assert _hashes(_root(other)) != _hashes(_root(demo))


def test_refuses_to_write_over_an_existing_inbox(demo: DemoInfo) -> None:
    with pytest.raises(FileExistsError):
        generate_demo_inbox(demo.inbox)


# --------------------------------------------------------------------------- sleep


def test_at_least_60_nights_of_sleep_across_both_devices(demo: DemoInfo) -> None:
    root = _root(demo)
    logs = _fitbit_logs(root)
    fitbit_nights = {
        date.fromisoformat(log["dateOfSleep"]) - timedelta(days=1)
        for log in logs
        if log["mainSleep"]
    }
    garmin_nights = {date.fromisoformat(p.stem[6:]) for p in (root / "garmin").glob("sleep-*.fit")}
    assert not fitbit_nights & garmin_nights
    assert max(fitbit_nights) < min(garmin_nights)  # the switch from Fitbit to Garmin
    assert len(fitbit_nights) + len(garmin_nights) >= 60
    assert 25 <= len(fitbit_nights) <= 30
    assert {log["type"] for log in logs} == {"classic", "stages"}
    classic = [log for log in logs if log["mainSleep"] and log["type"] == "classic"]
    assert len(classic) > len(logs) / 2  # mostly classic, as an older tracker writes
    assert any(not log["mainSleep"] for log in logs)  # daytime naps


def test_fitbit_summaries_agree_with_their_levels(demo: DemoInfo) -> None:
    for log in _fitbit_logs(_root(demo)):
        levels = log["levels"]
        seconds = sum(entry["seconds"] for entry in levels["data"])
        assert seconds == log["duration"] // 1000 == log["timeInBed"] * 60
        minutes: dict[str, int] = defaultdict(int)
        for entry in levels["data"]:
            minutes[entry["level"]] += entry["seconds"] // 60
        summary = levels["summary"]
        if log["type"] == "classic":
            for level in ("asleep", "restless", "awake"):
                assert summary[level]["minutes"] == minutes[level], level
            assert log["minutesAsleep"] == minutes["asleep"]
            assert log["minutesAwake"] == minutes["restless"] + minutes["awake"]
            runs = [e["level"] for e in levels["data"]]
            assert summary["restless"]["count"] == runs.count("restless")
        else:
            short = sum(entry["seconds"] for entry in levels["shortData"]) // 60
            assert summary["wake"]["minutes"] == minutes["wake"] + short
            total = sum(summary[level]["minutes"] for level in ("deep", "light", "rem", "wake"))
            assert total == log["timeInBed"]
            assert log["minutesAwake"] == summary["wake"]["minutes"]
        assert log["efficiency"] == round(100 * log["minutesAsleep"] / log["timeInBed"])


def test_garmin_files_decode_and_follow_the_clock_change(demo: DemoInfo) -> None:
    root = _root(demo)
    offsets = {}
    for path in sorted((root / "garmin").glob("monitoring-*.fit")):
        info = _decode(path)["monitoring_info_mesgs"][0]
        utc_s = int(info["timestamp"].timestamp()) - FIT_EPOCH_UNIX_S
        offsets[path.stem[11:]] = info["local_timestamp"] - utc_s
    assert offsets["2026-03-28"] == 3600
    assert offsets["2026-03-30"] == 7200
    night = _decode(root / "garmin" / "sleep-2026-03-28.fit")
    levels = night["sleep_level_mesgs"]
    hours_in_bed = (levels[-1]["timestamp"] - levels[0]["timestamp"]).total_seconds() / 3600
    assert 6 <= hours_in_bed <= 10
    assert night["sleep_assessment_mesgs"][0]["awakenings_count"] >= 0


# --------------------------------------------------------------------------- food and supplements


def test_dailysummary_is_the_sum_of_the_servings(demo: DemoInfo) -> None:
    root = _root(demo) / "cronometer"
    servings = _csv_rows(root / "servings.csv")
    daily = _csv_rows(root / "dailysummary.csv")
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    all_blank: dict[str, dict[str, bool]] = defaultdict(lambda: defaultdict(lambda: True))
    for row in servings:
        for column in NUTRIENTS:
            cell = row[column]
            sums[row["Day"]][column] += float(cell) if cell else 0.0
            all_blank[row["Day"]][column] &= cell == ""
    assert [row["Date"] for row in daily] == sorted(sums)
    for row in daily:
        assert row["Completed"] == "false"
        for column in NUTRIENTS:
            if row[column] == "":
                assert all_blank[row["Date"]][column], (row["Date"], column)
            else:
                assert float(row[column]) == pytest.approx(sums[row["Date"]][column], abs=0.006)


def test_food_log_looks_like_a_real_person(demo: DemoInfo) -> None:
    path = _root(demo) / "cronometer" / "servings.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:6] == ["Day", "Time", "Group", "Food Name", "Amount", "Energy (kcal)"]
    assert header[-1] == "Category"
    for column in ("Alcohol (g)", "Caffeine (mg)", "Calcium (mg)", "Iron (mg)"):
        assert column in header
    rows = _csv_rows(path)
    assert 20 <= len({r["Food Name"] for r in rows}) <= 40
    assert {r["Group"] for r in rows} == {"Breakfast", "Lunch", "Dinner", "Snacks"}
    assert any(r["Magnesium (mg)"] == "" for r in rows)  # custom recipes
    assert any(r["Time"] == "" for r in rows)
    assert sum(r["Time"] != "" for r in rows) > 0.7 * len(rows)
    assert any(float(r["Caffeine (mg)"] or 0) > 0 and r["Time"] >= "17:00" for r in rows)
    assert len({r["Day"] for r in rows if float(r["Alcohol (g)"] or 0) > 0}) >= 5

    vitamins = [r for r in rows if r["Category"] == "Supplements"]
    assert {(r["Amount"], r["Magnesium (mg)"]) for r in vitamins} == {("1.00 Tablet", "50.00")}
    days = sorted({r["Day"] for r in rows})
    assert min(r["Day"] for r in vitamins) > days[len(days) // 2 - 1]

    kcal: dict[str, float] = defaultdict(float)
    last_time: dict[str, str] = defaultdict(str)
    for r in rows:
        kcal[r["Day"]] += float(r["Energy (kcal)"])
        last_time[r["Day"]] = max(last_time[r["Day"]], r["Time"])
    assert 1 <= sum(v < 1000 for v in kcal.values()) <= 8
    assert any(last_time[d] < "12:00" for d in days)
    assert statistics.median(kcal.values()) > 1500


def test_supplement_starts_partway_with_gaps_and_one_elemental_row(demo: DemoInfo) -> None:
    path = _root(demo) / "supplements" / "supplement_log.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(SUPPLEMENT_HEADER)
    rows = _csv_rows(path)
    dates = [date.fromisoformat(r["date"]) for r in rows]
    assert dates == sorted(dates)
    assert dates[0] - demo.first_night >= timedelta(days=30)
    span = (dates[-1] - dates[0]).days + 1
    assert 1 <= span - len(dates) <= 8  # a few missed evenings
    assert [r["amount_basis"] for r in rows].count("elemental") == 1
    compound = [r for r in rows if r["amount_basis"] == "compound"]
    assert {(r["form"], r["amount_mg"]) for r in compound} == {("glycinate", "1000")}
    assert all("21:00" <= r["time"] <= "22:00" for r in rows)


# --------------------------------------------------------------------------- the planted effect


def _spearman(x: list[float], y: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, i in enumerate(order):
            out[i] = float(rank)
        return out

    return statistics.correlation(ranks(x), ranks(y))


def _garmin_restless_minutes(root: Path) -> dict[date, int]:
    """Minutes with intensity >= 1 inside each Garmin sleep window (timestamp_16 resolved)."""
    intensity: dict[int, int] = {}
    for path in sorted((root / "garmin").glob("monitoring-*.fit")):
        messages = _decode(path)
        last = int(messages["monitoring_info_mesgs"][0]["timestamp"].timestamp())
        last -= FIT_EPOCH_UNIX_S
        for mesg in messages["monitoring_mesgs"]:
            if "timestamp" in mesg:
                last = int(mesg["timestamp"].timestamp()) - FIT_EPOCH_UNIX_S
            else:
                last += (mesg["timestamp_16"] - last) & 0xFFFF
            if "intensity" in mesg:
                intensity[last] = mesg["intensity"]
    nights = {}
    for path in sorted((root / "garmin").glob("sleep-*.fit")):
        levels = _decode(path)["sleep_level_mesgs"]
        start, end = (
            int(m["timestamp"].timestamp()) - FIT_EPOCH_UNIX_S for m in (levels[0], levels[-1])
        )
        moving = sum(1 for t, v in intensity.items() if start <= t < end and v >= 1)
        nights[date.fromisoformat(path.stem[6:])] = moving
    return nights


def test_more_magnesium_goes_with_calmer_nights(demo: DemoInfo) -> None:
    root = _root(demo)
    magnesium = {
        date.fromisoformat(r["Date"]): float(r["Magnesium (mg)"] or 0)
        for r in _csv_rows(root / "cronometer" / "dailysummary.csv")
    }
    for r in _csv_rows(root / "supplements" / "supplement_log.csv"):
        share = GLYCINATE_FRACTION if r["amount_basis"] == "compound" else 1.0
        magnesium[date.fromisoformat(r["date"])] += float(r["amount_mg"]) * share
    restless = _garmin_restless_minutes(root)
    for log in _fitbit_logs(root):
        if log["mainSleep"] and log["type"] == "classic":
            night = date.fromisoformat(log["dateOfSleep"]) - timedelta(days=1)
            restless[night] = log["levels"]["summary"]["restless"]["minutes"]
    nights = sorted(restless)
    assert len(nights) >= 50
    rho = _spearman([magnesium[n] for n in nights], [restless[n] for n in nights])
    assert -0.85 < rho < -0.3  # clearly there, clearly not deterministic
    low = [restless[n] for n in nights if magnesium[n] < 320]
    high = [restless[n] for n in nights if magnesium[n] >= 320]
    assert len(low) >= 10 and len(high) >= 10
    assert statistics.mean(high) < statistics.mean(low)


# --------------------------------------------------------------------------- the readers

READERS = {
    "garmin": "restless.ingest.fit",
    "fitbit": "restless.ingest.fitbit",
    "cronometer": "restless.ingest.cronometer",
    "supplements": "restless.ingest.supplement_log",
}


def _reader_formats(module_name: str) -> list:
    """The module's FORMATS, or skip the test naming what is missing."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        pytest.skip(f"reader {module_name} is not written yet ({err})")
    formats = getattr(module, "FORMATS", None)
    if not formats:
        pytest.skip(f"reader {module_name} does not declare FORMATS yet")
    return list(formats)


def _registry_formats() -> list | None:
    """The full registry when every reader exists, else the readers that do (None = full)."""
    from restless.ingest import registry

    try:
        registry.all_formats()
        return None
    except (ImportError, AttributeError):
        available = []
        for name in READERS.values():
            try:
                available += list(getattr(importlib.import_module(name), "FORMATS", []))
            except ImportError:
                continue
        return available


@pytest.mark.parametrize("folder", sorted(READERS))
def test_every_file_is_recognised_and_read(demo: DemoInfo, folder: str) -> None:
    from restless.ingest.base import ReadContext
    from restless.ingest.registry import detect_format

    own = _reader_formats(READERS[folder])
    formats = _registry_formats()
    paths = sorted((_root(demo) / folder).iterdir())
    assert paths
    for path in paths:
        fmt = detect_format(path, formats)
        assert fmt is not None, f"{path.name} is not recognised"
        assert fmt in own, f"{path.name} was taken for {fmt.name}"
        context = ReadContext(demo.participant_id, demo.timezone, file_id=path.name)
        result = fmt.read(path, context)
        assert result.error is None, f"{path.name}: {result.error}"
        assert not result.rejected_rows, f"{path.name}: {result.rejected_rows[:3]}"
        assert any(frame.height for frame in result.tables.values()), path.name


# --------------------------------------------------------------------------- the ankle


def _sleep_levels(path: Path) -> list[tuple[datetime, str]]:
    """(instant, level) of a Garmin sleep file, the end marker last."""
    return [(m["timestamp"], str(m["sleep_level"])) for m in _decode(path)["sleep_level_mesgs"]]


def test_ankle_nights_cover_garmin_nights_with_planted_plm_runs(demo: DemoInfo) -> None:
    """A few Garmin nights carry a left-ankle file worn from bedtime to wake, with PLM runs
    (>= 10 movements 20-30 s apart), more of them after the day with least magnesium."""
    root = _root(demo)
    ankle = demo.ankle_nights
    assert len(ankle) == ANKLE_NIGHTS
    assert sorted(p.name for p in (root / "left").iterdir()) == [
        f"ankle-{night.isoformat()}.cwa" for night in sorted(ankle)
    ]
    magnesium = _food_and_supplement_magnesium(root)
    for night, recording in ankle.items():
        levels = _sleep_levels(root / "garmin" / f"sleep-{night.isoformat()}.fit")
        assert recording.start_utc == levels[0][0]  # from bedtime
        assert recording.end_utc == levels[-1][0]  # to wake
        assert recording.n_samples % ANKLE_FS == 0
        onsets = [m.onset_s for m in recording.movements if m.kind == "series"]
        assert len(onsets) >= 10
        runs = [[onsets[0]]]
        for before, after in pairwise(onsets):
            if after - before <= 90:
                assert 20 <= after - before <= 33  # 20-30 s, nudged off the whole minutes
                runs[-1].append(after)
            else:
                runs.append([after])
        assert all(10 <= len(run) <= 40 for run in runs)
        kinds = {m.kind for m in recording.movements}
        assert kinds == {"series", "isolated", "posture"}
    by_mg = sorted(ankle, key=lambda n: magnesium[n])
    counts = [len(ankle[n].onsets_utc()) for n in by_mg]
    assert counts[0] == max(counts)  # the night after the least magnesium has the most PLMs


def test_ankle_files_are_ax3_recordings_of_the_planned_nights(demo: DemoInfo) -> None:
    """Each ankle file is taken for an Axivity .cwa and read without damage or warnings:
    25 Hz from the planned start, the planned samples within the AX3's quantisation, up to
    the last whole 120-sample block (a device writes whole blocks: under 4.8 s lost)."""
    from restless.demo.ankle import synthesise
    from restless.ingest.base import ReadContext
    from restless.ingest.registry import detect_format

    for night, recording in demo.ankle_nights.items():
        path = _root(demo) / "left" / f"ankle-{night.isoformat()}.cwa"
        fmt = detect_format(path)
        assert fmt is not None and fmt.name == "axivity_cwa", path.name
        result = fmt.read(path, ReadContext(demo.participant_id, demo.timezone))
        assert result.error is None and not result.warnings, (result.error, result.warnings)
        raw = result.raw
        assert (raw.fs, raw.device, raw.range_g) == (ANKLE_FS, "Axivity AX3", 8.0)
        assert raw.start_at == recording.start_utc
        assert raw.n_samples == recording.n_samples // 120 * 120
        decoded = np.concatenate(list(raw.chunks()))
        expected = synthesise(recording)[: raw.n_samples]
        assert decoded.shape == expected.shape
        assert np.abs(decoded - expected).max() <= 0.5 / 256  # packed, exponent 0 below 2 g


def _food_and_supplement_magnesium(root: Path) -> dict[date, float]:
    """Logged food magnesium plus supplement (elemental) per day, from the files."""
    total: dict[date, float] = defaultdict(float)
    for row in _csv_rows(root / "cronometer" / "servings.csv"):
        if row["Magnesium (mg)"]:
            total[date.fromisoformat(row["Day"])] += float(row["Magnesium (mg)"])
    for row in _csv_rows(root / "supplements" / "supplement_log.csv"):
        amount = float(row["amount_mg"])
        if row["amount_basis"] == "compound":
            amount *= GLYCINATE_FRACTION
        total[date.fromisoformat(row["date"])] += amount
    return total
