"""Oakley / Actiware sleep-wake scoring of activity counts (SCIENCE.md section 4).

Philips Respironics Actiware scores each epoch from a weighted sum of its own count and the
counts within two minutes of it (Oakley, Mini-Mitter technical report 1997; Actiware /
Actiwatch manual, appendix A), and calls the epoch **wake when the sum is above the wake
threshold** (low 20, medium 40, high 80, or the value stored in the export header); a sum
equal to the threshold is sleep (manual: "less than or equal to the wake threshold value ...
scored as sleep"; the real exports have sums of exactly 40.00 scored sleep).

Published weights:

* 60-s epochs: ``E-2/25 + E-1/5 + E0 + E+1/5 + E+2/25``;
* 30-s epochs: ``0.04 (E-4 + E-3 + E+3 + E+4) + 0.2 (E-2 + E-1 + E+1 + E+2) + 2 E0``.

**The general rule** (it reproduces both published sets, and is how :func:`oakley_weights`
derives every other epoch length). The algorithm works on minutes: the kernel is
``1, 1/5, 1/25`` for the scored minute and the minutes one and two away. The scored minute
is the scored epoch's count *per minute* (``E0 * 60 / epoch_s``: 1 x E0 for 60 s, 2 x E0
for 30 s); each neighbouring minute is the counts actually recorded in that minute before
the epoch's start or after its end (an epoch split across minutes counts pro rata). So a
neighbouring epoch weighs the kernel weight of the minute it lies in, and the scored epoch
``60 / epoch_s``. For 15-s epochs that gives ``0.04 (E-8..E-5, E+5..E+8) + 0.2 (E-4..E-1,
E+1..E+4) + 4 E0``, and for 2-min epochs ``0.12 E-1 + 0.5 E0 + 0.12 E+1``; both are the tables
pyActigraphy ships for 15-s and 120-s data (``pyActigraphy.sleep.scoring.Oakley``), an
independent check of the rule. The real Dutch 15-s export agrees on all 59 of its scored
epochs (``tests/test_oakley.py``), but that truncated file is a weak check: it rejects the
30-s weights applied epoch for epoch (83%) and the 60-s ones (64%), yet centre weights 1, 2
or 4 would all fit it; 4 is chosen because the rule above gives it, not because the file
singles it out.

**Edges and missing counts** (what Actiware's own Sleep/Wake column shows in the three real
exports, reproduced exactly by :func:`oakley_scored`):

* a neighbour without a count (before the recording, after its end, off-wrist, NaN)
  contributes 0 to the sum;
* the first :data:`LEAD_IN_S` (2 minutes) of a recording are left unscored (English 30-s
  export: 4 epochs; French 60-s export: 2 epochs);
* an epoch without a count, and every epoch within :data:`MISSING_MARGIN_S` (1 minute) of
  one, is unscored (Dutch 15-s export: the 4 epochs after a 3-hour off-wrist stretch;
  French 60-s export: the 1 epoch before its trailing NaN counts);
* the end of a recording is scored with the missing future counted as 0 (English export:
  its last epochs are scored).

Pure numpy/polars: no I/O. Scores are computed with integer weights (the kernel times the
lcm of its denominators), so a sum of exactly the threshold is never pushed over it by
floating-point rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import polars as pl

METHOD = "oakley"
"""``core.sleep_epochs.method`` of rows scored here (the vendor's own column is
'actiware_vendor')."""

MINUTE_KERNEL: tuple[Fraction, Fraction, Fraction] = (Fraction(1), Fraction(1, 5), Fraction(1, 25))
"""Weights of the scored minute and of the minutes one and two away (Oakley 1997; Actiware
manual appendix A: ``E-2/25 + E-1/5 + E0 + E+1/5 + E+2/25`` for 1-minute epochs)."""

WAKE_THRESHOLDS: dict[str, float] = {"low": 20.0, "medium": 40.0, "high": 80.0}
"""Actiware's wake threshold selections (activity counts); medium is Actiware's default."""

DEFAULT_THRESHOLD = "medium"

LEAD_IN_S = 120
"""Actiware leaves the first 2 minutes of a recording unscored (real exports: 4 x 30 s,
2 x 60 s)."""

MISSING_MARGIN_S = 60
"""Actiware leaves epochs within 1 minute of a missing count unscored (real exports:
4 x 15 s after an off-wrist stretch, 1 x 60 s before trailing NaN counts)."""

Counts = np.ndarray | pl.Series | Sequence[float | None]


def oakley_weights_exact(epoch_s: float) -> tuple[Fraction, ...]:
    """The weights of epochs ``-n .. +n`` around the scored epoch, as exact fractions.

    The general rule of the module docstring: the scored epoch weighs ``60 / epoch_s``; a
    neighbour weighs the kernel weight of each minute (1/5 adjacent, 1/25 next) times the
    share of the neighbour lying in that minute, counted from the scored epoch's start
    (backwards) or end (forwards).
    """
    length = Fraction(epoch_s).limit_denominator(1000)
    if length <= 0:
        raise ValueError(f"epoch length must be positive, got {epoch_s!r}")
    centre = MINUTE_KERNEL[0] * 60 / length
    side: list[Fraction] = []
    j = 1
    while (j - 1) * length < 120:
        lo, hi = (j - 1) * length, j * length
        weight = Fraction(0)
        for minute, kernel in ((1, MINUTE_KERNEL[1]), (2, MINUTE_KERNEL[2])):
            overlap = min(hi, Fraction(60 * minute)) - max(lo, Fraction(60 * (minute - 1)))
            if overlap > 0:
                weight += kernel * overlap / length
        side.append(weight)
        j += 1
    return (*reversed(side), centre, *side)


def oakley_weights(epoch_s: float) -> np.ndarray:
    """The weights of epochs ``-n .. +n`` as floats (``[0.04, 0.2, 1, 0.2, 0.04]`` for 60 s)."""
    return np.array([float(w) for w in oakley_weights_exact(epoch_s)])


def threshold_value(threshold: float | str) -> float:
    """A numeric wake threshold from a number or a selection name ('low', 'medium', 'high')."""
    if isinstance(threshold, str):
        try:
            return WAKE_THRESHOLDS[threshold.strip().lower()]
        except KeyError as err:
            raise ValueError(
                f"unknown wake threshold {threshold!r} (use a number or one of "
                f"{', '.join(WAKE_THRESHOLDS)})"
            ) from err
    value = float(threshold)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"wake threshold must be a non-negative number, got {threshold!r}")
    return value


def _as_float_array(counts: Counts) -> np.ndarray:
    """Counts as float64 with missing values (None, NaN, null) as NaN."""
    if isinstance(counts, pl.Series):
        return counts.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return np.array([np.nan if c is None else c for c in counts], dtype=np.float64)


def _integer_scores(counts: np.ndarray, epoch_s: float) -> tuple[np.ndarray, int]:
    """Weighted sums times the common denominator of the weights, and that denominator."""
    exact = oakley_weights_exact(epoch_s)
    denominator = math.lcm(*(w.denominator for w in exact))
    weights = np.array([int(w * denominator) for w in exact], dtype=np.float64)
    half = len(weights) // 2
    filled = np.nan_to_num(counts, nan=0.0)
    padded = np.concatenate([np.zeros(half), filled, np.zeros(half)])
    return np.correlate(padded, weights, mode="valid"), denominator


def oakley_score(counts: Counts, epoch_s: float) -> np.ndarray:
    """The Actiware weighted activity sum of every epoch (missing neighbours count 0).

    NaN where the epoch's own count is missing. Compare with the threshold through
    :func:`oakley_sleep`, which avoids floating-point rounding at the threshold.
    """
    values = _as_float_array(counts)
    scores, denominator = _integer_scores(values, epoch_s)
    scores = scores / denominator
    scores[np.isnan(values)] = np.nan
    return scores


def oakley_sleep(counts: Counts, epoch_s: float, threshold: float | str = 40.0) -> np.ndarray:
    """True where the epoch is sleep: its weighted sum is at most the wake threshold.

    Epochs without a count of their own come out False here; :func:`oakley_scored` says
    which epochs Actiware would score at all (use both, or :func:`oakley_epochs`).
    """
    values = _as_float_array(counts)
    scores, denominator = _integer_scores(values, epoch_s)
    limit = threshold_value(threshold) * denominator
    return (scores <= limit) & ~np.isnan(values)


def oakley_scored(
    counts: Counts,
    epoch_s: float,
    *,
    lead_in_s: float = LEAD_IN_S,
    missing_margin_s: float = MISSING_MARGIN_S,
) -> np.ndarray:
    """True where Actiware scores the epoch (module docstring: lead-in and missing margin)."""
    missing = np.isnan(_as_float_array(counts))
    n = len(missing)
    margin = math.ceil(missing_margin_s / epoch_s)
    near_missing = missing.copy()
    for shift in range(1, min(margin, n - 1) + 1):
        near_missing[shift:] |= missing[:-shift]
        near_missing[:-shift] |= missing[shift:]
    scored = ~near_missing
    scored[: math.ceil(lead_in_s / epoch_s)] = False
    return scored


RECORDING_KEYS = ("participant_id", "source", "file_id")


def oakley_epochs(
    movement: pl.DataFrame, threshold: float | str = DEFAULT_THRESHOLD
) -> pl.DataFrame:
    """``movement_epochs`` rows -> ``sleep_epochs`` rows scored by Oakley (method 'oakley').

    One recording per lineage group (``participant_id, source, file_id`` where present):
    epochs must share one ``epoch_s`` and lie on its grid; missing epochs inside the grid
    count as missing (0 for neighbours, unscored nearby). Off-wrist epochs
    (``is_wear`` False) count as missing. ``is_asleep`` is null where Actiware would leave
    the epoch unscored. The result is sorted by the lineage keys and ``epoch_start_at``.
    """
    keys = [k for k in RECORDING_KEYS if k in movement.columns]
    out_columns = [*keys, "epoch_start_at", "epoch_s", "activity", "is_asleep", "method"]
    schema = {
        **{k: movement.schema[k] for k in keys},
        "epoch_start_at": movement.schema.get("epoch_start_at", pl.Datetime("us", "UTC")),
        "epoch_s": pl.Float64,
        "activity": pl.Float64,
        "is_asleep": pl.Boolean,
        "method": pl.String,
    }
    if movement.height == 0:
        return pl.DataFrame(schema=schema)
    parts = movement.partition_by(keys, maintain_order=True) if keys else [movement]
    scored = [_score_recording(part, threshold) for part in parts]
    return pl.concat(scored).select(out_columns).cast(schema).sort([*keys, "epoch_start_at"])


def _score_recording(epochs: pl.DataFrame, threshold: float | str) -> pl.DataFrame:
    """Score one recording's epochs on its regular grid."""
    lengths = epochs["epoch_s"].unique()
    if lengths.len() != 1:
        raise ValueError(f"one recording must have one epoch length, got {lengths.to_list()}")
    epoch_s = float(lengths[0])
    epochs = epochs.sort("epoch_start_at")
    elapsed_us = (epochs["epoch_start_at"] - epochs["epoch_start_at"].min()).dt.total_microseconds()
    step_us = round(epoch_s * 1_000_000)
    if (elapsed_us % step_us != 0).any():
        raise ValueError(f"epoch starts are not on a {epoch_s:g}-s grid")
    index = (elapsed_us // step_us).to_numpy()
    if len(np.unique(index)) != len(index):
        raise ValueError("duplicate epoch starts in one recording")
    counts = epochs["activity_count"].cast(pl.Float64)
    if "is_wear" in epochs.columns:
        counts = epochs.select(
            pl.when(pl.col("is_wear").fill_null(True)).then(counts).otherwise(None)
        ).to_series()
    grid = np.full(int(index.max()) + 1, np.nan)
    grid[index] = _as_float_array(counts)
    asleep = oakley_sleep(grid, epoch_s, threshold)[index]
    scored = oakley_scored(grid, epoch_s)[index]
    return epochs.with_columns(
        pl.Series("__asleep", asleep), pl.Series("__scored", scored)
    ).with_columns(
        pl.col("activity_count").cast(pl.Float64).alias("activity"),
        pl.when(pl.col("__scored")).then(pl.col("__asleep")).alias("is_asleep"),
        pl.lit(METHOD).alias("method"),
        pl.col("epoch_s").cast(pl.Float64),
    )


def as_dict() -> dict[str, object]:
    """The Oakley constants as stored with each run."""
    return {
        "minute_kernel": [str(w) for w in MINUTE_KERNEL],
        "wake_thresholds": WAKE_THRESHOLDS,
        "default_threshold": DEFAULT_THRESHOLD,
        "lead_in_s": LEAD_IN_S,
        "missing_margin_s": MISSING_MARGIN_S,
    }
