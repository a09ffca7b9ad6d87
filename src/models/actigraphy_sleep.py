"""Sleep/wake and the sleep window from actigraphy: Cole-Kripke, Sadeh, van Hees SIB, HDCZA.

Used when a recording has no other sleep source (issue 4). Two kinds of input:

* **activity counts** per epoch (ActiGraph, Actiwatch, counts computed from raw data):
  Cole-Kripke 1992 with Webster 1982 rescoring, and Sadeh 1994 (1-minute epochs);
* **5-second mean acceleration** (x, y, z in g, from raw recordings): the z-angle, van Hees
  2015 sustained inactivity bouts (SIB) per epoch, and the HDCZA sleep period time window
  (van Hees 2018) per noon-to-noon day.

HDCZA and SIB were developed and validated on wrist data; restless applies them to ankle
sensors as a screening estimate (the z-angle then depends on how the sensor is strapped).

Every constant below carries its source and is pinned by tests/test_actigraphy_sleep.py
against the paper's value (SCIENCE.md section 4 quotes them). :func:`as_dict` returns them
for storage with each run. Pure functions: numpy or polars in, numpy or polars out, no I/O.

Conventions shared by the count scorers:

* a score is ``True`` (sleep), ``False`` (wake) or null (unscored). An epoch is unscored when
  its window is incomplete: at the recording ends (``edges="unscored"``, the default) or
  around a missing epoch. ``edges="zero_pad"`` instead pads the ends with zero counts, as
  ActiLife-style implementations do (actigraph.sleepr, after the ActiLife 6 manual); that
  scores the first and last minutes of a recording, usually wake, from invented stillness.
  Missing epochs inside the recording always stay unscored.
* ``activity`` is read as given; the ActiGraph/ActiLife conventions (Cole-Kripke counts
  divided by 100 and capped at 300, Sadeh counts capped at 300) are explicit options.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import bottleneck as bn
import numpy as np
import polars as pl

Edges = Literal["unscored", "zero_pad"]
Reduction = Literal["sum_1min", "max_10s_overlap", "max_10s", "max_30s"]

# --- Cole-Kripke 1992 -----------------------------------------------------------------------


@dataclass(frozen=True)
class ColeKripkeSet:
    """One of the four Cole-Kripke parameter sets: D = P * sum(W_i * A_i), i = -4..+2.

    ``reduction`` says how the minute's activity A comes from the raw epochs (Cole et al.
    1992): the counts in the minute, or the largest 10-s (overlapping or not) or 30-s
    sub-epoch in the minute (see :func:`minute_activity`).
    """

    method: str
    p: float
    weights: tuple[float, float, float, float, float, float, float]
    reduction: Reduction


COLE_KRIPKE_SETS: dict[str, ColeKripkeSet] = {
    "1min_mean": ColeKripkeSet(
        "cole_kripke_1min", 0.001, (106, 54, 58, 76, 230, 74, 67), "sum_1min"
    ),
    "10s_overlap": ColeKripkeSet(
        "cole_kripke_10s_overlap", 0.00001, (50, 30, 300, 400, 1400, 500, 350), "max_10s_overlap"
    ),
    "10s_nonoverlap": ColeKripkeSet(
        "cole_kripke_10s_nonoverlap", 0.00001, (550, 378, 413, 699, 1736, 287, 309), "max_10s"
    ),
    "30s_nonoverlap": ColeKripkeSet(
        "cole_kripke_30s_nonoverlap", 0.0001, (50, 30, 14, 28, 121, 8, 50), "max_30s"
    ),
}
"""Cole RJ, Kripke DF, Gruen W, Mullaney DJ, Gillin JC. Automatic sleep/wake identification
from wrist activity. Sleep 1992;15:461-469 (SCIENCE.md section 4). Weights W-4..W+2: four
minutes before, the scored minute, two after. Sets: mean activity per minute (P = 0.001),
maximum 10-s overlapping epoch per minute (P = 0.00001), maximum 10-s non-overlapping epoch per
minute (P = 0.00001), maximum 30-s non-overlapping epoch per minute (P = 0.0001).
pyActigraphy's table has W+2 = 300 in the 10-s non-overlapping set and W0 = 12 in the 30-s set;
the paper (and GGIR, ActiLife-style code) has 309 and 121, which the tests pin. To check against
the paper's table: the 10-s overlapping W-4, W-3 = 50, 30 (SCIENCE.md, pyActigraphy's table)
repeat the 30-s set's first two weights; pyActigraphy's older default for this P was 400, 600,
300, 400, 1400, 500, 350, and many implementations use 404, 598, 326, 441, 1408, 508, 350."""

COLE_KRIPKE_SLEEP_BELOW: float = 1.0
"""D < 1 is sleep, D >= 1 wake (Cole et al. 1992)."""

COLE_KRIPKE_BEFORE: int = 4
COLE_KRIPKE_AFTER: int = 2
"""The window: 4 minutes before and 2 after the scored minute (Cole et al. 1992)."""

ACTILIFE_CK_DIVISOR: float = 100.0
ACTILIFE_CK_CAP: float = 300.0
"""ActiLife's Cole-Kripke (1-min set on ActiGraph counts) divides each minute's counts by 100
and then caps the scaled value at 300 (ActiLife 6 User's Manual, 2012, as implemented in
actigraph.sleepr ``apply_cole_kripke``). An option (``actilife_counts=True``), never a default:
the paper's activity scale was its own actigraph's, not ActiGraph counts."""

# --- Webster 1982 rescoring -----------------------------------------------------------------

WEBSTER_AFTER_WAKE: tuple[tuple[float, float], ...] = ((4, 1), (10, 3), (15, 4))
"""Rules (a)-(c), (minutes of wake, minutes of following sleep rescored wake): after at least
4 min wake the next 1 min of sleep, after at least 10 min the next 3 min, after at least
15 min the next 4 min (Webster JB et al., Sleep 1982;5:389-399, as applied by Cole et al.
1992; SCIENCE.md section 4)."""

WEBSTER_SURROUNDED: tuple[tuple[float, float], ...] = ((6, 10), (10, 20))
"""Rules (d)-(e), (at most this many minutes of sleep, at least this many minutes of wake on
both sides): <= 6 min sleep between >= 10 min wake, <= 10 min sleep between >= 20 min wake are
rescored wake (Webster 1982; Cole 1992). pyActigraphy's documentation states rule (d) with
15 min of surrounding wake (its code uses 10); restless follows the paper: 10."""

# --- Sadeh 1994 -----------------------------------------------------------------------------

SADEH_INTERCEPT: float = 7.601
SADEH_COEF_MEAN_W5: float = 0.065
SADEH_COEF_NAT: float = 1.08
SADEH_COEF_SD_LAST6: float = 0.056
SADEH_COEF_LG: float = 0.703
"""PS = 7.601 - 0.065 MEAN-W-5 - 1.08 NAT - 0.056 SD-last-6 - 0.703 LG (Sadeh A, Sharkey KM,
Carskadon MA. Activity-based sleep-wake identification: an empirical test of methodological
issues. Sleep 1994;17:201-207; SCIENCE.md section 4). LG is the natural logarithm of
(counts + 1): GGIR's Sadeh1994 (R ``log``, R/HASIB.R), pyActigraphy's and actigraph.sleepr's
documentation ("natural (base e) logarithm", after the ActiLife manual)."""

SADEH_HALF_WINDOW: int = 5
"""MEAN-W-5 and NAT use the scored minute and the 5 minutes before and after (11 minutes)."""

SADEH_SD_EPOCHS: int = 6
"""SD-last-6: the scored minute and the 5 before it. Sample SD (n - 1), as R's ``sd`` in
GGIR's Sadeh1994 and ActiLife-style ``roll_sd``; the paper does not say which."""

