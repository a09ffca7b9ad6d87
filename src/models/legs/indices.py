"""Per-night leg-movement indices from scored movements, a sleep window and sleep/wake epochs.

Definitions (WASM 2016, Ferri et al., Sleep Med 2016;26:86-95; SCIENCE.md section 1;
constants in :mod:`restless.models.plm_params`):

* a movement belongs to the state (sleep or wake) of the epoch holding its onset, and counts
  only if the onset lies in the sleep period [``sleep_onset_at``, ``sleep_offset_at``);
  without epochs the whole period counts as sleep (then TST is the period's length, an
  overestimate, and PLMW is null);
* ``lm_count``/``clm_count``/``long_movement_count``: LMs, CLMs and non-CLM LMs in sleep;
  ``*_index`` = count per hour of sleep (TST);
* ``plms_count``/``plms_index``: CLMs in PLM series with onset in sleep, per hour of sleep;
  ``plmw_count``/``plmw_index``: the same in wake inside the period, per hour of that wake.
  Series are found over the whole recording first (a series may span sleep and wake);
* ``periodicity_index``: IMIs in sleep that lie in 10-90 s inside runs of >= 3 such IMIs,
  divided by all IMIs in sleep (Ferri et al., Sleep 2006;29:759-769), from 0 to 1;
* ``lm_pre_sleep_count``: LMs with onset in the hour before sleep onset (null when the
  recording does not cover that hour);
* the IMI histogram (:func:`imi_histogram`): the IMIs of movements in sleep, in 2-s linear
  bins up to 100 s and in 10-per-decade log bins from 1 to 1000 s, each with an overflow bin.

Every index is an actigraphic screening estimate: a PLMS index above 15/h is the adult
clinical cut-off (ICSD-3), but the AASM actigraphy guideline (Smith et al., J Clin Sleep Med
2018;14:1231-1237) advises against diagnosing PLMD from actigraphy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from restless.models import plm_params as P

UTC_US = pl.Datetime("us", "UTC")
US = 1_000_000

SLEEP, WAKE = 1, 2

NIGHT_SCHEMA: dict[str, Any] = {
    "sleep_onset_at": UTC_US,
    "sleep_offset_at": UTC_US,
    "tst_min": pl.Float64,
    "wake_in_period_min": pl.Float64,
    "lm_count": pl.Int64,
    "lm_index": pl.Float64,
    "clm_count": pl.Int64,
    "clm_index": pl.Float64,
    "long_movement_count": pl.Int64,
    "plms_count": pl.Int64,
    "plms_index": pl.Float64,
    "plmw_count": pl.Int64,
    "plmw_index": pl.Float64,
    "periodicity_index": pl.Float64,
    "imi_count": pl.Int64,
    "lm_pre_sleep_count": pl.Int64,
    "onset_threshold_g": pl.Float64,
    "offset_threshold_g": pl.Float64,
    "noise_g": pl.Float64,
    "baseline_g": pl.Float64,
    "nonwear_min": pl.Float64,
}
"""One row per sleep period; counts and indices are screening estimates."""

HISTOGRAM_SCHEMA: dict[str, Any] = {
    "scale": pl.String,
    "bin_lo_s": pl.Float64,
    "bin_hi_s": pl.Float64,
    "imi_count": pl.Int64,
}
"""IMI histogram: ``scale`` linear | log; bins [lo, hi), the last with ``hi`` = +inf."""


def _us(value: datetime | pl.Series) -> Any:
    if isinstance(value, pl.Series):
        return value.cast(UTC_US).cast(pl.Int64).to_numpy()
    if value.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return pl.Series([value]).cast(UTC_US).cast(pl.Int64)[0]


def sleep_state(
    onset_us: np.ndarray, window: tuple[int, int], epochs: pl.DataFrame | None
) -> np.ndarray:
    """SLEEP, WAKE or 0 (outside the period or in no epoch) for each onset."""
    lo, hi = window
    inside = (onset_us >= lo) & (onset_us < hi)
    if epochs is None:
        return np.where(inside, SLEEP, 0).astype(np.int8)
    ep = epochs.sort("epoch_start_at")
    e0 = _us(ep["epoch_start_at"])
    e1 = e0 + np.round(ep["epoch_s"].cast(pl.Float64).to_numpy() * US).astype(np.int64)
    asleep = ep["is_asleep"].fill_null(False).to_numpy()
    scored = ep["is_asleep"].is_not_null().to_numpy()
    i = np.searchsorted(e0, onset_us, side="right") - 1
    ok = inside & (i >= 0)
    j = np.maximum(i, 0)
    ok &= (onset_us < e1[j]) & scored[j] if e0.size else np.zeros_like(ok)
    state = np.where(asleep[j] if e0.size else False, SLEEP, WAKE)
    return np.where(ok, state, 0).astype(np.int8)


def _time_in_states(window: tuple[int, int], epochs: pl.DataFrame | None) -> tuple[float, float]:
    """Seconds asleep and awake inside the period (epochs clipped to the period)."""
    lo, hi = window
    if epochs is None:
        return (hi - lo) / US, float("nan")
    e0 = _us(epochs["epoch_start_at"])
    e1 = e0 + np.round(epochs["epoch_s"].cast(pl.Float64).to_numpy() * US).astype(np.int64)
    overlap = np.clip(np.minimum(e1, hi) - np.maximum(e0, lo), 0, None) / US
    asleep = epochs["is_asleep"]
    return (
        float(overlap[(asleep == True).fill_null(False).to_numpy()].sum()),  # noqa: E712
        float(overlap[(asleep == False).fill_null(False).to_numpy()].sum()),  # noqa: E712
    )


def _per_hour(count: int, seconds: float) -> float | None:
    return count / (seconds / 3600.0) if seconds and seconds > 0 else None


def night_indices(
    scored: pl.DataFrame,
    sleep_onset_at: datetime,
    sleep_offset_at: datetime,
    *,
    epochs: pl.DataFrame | None = None,
    recorded_from: datetime | None = None,
    blocks: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Leg-movement indices of one sleep period (one row, NIGHT_SCHEMA).

    ``scored``: :func:`restless.models.legs.series.score_movements` output for the recording.
    ``epochs``: ``epoch_start_at, epoch_s, is_asleep`` (core.sleep_epochs for one method).
    ``recorded_from``: first instant of the leg recording (the pre-sleep count is null when
    it starts later than one hour before sleep onset). ``blocks``: the detection's per-block
    thresholds (:class:`restless.models.legs.detection.Detection`), summarised over the
    period (medians; several sensors: concatenate their blocks) with its non-wear minutes.

    Screening estimates only: PLMS index > 15/h is the adult cut-off (ICSD-3); the AASM
    advises against diagnosing PLMD from actigraphy.
    """
    window = (_us(sleep_onset_at), _us(sleep_offset_at))
    onset = _us(scored["start_at"])
    state = sleep_state(onset, window, epochs)
    sleep, wake = state == SLEEP, state == WAKE
    clm = scored["is_clm"].to_numpy()
    series = scored["in_series"].to_numpy()
    imi = scored["imi_s"].is_not_null().to_numpy()
    periodic = scored["is_periodic_imi"].to_numpy()
    tst_s, wake_s = _time_in_states(window, epochs)
    n_lm = int(sleep.sum())
    n_clm = int((sleep & clm).sum())
    n_plms = int((sleep & series).sum())
    n_plmw = int((wake & series).sum())
    n_imi = int((sleep & imi).sum())
    pre_lo = window[0] - round(P.PRE_SLEEP_WINDOW_S * US)
    pre = None
    if recorded_from is None or _us(recorded_from) <= pre_lo:
        pre = int(((onset >= pre_lo) & (onset < window[0])).sum())
    thresholds: dict[str, float | None] = dict.fromkeys(
        ("onset_threshold_g", "offset_threshold_g", "noise_g", "baseline_g")
    )
    nonwear_min = None
    if blocks is not None and blocks.height:
        b0, b1 = _us(blocks["block_start_at"]), _us(blocks["block_end_at"])
        overlap = np.clip(np.minimum(b1, window[1]) - np.maximum(b0, window[0]), 0, None)
        inside = blocks.filter(pl.Series(overlap > 0))
        if inside.height:
            thresholds = {k: float(inside[k].median()) for k in thresholds}
        nonwear = blocks["is_nonwear"].fill_null(False).to_numpy()
        nonwear_min = float(overlap[nonwear].sum()) / US / 60.0
    row = {
        "sleep_onset_at": sleep_onset_at,
        "sleep_offset_at": sleep_offset_at,
        "tst_min": tst_s / 60.0,
        "wake_in_period_min": None if epochs is None else wake_s / 60.0,
        "lm_count": n_lm,
        "lm_index": _per_hour(n_lm, tst_s),
        "clm_count": n_clm,
        "clm_index": _per_hour(n_clm, tst_s),
        "long_movement_count": int((sleep & ~clm).sum()),
        "plms_count": n_plms,
        "plms_index": _per_hour(n_plms, tst_s),
        "plmw_count": None if epochs is None else n_plmw,
        "plmw_index": None if epochs is None else _per_hour(n_plmw, wake_s),
        "periodicity_index": (int((sleep & periodic).sum()) / n_imi) if n_imi else None,
        "imi_count": n_imi,
        "lm_pre_sleep_count": pre,
        **thresholds,
        "nonwear_min": nonwear_min,
    }
    return pl.DataFrame([row], schema=NIGHT_SCHEMA)


