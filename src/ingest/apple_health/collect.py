"""Collect the records restless uses from the element stream, as compact chunked frames.

The expat handlers keep only the attributes a table needs, as plain tuples, and every
``chunk_rows`` buffered rows (all kinds together) turn them into typed polars frames
(dates and numbers parsed, failing rows listed); memory therefore holds compact columns
plus at most ``chunk_rows`` Python tuples, whatever the file's size.

Source names ("Jane's Apple Watch") identify people: they are mapped to small integer
ids while reading and never leave this module. Each id carries only a product type
(:func:`product_of`) and whether the source is a supplement-tracking app.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from restless.ingest.base import RejectedRow
from restless.ingest.csv_text import RAW, reject_rows

HR, STEPS, SLEEP, DIET, FOOD = "heart_rate", "movement_epochs", "sleep_stages", "diet", "food"
"""Record kinds (the first three are named after the table they fill)."""

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
STEPS_TYPE = "HKQuantityTypeIdentifierStepCount"
HEART_RATE_TYPE = "HKQuantityTypeIdentifierHeartRate"
FOOD_CORRELATION = "HKCorrelationTypeIdentifierFood"

DIETARY_TYPES: dict[str, str] = {
    "HKQuantityTypeIdentifierDietaryMagnesium": "magnesium_mg",
    "HKQuantityTypeIdentifierDietaryIron": "iron_mg",
    "HKQuantityTypeIdentifierDietaryCalcium": "calcium_mg",
    "HKQuantityTypeIdentifierDietaryPotassium": "potassium_mg",
    "HKQuantityTypeIdentifierDietaryCaffeine": "caffeine_mg",
    "HKQuantityTypeIdentifierDietaryEnergyConsumed": "energy_kcal",
}
"""HealthKit dietary type -> intake_items column."""

RECORD_KINDS: dict[str, str] = {
    SLEEP_TYPE: SLEEP,
    STEPS_TYPE: STEPS,
    HEART_RATE_TYPE: HR,
    **dict.fromkeys(DIETARY_TYPES, DIET),
}

SLEEP_VALUES: dict[str, str] = {
    "HKCategoryValueSleepAnalysisInBed": "in_bed",
    "HKCategoryValueSleepAnalysisAsleep": "asleep",  # before iOS 16: one asleep value
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleepCore": "light",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
    "HKCategoryValueSleepAnalysisAwake": "wake",
}
"""HealthKit sleep value -> canonical stage (Apple's "Core" sleep is N1+N2: ``light``)."""

MASS_TO_MG: dict[str, float] = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001}
"""Mass units of dietary minerals and caffeine. HealthKit writes magnesium in grams as often
as in milligrams (SCIENCE.md section 9): the ``unit`` attribute decides, g x 1000 = mg."""

ENERGY_TO_KCAL: dict[str, float] = {
    "kcal": 1.0,
    "Cal": 1.0,  # HealthKit's food Calorie is the kilocalorie
    "cal": 0.001,
    "kJ": 1 / 4.184,  # thermochemical calorie: 1 kcal = 4.184 kJ
    "J": 1 / 4184,
}
HEART_RATE_TO_BPM: dict[str, float] = {"count/min": 1.0, "count/s": 60.0}

INSTANT_FORMAT = "%Y-%m-%d %H:%M:%S %z"
"""Apple's dates: wall time with its own UTC offset (``2026-03-08 23:10:00 -0500``)."""

PRODUCTS = ("watch", "phone", "app")
"""Product types kept instead of source names, in the order preferred when devices tie."""

SUPPLEMENT_APP = re.compile(r"supplement|vitamin|\bpills?\b", re.IGNORECASE)
"""A source whose name says it tracks supplements or pills ('Supplement Tracker',
'Vitamin Log', 'Pill Reminder'): every dietary record it writes is a supplement."""

FALSE_TEXT = frozenset({"", "0", "false", "no", "none"})


def product_of(source_name: str, device: str | None) -> str:
    """'watch', 'phone' or 'app' from the source name, else the HKDevice description.

    The name decides first ("Jane's Apple Watch", "Jane's iPhone"); a renamed device is
    recognised by its ``device`` attribute (``model:Watch``, ``model:iPhone``); anything
    else (Oura, Withings, AutoSleep, food loggers) is an 'app'.
    """
    name = source_name.lower()
    if "watch" in name:
        return "watch"
    if "iphone" in name or "ipad" in name:
        return "phone"
    device_text = (device or "").lower()
    if "model:watch" in device_text:
        return "watch"
    if "model:iphone" in device_text or "model:ipad" in device_text:
        return "phone"
    return "app"


