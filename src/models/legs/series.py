"""WASM 2016 rules on leg movements: bilateral merge, candidate LMs and PLM series.

Input: monolateral leg movements (LM) of each ankle, as detected by
:mod:`restless.models.legs.detection` or given by hand (``start_at``, ``end_at``,
``duration_s``, optional ``peak_g``/``area_g_s``). Output: one row per movement after merging,
with ``side``, ``is_clm``, ``imi_s``, ``in_series``, ``series_id`` and ``is_periodic_imi``.

Rules (Ferri et al., Sleep Med 2016;26:86-95; SCIENCE.md section 1; constants in
:mod:`restless.models.plm_params`):

* an LM lasts at least 0.5 s; shorter events are dropped before anything else;
* monolateral LMs of either leg that overlap or are separated by less than 0.5 s (end to
  onset, chaining) form one movement; with both legs in it, it is *bilateral*;
* a monolateral movement is a candidate LM (CLM) if it lasts 0.5-10 s; a bilateral one if it
  lasts at most 15 s, holds at most 4 monolateral LMs and each of them is a CLM (<= 10 s);
  every other movement is an LM but not a CLM (reported, and it breaks series);
* the inter-movement interval (IMI) of a movement is its onset minus the onset of the
  movement before it (any LM; null for the first);
* a PLM series is a run of at least 4 consecutive CLMs, each IMI inside the run between
  10 and 90 s inclusive (AASM option: 5-90 s); a CLM with a shorter or longer IMI, or an
  LM that is not a CLM, ends the series (the CLM may start the next one).

:func:`flag_monolateral` gives one sensor's monolateral LMs these flags as scored from that
sensor alone (``core.leg_movements.is_clm``/``in_series``, set at load).

Times are compared as integer microseconds, so 9.9 s vs 10 s and 90 s vs 90.1 s are exact.
PLM counts from acceleration are screening estimates, not polysomnography.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from restless.models import plm_params as P

UTC_US = pl.Datetime("us", "UTC")
US = 1_000_000

SIDES = ("left", "right", "bilateral")

SCORED_SCHEMA: dict[str, Any] = {
    "start_at": UTC_US,
    "end_at": UTC_US,
    "duration_s": pl.Float64,
    "peak_g": pl.Float64,
    "area_g_s": pl.Float64,
    "side": pl.String,
    "n_monolateral": pl.Int64,
    "is_clm": pl.Boolean,
    "imi_s": pl.Float64,
    "in_series": pl.Boolean,
    "series_id": pl.Int64,
    "is_periodic_imi": pl.Boolean,
}
"""One row per leg movement after the bilateral merge, sorted by ``start_at``.

