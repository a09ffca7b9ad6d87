"""Science parameters of the feature models, each with its source.

Every constant the nightly and daily-intake features depend on lives here, so a run can
store exactly what it used (:func:`as_dict`) and a reviewer can check each number against
its citation. SCIENCE.md (beside DESIGN.md) holds the longer quotes; section numbers below
refer to it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import time
from typing import Any

# --- Nights (DESIGN.md section 5; SCIENCE.md section 4, HDCZA noon-to-noon window) -------

NIGHT_BOUNDARY_HOUR: int = 12
"""A sleep period whose onset lies between 12:00 local on D and 12:00 local on D+1 belongs
to night D (DESIGN.md section 5; the same noon-to-noon window as GGIR/HDCZA, van Hees et al.,
Sci Rep 2018;8:12975). Computed on local wall-clock time, so DST days stay 23/25 h long."""

SLEEP_SOURCE_PRIORITY: tuple[str, ...] = (
    # epoch actigraphy (research devices, counts scored by a published algorithm)
    "actigraph",
    "actiwatch",
    "respironics",
    "actical",
    # consumer wearables with their own sleep staging
    "garmin_fit",
    "fitbit",
    "oura",
    "apple_health",
    "whoop",
    "sleep_as_android",
    # raw acceleration scored by restless itself (HDCZA window of the ankle recording)
    "axivity",
    "geneactiv",
    "actigraph_raw",
    "matrix",
    "raw_csv",
)
"""Which ``source`` wins when several sleep periods compete for one night (project choice,
DESIGN.md section 5): epoch actigraphy first (validated against PSG, SCIENCE.md sections
3-4), then consumer devices (proprietary staging), and the HDCZA window restless finds in a
raw ankle recording last: it is the sleep source only "when no other sleep source exists"
(issue #4), because HDCZA was developed on the wrist and an ankle's z-angle depends on how
the sensor is strapped (:mod:`restless.models.actigraphy_sleep`). A raw source carries the
ankle as a suffix (``axivity_left``, ``raw_csv_right``; flows/pipeline.py) and ranks like its
base name (:func:`restless.models.nights.source_rank`). Sources not listed rank after all
listed ones, alphabetically. Within the winning source the longest period is the main one
(DESIGN.md section 5); the others are naps and are ignored."""

HDCZA_MIN_COVERED_H: float = 16.0
"""A raw recording's HDCZA window (van Hees et al., Sci Rep 2018;8:12975) becomes a sleep
period only when at least 16 h of the night's noon-to-noon window were recorded: GGIR's
``includenightcrit = 16`` (minimum valid hours in the noon-to-noon window for a night to be
included), the same 16 of 24 h as its valid-day rule ``includedaycrit``. With less, the
window's 10th-percentile threshold and its longest still block describe a fragment: the
first and last partial days of a recording (a sensor put on in the evening or taken off
after waking) would otherwise give truncated or wrong windows."""

# --- Sleep stages (canonical vocabulary: schemas/core.py SLEEP_STAGES) -------------------

SLEEP_STAGES_ASLEEP: tuple[str, ...] = ("asleep", "light", "deep", "rem")
"""Stages counted as sleep in TST. ``restless`` is not sleep, matching Fitbit's
``minutesAsleep`` (classic logs: asleep only); ``in_bed`` and ``unmeasurable`` are neither."""

STAGE_PRECEDENCE: tuple[str, ...] = ("wake", "restless", "sleep", "in_bed", "unmeasurable")
"""Where stage intervals overlap, the first class listed wins. Fitbit's ``shortData`` wake
bouts (< 3 min) are reported on top of the sleep levels and override them (Fitbit Web API,
Sleep Log "levels.shortData"); project choice for the other classes."""

SCORED_STAGE_CLASSES: tuple[str, ...] = ("wake", "restless", "sleep")
"""Classes that say sleep or wake. Only these count toward ``coverage`` and only these make a
period "staged": ``in_bed`` and ``unmeasurable`` intervals say nothing about sleep."""

# --- Restlessness from movement epochs (DESIGN.md section 5, vendor restlessness) --------

MOVEMENT_ACCEL_THRESHOLD_MG: float = 40.0
"""An epoch moves when its ``mean_accel_mg`` (gravity-subtracted magnitude, ENMO, van Hees
et al., PLoS One 2013;8:e61691) exceeds 40 mg: GGIR's default ``threshold.lig``, its boundary
between inactivity and light activity (published wrist inactivity cut-points are 44.8-45.8 mg,
Hildebrand et al., Scand J Med Sci Sports 2017;27:1814-1823). Conservative for sleep: small
leg jerks averaged over a minute may stay below it. Steps, activity counts or vendor intensity
above 0 also count as movement."""

MIN_EPOCH_COVERAGE: float = 2 / 3
"""Movement epochs must cover at least two thirds of the sleep window (onset to offset) for
``epoch_movement`` restlessness; below it the minutes would mostly measure missing data.
By analogy with GGIR's valid-day default (16 of 24 h of wear, ``includedaycrit = 16``)."""

# --- Daily activity ----------------------------------------------------------------------

ACTIVE_CADENCE_STEPS_PER_MIN: float = 100.0
"""Cadence at or above 100 steps/min marks moderate-intensity walking (about 3 METs) in
adults (Tudor-Locke et al., Br J Sports Med 2018;52:776-788). For epochs longer than a
minute the epoch's mean cadence is used."""

# --- Intake (DESIGN.md section 5; SCIENCE.md sections 6 and 8) ---------------------------

LOG_MIN_ENERGY_KCAL: float = 1000.0
"""A food log with under 1,000 kcal on a day looks incomplete (DESIGN.md section 5)."""

LOG_AFTERNOON_FROM: time = time(12, 0)
"""When a log records times at all, a complete day has at least one item at or after 12:00
local ("nothing logged after noon" is flagged, DESIGN.md section 5)."""

CAFFEINE_LATE_FROM: time = time(14, 0)
"""Caffeine from 14:00 local counts as afternoon/evening caffeine (DESIGN.md section 6; the
clinical advice concerns intake near bedtime, SCIENCE.md section 8)."""

EVENING_WINDOW_H: float = 4.0
"""Evening magnesium: intake in the 4 h before sleep onset (DESIGN.md section 5). The only
published dosing study gave magnesium "in the evening" (Hornyak et al., Sleep 1998;21:501-505,
SCIENCE.md section 8)."""

ROLLING_WINDOWS_D: tuple[int, ...] = (3, 7)
"""Rolling magnesium means over days D-2..D and D-6..D, complete-log days only (DESIGN.md
section 5)."""

# NIH ODS Magnesium fact sheet (FNB DRI 1997), SCIENCE.md section 6, 19-30 / 31-50 split.
# Rows: (min age, max age inclusive, male, female, pregnancy, lactation); None = no row.
MAGNESIUM_RDA_MG: tuple[tuple[int, int, float, float, float | None, float | None], ...] = (
    (1, 3, 80.0, 80.0, None, None),
    (4, 8, 130.0, 130.0, None, None),
    (9, 13, 240.0, 240.0, None, None),
    (14, 18, 410.0, 360.0, 400.0, 360.0),
    (19, 30, 400.0, 310.0, 350.0, 310.0),
    (31, 50, 420.0, 320.0, 360.0, 320.0),
    (51, 200, 420.0, 320.0, None, None),
)
"""Recommended Dietary Allowance of magnesium in mg/day by age band (whole years, age =
calendar year - birth year), sex, pregnancy and lactation. NIH Office of Dietary
Supplements, Magnesium Fact Sheet for Health Professionals (SCIENCE.md section 6). Infants
(age 0, AI 30 or 75 mg) are left out: a birth year cannot tell 0-6 from 7-12 months.
Pregnancy wins over lactation when both are set; outside the bands ODS gives for them the
female value applies."""

MAGNESIUM_SUPPLEMENT_UL_MG: tuple[tuple[int, int, float], ...] = (
    (1, 3, 65.0),
    (4, 8, 110.0),
    (9, 200, 350.0),
)
"""Tolerable Upper Intake Level for *supplemental* magnesium (supplements and medicines, not
food), mg/day by age band; 350 mg from 9 years, pregnancy and lactation included; not
established for infants. NIH ODS Magnesium fact sheet (SCIENCE.md section 6)."""


# --- Magnesium response (features.magnesium_response; DESIGN.md section 6, issue #5) -----
# Magnesium is an exploratory covariate, not a known effect: no placebo-controlled trial
# shows benefit in RLS/PLMD (Marshall et al., Sleep Med Rev 2019;48:101218; SCIENCE.md
# section 8). These parameters make the personal comparison honest, not a test of efficacy.

RESPONSE_MEASURES: tuple[str, ...] = (
    "restless_min",
    "plms_index",
    "waso_min",
    "sleep_efficiency",
    "vendor_restfulness_score",
    "vendor_sleep_score",
)
"""Nightly columns compared, the restlessness proxies first. ``restless_min`` is the leg
restlessness proxy (DESIGN.md section 5; rows per ``restlessness_method``, never pooled);
``plms_index`` the actigraphic PLMS index of raw ankle nights (method 'raw_accel', a
screening estimate); ``waso_min`` and ``sleep_efficiency`` are the secondary sleep outcomes
the only published magnesium polysomnography study reported (sleep efficiency 75 -> 85 %,
Hornyak et al., Sleep 1998;21:501-505, SCIENCE.md section 8); the vendor scores are the sleep
source's own nightly 0-100 numbers (score-only nights included). Sleep efficiency and the
vendor scores rise when sleep improves, the others fall. A measure no night has gives no row."""

RESPONSE_RDA_THRESHOLD_PCT: float = 100.0
"""The 'rda' comparison splits complete-log days at ``magnesium_pct_rda >= 100`` (at or above
the allowance, NIH ODS; DESIGN.md section 6) versus below."""

RESPONSE_MIN_NIGHTS_PER_GROUP: int = 14
"""Fewest nights in each compared group (issue #5 default). Fourteen nights are two full
weeks: the fewest that give the weekly block bootstrap at least two blocks to resample and
let weekday/weekend differences (social jet lag, Wittmann et al., Chronobiol Int
2006;23:497-509) occur in both groups. Below it the row says 'insufficient_data'."""

RESPONSE_MIN_NIGHTS_CORRELATION: int = 2 * RESPONSE_MIN_NIGHTS_PER_GROUP
"""Fewest nights for the rank correlation: as many as the smallest valid two-group
comparison (project choice), i.e. at least four calendar weeks of blocks."""

RESPONSE_BLOCK_DAYS: int = 7
"""Bootstrap block = one calendar week (ISO 8601, Monday to Sunday). Nightly outcomes are
autocorrelated, and resampling single nights would shrink the interval; resampling whole
non-overlapping blocks keeps the dependence inside them (Carlstein, Ann Stat
1986;14:1171-1179; Kunsch, Ann Stat 1989;17:1217-1241). A week also keeps each weekday cycle
intact."""

RESPONSE_BOOTSTRAP_ITERATIONS: int = 2000
"""Bootstrap replicates. Percentile intervals need on the order of 1,000 or more replicates,
far more than standard errors (Efron & Tibshirani, An Introduction to the Bootstrap, 1993,
chapters 13 and 19); 2,000 keeps the Monte Carlo error of the 2.5/97.5 % quantiles small
while the whole table stays well under a second per participant."""

RESPONSE_BOOTSTRAP_SEED: int = 20_260_505
"""Fixed seed so a re-run gives identical intervals (DESIGN.md section 7, idempotent). Each
row draws from its own stream (seed plus a hash of the row's key), so a participant's
intervals do not depend on who else is recomputed in the same run. The value is arbitrary."""

RESPONSE_CI_LEVEL: float = 0.95
"""Two-sided level of the bootstrap percentile interval (issue #5)."""

RESPONSE_LABEL: str = "association in your own data, not evidence that magnesium works"
"""Stored on every row: an N-of-1 observational comparison cannot separate magnesium from
whatever else changed (season, stress, caffeine, a new device), and no placebo-controlled
trial shows that magnesium helps RLS (SCIENCE.md section 8)."""


def as_dict() -> dict[str, Any]:
    """Every parameter as JSON-ready values, stored by the flow with each run."""
    return {
        "night_boundary_hour": NIGHT_BOUNDARY_HOUR,
        "sleep_source_priority": list(SLEEP_SOURCE_PRIORITY),
        "hdcza_min_covered_h": HDCZA_MIN_COVERED_H,
        "sleep_stages_asleep": list(SLEEP_STAGES_ASLEEP),
        "stage_precedence": list(STAGE_PRECEDENCE),
        "scored_stage_classes": list(SCORED_STAGE_CLASSES),
        "movement_accel_threshold_mg": MOVEMENT_ACCEL_THRESHOLD_MG,
        "min_epoch_coverage": MIN_EPOCH_COVERAGE,
        "active_cadence_steps_per_min": ACTIVE_CADENCE_STEPS_PER_MIN,
        "log_min_energy_kcal": LOG_MIN_ENERGY_KCAL,
        "log_afternoon_from": LOG_AFTERNOON_FROM.isoformat(),
        "caffeine_late_from": CAFFEINE_LATE_FROM.isoformat(),
        "evening_window_h": EVENING_WINDOW_H,
        "rolling_windows_d": list(ROLLING_WINDOWS_D),
        "magnesium_rda_mg": [list(row) for row in MAGNESIUM_RDA_MG],
        "magnesium_supplement_ul_mg": [list(row) for row in MAGNESIUM_SUPPLEMENT_UL_MG],
        "response_measures": list(RESPONSE_MEASURES),
        "response_rda_threshold_pct": RESPONSE_RDA_THRESHOLD_PCT,
        "response_min_nights_per_group": RESPONSE_MIN_NIGHTS_PER_GROUP,
        "response_min_nights_correlation": RESPONSE_MIN_NIGHTS_CORRELATION,
        "response_block_days": RESPONSE_BLOCK_DAYS,
        "response_bootstrap_iterations": RESPONSE_BOOTSTRAP_ITERATIONS,
        "response_bootstrap_seed": RESPONSE_BOOTSTRAP_SEED,
        "response_ci_level": RESPONSE_CI_LEVEL,
        "response_label": RESPONSE_LABEL,
    }


# --- Per-deployment overrides (restless.toml [science]) -----------------------------------

OVERRIDABLE: dict[str, str] = {
    "log_min_energy_kcal": "LOG_MIN_ENERGY_KCAL",
    "log_afternoon_from": "LOG_AFTERNOON_FROM",
    "response_min_nights_per_group": "RESPONSE_MIN_NIGHTS_PER_GROUP",
    "response_min_nights_correlation": "RESPONSE_MIN_NIGHTS_CORRELATION",
}
"""The thresholds a study may set in ``restless.toml`` (``[science]``): what counts as an
incomplete food log and how many nights a comparison needs. Everything else is pinned to its
source and not a setting."""


@contextmanager
def overridden(values: Mapping[str, object]) -> Iterator[None]:
    """Apply ``[science]`` overrides for the duration of one feature computation.

    The features step runs in one task at a time (the single writer), so swapping the module
    constants is safe there; ``as_dict()`` called inside records the values actually used.
    """
    unknown = set(values) - set(OVERRIDABLE)
    if unknown:
        raise KeyError(f"not an overridable science parameter: {sorted(unknown)}")
    module = sys.modules[__name__]
    saved = {name: getattr(module, OVERRIDABLE[name]) for name in values}
    try:
        for name, value in values.items():
            setattr(module, OVERRIDABLE[name], value)
        yield
    finally:
        for name, value in saved.items():
            setattr(module, OVERRIDABLE[name], value)


def run_record() -> dict[str, Any]:
    """Every science parameter a run may use, grouped by module, for ``ops.runs.params``."""
    from restless.models import actigraphy_sleep, oakley, plm_params

    return {
        **as_dict(),
        "leg_movements": plm_params.as_dict(),
        "actigraphy_sleep": actigraphy_sleep.as_dict(),
        "oakley": oakley.as_dict(),
    }
