"""Feature tables (schema ``features``): what restless.models.features produces.

Instants are UTC (``*_at``), local calendar days ``*_date``, numbers carry their unit in the
name. A null means the data cannot say (no log, no time, no stages), never zero. Ranges are
sanity bounds that catch bugs, not clinical limits.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import pandera.polars as pa
import polars as pl

UtcInstant = Annotated[pl.Datetime, "us", "UTC"]

RESTLESSNESS_METHODS = ("vendor_restless", "epoch_movement", "raw_accel")
INTAKE_BASES = ("servings", "daily_summary")
DAY_MIN = 24 * 60


def _null_ok(expr: pl.Expr) -> pl.Expr:
    """A cross-column rule passes when any operand is null (nothing to compare)."""
    return expr.fill_null(True)


class _Intake(pa.DataFrameModel):
    """Intake columns shared by both feature tables (per local day)."""

    intake_basis: str = pa.Field(isin=INTAKE_BASES, nullable=True)
    magnesium_food_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    magnesium_unknown_items: int = pa.Field(ge=0, nullable=True)
    magnesium_supplement_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    magnesium_total_mg: float = pa.Field(ge=0, le=40_000, nullable=True)
    magnesium_rda_mg: float = pa.Field(ge=80, le=420, nullable=True)
    magnesium_pct_rda: float = pa.Field(ge=0, nullable=True)
    is_supplement_over_ul: bool = pa.Field(nullable=True)
    magnesium_3d_mean_mg: float = pa.Field(ge=0, le=40_000, nullable=True)
    magnesium_7d_mean_mg: float = pa.Field(ge=0, le=40_000, nullable=True)
    energy_kcal: float = pa.Field(ge=0, le=100_000, nullable=True)
    iron_mg: float = pa.Field(ge=0, le=10_000, nullable=True)
    calcium_mg: float = pa.Field(ge=0, le=100_000, nullable=True)
    potassium_mg: float = pa.Field(ge=0, le=200_000, nullable=True)
    caffeine_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    caffeine_after_14_mg: float = pa.Field(ge=0, le=20_000, nullable=True)
    alcohol_g: float = pa.Field(ge=0, le=5_000, nullable=True)

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check
    def total_covers_parts(cls, data) -> pl.LazyFrame:
        """Total magnesium is food plus supplements (1e-6 mg float slack)."""
        total = pl.col("magnesium_total_mg")
        parts = pl.col("magnesium_food_mg").fill_null(0) + pl.col(
            "magnesium_supplement_mg"
        ).fill_null(0)
        return data.lazyframe.select(_null_ok((total - parts).abs() < 1e-6))

    @pa.dataframe_check
    def late_caffeine_within_total(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            _null_ok(pl.col("caffeine_after_14_mg") <= pl.col("caffeine_mg") + 1e-6)
        )


class DailyIntake(_Intake):
    """Grain: one participant and local calendar day with any intake data (food items, an app
    daily summary or supplement doses). Key: (participant_id, local_date).

    ``intake_basis`` says where food numbers come from ('servings' = logged items,
    'daily_summary' = the app's totals, null = supplements only). Rolling means end on the
    row's day and count complete-log days only.
    """

    participant_id: str
    local_date: pl.Date
    timezone: str
    intake_item_count: int = pa.Field(ge=0)
    supplement_dose_count: int = pa.Field(ge=0)
    magnesium_supplement_ul_mg: float = pa.Field(isin=[65.0, 110.0, 350.0], nullable=True)
    magnesium_untimed_share: float = pa.Field(ge=0, le=1, nullable=True)
    is_log_complete: bool

    class Config:
        strict = True
        coerce = True
        unique: ClassVar[list[str]] = ["participant_id", "local_date"]


class Nightly(_Intake):
    """Grain: one participant and night with a main sleep period. Key: (participant_id,
    night_date).

    Night D = the main period whose onset lies between 12:00 local on D and 12:00 on D+1;
    intake columns are those of local day D. ``restlessness_method`` names how
    ``restless_min`` was measured (null: no method applies). Leg-movement columns (lm_*,
    plms_*, periodicity_index, plmw_index, lm_pre_sleep_count) are actigraphic screening
    estimates from raw ankle acceleration (``restlessness_method`` 'raw_accel', which then
    takes precedence over the vendor and epoch proxies), null without leg-movement data.

    ``vendor_sleep_score`` and ``vendor_restfulness_score`` are the night's own sleep
    source's numbers (0-100, higher = better; never another vendor's, never rescaled):
    the overall nightly score (Oura's sleep score, WHOOP's sleep performance %, Garmin's
    overall sleep score) and how undisturbed the night was (Oura's ``restfulness``
    contributor, Garmin's restlessness score; null for vendors without one). A
    **score-only night** is a night that has vendor scores but no sleep period (an Oura
    ``daily_sleep`` export without ``sleep`` documents): ``sleep_source`` is the vendor,
    ``sleep_period_key``, the window (onset, offset, time in bed), the sleep metrics and the
    restlessness columns are null and ``coverage`` is 0.0 (no stage covers any of it).
    """

    participant_id: str
    night_date: pl.Date
    timezone: str
    sleep_source: str
    sleep_period_key: str = pa.Field(nullable=True)
    sleep_onset_at: UtcInstant = pa.Field(nullable=True)
    sleep_offset_at: UtcInstant = pa.Field(nullable=True)
    time_in_bed_min: float = pa.Field(gt=0, le=DAY_MIN, nullable=True)
    tst_min: float = pa.Field(ge=0, le=DAY_MIN, nullable=True)
    sol_min: float = pa.Field(ge=0, le=DAY_MIN, nullable=True)
    waso_min: float = pa.Field(ge=0, le=DAY_MIN, nullable=True)
    sleep_efficiency: float = pa.Field(ge=0, le=100, nullable=True)
    awakenings: int = pa.Field(ge=0, nullable=True)
    lm_count: int = pa.Field(ge=0, nullable=True)
    lm_index: float = pa.Field(ge=0, nullable=True)
    plms_count: int = pa.Field(ge=0, nullable=True)
    plms_index: float = pa.Field(ge=0, nullable=True)
    periodicity_index: float = pa.Field(ge=0, le=1, nullable=True)
    restless_min: float = pa.Field(ge=0, le=DAY_MIN, nullable=True)
    restless_count: int = pa.Field(ge=0, nullable=True)
    restlessness_method: str = pa.Field(isin=RESTLESSNESS_METHODS, nullable=True)
    movement_source: str = pa.Field(nullable=True)
    coverage: float = pa.Field(ge=0, le=1)
    magnesium_evening_mg: float = pa.Field(ge=0, le=40_000, nullable=True)
    evening_untimed_share: float = pa.Field(ge=0, le=1, nullable=True)
    is_log_complete: bool = pa.Field(nullable=True)
    steps: int = pa.Field(ge=0, nullable=True)
    active_min: float = pa.Field(ge=0, le=DAY_MIN, nullable=True)
    plmw_index: float = pa.Field(ge=0, nullable=True)
    lm_pre_sleep_count: int = pa.Field(ge=0, nullable=True)
    vendor_sleep_score: float = pa.Field(ge=0, le=100, nullable=True)
    vendor_restfulness_score: float = pa.Field(ge=0, le=100, nullable=True)

    class Config:
        strict = True
        coerce = True
        unique: ClassVar[list[str]] = ["participant_id", "night_date"]

    @pa.dataframe_check
    def period_or_scores(cls, data) -> pl.LazyFrame:
        """A night has a sleep period (and its time in bed), or else is score-only: no
        window, no sleep or restlessness numbers, coverage 0 and at least one vendor score."""
        no_period = pl.col("sleep_period_key").is_null()
        empty = pl.all_horizontal(
            pl.col(c).is_null()
            for c in (
                "sleep_onset_at",
                "sleep_offset_at",
                "time_in_bed_min",
                "tst_min",
                "restless_min",
                "restlessness_method",
            )
        )
        scored = (
            pl.col("vendor_sleep_score").is_not_null()
            | pl.col("vendor_restfulness_score").is_not_null()
        )
        return data.lazyframe.select(
            pl.when(no_period)
            .then(empty & (pl.col("coverage") == 0) & scored)
            .otherwise(pl.col("time_in_bed_min").is_not_null())
        )

    @pa.dataframe_check
    def offset_after_onset(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            _null_ok(pl.col("sleep_offset_at") >= pl.col("sleep_onset_at"))
        )

    @pa.dataframe_check
    def sleep_within_bed(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            _null_ok(pl.col("tst_min") <= pl.col("time_in_bed_min") + 1e-6)
        )

    @pa.dataframe_check
    def method_has_values(cls, data) -> pl.LazyFrame:
        """Restless minutes exist exactly when a method produced them."""
        return data.lazyframe.select(
            pl.col("restless_min").is_null() | pl.col("restlessness_method").is_not_null()
        )


RESPONSE_COMPARISONS = ("rda", "supplement", "correlation")
RESPONSE_STATUSES = ("ok", "insufficient_data")
SLEEP_MEASURES = ("waso_min", "sleep_efficiency")
"""Response measures that come from the sleep period alone."""
VENDOR_SCORE_MEASURES = ("vendor_restfulness_score", "vendor_sleep_score")
"""Response measures that are the sleep source's own nightly scores (0-100, higher = better)."""
METHODLESS_MEASURES = (*SLEEP_MEASURES, *VENDOR_SCORE_MEASURES)
"""Response measures that carry no restlessness method (they do not depend on one)."""


class MagnesiumResponse(pa.DataFrameModel):
    """Grain: one participant, measure, comparison and night set. Key: (participant_id,
    measure, comparison, sleep_source, restlessness_method); ``restlessness_method`` is null
    for the measures that do not depend on it (METHODLESS_MEASURES): the sleep measures
    ``waso_min`` and ``sleep_efficiency``, and the vendor's own scores
    ``vendor_restfulness_score`` and ``vendor_sleep_score`` (0-100, higher = better: a
    calmer or better night, so a positive difference favours group a).

    A row compares nights of one ``sleep_source`` (one device's staging) and, for
    ``restless_min``, one ``restlessness_method``: methods and devices are never pooled.
    ``comparison``: 'rda' (group a = nights after complete-log days at or above the
    allowance, b = below), 'supplement' (a = nights from the supplement start up to its stop,
    b = the other nights; ``supplement_start_date``/``supplement_stop_date`` say where) and
    'correlation' (Spearman rank correlation of day D's ``magnesium_total_mg`` with night D's
    measure). ``mean_a``, ``mean_b``, ``difference`` (a - b) are in the measure's unit
    (minutes, percent for efficiency, score points for vendor scores); ``ci_low``/``ci_high``
    bound the difference, or
    ``spearman_rho`` for 'correlation' (weekly block bootstrap, percentile). Statistics are
    null unless ``status`` is 'ok'. Every row is an association, never evidence of effect.
    """

    participant_id: str
    measure: str
    comparison: str = pa.Field(isin=RESPONSE_COMPARISONS)
    sleep_source: str
    restlessness_method: str = pa.Field(isin=RESTLESSNESS_METHODS, nullable=True)
    status: str = pa.Field(isin=RESPONSE_STATUSES)
    label: str = pa.Field(str_startswith="association")
    nights_compared: int = pa.Field(ge=0)
    nights_group_a: int = pa.Field(ge=0, nullable=True)
    nights_group_b: int = pa.Field(ge=0, nullable=True)
    first_night_date: pl.Date = pa.Field(nullable=True)
    last_night_date: pl.Date = pa.Field(nullable=True)
    supplement_start_date: pl.Date = pa.Field(nullable=True)
    supplement_stop_date: pl.Date = pa.Field(nullable=True)
    mean_a: float = pa.Field(nullable=True)
    mean_b: float = pa.Field(nullable=True)
    difference: float = pa.Field(nullable=True)
    ci_low: float = pa.Field(nullable=True)
    ci_high: float = pa.Field(nullable=True)
    spearman_rho: float = pa.Field(ge=-1, le=1, nullable=True)

    class Config:
        strict = True
        coerce = True
        unique: ClassVar[list[str]] = [
            "participant_id",
            "measure",
            "comparison",
            "sleep_source",
            "restlessness_method",
        ]

    @pa.dataframe_check
    def method_only_for_restlessness(cls, data) -> pl.LazyFrame:
        """Sleep measures and vendor scores carry no restlessness method; every other
        measure names one."""
        methodless = pl.col("measure").is_in(METHODLESS_MEASURES)
        return data.lazyframe.select(methodless == pl.col("restlessness_method").is_null())

    @pa.dataframe_check
    def groups_add_up(cls, data) -> pl.LazyFrame:
        """Two-group rows count both groups; correlation rows have no groups."""
        groups = pl.col("nights_group_a") + pl.col("nights_group_b")
        return data.lazyframe.select(
            pl.when(pl.col("comparison") == "correlation")
            .then(pl.col("nights_group_a").is_null() & pl.col("nights_group_b").is_null())
            .otherwise(groups == pl.col("nights_compared"))
        )

    @pa.dataframe_check
    def statistics_only_when_ok(cls, data) -> pl.LazyFrame:
        """'ok' rows have their statistic; 'insufficient_data' rows have none."""
        ok = pl.col("status") == "ok"
        stat = (
            pl.when(pl.col("comparison") == "correlation")
            .then(pl.col("spearman_rho"))
            .otherwise(pl.col("difference"))
        )
        stats = ["mean_a", "mean_b", "difference", "ci_low", "ci_high", "spearman_rho"]
        return data.lazyframe.select(
            pl.when(ok)
            .then(stat.is_not_null())
            .otherwise(pl.all_horizontal(pl.col(c).is_null() for c in stats))
        )

    @pa.dataframe_check
    def rho_only_for_correlation(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("comparison") == "correlation") | pl.col("spearman_rho").is_null()
        )

    @pa.dataframe_check
    def supplement_dates_only_for_supplement(cls, data) -> pl.LazyFrame:
        """Start/stop belong to 'supplement' rows; a stop comes after its start."""
        dated = (
            pl.col("supplement_start_date").is_not_null()
            | pl.col("supplement_stop_date").is_not_null()
        )
        ordered = _null_ok(pl.col("supplement_start_date") < pl.col("supplement_stop_date"))
        return data.lazyframe.select(((pl.col("comparison") == "supplement") | ~dated) & ordered)

    @pa.dataframe_check
    def interval_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_null_ok(pl.col("ci_low") <= pl.col("ci_high")))

    @pa.dataframe_check
    def nights_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            _null_ok(pl.col("first_night_date") <= pl.col("last_night_date"))
        )

    @pa.dataframe_check
    def difference_is_a_minus_b(cls, data) -> pl.LazyFrame:
        gap = pl.col("difference") - (pl.col("mean_a") - pl.col("mean_b"))
        return data.lazyframe.select(_null_ok(gap.abs() < 1e-6))