``peak_g``: largest monolateral peak; ``area_g_s``: sum of monolateral areas;
``n_monolateral``: monolateral LMs merged into it; ``series_id``: 1, 2, ... in time order
within the input (null outside series); ``is_periodic_imi``: its IMI lies in 10-90 s and
belongs to a run of at least 3 such IMIs between CLMs (Ferri et al., Sleep 2006;29:759-769),
the numerator of the periodicity index."""


def _us(col: pl.Series) -> np.ndarray:
    return col.cast(UTC_US).cast(pl.Int64).to_numpy()


def _column(frame: pl.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return np.full(frame.height, np.nan)


def merge_bilateral(
    left: pl.DataFrame | None,
    right: pl.DataFrame | None,
    *,
    merge_gap_s: float = P.BILATERAL_MERGE_GAP_S,
    lm_min_s: float = P.LM_MIN_S,
) -> pl.DataFrame:
    """Movements of one or two ankles, with overlapping or < 0.5 s apart LMs merged.

    Returns ``start_at, end_at, duration_s, peak_g, area_g_s, side, n_monolateral,
    longest_monolateral_s`` sorted by ``start_at``. A movement holding LMs of both legs is
    ``bilateral``; one sensor alone gives only its side.
    """
    parts = []
    for side, frame in (("left", left), ("right", right)):
        if frame is None or frame.height == 0:
            continue
        start, end = _us(frame["start_at"]), _us(frame["end_at"])
        parts.append(
            (
                start,
                end,
                _column(frame, "peak_g"),
                _column(frame, "area_g_s"),
                np.full(start.size, 1 if side == "left" else 2, dtype=np.int8),
            )
        )
    if not parts:
        return _merged_frame(*(np.empty(0, dtype=t) for t in (np.int64,) * 2), *_empty_rest())
    start, end, peak, area, side = (np.concatenate(c) for c in zip(*parts, strict=True))
    lm = end - start >= round(lm_min_s * US)
    start, end, peak, area, side = start[lm], end[lm], peak[lm], area[lm], side[lm]
    order = np.lexsort((end, start))
    start, end, peak, area, side = start[order], end[order], peak[order], area[order], side[order]
    if start.size == 0:
        return _merged_frame(start, end, *_empty_rest())
    reach = np.maximum.accumulate(end)
    gap = round(merge_gap_s * US)
    new = np.concatenate(([True], start[1:] - reach[:-1] >= gap))
    gi = np.flatnonzero(new)
    g_start = start[gi]
    g_end = np.maximum.reduceat(end, gi)
    g_peak = np.fmax.reduceat(peak, gi)
    g_area = np.add.reduceat(np.nan_to_num(area), gi)
    g_area[np.minimum.reduceat(np.isnan(area).astype(np.int8), gi) == 1] = np.nan
    g_sides = np.bitwise_or.reduceat(side, gi)
    g_n = np.diff(np.append(gi, start.size))
    g_longest = np.maximum.reduceat(end - start, gi)
    return _merged_frame(g_start, g_end, g_peak, g_area, g_sides, g_n, g_longest)


def _empty_rest() -> tuple[np.ndarray, ...]:
    return (
        np.empty(0),
        np.empty(0),
        np.empty(0, dtype=np.int8),
        np.empty(0, dtype=np.int64),
        np.empty(0, dtype=np.int64),
    )


def _merged_frame(start, end, peak, area, sides, n, longest) -> pl.DataFrame:
    names = np.array(["", "left", "right", "bilateral"])
    return pl.DataFrame(
        {
            "start_at": pl.Series(start, dtype=pl.Int64).cast(UTC_US),
            "end_at": pl.Series(end, dtype=pl.Int64).cast(UTC_US),
            "duration_s": (end - start) / US,
            "peak_g": pl.Series(peak, dtype=pl.Float64).fill_nan(None),
            "area_g_s": pl.Series(area, dtype=pl.Float64).fill_nan(None),
            "side": names[sides.astype(np.int64)] if sides.size else np.empty(0, dtype=str),
            "n_monolateral": pl.Series(n, dtype=pl.Int64),
            "longest_monolateral_s": pl.Series(longest / US, dtype=pl.Float64),
        },
        schema_overrides={"side": pl.String},
    )


def is_clm(
    duration_s: np.ndarray,
    bilateral: np.ndarray,
    n_monolateral: np.ndarray,
    longest_monolateral_s: np.ndarray,
) -> np.ndarray:
    """Candidate LM flags (WASM 2016): monolateral 0.5-10 s; bilateral <= 15 s, <= 4 CLMs."""
    d = np.round(np.asarray(duration_s) * US)
    mono_ok = d <= round(P.CLM_MAX_MONOLATERAL_S * US)
    bi_ok = (
        (d <= round(P.CLM_MAX_BILATERAL_S * US))
        & (np.asarray(n_monolateral) <= P.BILATERAL_MAX_COMPONENTS)
        & (np.round(np.asarray(longest_monolateral_s) * US) <= round(P.CLM_MAX_MONOLATERAL_S * US))
    )
    return np.where(np.asarray(bilateral), bi_ok, mono_ok) & (d >= round(P.LM_MIN_S * US))


def _runs_at_least(link: np.ndarray, min_links: int) -> tuple[np.ndarray, np.ndarray]:
    """Members of runs of >= ``min_links`` consecutive true links, and a run id per member.

    ``link[i]`` joins movement i-1 to movement i (``link[0]`` is False). A run of k links
    covers k + 1 movements.
    """
    n = link.size
    member = np.zeros(n, dtype=bool)
    run_id = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return member, run_id
    edges = np.diff(np.concatenate(([0], link.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # links [s, e)
    long_enough = ends - starts >= min_links
    for r, (s, e) in enumerate(zip(starts[long_enough], ends[long_enough], strict=True)):
        member[s - 1 : e] = True
        run_id[s - 1 : e] = r
    return member, run_id


def score_movements(
    left: pl.DataFrame | None,
    right: pl.DataFrame | None = None,
    *,
    standard: str = P.DEFAULT_STANDARD,
) -> pl.DataFrame:
    """Merged movements with CLM flags, IMIs and PLM series (SCORED_SCHEMA).

    ``left``/``right``: each ankle's monolateral LMs (either may be None; one sensor of
    unknown side may be passed as ``left``). ``standard``: ``"wasm2016"`` (IMI 10-90 s,
    default) or ``"aasm"`` (IMI 5-90 s; only the minimum IMI changes).

    The series are screening estimates: a PLMS index above 15/h is the adult clinical
    cut-off (ICSD-3), and the AASM advises against diagnosing PLMD from actigraphy.
    """
    if standard not in P.IMI_MIN_S:
        raise ValueError(f"standard must be one of {sorted(P.IMI_MIN_S)}, got {standard!r}")
    merged = merge_bilateral(left, right)
    start = _us(merged["start_at"])
    clm = is_clm(
        merged["duration_s"].to_numpy(),
        (merged["side"] == "bilateral").to_numpy(),
        merged["n_monolateral"].to_numpy(),
        merged["longest_monolateral_s"].to_numpy(),
    )
    imi = np.concatenate(([-1], np.diff(start))) if start.size else np.empty(0, dtype=np.int64)
    both_clm = clm & np.concatenate(([False], clm[:-1])) if clm.size else clm
    imi_min = round(P.IMI_MIN_S[standard] * US)
    imi_max = round(P.IMI_MAX_S * US)
    link = both_clm & (imi >= imi_min) & (imi <= imi_max)
    in_series, run = _runs_at_least(link, P.PLM_MIN_SERIES - 1)
    lo, hi = (round(v * US) for v in P.PERIODICITY_IMI_RANGE_S)
    periodic_link = both_clm & (imi >= lo) & (imi <= hi)
    periodic_run, _ = _runs_at_least(periodic_link, P.PERIODICITY_MIN_RUN)
    is_periodic = periodic_run & periodic_link
    series_id = np.where(run >= 0, run + 1, -1)
    return (
        merged.drop("longest_monolateral_s")
        .with_columns(
            pl.Series("is_clm", clm, dtype=pl.Boolean),
            pl.Series("imi_s", np.where(imi >= 0, imi / US, np.nan)).fill_nan(None),
            pl.Series("in_series", in_series, dtype=pl.Boolean),
            pl.Series("series_id", series_id, dtype=pl.Int64).replace(-1, None),
            pl.Series("is_periodic_imi", is_periodic, dtype=pl.Boolean),
        )
        .select(list(SCORED_SCHEMA))
    )


def flag_monolateral(moves: pl.DataFrame, *, standard: str = P.DEFAULT_STANDARD) -> pl.DataFrame:
    """One sensor's monolateral LMs with ``is_clm`` and ``in_series`` as scored from it alone.

    ``moves``: one ankle's LMs (``start_at``, ``end_at``, any other columns, any order), as
    detected at load. The flags are those of :func:`score_movements` ``(moves, None)``: each
    row takes the flags of the scored movement holding it (LMs of one leg under 0.5 s apart
    merge into one movement, so they share its flags); a row shorter than 0.5 s is no LM and
    gets ``False`` twice. Rows, their order and the other columns are kept (existing flag
    columns are replaced). With one ankle worn this is the night's scoring; with two, the
    bilateral scoring the nightly indices use is in ``features.leg_movements``
    (:mod:`restless.models.leg_nights`). Screening estimates, not polysomnography.
    """
    n = moves.height
    clm, series = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if n:
        scored = score_movements(moves, None, standard=standard)
        start, end = _us(moves["start_at"]), _us(moves["end_at"])
        is_lm = end - start >= round(P.LM_MIN_S * US)
        if scored.height:
            at = np.searchsorted(_us(scored["start_at"]), start, side="right") - 1
            ok = is_lm & (at >= 0)
            j = np.clip(at, 0, None)
            clm = ok & scored["is_clm"].to_numpy()[j]
            series = ok & scored["in_series"].to_numpy()[j]
    return moves.with_columns(
        pl.Series("is_clm", clm, dtype=pl.Boolean),
        pl.Series("in_series", series, dtype=pl.Boolean),
    )
