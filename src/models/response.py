"""features.magnesium_response: "on nights after more magnesium, were my legs calmer?"

Per participant, measure and night set, three comparisons (DESIGN.md section 6; issue #5):

* ``rda``: nights after complete-log days at or above the magnesium allowance (group a)
  versus below it (group b);
* ``supplement``: nights from the first logged magnesium supplement up to its stop (a) versus
  the nights before the start and after the stop (b), an A-B(-A) before/after contrast;
* ``correlation``: Spearman's rank correlation of day D's total magnesium with night D's
  measure. The exposure for night D is day D's intake (DESIGN.md section 5): night D begins
  in the evening of day D, so day D is "the previous day" seen from the morning.

Differences (a - b) and the rank correlation get a 95 % percentile interval from a block
bootstrap that resamples whole calendar weeks (params.RESPONSE_BLOCK_DAYS), within each group
for differences and across the compared nights for the correlation, so nightly
autocorrelation does not shrink the interval. Nights of different devices
(``sleep_source``) or restlessness methods are never pooled into one row. Magnesium is an
exploratory covariate, not a known effect (SCIENCE.md section 8): every row is labelled an
association. Pure: polars and numpy in, polars out.

Direction: restless minutes and WASO fall when nights get calmer; sleep efficiency and the
vendors' own scores (``vendor_restfulness_score``, ``vendor_sleep_score``, 0-100) rise, so for
them a positive difference (a - b) means better nights in group a. Days without a known
magnesium total (a MyFitnessPal log: the export has no magnesium) join no 'rda' group and no
correlation: those rows say 'insufficient_data' with ``nights_compared`` 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from restless.models import params
from restless.schemas.features import (
    METHODLESS_MEASURES,
    RESPONSE_COMPARISONS,
)

KEY = ["participant_id", "measure", "comparison", "sleep_source", "restlessness_method"]

MEASURES: tuple[str, ...] = params.RESPONSE_MEASURES
"""Default measures (params.RESPONSE_MEASURES; the vendor scores ``vendor_restfulness_score``
and ``vendor_sleep_score`` are 0-100, higher = better, unlike restless minutes and WASO).
Nights without a value give no row for that measure."""

RESPONSE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "measure": pl.String(),
    "comparison": pl.String(),
    "sleep_source": pl.String(),
    "restlessness_method": pl.String(),
    "status": pl.String(),
    "label": pl.String(),
    "nights_compared": pl.Int64(),
    "nights_group_a": pl.Int64(),
    "nights_group_b": pl.Int64(),
    "first_night_date": pl.Date(),
    "last_night_date": pl.Date(),
    "supplement_start_date": pl.Date(),
    "supplement_stop_date": pl.Date(),
    "mean_a": pl.Float64(),
    "mean_b": pl.Float64(),
    "difference": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "spearman_rho": pl.Float64(),
}

_MONDAY_DAYS = (date(1970, 1, 5) - date(1970, 1, 1)).days
"""Days from the Unix epoch (a Thursday) to the first Monday: ISO weeks start on Mondays."""

_CHUNK = 250
"""Bootstrap replicates per vectorised batch of the rank correlation (bounds memory)."""


# --- Ranks and Spearman's rho ------------------------------------------------------------


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) of ``values`` repeated ``weights`` times.

    ``values``: shape (n,); ``weights``: non-negative integer counts, shape (b, n), one
    multiset per row. Element i of row r gets the mean rank of its tie group in that
    multiset: the weight of all smaller values plus (weight of its tie group + 1) / 2. With
    unit weights these are the usual average ranks (Kendall & Gibbons, Rank Correlation
    Methods, 5th ed. 1990, ch. 3).
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group_of = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, values.size]))
    tied = np.add.reduceat(weights[:, order].astype(float), starts, axis=1)
    below = np.cumsum(tied, axis=1) - tied
    ranks = np.empty(weights.shape, dtype=float)
    ranks[:, order] = (below + (tied + 1.0) / 2.0)[:, group_of]
    return ranks


def weighted_spearman(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row's multiset (Pearson correlation of average ranks, Spearman,
    Am J Psychol 1904;15:72-101). Shape (b,); NaN where either variable does not vary."""
    rx, ry = weighted_ranks(x, weights), weighted_ranks(y, weights)
    w = weights.astype(float)
    total = w.sum(axis=1, keepdims=True)
    dx = rx - (w * rx).sum(axis=1, keepdims=True) / total
    dy = ry - (w * ry).sum(axis=1, keepdims=True) / total
    vx, vy = (w * dx * dx).sum(axis=1), (w * dy * dy).sum(axis=1)
    # ranks are multiples of 1/2, so a varying multiset has rank variance >= 1/8
    defined = (vx > 1e-9) & (vy > 1e-9)
    rho = np.full(w.shape[0], np.nan)
    rho[defined] = (w * dx * dy).sum(axis=1)[defined] / np.sqrt(vx[defined] * vy[defined])
    return np.clip(rho, -1.0, 1.0)