class ImiHistogram(pa.DataFrameModel):
    """Grain: one bin of one night's inter-movement-interval histogram.

    Key: (participant_id, night_date, scale, bin_lo_s). IMIs (onset to onset, seconds) of
    leg movements in sleep, on a linear (2-s bins) and a log scale (Ferri et al., WASM 2016
    reporting); the last bin of each scale ends at +inf. Screening estimates from ankle
    acceleration, not polysomnography.
    """

    participant_id: str
    night_date: pl.Date
    scale: str = pa.Field(isin=("linear", "log"))
    bin_lo_s: float = pa.Field(ge=0)
    bin_hi_s: float
    imi_count: int = pa.Field(ge=0)

    @pa.dataframe_check
    def bins_are_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("bin_hi_s") > pl.col("bin_lo_s"))

    class Config:
        strict = True
        coerce = True
        unique: ClassVar[list[str]] = ["participant_id", "night_date", "scale", "bin_lo_s"]


LEG_MOVEMENT_SIDES = ("left", "right", "unknown", "left+right", "left+unknown", "right+unknown")


class ScoredLegMovement(pa.DataFrameModel):
    """Grain: one scored leg movement of one participant-night (features.leg_movements).

    Key: (participant_id, night_date, start_at). Actigraphic screening estimates from ankle
    acceleration, not polysomnography. The movements that features.nightly's leg-movement
    columns count: the night's monolateral LMs (core.leg_movements) with onset from one hour
    before sleep onset to sleep offset, after the WASM 2016 bilateral merge, CLM rule and PLM
    series (restless.models.legs.score_movements over that window, both ankles together).
    ``sides``: the ankle(s) in the movement ('left+right' = a bilateral movement; a sensor of
    unknown side stands in for a missing leg). ``series_id``: 1, 2, ... in time order within
    the night, null outside series. ``imi_s``: onset minus the previous movement's onset (null
    for the first of the window). ``is_periodic_imi``: the IMI counts toward the periodicity
    index. ``in_sleep_period``: onset inside the sleep window the nightly indices use
    ([sleep_onset_at, sleep_offset_at), or the whole HDCZA window when the night's period is
    the ankle's own; false = the hour before it). ``in_sleep``: onset in an epoch scored
    asleep, from the per-epoch sleep/wake the nightly indices use (false for wake, before
    sleep onset, or in no scored epoch); null when the night has no per-epoch sleep/wake, and
    then the whole period counts as sleep.
    So ``plms_count`` = rows with ``in_series`` and ``in_sleep_period`` and ``in_sleep`` not
    false. With one ankle worn the flags equal core.leg_movements' own.
    """

    participant_id: str
    night_date: pl.Date
    start_at: UtcInstant
    end_at: UtcInstant
    duration_s: float = pa.Field(gt=0, le=24 * 3600)
    peak_g: float = pa.Field(ge=0, nullable=True)
    area_g_s: float = pa.Field(ge=0, nullable=True)
    sides: str = pa.Field(isin=LEG_MOVEMENT_SIDES)
    n_monolateral: int = pa.Field(ge=1)
    is_clm: bool
    imi_s: float = pa.Field(ge=0, nullable=True)
    in_series: bool
    series_id: int = pa.Field(ge=1, nullable=True)
    is_periodic_imi: bool
    in_sleep_period: bool
    in_sleep: bool = pa.Field(nullable=True)

    @pa.dataframe_check
    def ends_after_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_at") > pl.col("start_at"))

    @pa.dataframe_check
    def series_are_clms_with_an_id(cls, data) -> pl.LazyFrame:
        series = pl.col("in_series")
        return data.lazyframe.select(
            (~series | pl.col("is_clm")) & (series == pl.col("series_id").is_not_null())
        )

    @pa.dataframe_check
    def sleep_is_inside_the_period(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_null_ok(~pl.col("in_sleep") | pl.col("in_sleep_period")))

    class Config:
        strict = True
        coerce = True
        unique: ClassVar[list[str]] = ["participant_id", "night_date", "start_at"]


FEATURE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "imi_histogram": ImiHistogram,
    "leg_movements": ScoredLegMovement,
    "daily_intake": DailyIntake,
    "nightly": Nightly,
    "magnesium_response": MagnesiumResponse,
}