def parse_instant(column: str) -> pl.Expr:
    """UTC instant of an Apple date attribute, honouring its own offset; null if malformed."""
    return (
        pl.col(column)
        .str.strip_chars()
        .str.to_datetime(INSTANT_FORMAT, time_unit="us", strict=False)
        .dt.convert_time_zone("UTC")
    )


def parse_local(column: str) -> pl.Expr:
    """The wall-clock reading written in an Apple date attribute (before its offset)."""
    return (
        pl.col(column)
        .str.strip_chars()
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False)
    )


def _number(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value).otherwise(None)


def _factor(column: str, table: dict[str, float]) -> pl.Expr:
    return pl.col(column).replace_strict(table, default=None, return_dtype=pl.Float64)


Checks = list[tuple[str, str, pl.Expr]]
ChunkParser = Callable[[pl.DataFrame], tuple[pl.DataFrame, Checks, list[str]]]


def _heart_rate(raw: pl.DataFrame) -> tuple[pl.DataFrame, Checks, list[str]]:
    """startDate -> measured_at; value x unit factor -> bpm (rounded: the canonical grain)."""
    factor = _factor(RAW + "unit", HEART_RATE_TO_BPM)
    frame = raw.with_columns(
        parse_instant(RAW + "startDate").alias("measured_at"),
        (_number(RAW + "value") * factor).round().cast(pl.Int64).alias("bpm"),
    )
    checks = [
        ("startDate", "date_format", pl.col("measured_at").is_null()),
        ("value", "number_format", _number(RAW + "value").is_null()),
        ("unit", "known_unit", factor.is_null()),
    ]
    return frame, checks, ["row_number", "src", "measured_at", "bpm"]


def _interval(raw: pl.DataFrame, start: str, end: str) -> tuple[pl.DataFrame, Checks]:
    frame = raw.with_columns(
        parse_instant(RAW + "startDate").alias(start),
        parse_instant(RAW + "endDate").alias(end),
    )
    checks = [
        ("startDate", "date_format", pl.col(start).is_null()),
        ("endDate", "date_format", pl.col(end).is_null()),
        ("endDate", "ends_after_start", pl.col(end) <= pl.col(start)),
    ]
    return frame, checks


def _steps(raw: pl.DataFrame) -> tuple[pl.DataFrame, Checks, list[str]]:
    """One epoch per record: start, end - start in seconds, steps (rounded)."""
    frame, checks = _interval(raw, "epoch_start_at", "_end_at")
    value = _number(RAW + "value")
    frame = frame.with_columns(
        ((pl.col("_end_at") - pl.col("epoch_start_at")).dt.total_microseconds() / 1e6).alias(
            "epoch_s"
        ),
        value.round().cast(pl.Int64).alias("steps"),
    )
    checks.append(("value", "number_format", value.is_null() | (value < 0)))
    return frame, checks, ["row_number", "src", "epoch_start_at", "epoch_s", "steps"]


def _sleep(raw: pl.DataFrame) -> tuple[pl.DataFrame, Checks, list[str]]:
    """One stage interval per record, value mapped by :data:`SLEEP_VALUES`."""
    frame, checks = _interval(raw, "start_at", "end_at")
    stage = pl.col(RAW + "value").replace_strict(SLEEP_VALUES, default=None)
    frame = frame.with_columns(stage.alias("stage"))
    checks.append(("value", "known_sleep_value", pl.col("stage").is_null()))
    return frame, checks, ["row_number", "src", "start_at", "end_at", "stage"]


def _local_columns(column: str) -> list[pl.Expr]:
    local = parse_local(column)
    return [
        parse_instant(column).alias("consumed_at"),
        local.dt.date().alias("local_date"),
        local.dt.time().alias("local_time"),
    ]


def _diet(raw: pl.DataFrame) -> tuple[pl.DataFrame, Checks, list[str]]:
    """One nutrient amount per record, converted to the column's unit (mg or kcal)."""
    nutrient = pl.col(RAW + "type").replace_strict(DIETARY_TYPES, default=None)
    factor = (
        pl.when(nutrient == "energy_kcal")
        .then(_factor(RAW + "unit", ENERGY_TO_KCAL))
        .otherwise(_factor(RAW + "unit", MASS_TO_MG))
    )
    value = _number(RAW + "value")
    frame = raw.with_columns(
        *_local_columns(RAW + "startDate"),
        parse_instant(RAW + "endDate").alias("end_at"),
        nutrient.alias("nutrient"),
        (value * factor).alias("amount"),
    )
    checks = [
        ("startDate", "date_format", pl.col("consumed_at").is_null()),
        ("value", "number_format", value.is_null() | (value < 0)),
        ("unit", "known_unit", factor.is_null()),
    ]
    keep = ["row_number", "src", "corr", "nutrient", "amount", "consumed_at", "end_at"]
    return frame, checks, [*keep, "local_date", "local_time", "food", "meal", "flagged"]


