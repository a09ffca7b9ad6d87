"""Apple Health export.xml reader: the real sample, synthetic exports, damaged and hostile XML.

Expected values are computed by hand in the comments (UTC = wall time minus its offset).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import apple_health
from restless.ingest.base import SNIFF_BYTES, NothingToLoad, ReadContext, RejectedFile
from restless.ingest.registry import detect_format
from restless.schemas.core import LINEAGE_COLUMNS
from restless.schemas.validate import validate_table

from .conftest import real_file

CTX = ReadContext(participant_id="p01", timezone="UTC", file_id="f1")

WATCH = "Jane’s Apple Watch"
WATCH_DEVICE = (
    "&lt;&lt;HKDevice: 0x283a1c0f0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:9.0&gt;"
)
PHONE = "Jane’s iPhone"
RING = "Oura"
LOSE_IT = "Lose It!"
MFP = "MyFitnessPal"
SUPPLEMENT_APP = "Supplement Tracker"
DATE_OF_BIRTH = "1984-07-21"
IDENTIFYING = ("Jane", "HKDevice", "0x283a1c0f0", "Watch6,2", DATE_OF_BIRTH, "Supplement Tracker")

APPLE_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type CDATA #REQUIRED
  unit CDATA #IMPLIED
  value CDATA #IMPLIED
  sourceName CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device CDATA #IMPLIED
  creationDate CDATA #IMPLIED
  startDate CDATA #REQUIRED
  endDate CDATA #REQUIRED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type CDATA #REQUIRED
  sourceName CDATA #REQUIRED
  startDate CDATA #REQUIRED
  endDate CDATA #REQUIRED
>
]>
"""

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    + APPLE_DTD
    + '<HealthData locale="en_US">\n'
    + ' <ExportDate value="2026-03-12 08:00:00 -0400"/>\n'
    + f' <Me HKCharacteristicTypeIdentifierDateOfBirth="{DATE_OF_BIRTH}"'
    + ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n'
)
TAIL = "</HealthData>\n"


def record(
    kind: str,
    start: str,
    end: str | None,
    value: str,
    unit: str | None = None,
    source: str = WATCH,
    meta: dict[str, str] | None = None,
) -> str:
    """One ``<Record>`` as Apple writes it (type prefix added, device for the watch)."""
    prefix = "HKCategoryTypeIdentifier" if kind == "SleepAnalysis" else "HKQuantityTypeIdentifier"
    attrs = [f'type="{prefix}{kind}"', f'sourceName="{source}"', 'sourceVersion="9.0"']
    if source == WATCH:
        attrs.append(f'device="{WATCH_DEVICE}"')
    if unit is not None:
        attrs.append(f'unit="{unit}"')
    attrs += [f'startDate="{start}"', f'endDate="{end or start}"', f'value="{value}"']
    entries = "".join(f'<MetadataEntry key="{k}" value="{v}"/>' for k, v in (meta or {}).items())
    opening = " <Record " + " ".join(attrs)
    return f"{opening}>{entries}</Record>\n" if entries else f"{opening}/>\n"


def sleep(start: str, end: str, value: str, source: str = WATCH, zone: str | None = None) -> str:
    meta = {"HKTimeZone": zone} if zone else None
    return record(
        "SleepAnalysis", start, end, f"HKCategoryValueSleepAnalysis{value}", None, source, meta
    )


def food(source: str, at: str, name: str | None, *nutrients: tuple[str, str, str]) -> str:
    """A food correlation and, as Apple writes it, the same records again at top level."""
    children = "".join(record(f"Dietary{n}", at, at, v, u, source) for n, v, u in nutrients)
    entry = f'<MetadataEntry key="HKFoodType" value="{name}"/>' if name else ""
    correlation = (
        f' <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="{source}"'
        f' startDate="{at}" endDate="{at}">{entry}\n{children} </Correlation>\n'
    )
    return children + correlation


def write(tmp_path: Path, body: str, name: str = "export.xml", head: str = HEAD) -> Path:
    path = tmp_path / name
    path.write_text(head + body + TAIL, encoding="utf-8")
    return path


# -- the synthetic export: a DST weekend in the US (clocks spring forward 2026-03-08 02:00) --