SADEH_NAT_RANGE: tuple[float, float] = (50.0, 100.0)
"""NAT counts minutes with 50 <= counts < 100 (Sadeh 1994; ActiLife manual). GGIR's and
pyActigraphy's code use 50 < counts < 100; a count of exactly 50 is NAT here."""

SADEH_SLEEP_FROM: float = 0.0
"""PS >= 0 is sleep (Sadeh 1994; GGIR ``PS >= 0``)."""

ACTILIFE_SADEH_CAP: float = 300.0
ACTILIFE_SADEH_THRESHOLD: float = -4.0
"""ActiLife's Sadeh caps each minute's counts at 300 and scores sleep when PS > -4 (ActiLife 6
User's Manual, 2012, as quoted by actigraph.sleepr). Options (``cap_counts=300``,
``sleep_from``), not defaults: the paper has neither."""

# --- van Hees 2015 sustained inactivity, van Hees 2018 HDCZA ---------------------------------

ANGLE_EPOCH_S: float = 5.0
"""The z-angle is averaged per 5-s epoch (GGIR ``windowsizes[1] = 5``; van Hees VT et al.,
PLoS One 2015;10:e0142533)."""

RAW_MEDIAN_WINDOW_S: float = 5.0
"""Raw x, y, z are first smoothed with a 5-s rolling median (van Hees 2015); the window is
rounded to an odd number of samples, as for R's ``runmed`` in GGIR."""

SIB_ANGLE_THRESHOLD_DEG: float = 5.0
SIB_TIME_THRESHOLD_MIN: float = 5.0
"""A sustained inactivity bout: no change of the z-angle by more than 5 degrees between
successive 5-s epochs for at least 5 minutes (van Hees 2015; GGIR ``anglethreshold = 5``,
``timethreshold = 5``). GGIR's code asks for strictly more than 5 min between two posture
changes (61 epochs); the paper says "5 minutes or more", which restless follows (60 epochs)."""

HDCZA_ROLL_MIN: float = 5.0
HDCZA_PERCENTILE: float = 10.0
HDCZA_MULTIPLIER: float = 15.0
HDCZA_MIN_BLOCK_MIN: float = 30.0
HDCZA_MAX_GAP_MIN: float = 60.0
"""HDCZA (van Hees VT et al., Sci Rep 2018;8:12975): absolute successive differences of the
5-s z-angle, their 5-min rolling median, threshold = 10th percentile x 15, keep still blocks
longer than 30 min, fill gaps shorter than 60 min between them, the longest block is the sleep
period time (SPT) window."""

HDCZA_THRESHOLD_CLIP_DEG: tuple[float, float] = (0.13, 0.50)
"""The threshold is clipped to [0.13, 0.50] degrees: GGIR's current default (``HDCZA_threshold``
unset -> ``c(10, 15)`` then this clip, R/HASPT.R), the algorithm author's maintained
implementation. Unclipped, a day with over 10 % non-wear has a 10th percentile of 0 and nothing
is ever still (GGIR's 2018 code then fell back to a fixed 0.2, and one later GGIR release made
0.2 the default). scikit-digital-health clips to [0.1, 1.0] (:data:`SKDH_THRESHOLD_CLIP_DEG`):
its upper bound lets twice the angle change pass as still on active days, which for restless
legs would swallow nightly leg movements into the window; restless keeps GGIR's range."""

SKDH_THRESHOLD_CLIP_DEG: tuple[float, float] = (0.1, 1.0)
"""scikit-digital-health ``Sleep(tso_min_thresh=0.1, tso_max_thresh=1.0)`` (skdh/sleep)."""

