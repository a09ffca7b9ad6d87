"""Canonical tables (schema ``core``): the shapes every reader produces.

Readers return frames with these columns *without* the three lineage columns
(``participant_id``, ``source``, ``file_id``); the flow adds them before validation.
All instants are UTC (``*_at``), local calendar days are ``*_date``, and every
numeric column names its unit. A null means "the export does not say", never zero.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

UtcInstant = Annotated[pl.Datetime, "us", "UTC"]

SLEEP_STAGES = ("wake", "light", "deep", "rem", "asleep", "restless", "in_bed", "unmeasurable")
NUTRIENT_ORIGINS = ("export", "lookup", "missing")
AMOUNT_BASES = ("elemental", "compound")
LEG_SIDES = ("left", "right", "unknown")
PARTICIPANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Lineage(pa.DataFrameModel):
    """Columns every canonical row carries: who, which export family, which file."""

    participant_id: str = pa.Field(str_matches=PARTICIPANT_ID_PATTERN)
    source: str
    file_id: str

    class Config:
        strict = "filter"
        coerce = True


class SleepPeriod(Lineage):
    """Grain: one vendor- or algorithm-detected sleep period.

    Key: (participant_id, source, period_key).

    ``start_at``/``end_at`` bound the time in bed as the vendor reports it; the
    ``vendor_*`` columns are the vendor's own summary numbers, kept for comparison.
    """

    period_key: str
    start_at: UtcInstant
    end_at: UtcInstant
    log_type: str = pa.Field(nullable=True)
    is_main_vendor: bool = pa.Field(nullable=True)
    vendor_time_in_bed_min: float = pa.Field(ge=0, le=24 * 60, nullable=True)
    vendor_minutes_asleep: float = pa.Field(ge=0, le=24 * 60, nullable=True)
    vendor_minutes_awake: float = pa.Field(ge=0, le=24 * 60, nullable=True)
    vendor_minutes_to_fall_asleep: float = pa.Field(ge=0, le=24 * 60, nullable=True)
    vendor_efficiency_pct: float = pa.Field(ge=0, le=100, nullable=True)
    vendor_restless_count: int = pa.Field(ge=0, nullable=True)
    vendor_restless_min: float = pa.Field(ge=0, le=24 * 60, nullable=True)
    vendor_awake_count: int = pa.Field(ge=0, nullable=True)
    vendor_sleep_score: float = pa.Field(ge=0, le=100, nullable=True)
    vendor_restlessness_score: float = pa.Field(ge=0, le=100, nullable=True)
    is_nap: bool = pa.Field(nullable=True)

    @pa.dataframe_check
    def ends_after_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_at") > pl.col("start_at"))

    @pa.dataframe_check
    def at_most_a_day(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("end_at") - pl.col("start_at")) <= pl.duration(hours=24)
        )


class SleepStage(Lineage):
    """Grain: one interval of one sleep stage. Key: (participant_id, source, start_at)."""

    period_key: str = pa.Field(nullable=True)
    start_at: UtcInstant
    end_at: UtcInstant
    stage: str = pa.Field(isin=SLEEP_STAGES)

    @pa.dataframe_check
    def ends_after_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_at") > pl.col("start_at"))


class MovementEpoch(Lineage):
    """Grain: one fixed or vendor epoch of movement. Key: (participant_id, source, epoch_start_at).

    ``steps`` and ``activity_count`` are *per epoch* (cumulative device counters are
    differenced by the reader); ``intensity`` is the vendor's 0-7 scale where present.
    """

    epoch_start_at: UtcInstant
    epoch_s: float = pa.Field(gt=0, le=24 * 3600)
    steps: int = pa.Field(ge=0, le=100_000, nullable=True)
    activity_count: float = pa.Field(ge=0, nullable=True)
    intensity: float = pa.Field(ge=0, le=7, nullable=True)
    activity_type: str = pa.Field(nullable=True)
    mean_accel_mg: float = pa.Field(ge=0, le=16_000, nullable=True)
    is_wear: bool = pa.Field(nullable=True)


class SleepEpoch(Lineage):
    """Grain: one epoch scored sleep or wake by one method. Key: (participant_id, source,
    method, epoch_start_at).

    ``method`` names the scorer ('vendor' for a device's own column, 'oakley',
    'cole_kripke', 'sadeh', ...); ``is_asleep`` is null where the scorer left the epoch
    unscored (off-wrist, excluded).
    """

    epoch_start_at: UtcInstant
    epoch_s: float = pa.Field(gt=0, le=3600)
    activity: float = pa.Field(ge=0, nullable=True)
    is_asleep: bool = pa.Field(nullable=True)
    method: str


class VendorScore(Lineage):
    """Grain: one named vendor score of one sleep day or period.

    Key: (participant_id, source, local_date, period_key, score_name). Long format, because
    every vendor has its own set (Oura's readiness contributors, WHOOP's performance %,
    Garmin's sleep assessment); ``score_name`` says which, ``value`` is the vendor's number
    (usually 0-100). Kept for comparison, never mixed across vendors.
    """

    local_date: pl.Date
    period_key: str = pa.Field(nullable=True)
    score_name: str
    value: float


class HeartRate(Lineage):
    """Grain: one heart-rate sample. Key: (participant_id, source, measured_at)."""

    measured_at: UtcInstant
    bpm: int = pa.Field(ge=20, le=250)
    confidence: int = pa.Field(ge=0, nullable=True)


class HrvInterval(Lineage):
    """Grain: one beat-to-beat (RR) interval. Key: (participant_id, file_id, beat_index).

    FIT ``hrv`` messages carry no timestamp of their own: ``measured_at`` is the last
    timestamp seen before them in the file (approximate, null if none).
    """

    beat_index: int = pa.Field(ge=0)
    measured_at: UtcInstant = pa.Field(nullable=True)
    rr_ms: float = pa.Field(ge=150, le=3000)


class IntakeItem(Lineage):
    """Grain: one logged food or supplement serving.

    Key: (participant_id, source, local_date, row_number).

    ``local_time`` is null when the app did not record a time (the item still counts in
    the day total). Blank nutrient cells stay null (unknown), never zero.
    """

    row_number: int = pa.Field(ge=0)
    local_date: pl.Date
    local_time: pl.Time = pa.Field(nullable=True)
    consumed_at: UtcInstant = pa.Field(nullable=True)
    item_name: str
    meal_group: str = pa.Field(nullable=True)
    category: str = pa.Field(nullable=True)
    amount_text: str = pa.Field(nullable=True)
    is_supplement: bool
    energy_kcal: float = pa.Field(ge=0, le=20_000, nullable=True)
    magnesium_mg: float = pa.Field(ge=0, le=5_000, nullable=True)
    iron_mg: float = pa.Field(ge=0, le=1_000, nullable=True)
    calcium_mg: float = pa.Field(ge=0, le=10_000, nullable=True)
    potassium_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    caffeine_mg: float = pa.Field(ge=0, le=2_000, nullable=True)
    alcohol_g: float = pa.Field(ge=0, le=500, nullable=True)
    nutrient_origin: str = pa.Field(isin=NUTRIENT_ORIGINS)
    amount_g: float = pa.Field(ge=0, le=20_000, nullable=True)
    lookup_food_id: str = pa.Field(nullable=True)
    lookup_confidence: float = pa.Field(ge=0, le=1, nullable=True)


class DailyNutrition(Lineage):
    """Grain: one app-computed daily total (Cronometer dailysummary).

    Key: (participant_id, source, local_date).
    """

    local_date: pl.Date
    energy_kcal: float = pa.Field(ge=0, le=30_000, nullable=True)
    magnesium_mg: float = pa.Field(ge=0, le=10_000, nullable=True)
    iron_mg: float = pa.Field(ge=0, le=1_000, nullable=True)
    calcium_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    potassium_mg: float = pa.Field(ge=0, le=40_000, nullable=True)
    caffeine_mg: float = pa.Field(ge=0, le=5_000, nullable=True)
    alcohol_g: float = pa.Field(ge=0, le=1_000, nullable=True)
    is_completed: bool = pa.Field(nullable=True)


class SupplementDose(Lineage):
    """Grain: one supplement dose. Key: (participant_id, source, local_date, row_number).

    ``amount_mg`` is what was logged; ``magnesium_elemental_mg`` is elemental magnesium
    (compound mass times the form's elemental fraction, SCIENCE.md section 7), with the
    fraction and the hydrate assumed stored beside it.
    """

    row_number: int = pa.Field(ge=0)
    local_date: pl.Date
    local_time: pl.Time = pa.Field(nullable=True)
    taken_at: UtcInstant = pa.Field(nullable=True)
    product: str
    form: str = pa.Field(nullable=True)
    amount_mg: float = pa.Field(ge=0, le=10_000)
    amount_basis: str = pa.Field(isin=AMOUNT_BASES)
    elemental_fraction: float = pa.Field(gt=0, le=1, nullable=True)
    hydrate_assumed: str = pa.Field(nullable=True)
    magnesium_elemental_mg: float = pa.Field(ge=0, le=5_000, nullable=True)


class LegMovement(Lineage):
    """Grain: one monolateral leg movement detected in one ankle sensor's raw acceleration.
    Key: (participant_id, source, side, start_at).

    Detected by restless.models.legs (noise-adaptive hysteresis, DESIGN.md section 5).
    ``side`` comes from the folder the file sits in (``left``/``right``,
    ``left_ankle``/``right_ankle``), else 'unknown'. ``peak_g`` and ``area_g_s`` are above the
    resting baseline; the thresholds are those of the detection block holding the onset.

    ``is_clm`` and ``in_series`` are the WASM 2016 candidate-LM and PLM-series flags as scored
    from this sensor alone (``legs.flag_monolateral``: the flags of the scored movement holding
    the row), at load. With one ankle worn that is the night's scoring; with two ankles the
    bilateral scoring that the nightly indices use is in features.leg_movements. Rows loaded
    before migration 010 were flagged by that migration with the same rules.
    Actigraphic leg movements are screening estimates, not polysomnography.
    """

    side: str = pa.Field(isin=LEG_SIDES)
    start_at: UtcInstant
    end_at: UtcInstant
    duration_s: float = pa.Field(gt=0, le=24 * 3600)
    peak_g: float = pa.Field(ge=0, nullable=True)
    area_g_s: float = pa.Field(ge=0, nullable=True)
    onset_threshold_g: float = pa.Field(ge=0, nullable=True)
    offset_threshold_g: float = pa.Field(ge=0, nullable=True)
    is_clm: bool = pa.Field(
        description="candidate LM (WASM 2016) as scored from this sensor alone; with two ankles"
        " the bilateral scoring that the nightly indices use is in features.leg_movements"
    )
    in_series: bool = pa.Field(
        description="in a PLM series as scored from this sensor alone; with two ankles the"
        " bilateral scoring that the nightly indices use is in features.leg_movements"
    )

    @pa.dataframe_check
    def ends_after_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_at") > pl.col("start_at"))

    @pa.dataframe_check
    def series_members_are_clms(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("in_series") | pl.col("is_clm"))


CORE_MODELS: dict[str, type[Lineage]] = {
    "sleep_periods": SleepPeriod,
    "sleep_stages": SleepStage,
    "movement_epochs": MovementEpoch,
    "sleep_epochs": SleepEpoch,
    "vendor_scores": VendorScore,
    "heart_rate": HeartRate,
    "hrv_intervals": HrvInterval,
    "intake_items": IntakeItem,
    "daily_nutrition": DailyNutrition,
    "supplement_doses": SupplementDose,
    "leg_movements": LegMovement,
}

LINEAGE_COLUMNS = ("participant_id", "source", "file_id")


def reader_columns(table: str) -> list[str]:
    """Columns a reader must produce for ``table`` (the model's columns minus lineage)."""
    model = CORE_MODELS[table]
    return [c for c in model.to_schema().columns if c not in LINEAGE_COLUMNS]


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """The polars dtypes of a canonical table, for building empty or typed frames."""
    return {name: col.dtype.type for name, col in CORE_MODELS[table].to_schema().columns.items()}


def nullable_column(table: str, column: str) -> bool:
    """Whether a reader may leave ``column`` out (it is then null: the export does not say)."""
    return bool(CORE_MODELS[table].to_schema().columns[column].nullable)