SLEEP_BODY = "".join(
    [
        # the phone's bedtime window around the watch's measured night: no period of its own
        sleep("2026-03-07 22:50:00 -0500", "2026-03-08 07:05:00 -0400", "InBed", PHONE),
        # the watch's night: 04:10 -> 10:45 UTC = 395 min (the wall clock shows 7 h 35 min)
        sleep(
            "2026-03-07 23:10:00 -0500",
            "2026-03-08 01:30:00 -0500",
            "AsleepCore",
            zone="America/New_York",
        ),
        sleep(
            "2026-03-08 01:30:00 -0500",
            "2026-03-08 01:55:00 -0500",
            "AsleepDeep",
            zone="America/New_York",
        ),
        sleep(
            "2026-03-08 01:55:00 -0500",
            "2026-03-08 03:10:00 -0400",
            "Awake",
            zone="America/New_York",
        ),
        sleep("2026-03-08 03:10:00 -0400", "2026-03-08 04:00:00 -0400", "AsleepREM"),
        sleep("2026-03-08 04:00:00 -0400", "2026-03-08 06:45:00 -0400", "AsleepCore"),
        sleep("2026-03-08 04:00:00 -0400", "2026-03-08 06:45:00 -0400", "AsleepCore"),  # repeated
        # a nap 7 h 15 min after the night ended: its own session
        sleep("2026-03-08 14:00:00 -0400", "2026-03-08 14:40:00 -0400", "AsleepUnspecified"),
        # next night: a 60-min gap stays in the session, a 61-min gap opens a new one
        sleep(
            "2026-03-08 23:00:00 -0400",
            "2026-03-09 01:00:00 -0400",
            "Asleep",
            zone="America/Chicago",
        ),
        sleep("2026-03-09 02:00:00 -0400", "2026-03-09 03:00:00 -0400", "AsleepCore"),
        sleep("2026-03-09 04:01:00 -0400", "2026-03-09 05:00:00 -0400", "AsleepCore"),
        sleep("2026-03-09 05:00:00 -0400", "2026-03-09 05:30:00 -0400", "SomethingNew"),
        # a night with the phone only: its bedtime window is the period
        sleep("2026-03-10 23:00:00 -0400", "2026-03-11 06:30:00 -0400", "InBed", PHONE),
    ]
)

STEPS_BODY = "".join(
    [
        # 14:00 UTC hour: the watch counts 100 + 120 + 400 = 620, the phone 500 -> watch kept
        record(
            "StepCount", "2026-03-08 10:00:00 -0400", "2026-03-08 10:01:00 -0400", "100", "count"
        ),
        record(
            "StepCount", "2026-03-08 10:01:00 -0400", "2026-03-08 10:02:00 -0400", "120", "count"
        ),
        record(
            "StepCount", "2026-03-08 10:10:00 -0400", "2026-03-08 10:15:00 -0400", "400", "count"
        ),
        record(
            "StepCount",
            "2026-03-08 10:00:00 -0400",
            "2026-03-08 10:30:00 -0400",
            "500",
            "count",
            PHONE,
        ),
        # 16:00 UTC hour: phone only
        record(
            "StepCount",
            "2026-03-08 12:00:00 -0400",
            "2026-03-08 12:10:00 -0400",
            "300",
            "count",
            PHONE,
        ),
        # across the DST jump: 06:59 -> 07:00 UTC, one minute
        record(
            "StepCount", "2026-03-08 01:59:00 -0500", "2026-03-08 03:00:00 -0400", "12", "count"
        ),
    ]
)

HEART_BODY = "".join(
    [
        record("HeartRate", "2026-03-08 03:30:00 -0400", None, "58", "count/min"),
        record("HeartRate", "2026-03-08 03:30:00 -0400", None, "60", "count/min", RING),
        record("HeartRate", "2026-03-08 03:31:00 -0400", None, "1.1", "count/s"),
        record("HeartRate", "2026-03-08 03:32:00 -0400", None, "abc", "count/min"),
        record("BodyMassIndex", "2026-03-08 07:00:00 -0400", None, "22.5", "count", PHONE),
    ]
)