NIGHT_WINDOW_HOUR: int = 12
DAYSLEEPER_WINDOW_HOUR: int = 18
DAYSLEEPER_WAKE_FROM: time = time(11, 0)
"""HDCZA looks for the SPT window in a noon-to-noon local day; when the window found ends
between 11:00 and 12:00 (sleep runs into the boundary) it is searched again in an 18:00-to-
18:00 day ("daysleepers", GGIR; SCIENCE.md section 4)."""

SLEEP_EPOCH_SCHEMA: dict[str, pl.DataType] = {
    "epoch_start_at": pl.Datetime("us", "UTC"),
    "epoch_s": pl.Float64(),
    "activity": pl.Float64(),
    "is_asleep": pl.Boolean(),
    "method": pl.String(),
}
"""``core.sleep_epochs`` columns without lineage (schemas/core.py ``SleepEpoch``)."""


# --- helpers --------------------------------------------------------------------------------


def _as_float_array(values: np.ndarray | pl.Series | Sequence[float | None]) -> np.ndarray:
    """A float64 copy with nulls as NaN."""
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).fill_null(float("nan")).to_numpy().copy()
    if isinstance(values, np.ndarray) and values.dtype != object:
        return values.astype(np.float64, copy=True)
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _as_states(is_asleep: np.ndarray | pl.Series | Sequence[bool | None]) -> np.ndarray:
    """Sleep/wake as int8: 1 sleep, 0 wake, -1 unscored."""
    if isinstance(is_asleep, pl.Series):
        return is_asleep.cast(pl.Int8).fill_null(-1).to_numpy().astype(np.int8)
    if isinstance(is_asleep, np.ndarray) and is_asleep.dtype != object:
        return is_asleep.astype(bool).astype(np.int8)
    return np.array([-1 if v is None else int(bool(v)) for v in is_asleep], dtype=np.int8)