def _food(raw: pl.DataFrame) -> tuple[pl.DataFrame, Checks, list[str]]:
    """A food correlation: the time and names shared by its nutrient records."""
    frame = raw.with_columns(*_local_columns(RAW + "startDate"))
    checks = [("startDate", "date_format", pl.col("consumed_at").is_null())]
    keep = ["corr", "src", "consumed_at", "local_date", "local_time", "food", "meal", "flagged"]
    return frame, checks, keep


_ROW = {"row_number": pl.Int64, "src": pl.Int32}
_NAMES = {"food": pl.String, "meal": pl.String, "flagged": pl.Boolean}
RAW_SCHEMAS: dict[str, dict[str, Any]] = {
    HR: {**_ROW, **{RAW + c: pl.String for c in ("startDate", "value", "unit")}},
    STEPS: {**_ROW, **{RAW + c: pl.String for c in ("startDate", "endDate", "value")}},
    SLEEP: {**_ROW, **{RAW + c: pl.String for c in ("startDate", "endDate", "value")}},
    DIET: {
        **_ROW,
        "corr": pl.Int64,
        **{RAW + c: pl.String for c in ("type", "startDate", "endDate", "value", "unit")},
        **_NAMES,
    },
    FOOD: {**_ROW, "corr": pl.Int64, RAW + "startDate": pl.String, **_NAMES},
}
"""The tuple each kind buffers, in order (``raw:`` columns hold attribute text)."""

PARSERS: dict[str, ChunkParser] = {
    HR: _heart_rate,
    STEPS: _steps,
    SLEEP: _sleep,
    DIET: _diet,
    FOOD: _food,
}
TABLE_OF = {HR: HR, STEPS: STEPS, SLEEP: SLEEP, DIET: "intake_items", FOOD: "intake_items"}


def chunk_frame(kind: str, rows: list[tuple[Any, ...]]) -> tuple[pl.DataFrame, list[RejectedRow]]:
    """Buffered tuples of one kind -> (typed compact frame, rows that failed a check)."""
    raw = pl.DataFrame(rows, schema=RAW_SCHEMAS[kind], orient="row")
    frame, checks, keep = PARSERS[kind](raw)
    kept, rejected = reject_rows(frame, TABLE_OF[kind], checks)
    return kept.select(keep), rejected


@dataclass
class Source:
    """What is kept of one ``sourceName``: a product type and the supplement-app flag."""

    product: str
    is_supplement_app: bool


@dataclass
class Collected:
    """Everything read from one file: frames per kind, sources, and what the read saw."""

    frames: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_dropped: int = 0
    zones: Counter[str] = field(default_factory=Counter)
    records: int = 0
    saw_root: bool = False
    last: tuple[str, int] | None = None
    """(kind, row_number) of the used record that was the last element under the root to
    close, or None when something else closed after it."""

    def take(self, kind: str, schema: dict[str, Any]) -> pl.DataFrame:
        """All chunks of ``kind`` as one frame (empty with ``schema`` if none).

        The chunks are handed over (removed here), so only one copy stays in memory.
        """
        chunks = self.frames.pop(kind, [])
        if not chunks:
            return pl.DataFrame(schema=schema)
        return pl.concat(chunks, how="vertical", rechunk=False)


MAX_REJECTED_ROWS = 10_000
"""Rejected rows kept per file (the rest are counted): a broken app must not fill memory."""

MAX_ZONES = 100
"""Distinct ``HKTimeZone`` values counted for the zone hint (travel, not unbounded)."""