DIET_BODY = "".join(
    [
        # two foods logged at the same minute stay two items thanks to their correlations
        food(
            LOSE_IT,
            "2026-03-08 08:15:00 -0400",
            "Banana",
            ("Magnesium", "0.032", "g"),
            ("Potassium", "422", "mg"),
            ("EnergyConsumed", "105", "kcal"),
        ),
        food(
            LOSE_IT,
            "2026-03-08 08:15:00 -0400",
            "Almonds",
            ("Magnesium", "76", "mg"),
            ("EnergyConsumed", "164", "kcal"),
        ),
        # top-level records only, no food name: one item per source and start
        *(
            record(f"Dietary{n}", "2026-03-08 12:30:00 -0400", None, v, u, MFP, {"Meal": "Lunch"})
            for n, v, u in [
                ("Magnesium", "85", "mg"),
                ("EnergyConsumed", "2092", "kJ"),  # 2092 / 4.184 = 500 kcal
                ("Caffeine", "95", "mg"),
                ("Iron", "0.0035", "g"),  # 3.5 mg
                ("Calcium", "120", "mg"),
                ("Iron", "12", "IU"),  # not a mass: rejected
            ]
        ),
        # late snack written in Chicago time: local 2026-03-08 23:10, UTC 2026-03-09 04:10
        record(
            "DietaryEnergyConsumed",
            "2026-03-08 23:10:00 -0500",
            None,
            "250",
            "kcal",
            MFP,
            {"HKFoodType": "Popcorn"},
        ),
        record(
            "DietaryMagnesium",
            "2026-03-08 21:00:00 -0400",
            None,
            "200",
            "mg",
            MFP,
            {"HKFoodType": "Magnesium Glycinate"},
        ),
        record(
            "DietaryMagnesium",
            "2026-03-08 20:00:00 -0400",
            None,
            "450",
            "mg",
            MFP,
            {"HKFoodType": "ZMA", "Meal": "Supplements"},
        ),
        record(
            "DietaryMagnesium",
            "2026-03-08 19:00:00 -0400",
            None,
            "100",
            "mg",
            MFP,
            {"HKFoodType": "Premier Protein Shake", "Meal": "Supplements"},
        ),
        record("DietaryMagnesium", "2026-03-09 08:00:00 -0400", None, "0.1", "g", SUPPLEMENT_APP),
    ]
)

BODY = HEART_BODY + STEPS_BODY + SLEEP_BODY + DIET_BODY


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def all_text(result: apple_health.ReadResult) -> str:
    """Every string a read result would store or report, for the privacy checks."""
    parts = [result.error or "", *result.warnings]
    parts += [f"{r.column} {r.check} {r.value}" for r in result.rejected_rows]
    for frame in result.tables.values():
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                parts += [v for v in frame[name].to_list() if v is not None]
    return "\n".join(parts)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    return write(tmp_path, BODY)


@pytest.fixture
def result(synthetic: Path) -> apple_health.ReadResult:
    return apple_health.read(synthetic, CTX)


# -- the real export.xml (dogsheep/healthkit-to-sqlite test file) -----------------------------


def test_real_export_heart_rate_read_bmi_ignored_me_not_stored() -> None:
    path = real_file("wearables", "apple_health", "export.xml")
    result = apple_health.read(path, CTX)
    # startDate 2018-09-10 02:28:55 -0700 -> 09:28:55 UTC; value 72 count/min
    expected = pl.DataFrame(
        {"measured_at": [utc("2018-09-10 09:28:55")], "bpm": [72], "confidence": [None]},
        schema={"measured_at": pl.Datetime("us", "UTC"), "bpm": pl.Int64, "confidence": pl.Int64},
    )
    assert_frame_equal(result.tables["heart_rate"], expected)
    assert {t: f.height for t, f in result.tables.items() if t != "heart_rate"} == dict.fromkeys(
        ["sleep_periods", "sleep_stages", "movement_epochs", "intake_items", "supplement_doses"], 0
    )
    assert result.error is None and result.rejected_rows == []
    text = all_text(result)
    for private in ("1990", "Simon", "Apple Watch", "Health Mate", "12345"):
        assert private not in text
    assert result.timezone_hint == "America/Los_Angeles"  # the workout's HKTimeZone