def spearman_rho(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float | None:
    """Spearman's rank correlation with average ranks for ties; None when undefined."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.size < 2:
        return None
    rho = weighted_spearman(xs, ys, np.ones((1, xs.size)))[0]
    return None if np.isnan(rho) else float(rho)


# --- Weekly block bootstrap --------------------------------------------------------------


def week_blocks(night_dates: pl.Series) -> np.ndarray:
    """Calendar-week block of each night (params.RESPONSE_BLOCK_DAYS days from a Monday)."""
    days = night_dates.cast(pl.Date).cast(pl.Int64).to_numpy()
    return (days - _MONDAY_DAYS) // params.RESPONSE_BLOCK_DAYS


def _block_counts(n_blocks: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n_blocks`` blocks is drawn in each replicate: shape (B, K).

    Every replicate draws as many blocks as there are, with replacement (Carlstein 1986)."""
    draws = rng.integers(0, n_blocks, size=(iterations, n_blocks))
    flat = draws + np.arange(iterations)[:, None] * n_blocks
    return np.bincount(flat.ravel(), minlength=iterations * n_blocks).reshape(iterations, n_blocks)


def block_bootstrap_means(
    values: np.ndarray, blocks: np.ndarray, iterations: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap replicates (shape (B,)) of the mean night, resampling whole blocks.

    Each replicate's mean pools the nights of its drawn blocks (partial weeks weigh less).
    With K blocks the plain bootstrap spread of a mean is sqrt((K - 1) / K) of its standard
    error (the plug-in variance divides by K, Efron & Tibshirani 1993, ch. 5), which matters
    with the few weeks a person has; replicates are expanded about the observed mean by
    sqrt(K / (K - 1)) to undo it.
    """
    _, codes = np.unique(blocks, return_inverse=True)
    sums = np.bincount(codes, weights=values)
    sizes = np.bincount(codes).astype(float)
    counts = _block_counts(sums.size, iterations, rng)
    reps = (counts @ sums) / (counts @ sizes)
    if sums.size < 2:
        return reps
    observed = sums.sum() / sizes.sum()
    return observed + np.sqrt(sums.size / (sums.size - 1)) * (reps - observed)


def _percentiles(replicates: np.ndarray, level: float) -> tuple[float, float] | None:
    tail = (1.0 - level) / 2.0
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return None
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def difference_interval(
    a: np.ndarray,
    a_blocks: np.ndarray,
    b: np.ndarray,
    b_blocks: np.ndarray,
    *,
    iterations: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float] | None:
    """Percentile interval of mean(a) - mean(b), weeks resampled within each group."""
    reps = block_bootstrap_means(a, a_blocks, iterations, rng) - block_bootstrap_means(
        b, b_blocks, iterations, rng
    )
    return _percentiles(reps, level)


def spearman_interval(
    x: np.ndarray,
    y: np.ndarray,
    blocks: np.ndarray,
    *,
    iterations: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float] | None:
    """Percentile interval of Spearman's rho, whole weeks resampled (ranks recomputed in
    every replicate; replicates where a variable does not vary are dropped)."""
    _, codes = np.unique(blocks, return_inverse=True)
    counts = _block_counts(int(codes.max()) + 1, iterations, rng)
    reps = np.concatenate(
        [
            weighted_spearman(x, y, counts[start : start + _CHUNK][:, codes])
            for start in range(0, iterations, _CHUNK)
        ]
    )
    return _percentiles(reps, level)


# --- Supplement periods ------------------------------------------------------------------


def supplement_periods(nightly: pl.DataFrame) -> pl.DataFrame:
    """Per participant: the night a magnesium supplement starts and the night it stops.

    Start = the first night whose day has ``magnesium_supplement_mg`` > 0 (absent or 0
    before); stop = the first night after the last such night (null while the supplement
    continues to the last night). Days in between without a logged dose count as "on": the
    contrast is by period, like an intention-to-treat comparison, so a forgotten entry does
    not move a night between groups. Returns ``participant_id, supplement_start_date,
    supplement_stop_date`` for every participant (dates null without any dose).
    """
    night = pl.col("night_date")
    dosed = night.filter(pl.col("magnesium_supplement_mg").fill_null(0.0) > 0)
    return (
        nightly.group_by("participant_id")
        .agg(
            dosed.min().alias("supplement_start_date"),
            night.filter(night > dosed.max()).min().alias("supplement_stop_date"),
        )
        .sort("participant_id")
    )


# --- The table ---------------------------------------------------------------------------


def _measure_nights(nightly: pl.DataFrame, measures: Sequence[str]) -> pl.DataFrame:
    """Long frame: one row per night and measure with a value.

    Sleep measures and vendor scores keep a null method (they do not depend on one);
    restlessness measures keep the night's method so that rows are formed per method."""
    frames = []
    for measure in measures:
        method = (
            pl.lit(None, dtype=pl.String)
            if measure in METHODLESS_MEASURES
            else pl.col("restlessness_method")
        )
        frames.append(
            nightly.filter(pl.col(measure).is_not_null()).select(
                "participant_id",
                pl.lit(measure).alias("measure"),
                "sleep_source",
                method.alias("restlessness_method"),
                "night_date",
                pl.col(measure).cast(pl.Float64).alias("value"),
                pl.col("magnesium_total_mg").cast(pl.Float64),
                pl.col("magnesium_pct_rda").cast(pl.Float64),
                pl.col("is_log_complete").fill_null(False),
            )
        )
    schema = {
        "participant_id": pl.String(),
        "measure": pl.String(),
        "sleep_source": pl.String(),
        "restlessness_method": pl.String(),
        "night_date": pl.Date(),
        "value": pl.Float64(),
        "magnesium_total_mg": pl.Float64(),
        "magnesium_pct_rda": pl.Float64(),
        "is_log_complete": pl.Boolean(),
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).cast(schema)


def _row_rng(seed: int, key: Sequence[object]) -> np.random.Generator:
    """A generator of its own per row (seed + hash of the key): results do not depend on
    which other rows or participants are computed in the same run."""
    digest = hashlib.sha256("\x1f".join("" if k is None else str(k) for k in key).encode())
    return np.random.default_rng([seed, int.from_bytes(digest.digest()[:8], "little")])


def _span(dates: pl.Series) -> dict[str, date | None]:
    return {"first_night_date": dates.min(), "last_night_date": dates.max()}


def _two_groups(
    part: pl.DataFrame,
    in_a: pl.Expr,
    in_b: pl.Expr,
    *,
    min_nights: int,
    iterations: int,
    level: float,
    rng: np.random.Generator,
) -> dict[str, object]:
    """Counts, means, difference and interval of group a versus group b."""
    a, b = part.filter(in_a), part.filter(in_b)
    row: dict[str, object] = {
        "nights_compared": a.height + b.height,
        "nights_group_a": a.height,
        "nights_group_b": b.height,
        **_span(pl.concat([a["night_date"], b["night_date"]])),
    }
    if min(a.height, b.height) < min_nights:
        return {**row, "status": "insufficient_data"}
    a_values, b_values = a["value"].to_numpy(), b["value"].to_numpy()
    interval = difference_interval(
        a_values,
        week_blocks(a["night_date"]),
        b_values,
        week_blocks(b["night_date"]),
        iterations=iterations,
        level=level,
        rng=rng,
    )
    mean_a, mean_b = float(a_values.mean()), float(b_values.mean())
    return {
        **row,
        "status": "ok",
        "mean_a": mean_a,
        "mean_b": mean_b,
        "difference": mean_a - mean_b,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
    }


def _correlation(
    part: pl.DataFrame,
    *,
    min_nights: int,
    iterations: int,
    level: float,
    rng: np.random.Generator,
) -> dict[str, object]:
    """Spearman's rho of day D's total magnesium with night D's measure, complete logs only."""
    used = part.filter(pl.col("is_log_complete") & pl.col("magnesium_total_mg").is_not_null())
    row: dict[str, object] = {"nights_compared": used.height, **_span(used["night_date"])}
    x, y = used["magnesium_total_mg"].to_numpy(), used["value"].to_numpy()
    rho = spearman_rho(x, y) if used.height >= min_nights else None
    if rho is None:
        return {**row, "status": "insufficient_data"}
    interval = spearman_interval(
        x, y, week_blocks(used["night_date"]), iterations=iterations, level=level, rng=rng
    )
    return {
        **row,
        "status": "ok",
        "spearman_rho": rho,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
    }


def magnesium_response(
    nightly: pl.DataFrame,
    *,
    measures: Sequence[str] = MEASURES,
    min_nights_per_group: int = params.RESPONSE_MIN_NIGHTS_PER_GROUP,
    min_nights_correlation: int = params.RESPONSE_MIN_NIGHTS_CORRELATION,
    iterations: int = params.RESPONSE_BOOTSTRAP_ITERATIONS,
    seed: int = params.RESPONSE_BOOTSTRAP_SEED,
    level: float = params.RESPONSE_CI_LEVEL,
) -> pl.DataFrame:
    """features.magnesium_response from features.nightly (schemas/features.py).

    One row per participant, measure (with at least one value), comparison, sleep source and
    (restlessness measures only) restlessness method. Intake-based comparisons ('rda',
    'correlation') use complete-log nights only; 'supplement' groups nights by calendar period,
    which a food log's completeness does not change. A group under ``min_nights_per_group``
    nights (a correlation under ``min_nights_correlation``, or a variable that never varies)
    gives status 'insufficient_data' and null statistics. Sorted by the key.
    """
    long = _measure_nights(nightly, measures).join(
        supplement_periods(nightly), on="participant_id", how="left"
    )
    complete = pl.col("is_log_complete") & pl.col("magnesium_pct_rda").is_not_null()
    above = pl.col("magnesium_pct_rda") >= params.RESPONSE_RDA_THRESHOLD_PCT
    start, stop, night = (
        pl.col("supplement_start_date"),
        pl.col("supplement_stop_date"),
        pl.col("night_date"),
    )
    on_supplement = (night >= start) & (stop.is_null() | (night < stop))
    groups = {
        "rda": (complete & above, complete & ~above),
        "supplement": (on_supplement.fill_null(False), ~on_supplement.fill_null(False)),
    }
    options = {"iterations": iterations, "level": level}
    night_sets = ["participant_id", "measure", "sleep_source", "restlessness_method"]
    rows: list[dict[str, object]] = []
    for part in long.sort([*night_sets, "night_date"], nulls_last=True).partition_by(
        night_sets, maintain_order=True
    ):
        head = part.row(0, named=True)
        for comparison in RESPONSE_COMPARISONS:
            base = {**{k: head[k] for k in night_sets}, "comparison": comparison}
            rng = _row_rng(seed, [base[k] for k in KEY])
            if comparison == "correlation":
                stats = _correlation(part, min_nights=min_nights_correlation, rng=rng, **options)
            else:
                in_a, in_b = groups[comparison]
                stats = _two_groups(
                    part, in_a, in_b, min_nights=min_nights_per_group, rng=rng, **options
                )
            if comparison == "supplement":
                stats["supplement_start_date"] = head["supplement_start_date"]
                stats["supplement_stop_date"] = head["supplement_stop_date"]
            rows.append({**base, **stats})
    out = pl.from_dicts(
        [{name: row.get(name) for name in RESPONSE_SCHEMA} for row in rows],
        schema=RESPONSE_SCHEMA,
    )
    return out.with_columns(pl.lit(params.RESPONSE_LABEL).alias("label")).sort(KEY, nulls_last=True)