class Collector:
    """Expat handlers that buffer the used records and flush them every ``chunk_rows``."""

    def __init__(self, chunk_rows: int) -> None:
        self.chunk_rows = chunk_rows
        self.out = Collected()
        self._buffers: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in RAW_SCHEMAS}
        self._buffered = 0
        self._source_ids: dict[str, int] = {}
        # the record being read: [kind, attrs, row_number, food, meal, flagged]
        self._record: list[Any] | None = None
        # the food correlation being read: [corr id, attrs, row_number, food, meal, flagged]
        self._food: list[Any] | None = None
        self._in_correlation = False
        self._correlations = 0
        self._depth = 0

    # -- expat handlers --------------------------------------------------------------------
    def start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if name == "Record":
            self.out.records += 1
            kind = RECORD_KINDS.get(attrs.get("type", ""))
            if kind is None or (self._in_correlation and (kind != DIET or self._food is None)):
                self._record = None
            else:
                self._record = [kind, attrs, self.out.records, None, None, False]
        elif name == "MetadataEntry":
            key, value = attrs.get("key", ""), attrs.get("value", "")
            if key == "HKTimeZone" and (value in self.out.zones or len(self.out.zones) < MAX_ZONES):
                self.out.zones[value] += 1
            target = self._record if self._record is not None else self._food
            if target is not None and (target is self._food or target[0] == DIET):
                _note_food_metadata(target, key, value)
        elif name == "Correlation":
            self._in_correlation = True
            if attrs.get("type") == FOOD_CORRELATION:
                self._correlations += 1
                self._food = [self._correlations, attrs, self.out.records + 1, None, None, False]
        elif name == "HealthData":
            self.out.saw_root = True

    def end(self, name: str) -> None:
        self._depth -= 1
        if self._depth == 1:  # a child of <HealthData> closed
            self.out.last = None
        if name == "Record":
            if self._record is not None:
                self._emit(self._record)
                self._record = None
        elif name == "Correlation":
            if self._food is not None:
                corr, attrs, row, food, meal, flagged = self._food
                src = self._source(attrs)
                self._append(FOOD, (row, src, corr, attrs.get("startDate"), food, meal, flagged))
                self._food = None
            self._in_correlation = False

    # -- buffering -------------------------------------------------------------------------
    def _emit(self, record: list[Any]) -> None:
        kind, attrs, row, food, meal, flagged = record
        src = self._source(attrs)
        get = attrs.get
        if kind == HR:
            self._append(HR, (row, src, get("startDate"), get("value"), get("unit")))
        elif kind == STEPS:
            self._append(STEPS, (row, src, get("startDate"), get("endDate"), get("value")))
        elif kind == SLEEP:
            self._append(SLEEP, (row, src, get("startDate"), get("endDate"), get("value")))
        else:
            corr = self._food[0] if self._in_correlation and self._food is not None else None
            values = (get("type"), get("startDate"), get("endDate"), get("value"), get("unit"))
            self._append(DIET, (row, src, corr, *values, food, meal, flagged))
        if self._depth == 1:
            self.out.last = (kind, row)

    def _append(self, kind: str, row: tuple[Any, ...]) -> None:
        self._buffers[kind].append(row)
        self._buffered += 1
        if self._buffered >= self.chunk_rows:  # a budget over all kinds, not per kind
            for each in RAW_SCHEMAS:
                self._flush(each)
            self._buffered = 0

    def _flush(self, kind: str) -> None:
        rows = self._buffers[kind]
        if not rows:
            return
        frame, rejected = chunk_frame(kind, rows)
        rows.clear()
        self.out.frames.setdefault(kind, []).append(frame)
        room = MAX_REJECTED_ROWS - len(self.out.rejected)
        self.out.rejected.extend(rejected[: max(room, 0)])
        self.out.rejected_dropped += max(len(rejected) - max(room, 0), 0)

    def _source(self, attrs: dict[str, str]) -> int:
        """The small id of the record's source (the name itself is never stored)."""
        name = attrs.get("sourceName", "")
        known = self._source_ids.get(name)
        if known is not None:
            return known
        self._source_ids[name] = len(self.out.sources)
        self.out.sources.append(
            Source(product_of(name, attrs.get("device")), SUPPLEMENT_APP.search(name) is not None)
        )
        return self._source_ids[name]

    def finish(self) -> Collected:
        """Flush what is buffered (also after a break: closed records are complete)."""
        for kind in RAW_SCHEMAS:
            self._flush(kind)
        self._source_ids.clear()
        return self.out


def _note_food_metadata(target: list[Any], key: str, value: str) -> None:
    """Food name (``HKFoodType``), meal (a ``meal`` key) and supplement hints of a food."""
    if key == "HKFoodType":
        target[3] = value.strip() or None
    elif key.lower() == "meal":
        target[4] = value.strip() or None
    said_yes = "supplement" in key.lower() and value.strip().lower() not in FALSE_TEXT
    if said_yes or "supplement" in value.lower():
        target[5] = True