def test_real_export_sniffed_and_hints() -> None:
    path = real_file("wearables", "apple_health", "export.xml")
    assert apple_health.sniff(path.read_bytes()[:SNIFF_BYTES], path.name)
    fmt = detect_format(path)
    assert fmt is not None and fmt.name == "apple_health_xml" and fmt.source == "apple_health"
    assert apple_health.participant_hints(path) == {"birth_year": 1990, "sex": "male"}


# -- synthetic exports ----------------------------------------------------------------------


def test_sniff() -> None:
    assert apple_health.sniff(HEAD.encode(), "export.xml")
    assert apple_health.sniff(b'\xef\xbb\xbf<HealthData locale="en_US">', "x.xml")
    # Apple's DTD can fill the sniffed head: the DOCTYPE alone identifies the export
    assert apple_health.sniff(
        b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n' + b" " * 90_000, ""
    )
    assert not apple_health.sniff(b'<?xml version="1.0"?><MotionWatch/>', "x.mtn")
    assert not apple_health.sniff(b"Day,Food Name,Energy (kcal)\n<HealthData ", "x.csv")
    assert not apple_health.sniff(b"\x0e\x10\xd9\x07.FIT", "x.fit")


def test_sleep_across_dst_weekend(result: apple_health.ReadResult) -> None:
    periods = result.tables["sleep_periods"].select("period_key", "start_at", "end_at", "log_type")
    expected = pl.DataFrame(
        {
            "period_key": [
                "watch:2026-03-08T04:10:00Z",
                "watch:2026-03-08T18:00:00Z",
                "watch:2026-03-09T03:00:00Z",
                "watch:2026-03-09T08:01:00Z",
                "phone:2026-03-11T03:00:00Z",
            ],
            # 23:10 -0500 -> 04:10; 06:45 -0400 -> 10:45; nap 14:00/14:40 -0400 -> 18:00/18:40;
            # 23:00 -0400 -> 03:00 and 03:00 -0400 -> 07:00 (the 60-min gap joined);
            # 04:01/05:00 -0400 -> 08:01/09:00 (61 min: new session; the unknown stage is out)
            "start_at": [
                utc(t)
                for t in (
                    "2026-03-08 04:10",
                    "2026-03-08 18:00",
                    "2026-03-09 03:00",
                    "2026-03-09 08:01",
                    "2026-03-11 03:00",
                )
            ],
            "end_at": [
                utc(t)
                for t in (
                    "2026-03-08 10:45",
                    "2026-03-08 18:40",
                    "2026-03-09 07:00",
                    "2026-03-09 09:00",
                    "2026-03-11 10:30",
                )
            ],
            "log_type": ["watch", "watch", "watch", "watch", "phone"],
        },
        schema_overrides={"start_at": pl.Datetime("us", "UTC"), "end_at": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(periods, expected)
    night = result.tables["sleep_stages"].filter(
        pl.col("period_key") == "watch:2026-03-08T04:10:00Z"
    )
    minutes = night.select(
        "stage", ((pl.col("end_at") - pl.col("start_at")).dt.total_seconds() / 60).alias("min")
    )
    # core 140 + deep 25 + awake 15 (01:55 -0500 -> 03:10 -0400) + REM 50 + core 165; the
    # repeated core record is counted once
    assert minutes.rows() == [
        ("light", 140.0),
        ("deep", 25.0),
        ("wake", 15.0),
        ("rem", 50.0),
        ("light", 165.0),
    ]
    assert minutes["min"].sum() == 395.0
    phone_bed = result.tables["sleep_stages"].filter(pl.col("stage") == "in_bed")
    # the phone's window beside the watch's night has no period; the lone one has its own
    assert phone_bed["period_key"].to_list() == [None, "phone:2026-03-11T03:00:00Z"]
    assert phone_bed["start_at"].to_list() == [utc("2026-03-08 03:50"), utc("2026-03-11 03:00")]
    assert any("in-bed-only" in w for w in result.warnings)


def test_unknown_sleep_value_and_bad_numbers_rejected(result: apple_health.ReadResult) -> None:
    found = {(r.table, r.column, r.check, r.value) for r in result.rejected_rows}
    assert found == {
        ("sleep_stages", "value", "known_sleep_value", "HKCategoryValueSleepAnalysisSomethingNew"),
        ("heart_rate", "value", "number_format", "abc"),
        ("intake_items", "unit", "known_unit", "IU"),
    }
    # row_number is the <Record>'s position: the 4th record of the file is the 'abc' one
    assert [r.row_number for r in result.rejected_rows if r.table == "heart_rate"] == [4]


def test_steps_one_device_per_hour(result: apple_health.ReadResult) -> None:
    steps = result.tables["movement_epochs"].select("epoch_start_at", "epoch_s", "steps")
    expected = pl.DataFrame(
        {
            "epoch_start_at": [
                utc(t)
                for t in (
                    "2026-03-08 06:59",
                    "2026-03-08 14:00",
                    "2026-03-08 14:01",
                    "2026-03-08 14:10",
                    "2026-03-08 16:00",
                )
            ],
            # 01:59 -0500 -> 03:00 -0400 is one minute; 10:10-10:15 five; phone 12:00-12:10 ten
            "epoch_s": [60.0, 60.0, 60.0, 300.0, 600.0],
            "steps": [12, 100, 120, 400, 300],
        },
        schema_overrides={"epoch_start_at": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(steps, expected)
    assert result.tables["movement_epochs"]["steps"].sum() == 932  # never 620 + 500 added


def test_heart_rate_offsets_units_and_one_sample_per_instant(
    result: apple_health.ReadResult,
) -> None:
    heart = result.tables["heart_rate"].select("measured_at", "bpm")
    # 03:30 -0400 -> 07:30 UTC, the watch's 58 (not the ring's 60); 1.1 count/s = 66 bpm
    assert heart.rows() == [(utc("2026-03-08 07:30"), 58), (utc("2026-03-08 07:31"), 66)]


def test_dietary_items_units_and_local_dates(result: apple_health.ReadResult) -> None:
    items = result.tables["intake_items"]
    by_name = {row["item_name"]: row for row in items.iter_rows(named=True)}
    assert (
        sorted(by_name)
        == sorted(
            [
                "Banana",
                "Almonds",
                apple_health.tables.UNNAMED_FOOD,
                "Popcorn",
                "Magnesium Glycinate",
                "ZMA",
                "Premier Protein Shake",
            ]
        )
        and items.height == 8
    )  # the supplement app's unnamed entry is the 8th
    banana = by_name["Banana"]
    assert (banana["magnesium_mg"], banana["potassium_mg"], banana["energy_kcal"]) == (
        32.0,
        422.0,
        105.0,
    )
    assert (banana["local_date"], banana["local_time"]) == (date(2026, 3, 8), clock(8, 15))
    assert (
        banana["consumed_at"] == utc("2026-03-08 12:15") and banana["nutrient_origin"] == "export"
    )
    assert (by_name["Almonds"]["magnesium_mg"], by_name["Almonds"]["energy_kcal"]) == (76.0, 164.0)
    lunch = items.filter(
        (pl.col("item_name") == apple_health.tables.UNNAMED_FOOD)
        & (pl.col("meal_group") == "Lunch")
    ).row(0, named=True)
    assert lunch["magnesium_mg"] == 85.0 and lunch["caffeine_mg"] == 95.0
    assert lunch["energy_kcal"] == pytest.approx(500.0) and lunch["iron_mg"] == pytest.approx(3.5)
    assert lunch["calcium_mg"] == 120.0 and lunch["potassium_mg"] is None
    popcorn = by_name["Popcorn"]
    assert (popcorn["local_date"], popcorn["local_time"]) == (date(2026, 3, 8), clock(23, 10))
    assert popcorn["consumed_at"] == utc("2026-03-09 04:10")
    assert popcorn["magnesium_mg"] is None and popcorn["nutrient_origin"] == "missing"
    # the correlations' top-level copies were counted once (3 + 2 records)
    assert items["magnesium_mg"].sum() == pytest.approx(32 + 76 + 85 + 200 + 450 + 100 + 100)
    assert any(w.startswith("5 top-level nutrient record(s)") for w in result.warnings)
    assert sorted(items["row_number"].to_list()) == list(range(1, 9))


def test_supplements_flagged_and_dosed(result: apple_health.ReadResult) -> None:
    items = result.tables["intake_items"]
    flagged = dict(zip(items["item_name"], items["is_supplement"], strict=True))
    assert flagged["Magnesium Glycinate"] and flagged["ZMA"]
    assert not flagged["Premier Protein Shake"] and not flagged["Banana"]
    doses = result.tables["supplement_doses"].sort("taken_at")
    assert doses.select(
        "product", "form", "amount_mg", "amount_basis", "elemental_fraction"
    ).rows() == [
        ("ZMA", None, 450.0, "elemental", 1.0),  # 20:00 -0400
        ("Magnesium Glycinate", "glycinate", 200.0, "elemental", 1.0),  # 21:00 -0400
        (apple_health.tables.UNNAMED_FOOD, None, 100.0, "elemental", 1.0),  # 0.1 g, the app
    ]
    assert doses["local_date"].to_list() == [date(2026, 3, 8), date(2026, 3, 8), date(2026, 3, 9)]
    assert doses["magnesium_elemental_mg"].to_list() == [450.0, 200.0, 100.0]


def test_every_table_validates(result: apple_health.ReadResult) -> None:
    for table, frame in result.tables.items():
        lineage = frame.with_columns(
            pl.lit(v).alias(c)
            for c, v in zip(LINEAGE_COLUMNS, ("p01", "apple_health", "f1"), strict=True)
        )
        valid, quarantine = validate_table(table, lineage)
        assert quarantine.height == 0, (table, quarantine)
        assert valid.height == frame.height


def test_privacy_nothing_identifying_stored(
    synthetic: Path, result: apple_health.ReadResult
) -> None:
    text = all_text(result)
    for private in IDENTIFYING:
        assert private not in text
    assert apple_health.participant_hints(synthetic) == {"birth_year": 1984, "sex": "female"}


def test_timezone_hint_is_the_most_frequent(result: apple_health.ReadResult) -> None:
    assert result.timezone_hint == "America/New_York"  # 3 records against Chicago's 1


def test_chunked_read_equals_whole_read(synthetic: Path, result: apple_health.ReadResult) -> None:
    chunked = apple_health.read(synthetic, CTX, chunk_rows=2)
    for table, frame in result.tables.items():
        assert_frame_equal(chunked.tables[table], frame)
    assert chunked.rejected_rows == result.rejected_rows
    assert chunked.warnings == result.warnings


def test_nothing_to_load(tmp_path: Path) -> None:
    path = write(
        tmp_path, record("BodyMassIndex", "2026-03-08 07:00:00 -0400", None, "22.5", "count")
    )
    with pytest.raises(NothingToLoad, match="without sleep analysis"):
        apple_health.read(path, CTX)


# -- hostile and damaged XML ------------------------------------------------------------------

BOMB = """<?xml version="1.0"?>
<!DOCTYPE HealthData [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<HealthData locale="en_US">
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="&lol9;" unit="count/min"
  startDate="2026-03-08 03:30:00 -0400" endDate="2026-03-08 03:30:00 -0400" value="58"/>
</HealthData>
"""


def test_entity_expansion_bomb_rejected(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(BOMB)
    assert apple_health.sniff(path.read_bytes(), path.name)  # it claims to be an export
    began = time.perf_counter()
    with pytest.raises(RejectedFile, match=r"declares the entity 'lol'.*never expanded"):
        apple_health.read(path, CTX)
    assert time.perf_counter() - began < 2  # refused at the declaration, nothing expanded
    with pytest.raises(RejectedFile, match="entity"):
        apple_health.participant_hints(path)


@pytest.mark.parametrize(
    ("doctype", "reason"),
    [
        ('<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "file:///etc/passwd"),
        (
            "<!DOCTYPE HealthData [<!ENTITY % pe \"<!ENTITY x 'y'>\"> %pe;]>",
            "parameter entity 'pe'",
        ),
    ],
)
def test_external_and_parameter_entities_rejected(
    tmp_path: Path, doctype: str, reason: str
) -> None:
    path = tmp_path / "export.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n{doctype}\n<HealthData locale="en_US">&xxe;</HealthData>'
    )
    with pytest.raises(RejectedFile, match=reason):
        apple_health.read(path, CTX)


def test_external_dtd_is_never_fetched(tmp_path: Path) -> None:
    """A DOCTYPE pointing elsewhere is tolerated: nothing is loaded, the records are read."""
    head = (
        '<?xml version="1.0"?>\n<!DOCTYPE HealthData SYSTEM "http://127.0.0.1:9/x.dtd">\n'
        '<HealthData locale="en_US">\n'
    )
    path = write(
        tmp_path,
        record("HeartRate", "2026-03-08 03:30:00 -0400", None, "58", "count/min"),
        head=head,
    )
    assert apple_health.read(path, CTX).tables["heart_rate"]["bpm"].to_list() == [58]


def test_truncated_inside_sleep_is_partial_without_the_open_session(tmp_path: Path) -> None:
    body = (
        HEART_BODY
        # the night before: complete, kept (00:00 -0500 -> 05:00 UTC .. 06:00 -0500 -> 11:00)
        + sleep("2026-03-07 00:00:00 -0500", "2026-03-07 03:00:00 -0500", "AsleepCore")
        + sleep("2026-03-07 03:00:00 -0500", "2026-03-07 06:00:00 -0500", "AsleepDeep")
        # the night being read when the copy broke: left out
        + sleep("2026-03-07 23:10:00 -0500", "2026-03-08 01:30:00 -0500", "AsleepCore")
        + sleep("2026-03-08 01:30:00 -0500", "2026-03-08 01:55:00 -0500", "AsleepDeep")
    )
    full = (
        HEAD + body + sleep("2026-03-08 01:55:00 -0500", "2026-03-08 03:10:00 -0400", "Awake")
    ).encode()
    path = tmp_path / "export.xml"
    path.write_bytes(full[: len(HEAD.encode() + body.encode()) + 60])  # cut inside a <Record
    result = apple_health.read(path, CTX)
    assert result.error is not None and "the XML breaks at line" in result.error
    assert result.tables["sleep_periods"]["period_key"].to_list() == ["watch:2026-03-07T05:00:00Z"]
    assert result.tables["sleep_periods"]["end_at"].to_list() == [utc("2026-03-07 11:00")]
    assert result.tables["sleep_stages"].height == 2
    assert result.tables["heart_rate"].height == 2  # the rows before the break
    assert any("sleep session being read" in w for w in result.warnings)


def test_truncated_after_heart_rate_keeps_every_closed_record(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes((HEAD + HEART_BODY).encode()[:-40])  # the BMI record is cut
    result = apple_health.read(path, CTX)
    assert result.error is not None
    assert result.tables["heart_rate"]["bpm"].to_list() == [58, 66]


def test_break_before_the_root_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes(HEAD.encode()[:300])
    with pytest.raises(RejectedFile, match="breaks before <HealthData>"):
        apple_health.read(path, CTX)


def test_truncated_before_any_record_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes(HEAD.encode() + b' <Record type="HKQuantityTypeIdentifierHeartRate" sourceN')
    with pytest.raises(RejectedFile, match="no sleep, step, heart-rate or dietary record"):
        apple_health.read(path, CTX)


# -- through the pipeline steps into a real DuckDB ------------------------------------------


def _load(tmp_path: Path, inbox: Path, name: str, text: str | bytes, run: str):
    from restless.flows.pipeline import FORMATS_BY_NAME, parse_file, validate_file
    from restless.ingest.inbox import scan_inbox
    from restless.warehouse.connection import connect_writer
    from restless.warehouse.load import load_file

    path = inbox / "p1" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    (item,) = [f for f in scan_inbox(inbox).files if f.path == path]
    fmt = detect_format(item.path)
    assert fmt is not None and fmt.name == "apple_health_xml"
    ctx = ReadContext(participant_id="p1", timezone="America/New_York", file_id=item.file_id)
    work = tmp_path / "work" / run
    record = validate_file(parse_file(item, FORMATS_BY_NAME[fmt.name], ctx, work), work)
    con = connect_writer(tmp_path / "w.duckdb")
    try:
        return load_file(con, record, run), _counts(con)
    finally:
        con.close()


def _counts(con) -> dict[str, int]:
    tables = ("sleep_periods", "sleep_stages", "movement_epochs", "heart_rate", "intake_items")
    counts = {t: con.execute(f"SELECT count(*) FROM core.{t}").fetchone()[0] for t in tables}
    counts["quarantine"] = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0]
    counts["doses"] = con.execute("SELECT count(*) FROM core.supplement_doses").fetchone()[0]
    return counts


def test_loads_and_a_longer_reexport_duplicates_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    first, counts = _load(tmp_path, inbox, "export.xml", HEAD + BODY + TAIL, "run1")
    assert first.status == "loaded", first.error
    assert counts == {
        "sleep_periods": 5,
        "sleep_stages": 11,  # 13 records - 1 repeated - 1 unknown stage
        "movement_epochs": 5,
        "heart_rate": 2,
        "intake_items": 8,
        "quarantine": 3,  # the reader's three rejected records
        "doses": 3,
    }
    # a later export holds everything again plus one more night and one more snack
    more = sleep("2026-03-11 23:00:00 -0400", "2026-03-12 06:00:00 -0400", "AsleepCore") + record(
        "DietaryMagnesium", "2026-03-11 12:00:00 -0400", None, "50", "mg", MFP
    )
    second, counts = _load(tmp_path, inbox, "export2.xml", HEAD + BODY + more + TAIL, "run2")
    assert second.status == "loaded", second.error
    assert counts["sleep_periods"] == 6 and counts["sleep_stages"] == 12
    assert counts["intake_items"] == 9 and counts["doses"] == 3
    assert (counts["movement_epochs"], counts["heart_rate"]) == (5, 2)


def test_real_export_loads_its_heart_rate_row(tmp_path: Path) -> None:
    data = real_file("wearables", "apple_health", "export.xml").read_bytes()
    loaded, counts = _load(tmp_path, tmp_path / "inbox", "export.xml", data, "run1")
    assert loaded.status == "loaded", loaded.error
    assert counts["heart_rate"] == 1 and counts["quarantine"] == 0
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    row = con.execute("SELECT epoch_us(measured_at), bpm, source FROM core.heart_rate").fetchone()
    con.close()
    assert row == (int(utc("2018-09-10 09:28:55").timestamp()) * 1_000_000, 72, "apple_health")


def test_export_zip_member_is_sniffed(tmp_path: Path) -> None:
    """Apple's export.zip: the inbox expands it; export.xml is recognised, the CDA is not."""
    import zipfile

    from restless.ingest.inbox import expand_archive, scan_inbox

    inbox = tmp_path / "inbox"
    (inbox / "p1").mkdir(parents=True)
    with zipfile.ZipFile(inbox / "p1" / "export.zip", "w") as archive:
        archive.writestr("apple_health_export/export.xml", HEAD + HEART_BODY + TAIL)
        archive.writestr(
            "apple_health_export/export_cda.xml",
            '<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>',
        )
    (zipped,) = scan_inbox(inbox).files
    members = {m.path.name: m for m in expand_archive(zipped, tmp_path / "scratch")}
    fmt = detect_format(members["export.xml"].path)
    assert fmt is not None and fmt.name == "apple_health_xml"
    cda = detect_format(members["export_cda.xml"].path)
    assert cda is None or cda.source != "apple_health"
    result = apple_health.read(members["export.xml"].path, CTX)
    assert result.tables["heart_rate"]["bpm"].to_list() == [58, 66]


def test_truncated_export_leaves_intake_out(tmp_path: Path) -> None:
    """Nutrients of one food lie in separate type blocks: a cut file cannot say which are whole."""
    path = tmp_path / "export.xml"
    path.write_bytes((HEAD + DIET_BODY + HEART_BODY).encode()[:-40])
    result = apple_health.read(path, CTX)
    assert result.error is not None
    assert result.tables["intake_items"].height == 0
    assert result.tables["supplement_doses"].height == 0
    assert result.tables["heart_rate"]["bpm"].to_list() == [58, 66]
    assert any(w.startswith("8 intake item(s) left out") for w in result.warnings)


def test_break_after_the_sleep_block_keeps_every_session(tmp_path: Path) -> None:
    """Only a session still being read at the break is doubtful, not one followed by others."""
    path = tmp_path / "export.xml"
    bmi = record("BodyMassIndex", "2026-03-12 07:00:00 -0400", None, "22.5", "count", PHONE)
    path.write_bytes((HEAD + SLEEP_BODY + bmi + HEART_BODY).encode()[: -len(HEART_BODY) + 30])
    result = apple_health.read(path, CTX)
    assert result.error is not None and result.tables["sleep_periods"].height == 5
    assert not any("sleep session being read" in w for w in result.warnings)