def _states_series(states: np.ndarray, name: str = "is_asleep") -> pl.Series:
    """int8 states (-1 unscored) as a nullable Boolean series."""
    frame = pl.DataFrame({"s": states.astype(np.int8)})
    return frame.select(pl.when(pl.col("s") >= 0).then(pl.col("s") == 1).alias(name)).to_series()


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding: (value, start, length) of each maximal run."""
    n = len(values)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return values[:0], empty, empty
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return values[starts], starts, lengths


def _windows(a: np.ndarray, before: int, after: int, edges: Edges) -> np.ndarray:
    """(n, before + 1 + after) windows around each element; NaN or 0 beyond the ends."""
    fill = 0.0 if edges == "zero_pad" else np.nan
    padded = np.concatenate([np.full(before, fill), a, np.full(after, fill)])
    return np.lib.stride_tricks.sliding_window_view(padded, before + 1 + after)


def _epoch_starts(t0: datetime, n: int, epoch_s: float) -> pl.Series:
    """``n`` instants ``epoch_s`` apart from ``t0`` (UTC), named ``epoch_start_at``."""
    step_us = round(epoch_s * 1_000_000)
    offsets = pl.Series(np.arange(n, dtype=np.int64) * step_us).cast(pl.Duration("us"))
    start = pl.Series("epoch_start_at", [t0.astimezone(UTC)]).cast(pl.Datetime("us", "UTC"))
    return start.gather([0] * n) + offsets


def _regular_grid(frame: pl.DataFrame, value: str, epoch_s: float) -> tuple[datetime, np.ndarray]:
    """Values on a regular epoch grid anchored at the first epoch (NaN where missing)."""
    frame = frame.sort("epoch_start_at")
    t0 = frame["epoch_start_at"][0]
    step_us = round(epoch_s * 1_000_000)
    offsets = (frame["epoch_start_at"] - t0).dt.total_microseconds().to_numpy()
    if np.any(offsets % step_us):
        raise ValueError(f"epochs are not on a regular {epoch_s:g}-s grid")
    index = (offsets // step_us).astype(np.int64)
    grid = np.full(int(index[-1]) + 1, np.nan)
    grid[index] = _as_float_array(frame[value])
    return t0, grid


# --- Cole-Kripke ----------------------------------------------------------------------------


def cole_kripke_d(
    activity: np.ndarray | pl.Series | Sequence[float | None],
    setting: str = "1min_mean",
    *,
    actilife_counts: bool = False,
    edges: Edges = "unscored",
) -> np.ndarray:
    """D per minute (NaN where unscored) for one parameter set of :data:`COLE_KRIPKE_SETS`.

    ``activity`` is one value per minute, already reduced as the set expects (see
    :func:`minute_activity`). ``actilife_counts`` applies ActiLife's /100 and cap at 300
    (1-min set only, where ActiLife uses it).
    """
    params = COLE_KRIPKE_SETS[setting]
    a = _as_float_array(activity)
    if actilife_counts:
        if setting != "1min_mean":
            raise ValueError("the ActiLife count scaling belongs to the 1-min mean set only")
        a = np.minimum(a / ACTILIFE_CK_DIVISOR, ACTILIFE_CK_CAP)
    w = _windows(a, COLE_KRIPKE_BEFORE, COLE_KRIPKE_AFTER, edges)
    return params.p * (w @ np.asarray(params.weights, dtype=np.float64))


def cole_kripke(
    activity: np.ndarray | pl.Series | Sequence[float | None],
    setting: str = "1min_mean",
    *,
    actilife_counts: bool = False,
    rescore: bool = True,
    edges: Edges = "unscored",
) -> pl.Series:
    """Sleep (True), wake (False) or unscored (null) per minute; D < 1 is sleep.

    Webster's rescoring (:func:`webster_rescore`) is applied by default, as in Cole 1992.
    """
    d = cole_kripke_d(activity, setting, actilife_counts=actilife_counts, edges=edges)
    states = np.where(np.isnan(d), -1, d < COLE_KRIPKE_SLEEP_BELOW).astype(np.int8)
    scores = _states_series(states)
    return webster_rescore(scores) if rescore else scores


def webster_rescore(
    is_asleep: np.ndarray | pl.Series | Sequence[bool | None], epoch_s: float = 60.0
) -> pl.Series:
    """Webster 1982 rules (a)-(e), each read off the scores as given, then combined.

    No cascade: a minute rescored by one rule does not lengthen a wake run for another, so
    the result does not depend on rule order; wake never becomes sleep. Rules (a)-(c)
    rescore the first N minutes of a sleep run (all of it if shorter) that directly follows a
    long enough wake run; rules (d)-(e) rescore a whole sleep run whose neighbouring runs on
    both sides are long enough wake. An unscored epoch ends a run: a sleep run next to the
    recording ends or to a gap has no wake neighbour on that side and is left alone there.
    """
    states = _as_states(is_asleep)
    out = states.copy()
    values, starts, lengths = _runs(states)
    minutes = lengths * (epoch_s / 60.0)
    for k in np.flatnonzero(values == 1):
        before = minutes[k - 1] if k > 0 and values[k - 1] == 0 else None
        after = minutes[k + 1] if k + 1 < len(values) and values[k + 1] == 0 else None
        if before is not None:
            rescored_min = max(
                (n for wake_min, n in WEBSTER_AFTER_WAKE if before >= wake_min), default=0
            )
            n_epochs = min(math.ceil(rescored_min * 60.0 / epoch_s - 1e-9), int(lengths[k]))
            out[starts[k] : starts[k] + n_epochs] = 0
        if before is not None and after is not None:
            for max_sleep_min, min_wake_min in WEBSTER_SURROUNDED:
                if minutes[k] <= max_sleep_min and min(before, after) >= min_wake_min:
                    out[starts[k] : starts[k] + lengths[k]] = 0
    return _states_series(out)


# --- Sadeh ----------------------------------------------------------------------------------


def sadeh_ps(
    activity: np.ndarray | pl.Series | Sequence[float | None],
    *,
    cap_counts: float | None = None,
    edges: Edges = "unscored",
) -> np.ndarray:
    """PS per minute (NaN where unscored), Sadeh 1994.

    MEAN-W-5 and NAT over the 11-minute centred window, SD-last-6 over the minute and the 5
    before it (sample SD), LG = ln(counts + 1) of the minute itself. ``cap_counts=300`` is
    ActiLife's cap, applied before anything else.
    """
    a = _as_float_array(activity)
    if cap_counts is not None:
        a = np.minimum(a, cap_counts)
    h = SADEH_HALF_WINDOW
    w11 = _windows(a, h, h, edges)
    mean_w5 = w11.mean(axis=1)
    lo, hi = SADEH_NAT_RANGE
    nat = ((w11 >= lo) & (w11 < hi)).sum(axis=1).astype(np.float64)
    nat[np.isnan(w11).any(axis=1)] = np.nan
    sd_last6 = _windows(a, SADEH_SD_EPOCHS - 1, 0, edges).std(axis=1, ddof=1)
    lg = np.log(a + 1.0)
    return (
        SADEH_INTERCEPT
        - SADEH_COEF_MEAN_W5 * mean_w5
        - SADEH_COEF_NAT * nat
        - SADEH_COEF_SD_LAST6 * sd_last6
        - SADEH_COEF_LG * lg
    )


def sadeh(
    activity: np.ndarray | pl.Series | Sequence[float | None],
    *,
    cap_counts: float | None = None,
    sleep_from: float = SADEH_SLEEP_FROM,
    edges: Edges = "unscored",
) -> pl.Series:
    """Sleep (True), wake (False) or unscored (null) per minute; PS >= ``sleep_from`` is sleep."""
    ps = sadeh_ps(activity, cap_counts=cap_counts, edges=edges)
    states = np.where(np.isnan(ps), -1, ps >= sleep_from).astype(np.int8)
    return _states_series(states)


# --- z-angle from raw acceleration ----------------------------------------------------------


def z_angle_deg(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """atan(a_z / sqrt(a_x^2 + a_y^2)) in degrees (van Hees 2015): 0 flat, +-90 vertical."""
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (x, y, z))
    return np.degrees(np.arctan2(z, np.hypot(x, y)))


def _median_window(fs: float) -> int:
    """Samples in the 5-s rolling median, made odd (at least 1)."""
    n = max(1, round(fs * RAW_MEDIAN_WINDOW_S))
    return n if n % 2 == 1 else n + 1


def centred_rolling_median(values: np.ndarray, half: int) -> np.ndarray:
    """Per column, the median of the ``2 * half + 1`` samples centred on each sample,
    windows truncated at both ends (an even count averages the two middle values).

    bottleneck's double-heap running median, about 6x faster than polars' rolling median
    here, which was 90 % of the cost of scoring raw acceleration. Its windows trail, so the
    value for sample i is the trailing median at i + half; the last ``half`` samples, whose
    windows are cut by the end, are computed directly.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    out = np.empty_like(values)
    if n == 0:
        return out
    head = 0
    if n >= 2 * half + 1:  # bottleneck needs the window to fit in the array
        trailing = bn.move_median(values, 2 * half + 1, min_count=1, axis=0)
        head = n - half
        out[:head] = trailing[half:]
    for i in range(head, n):
        out[i] = np.median(values[max(i - half, 0) : i + half + 1], axis=0)
    return out


def _epoch_first_sample(e: int, samples_per_epoch: float) -> int:
    """First sample of epoch ``e``: sample k is in epoch floor(k / samples_per_epoch)."""
    return math.ceil(e * samples_per_epoch - 1e-9)