def nightly_indices(
    scored: pl.DataFrame,
    windows: pl.DataFrame,
    *,
    epochs: pl.DataFrame | None = None,
    recorded_from: datetime | None = None,
    blocks: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`night_indices` for every row of ``windows`` (``sleep_onset_at``,
    ``sleep_offset_at``, plus any key columns, which are kept in front)."""
    keys = [c for c in windows.columns if c not in ("sleep_onset_at", "sleep_offset_at")]
    rows = []
    for w in windows.iter_rows(named=True):
        night = night_indices(
            scored,
            w["sleep_onset_at"],
            w["sleep_offset_at"],
            epochs=epochs,
            recorded_from=recorded_from,
            blocks=blocks,
        )
        rows.append(pl.DataFrame([{k: w[k] for k in keys}]).hstack(night) if keys else night)
    if not rows:
        return windows.select(keys).clear().hstack(pl.DataFrame(schema=NIGHT_SCHEMA))
    return pl.concat(rows, how="vertical_relaxed")


def histogram_edges() -> dict[str, np.ndarray]:
    """Finite bin edges of the linear and log IMI histograms (plm_params IMI_HIST_*)."""
    lin = np.arange(0.0, P.IMI_HIST_LINEAR_MAX_S + 1e-9, P.IMI_HIST_LINEAR_BIN_S)
    lo, hi = P.IMI_HIST_LOG_RANGE_S
    decades = np.log10(hi) - np.log10(lo)
    n = round(decades * P.IMI_HIST_LOG_BINS_PER_DECADE)
    log = np.round(np.logspace(np.log10(lo), np.log10(hi), n + 1), 9)
    return {"linear": lin, "log": np.concatenate(([0.0], log))}


def imi_histogram(
    scored: pl.DataFrame,
    sleep_onset_at: datetime,
    sleep_offset_at: datetime,
    *,
    epochs: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Counts of the IMIs of movements in sleep per bin (HISTOGRAM_SCHEMA), both scales.

    Linear: [0, 2), [2, 4), ... [98, 100), [100, inf). Log: [0, 1), then 10 bins per decade
    from 1 s to 1000 s, then [1000, inf). IMIs are onset-to-onset from the previous LM.
    """
    window = (_us(sleep_onset_at), _us(sleep_offset_at))
    state = sleep_state(_us(scored["start_at"]), window, epochs)
    imi = scored["imi_s"].to_numpy().astype(np.float64)
    values = imi[(state == SLEEP) & np.isfinite(imi)]
    frames = []
    for scale, edges in histogram_edges().items():
        bins = np.concatenate((edges, [np.inf]))
        counts = np.histogram(values, bins=bins)[0]
        frames.append(
            pl.DataFrame(
                {
                    "scale": scale,
                    "bin_lo_s": bins[:-1],
                    "bin_hi_s": bins[1:],
                    "imi_count": counts.astype(np.int64),
                },
                schema=HISTOGRAM_SCHEMA,
            )
        )
    return pl.concat(frames)