def _epoch_rows(filtered: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per epoch (bounds[i]..bounds[i+1]): mean x, y, z and mean per-sample z-angle."""
    angle = z_angle_deg(filtered[:, 0], filtered[:, 1], filtered[:, 2])
    cols = np.column_stack([filtered, angle])
    sums = np.add.reduceat(cols, bounds[:-1] - bounds[0], axis=0)
    return sums / np.diff(bounds).astype(np.float64)[:, None]


class _EpochStream:
    """State of :func:`iter_5s_epochs`: the samples not yet summarised and their context."""

    def __init__(self, fs: float, epoch_s: float) -> None:
        self.spe = fs * epoch_s
        self.half = _median_window(fs) // 2
        self.context = np.zeros((0, 3))  # up to `half` samples just before `pending`
        self.pending = np.zeros((0, 3))  # pending[0] is global sample `done`
        self.done = 0
        self.next_epoch = 0

    def push(self, samples: np.ndarray, final: bool) -> np.ndarray | None:
        """Add samples; summarise every epoch whose medians no later sample can change."""
        self.pending = np.concatenate([self.pending, samples])
        known_end = self.done + len(self.pending) - (0 if final else self.half)
        last = self.next_epoch
        while _epoch_first_sample(last + 1, self.spe) <= known_end:
            last += 1
        if last == self.next_epoch:
            return None
        bounds = np.array(
            [_epoch_first_sample(e, self.spe) for e in range(self.next_epoch, last + 1)]
        )
        buf = np.concatenate([self.context, self.pending])
        filtered = centred_rolling_median(buf, self.half)
        offset = len(self.context) - self.done  # buf index of global sample s: s + offset
        rows = _epoch_rows(filtered[bounds[0] + offset : bounds[-1] + offset], bounds)
        used = int(bounds[-1]) - self.done
        consumed = np.concatenate([self.context, self.pending[:used]])
        self.context = consumed[max(0, len(consumed) - self.half) :]
        self.pending = self.pending[used:]
        self.done = int(bounds[-1])
        self.next_epoch = last
        return rows


def iter_5s_epochs(
    chunks: Iterable[np.ndarray], fs: float, epoch_s: float = ANGLE_EPOCH_S
) -> Iterator[np.ndarray]:
    """Stream raw (n, 3) samples in g into per-epoch rows ``[x, y, z, z_angle_deg]``.

    Each axis is smoothed with a centred 5-s rolling median (van Hees 2015), then averaged
    per epoch; ``z_angle_deg`` is the mean of the per-sample angles of the smoothed signal
    (GGIR's order: angle, then epoch mean), while x, y, z are the smoothed means (give them
    to :func:`z_angle_deg` for the angle of the mean). Memory stays bounded by one chunk
    plus half a median window: each epoch is finished as soon as the samples to its right
    are known, so the result does not depend on the chunking. Windows are truncated at the
    recording ends; a trailing incomplete epoch is dropped. Sample k belongs to epoch
    floor(k / (fs * epoch_s)), so rates like 12.5 Hz work.
    """
    stream = _EpochStream(fs, epoch_s)
    for chunk in chunks:
        rows = stream.push(np.asarray(chunk, dtype=np.float64).reshape(-1, 3), final=False)
        if rows is not None:
            yield rows
    rows = stream.push(np.zeros((0, 3)), final=True)
    if rows is not None:
        yield rows


def summarise_5s_epochs(
    samples: np.ndarray,
    fs: float,
    *,
    start_at: datetime | None = None,
    chunk_s: float = 3600.0,
) -> pl.DataFrame:
    """5-s epochs of a raw (n, 3) sample array in g, processed ``chunk_s`` seconds at a time.

    ``samples`` may be a ``numpy.memmap``: one chunk at a time is read into memory. Returns
    ``epoch`` (0-based), ``epoch_start_at`` (UTC, when ``start_at``, the timezone-aware time
    of sample 0, is given), ``x_g, y_g, z_g, z_angle_deg``.
    """
    step = max(1, int(chunk_s * fs))
    chunks = (samples[i : i + step] for i in range(0, len(samples), step))
    parts = list(iter_5s_epochs(chunks, fs))
    rows = np.concatenate(parts) if parts else np.zeros((0, 4))
    frame = pl.DataFrame(
        {
            "epoch": np.arange(len(rows), dtype=np.int64),
            "x_g": rows[:, 0],
            "y_g": rows[:, 1],
            "z_g": rows[:, 2],
            "z_angle_deg": rows[:, 3],
        }
    )
    if start_at is None:
        return frame
    if start_at.tzinfo is None:
        raise ValueError("start_at must be timezone-aware")
    starts = _epoch_starts(start_at, len(rows), ANGLE_EPOCH_S)
    return frame.with_columns(starts).select(
        "epoch", "epoch_start_at", "x_g", "y_g", "z_g", "z_angle_deg"
    )


# --- van Hees 2015 sustained inactivity -----------------------------------------------------


def sustained_inactivity(
    z_angle: np.ndarray | pl.Series | Sequence[float | None],
    *,
    epoch_s: float = ANGLE_EPOCH_S,
    angle_threshold_deg: float = SIB_ANGLE_THRESHOLD_DEG,
    time_threshold_min: float = SIB_TIME_THRESHOLD_MIN,
) -> pl.Series:
    """Per epoch: in a sustained inactivity bout (True), not (False), unscored (null).

    A bout is a run of epochs with no change above ``angle_threshold_deg`` between successive
    epochs lasting at least ``time_threshold_min`` (60 epochs of 5 s). Runs touching the
    recording ends count like any other (an end is no posture change); a missing z-angle is
    unscored and ends the run.
    """
    z = _as_float_array(z_angle)
    valid = np.isfinite(z)
    breaks = np.ones(len(z), dtype=bool)
    if len(z) > 1:
        with np.errstate(invalid="ignore"):
            still = np.abs(np.diff(z)) <= angle_threshold_deg
        breaks[1:] = ~(still & valid[1:] & valid[:-1])
    run_id = np.cumsum(breaks)
    lengths = np.bincount(run_id)[run_id]
    min_epochs = math.ceil(time_threshold_min * 60.0 / epoch_s - 1e-9)
    states = np.where(valid, lengths >= min_epochs, -1).astype(np.int8)
    return _states_series(states, "is_sib")


# --- van Hees 2018 HDCZA --------------------------------------------------------------------


@dataclass(frozen=True)
class HdczaWindow:
    """The SPT window as epoch indices [start, end) of the input, and the threshold used."""

    start: int | None
    end: int | None
    threshold_deg: float | None


def hdcza_threshold(
    change: np.ndarray,
    *,
    percentile: float = HDCZA_PERCENTILE,
    multiplier: float = HDCZA_MULTIPLIER,
    clip_deg: tuple[float, float] | None = HDCZA_THRESHOLD_CLIP_DEG,
) -> float:
    """10th percentile x 15 of the rolling-median angle change, clipped (R type-7 quantile)."""
    finite = change[np.isfinite(change)]
    value = float(np.percentile(finite, percentile)) * multiplier if len(finite) else 0.0
    if clip_deg is not None:
        value = min(max(value, clip_deg[0]), clip_deg[1])
    return value


def hdcza_change(
    z_angle: np.ndarray | pl.Series | Sequence[float | None], epoch_s: float = ANGLE_EPOCH_S
) -> np.ndarray:
    """5-min centred rolling median of |successive z-angle differences| (NaN where missing).

    The median skips missing differences; an epoch whose own angle is missing gets NaN, so
    it is never still. Windows are truncated at the ends.
    """
    z = _as_float_array(z_angle)
    diffs = np.full(len(z), np.nan)
    diffs[1:] = np.abs(np.diff(z))
    window = max(1, round(HDCZA_ROLL_MIN * 60.0 / epoch_s))
    change = (
        pl.Series(diffs)
        .fill_nan(None)
        .rolling_median(window, center=True, min_samples=1)
        .fill_null(float("nan"))
        .to_numpy()
        .copy()
    )
    change[~np.isfinite(z)] = np.nan
    return change


def hdcza(
    z_angle: np.ndarray | pl.Series | Sequence[float | None],
    *,
    epoch_s: float = ANGLE_EPOCH_S,
    clip_deg: tuple[float, float] | None = HDCZA_THRESHOLD_CLIP_DEG,
) -> HdczaWindow:
    """The HDCZA SPT window of one day's 5-s z-angles (van Hees 2018; GGIR R/HASPT.R).

    Still = rolling-median change below the threshold; still blocks longer than 30 min are
    kept; gaps shorter than 60 min between kept blocks are filled (not before the first or
    after the last); the longest resulting block wins (ties: the middle one, as in GGIR).
    """
    change = hdcza_change(z_angle, epoch_s)
    if len(change) == 0:
        return HdczaWindow(None, None, None)
    threshold = hdcza_threshold(change, clip_deg=clip_deg)
    with np.errstate(invalid="ignore"):
        still = (change < threshold).astype(np.int8)  # NaN is never still
    values, starts, lengths = _runs(still)
    keep = (values == 1) & (lengths > HDCZA_MIN_BLOCK_MIN * 60.0 / epoch_s)
    if not keep.any():
        return HdczaWindow(None, None, threshold)
    in_spt = np.zeros(len(change), dtype=np.int8)
    for s, n in zip(starts[keep], lengths[keep], strict=True):
        in_spt[s : s + n] = 1
    values, starts, lengths = _runs(in_spt)
    for k in range(1, len(values) - 1):
        if values[k] == 0 and lengths[k] < HDCZA_MAX_GAP_MIN * 60.0 / epoch_s:
            in_spt[starts[k] : starts[k] + lengths[k]] = 1
    values, starts, lengths = _runs(in_spt)
    blocks = np.flatnonzero(values == 1)
    longest = blocks[lengths[blocks] == lengths[blocks].max()]
    pick = longest[(len(longest) + 1) // 2 - 1]
    return HdczaWindow(int(starts[pick]), int(starts[pick] + lengths[pick]), threshold)


def hdcza_windows(
    angles: pl.DataFrame,
    time_zone: str,
    *,
    clip_deg: tuple[float, float] | None = HDCZA_THRESHOLD_CLIP_DEG,
    daysleeper_rerun: bool = True,
) -> pl.DataFrame:
    """The HDCZA SPT window of each noon-to-noon local day of one recording.

    ``angles``: ``epoch_start_at`` (UTC, regular 5-s epochs) and ``z_angle_deg``. Returns one
    row per night date D (window from D 12:00 local, or 18:00 after a daysleeper re-run):
    ``night_date, window_start_at, window_end_at, spt_start_at, spt_end_at, threshold_deg,
    covered_h, is_daysleeper``; the SPT columns are null when no still block qualifies.
    ``covered_h`` is the hours of z-angle present in the window (filter short days on it).
    """
    zone = ZoneInfo(time_zone)
    columns = {
        "night_date": pl.Date(),
        "window_start_at": pl.Datetime("us", "UTC"),
        "window_end_at": pl.Datetime("us", "UTC"),
        "spt_start_at": pl.Datetime("us", "UTC"),
        "spt_end_at": pl.Datetime("us", "UTC"),
        "threshold_deg": pl.Float64(),
        "covered_h": pl.Float64(),
        "is_daysleeper": pl.Boolean(),
    }
    if angles.is_empty():
        return pl.DataFrame(schema=columns)
    t0, z = _regular_grid(angles, "z_angle_deg", ANGLE_EPOCH_S)
    step = timedelta(seconds=ANGLE_EPOCH_S)

    def index_at(moment: datetime) -> int:
        return min(max(math.ceil((moment - t0) / step), 0), len(z))

    def search(night: date, hour: int) -> tuple[datetime, datetime, HdczaWindow, int, int]:
        start = datetime.combine(night, time(hour), zone).astimezone(UTC)
        end = datetime.combine(night + timedelta(days=1), time(hour), zone).astimezone(UTC)
        i0, i1 = index_at(start), index_at(end)
        return start, end, hdcza(z[i0:i1], clip_deg=clip_deg), i0, i1

    rows = []
    night = (t0.astimezone(zone) - timedelta(hours=NIGHT_WINDOW_HOUR)).date()
    t_last = t0 + step * (len(z) - 1)
    last_night = (t_last.astimezone(zone) - timedelta(hours=NIGHT_WINDOW_HOUR)).date()
    while night <= last_night:
        start, end, found, i0, i1 = search(night, NIGHT_WINDOW_HOUR)
        daysleeper = False
        if daysleeper_rerun and found.end is not None:
            wake_local = (t0 + step * (i0 + found.end)).astimezone(zone).time()
            if DAYSLEEPER_WAKE_FROM <= wake_local < time(NIGHT_WINDOW_HOUR):
                start, end, found, i0, i1 = search(night, DAYSLEEPER_WINDOW_HOUR)
                daysleeper = True
        spt_start = spt_end = None
        if found.start is not None and found.end is not None:
            spt_start, spt_end = t0 + step * (i0 + found.start), t0 + step * (i0 + found.end)
        covered_h = float(np.isfinite(z[i0:i1]).sum()) * ANGLE_EPOCH_S / 3600.0
        rows.append(
            (night, start, end, spt_start, spt_end, found.threshold_deg, covered_h, daysleeper)
        )
        night += timedelta(days=1)
    return pl.DataFrame(rows, schema=columns, orient="row")


# --- per-minute activity and core.sleep_epochs rows -----------------------------------------

SADEH_METHOD = "sadeh"
SIB_METHOD = "van_hees_sib"
COUNT_METHODS: tuple[str, ...] = (*(s.method for s in COLE_KRIPKE_SETS.values()), SADEH_METHOD)
"""``core.sleep_epochs.method`` of the count scorers (one row per minute)."""

_SUB_EPOCH_S: dict[Reduction, float] = {
    "sum_1min": 60.0,
    "max_10s_overlap": 5.0,
    "max_10s": 10.0,
    "max_30s": 30.0,
}


def _divides(epoch_s: float, span_s: float) -> bool:
    """Whether whole epochs of ``epoch_s`` tile ``span_s`` exactly."""
    ratio = span_s / epoch_s
    return ratio >= 1 - 1e-9 and abs(ratio - round(ratio)) < 1e-9


def minute_activity(counts: np.ndarray, epoch_s: float, reduction: Reduction) -> np.ndarray:
    """One activity value per whole minute from regular epochs of ``epoch_s`` (NaN = missing).

    ``sum_1min``: counts in the minute (Cole's "mean activity per minute", and Sadeh's
    input); ``max_10s`` / ``max_30s``: the largest 10-s / 30-s non-overlapping sub-epoch;
    ``max_10s_overlap``: the largest of the 11 10-s windows starting every 5 s inside the
    minute (project choice: no window reaches into the next minute). A minute with a missing
    epoch is NaN; a trailing partial minute is dropped. Minute k starts at epoch k*60/epoch_s.
    """
    sub_s = _SUB_EPOCH_S[reduction]
    if not _divides(epoch_s, sub_s):
        raise ValueError(f"{reduction} needs epochs dividing {sub_s:g} s, got {epoch_s:g} s")
    per_sub = round(sub_s / epoch_s)
    per_min = round(60.0 / sub_s)
    n_min = len(counts) // (per_sub * per_min)
    a = np.asarray(counts[: n_min * per_sub * per_min], dtype=np.float64)
    subs = a.reshape(n_min, per_min, per_sub).sum(axis=2)
    if reduction == "max_10s_overlap":
        subs = subs[:, :-1] + subs[:, 1:]
    return subs.max(axis=1)


def applicable_methods(epoch_s: float) -> tuple[str, ...]:
    """The count methods whose minute reduction the epoch length allows."""
    methods = [
        s.method for s in COLE_KRIPKE_SETS.values() if _divides(epoch_s, _SUB_EPOCH_S[s.reduction])
    ]
    if _divides(epoch_s, 60.0):
        methods.append(SADEH_METHOD)
    return tuple(methods)


def score_movement_epochs(
    epochs: pl.DataFrame,
    methods: Sequence[str] | None = None,
    *,
    actilife_counts: bool = False,
    sadeh_cap_counts: float | None = None,
    rescore: bool = True,
    edges: Edges = "unscored",
) -> pl.DataFrame:
    """``core.sleep_epochs`` rows (without lineage) from one recording's movement epochs.

    ``epochs``: ``epoch_start_at`` (UTC), ``epoch_s`` (one value) and ``activity_count`` per
    epoch, for one participant and source. ``methods`` defaults to every method the epoch
    length allows (:func:`applicable_methods`); asking for one it does not allow is an error.
    Minutes are anchored at the first epoch. Returns one row per minute and method:
    ``epoch_start_at, epoch_s (60), activity, is_asleep, method``, where ``activity`` is the
    per-minute value the scorer read (before any ActiLife scaling); sorted by method, time.
    ``actilife_counts`` applies to ``cole_kripke_1min`` only, ``sadeh_cap_counts`` to Sadeh.
    """
    if epochs.is_empty():
        return pl.DataFrame(schema=SLEEP_EPOCH_SCHEMA)
    lengths = epochs["epoch_s"].unique()
    if len(lengths) != 1:
        raise ValueError(f"one recording has one epoch length, got {lengths.to_list()}")
    epoch_s = float(lengths[0])
    allowed = applicable_methods(epoch_s)
    chosen = tuple(methods) if methods is not None else allowed
    refused = [m for m in chosen if m not in allowed]
    if refused:
        raise ValueError(f"{refused} cannot be computed from {epoch_s:g}-s epochs")
    t0, counts = _regular_grid(epochs, "activity_count", epoch_s)
    parts = []
    for method in chosen:
        if method == SADEH_METHOD:
            minute = minute_activity(counts, epoch_s, "sum_1min")
            asleep = sadeh(minute, cap_counts=sadeh_cap_counts, edges=edges)
        else:
            setting = next(k for k, s in COLE_KRIPKE_SETS.items() if s.method == method)
            minute = minute_activity(counts, epoch_s, COLE_KRIPKE_SETS[setting].reduction)
            asleep = cole_kripke(
                minute,
                setting,
                actilife_counts=actilife_counts and setting == "1min_mean",
                rescore=rescore,
                edges=edges,
            )
        parts.append(
            pl.DataFrame(
                {
                    "epoch_start_at": _epoch_starts(t0, len(minute), 60.0),
                    "epoch_s": pl.Series([60.0] * len(minute), dtype=pl.Float64),
                    "activity": pl.Series(minute, dtype=pl.Float64).fill_nan(None),
                    "is_asleep": asleep,
                    "method": pl.Series([method] * len(minute), dtype=pl.String),
                }
            )
        )
    if not parts:
        return pl.DataFrame(schema=SLEEP_EPOCH_SCHEMA)
    return pl.concat(parts).cast(SLEEP_EPOCH_SCHEMA).sort("method", "epoch_start_at")


def sib_epochs(angles: pl.DataFrame) -> pl.DataFrame:
    """``core.sleep_epochs`` rows (without lineage) of van Hees 2015 SIB per 5-s epoch.

    ``angles``: ``epoch_start_at`` (UTC, regular 5-s epochs) and ``z_angle_deg`` of one
    recording. ``activity`` is null: a z-angle is not an activity count. Missing epochs
    inside the recording come back as rows with ``is_asleep`` null.
    """
    if angles.is_empty():
        return pl.DataFrame(schema=SLEEP_EPOCH_SCHEMA)
    t0, z = _regular_grid(angles, "z_angle_deg", ANGLE_EPOCH_S)
    n = len(z)
    return pl.DataFrame(
        {
            "epoch_start_at": _epoch_starts(t0, n, ANGLE_EPOCH_S),
            "epoch_s": pl.Series([ANGLE_EPOCH_S] * n, dtype=pl.Float64),
            "activity": pl.Series([None] * n, dtype=pl.Float64),
            "is_asleep": sustained_inactivity(z).alias("is_asleep"),
            "method": pl.Series([SIB_METHOD] * n, dtype=pl.String),
        }
    ).cast(SLEEP_EPOCH_SCHEMA)


def as_dict() -> dict[str, Any]:
    """Every actigraphy sleep parameter as JSON-ready values, to store with each run."""
    return {
        "cole_kripke_sets": {
            k: {"method": s.method, "p": s.p, "weights": list(s.weights), "reduction": s.reduction}
            for k, s in COLE_KRIPKE_SETS.items()
        },
        "cole_kripke_sleep_below": COLE_KRIPKE_SLEEP_BELOW,
        "actilife_ck_divisor": ACTILIFE_CK_DIVISOR,
        "actilife_ck_cap": ACTILIFE_CK_CAP,
        "webster_after_wake": [list(r) for r in WEBSTER_AFTER_WAKE],
        "webster_surrounded": [list(r) for r in WEBSTER_SURROUNDED],
        "sadeh_coefficients": [
            SADEH_INTERCEPT,
            SADEH_COEF_MEAN_W5,
            SADEH_COEF_NAT,
            SADEH_COEF_SD_LAST6,
            SADEH_COEF_LG,
        ],
        "sadeh_half_window": SADEH_HALF_WINDOW,
        "sadeh_sd_epochs": SADEH_SD_EPOCHS,
        "sadeh_nat_range": list(SADEH_NAT_RANGE),
        "sadeh_sleep_from": SADEH_SLEEP_FROM,
        "actilife_sadeh_cap": ACTILIFE_SADEH_CAP,
        "actilife_sadeh_threshold": ACTILIFE_SADEH_THRESHOLD,
        "angle_epoch_s": ANGLE_EPOCH_S,
        "raw_median_window_s": RAW_MEDIAN_WINDOW_S,
        "sib_angle_threshold_deg": SIB_ANGLE_THRESHOLD_DEG,
        "sib_time_threshold_min": SIB_TIME_THRESHOLD_MIN,
        "hdcza_roll_min": HDCZA_ROLL_MIN,
        "hdcza_percentile": HDCZA_PERCENTILE,
        "hdcza_multiplier": HDCZA_MULTIPLIER,
        "hdcza_threshold_clip_deg": list(HDCZA_THRESHOLD_CLIP_DEG),
        "hdcza_min_block_min": HDCZA_MIN_BLOCK_MIN,
        "hdcza_max_gap_min": HDCZA_MAX_GAP_MIN,
        "night_window_hour": NIGHT_WINDOW_HOUR,
        "daysleeper_window_hour": DAYSLEEPER_WINDOW_HOUR,
        "daysleeper_wake_from": DAYSLEEPER_WAKE_FROM.isoformat(),
    }
