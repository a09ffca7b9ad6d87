"""Raw acceleration scored at load time: leg movements, movement epochs and sleep/wake.

Readers of raw formats return :class:`~restless.ingest.base.RawAcceleration` and no tables
(readers may not import models); :func:`raw_tables` turns the samples into canonical rows in
ONE streaming pass over ``raw.chunks()`` (memory bounded by a few detection blocks):

* ``leg_movements``: monolateral leg movements (:func:`restless.models.legs.
  detect_movements_chunked`, noise-adaptive onset/offset thresholds per 7.5-min block, stored
  in each row). The WASM bilateral merge and series rules need both ankles and are applied
  at the features stage (:mod:`restless.models.leg_nights`). Needs at least 10 Hz.
* ``movement_epochs``: 30-s epochs, ``mean_accel_mg`` = mean of | |a| - 1 g | in mg (the
  ENMO-like deviation from gravity, without truncation at zero), ``is_wear`` from the
  detection's non-wear flags (GGIR 2013 rule). A trailing part-epoch keeps its real length.
* ``sleep_epochs``: van Hees 2015 sustained inactivity bouts (method 'van_hees_sib') on 5-s
  z-angle epochs (:mod:`restless.models.actigraphy_sleep`).
* ``sleep_periods``: the HDCZA sleep period time window (van Hees 2018) of each noon-to-noon
  night in the participant's zone, from the same z-angle epochs (``log_type`` 'hdcza',
  ``period_key`` = the window's start instant in ISO UTC, ``is_nap`` false), for nights with
  at least :data:`restless.models.params.HDCZA_MIN_COVERED_H` hours recorded. These periods
  are the night's sleep source only when no other source exists (params.
  SLEEP_SOURCE_PRIORITY lists raw sources last).

Which ankle: restless.toml's ``[participants.<id>.sensors]`` (flows/raw_options.py), else
:func:`ankle_side`, which reads the folder names under the participant folder.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import polars as pl

from restless.ingest.base import RawAcceleration
from restless.models.nights import HDCZA_LOG_TYPE  # ranked last by nights.main_periods

EPOCH_S = 30.0
SIDE_FOLDERS = {
    "left": "left",
    "left_ankle": "left",
    "left-ankle": "left",
    "right": "right",
    "right_ankle": "right",
    "right-ankle": "right",
}
UTC_US = pl.Datetime("us", "UTC")


def ankle_side(display_path: str) -> str:
    """'left'/'right' when a folder of the file's path (below the participant folder) is
    named left/right (or left_ankle/right_ankle), else 'unknown'."""
    parts = display_path.replace("\\", "/").replace("!", "/").split("/")
    folders = parts[1:-1] if len(parts) > 2 else parts[:-1]
    sides = {SIDE_FOLDERS[p.lower()] for p in folders if p.lower() in SIDE_FOLDERS}
    return sides.pop() if len(sides) == 1 else "unknown"


class _EpochSums:
    """Running sums of | |a| - 1 g | per 30-s epoch (sample k is in epoch floor(k / (fs*30)))."""

    def __init__(self, fs: float) -> None:
        self.spe = fs * EPOCH_S
        self.sums = np.zeros(0)
        self.counts = np.zeros(0, dtype=np.int64)
        self.pos = 0

    def add(self, chunk: np.ndarray) -> None:
        n = len(chunk)
        if n == 0:
            return
        dev = np.abs(np.sqrt(np.einsum("ij,ij->i", chunk, chunk)) - 1.0)
        e = np.floor((self.pos + np.arange(n)) / self.spe).astype(np.int64)
        size = int(e[-1]) + 1
        if size > self.sums.size:
            self.sums = np.concatenate([self.sums, np.zeros(size - self.sums.size)])
            self.counts = np.concatenate(
                [self.counts, np.zeros(size - self.counts.size, dtype=np.int64)]
            )
        lo = int(e[0])
        self.sums[lo:size] += np.bincount(e - lo, weights=dev)
        self.counts[lo:size] += np.bincount(e - lo)
        self.pos += n


def _instants(start, seconds: np.ndarray) -> pl.Series:
    base = pl.Series([start]).cast(UTC_US).cast(pl.Int64)[0]
    return pl.Series(base + np.round(seconds * 1e6).astype(np.int64)).cast(UTC_US)


SLEEP_PERIOD_SCHEMA: dict[str, pl.DataType] = {
    "period_key": pl.String(),
    "start_at": UTC_US,
    "end_at": UTC_US,
    "log_type": pl.String(),
    "is_nap": pl.Boolean(),
}
"""The ``core.sleep_periods`` columns filled here (the vendor columns stay null)."""


def _nonwear_at(blocks: pl.DataFrame, instants: pl.Series) -> pl.Series:
    """Whether each instant falls in a detection block flagged non-wear (GGIR 2013 rule)."""
    starts = blocks["block_start_at"].cast(pl.Int64).to_numpy()
    nonwear = blocks["is_nonwear"].fill_null(False).to_numpy()
    at = np.searchsorted(starts, instants.cast(pl.Int64).to_numpy(), "right") - 1
    return pl.Series(np.where(at >= 0, nonwear[np.clip(at, 0, None)], False), dtype=pl.Boolean)


def hdcza_periods(angles: pl.DataFrame, time_zone: str) -> tuple[pl.DataFrame, str]:
    """``sleep_periods`` rows (without lineage) of the HDCZA windows of well-covered nights,
    and a note counting the nights with a window and those skipped.

    ``angles``: ``epoch_start_at`` (UTC, regular 5-s epochs), ``z_angle_deg``. A night whose
    noon-to-noon window holds under ``params.HDCZA_MIN_COVERED_H`` hours of z-angle is
    skipped (GGIR ``includenightcrit``), whether or not a still block was found in it.
    """
    from restless.models import params
    from restless.models.actigraphy_sleep import HDCZA_MIN_BLOCK_MIN, hdcza_windows

    nights = hdcza_windows(angles, time_zone)
    covered = nights.filter(pl.col("covered_h") >= params.HDCZA_MIN_COVERED_H)
    found = covered.filter(
        pl.col("spt_start_at").is_not_null() & pl.col("spt_end_at").is_not_null()
    )
    periods = found.sort("spt_start_at").select(
        pl.col("spt_start_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("period_key"),
        pl.col("spt_start_at").alias("start_at"),
        pl.col("spt_end_at").alias("end_at"),
        pl.lit(HDCZA_LOG_TYPE).alias("log_type"),
        pl.lit(False).alias("is_nap"),
    )
    skipped = nights.height - covered.height
    no_window = covered.height - found.height
    daysleepers = int(found["is_daysleeper"].sum())
    note = (
        f"sleep window (HDCZA, van Hees 2018; nights noon to noon in {time_zone}):"
        f" {found.height} of {nights.height} nights got a window"
        f" ({daysleepers} searched 18:00 to 18:00 as a daysleeper),"
        f" {skipped} skipped for coverage (under {params.HDCZA_MIN_COVERED_H:g} h of the"
        f" noon-to-noon window recorded), {no_window} without a still block over"
        f" {HDCZA_MIN_BLOCK_MIN:g} min; an ankle sensor's window is a screening estimate, used"
        " only for nights without another sleep source"
    )
    return periods.cast(SLEEP_PERIOD_SCHEMA), note


def raw_tables(
    raw: RawAcceleration, side: str, *, time_zone: str
) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Canonical ``leg_movements``, ``movement_epochs``, ``sleep_epochs`` and ``sleep_periods``
    rows (without lineage) of one raw recording, and warnings recording what was done and with
    which thresholds. ``time_zone``: the participant's IANA zone (``ReadContext.timezone``),
    which places the noon-to-noon nights of the HDCZA sleep window."""
    from restless.models import legs
    from restless.models import plm_params as P
    from restless.models.actigraphy_sleep import ANGLE_EPOCH_S, _EpochStream, sib_epochs

    fs = float(raw.fs)
    notes: list[str] = []
    sums = _EpochSums(fs)
    angle_stream = _EpochStream(fs, ANGLE_EPOCH_S)
    angle_rows: list[np.ndarray] = []

    def tapped() -> Iterator[np.ndarray]:
        for chunk in raw.chunks():
            chunk = np.asarray(chunk, dtype=np.float64).reshape(-1, 3)
            sums.add(chunk)
            rows = angle_stream.push(chunk, final=False)
            if rows is not None:
                angle_rows.append(rows)
            yield chunk

    detection = None
    if fs >= P.MIN_SAMPLING_HZ:
        detection = legs.detect_movements_chunked(
            tapped(),
            fs,
            start_at=raw.start_at,
            range_g=raw.range_g or P.DEFAULT_RANGE_G,
        )
    else:
        for _ in tapped():
            pass
        notes.append(f"leg movements not detected: {fs:.2f} Hz is below {P.MIN_SAMPLING_HZ:g} Hz")
    last = angle_stream.push(np.zeros((0, 3)), final=True)
    if last is not None:
        angle_rows.append(last)

    tables: dict[str, pl.DataFrame] = {}
    # --- leg movements -------------------------------------------------------------------
    if detection is not None:
        # is_clm / in_series as scored from this sensor alone (the night's scoring when one
        # ankle is worn; with two, features.leg_movements holds the bilateral scoring)
        tables["leg_movements"] = legs.flag_monolateral(
            detection.movements.select(
                pl.lit(side).alias("side"),
                "start_at",
                "end_at",
                "duration_s",
                "peak_g",
                "area_g_s",
                "onset_threshold_g",
                "offset_threshold_g",
            )
        )
        thr = detection.thresholds()
        fmt = lambda v: "n/a" if v is None else f"{v:.5f}"  # noqa: E731
        nonwear_blocks = int(detection.blocks["is_nonwear"].fill_null(False).sum())
        notes.append(
            f"leg movements ({side} ankle): {detection.movements.height} detected at"
            f" {fs:.2f} Hz; median thresholds onset {fmt(thr['onset_threshold_g'])} g,"
            f" offset {fmt(thr['offset_threshold_g'])} g, baseline {fmt(thr['baseline_g'])} g,"
            f" noise {fmt(thr['noise_g'])} g (onset_k={detection.params.onset_k:g},"
            f" offset_k={detection.params.offset_k:g}, block {detection.params.noise_block_s:g} s);"
            f" {nonwear_blocks} of {detection.blocks.height} blocks non-wear;"
            " screening estimates, not polysomnography"
        )
    # --- 30-s movement epochs --------------------------------------------------------------
    n_ep = sums.sums.size
    if n_ep:
        counts = sums.counts
        keep = counts > 0
        idx = np.flatnonzero(keep)
        starts = np.array([math.ceil(e * sums.spe) for e in idx], dtype=np.float64) / fs
        epoch_s = np.full(idx.size, EPOCH_S)
        if idx.size and counts[idx[-1]] < math.floor(sums.spe):  # trailing part-epoch
            epoch_s[-1] = counts[idx[-1]] / fs
        epoch_start = _instants(raw.start_at, starts)
        is_wear = pl.Series([None] * idx.size, dtype=pl.Boolean)
        if detection is not None and detection.blocks.height:
            is_wear = ~_nonwear_at(detection.blocks, epoch_start)
        tables["movement_epochs"] = pl.DataFrame(
            {
                "epoch_start_at": epoch_start,
                "epoch_s": epoch_s,
                "mean_accel_mg": sums.sums[idx] / counts[idx] * 1000.0,
                "is_wear": is_wear,
            }
        )
    # --- van Hees sustained inactivity -----------------------------------------------------
    rows = np.concatenate(angle_rows) if angle_rows else np.zeros((0, 4))
    if len(rows):
        angles = pl.DataFrame(
            {
                "epoch_start_at": _instants(
                    raw.start_at, np.arange(len(rows), dtype=np.float64) * ANGLE_EPOCH_S
                ),
                "z_angle_deg": rows[:, 3],
            }
        )
        tables["sleep_epochs"] = sib_epochs(angles).select(
            "epoch_start_at", "epoch_s", "activity", "is_asleep", "method"
        )
        # --- HDCZA sleep period time window per noon-to-noon night ---------------------------
        # non-wear time counts as no movement, GGIR's default (HASPT.ignore.invalid = FALSE):
        # masking it would cut nights whose hour-long still stretches look unworn
        periods, note = hdcza_periods(angles, time_zone)
        notes.append(note)
        if periods.height:
            tables["sleep_periods"] = periods
    else:
        notes.append(
            f"sleep/wake (van_hees_sib) not scored: the recording is shorter than one"
            f" {ANGLE_EPOCH_S:g}-s epoch (no HDCZA sleep window either)"
        )
    return tables, notes


def span_frame(derived: dict[str, pl.DataFrame], column: str) -> pl.DataFrame:
    """Two instants, under ``column``, bounding the recording: the first 30-s epoch's start
    and the last epoch's end (its own length). The flow uses it as the coverage of every
    table derived from the recording, so a re-import replaces rows anywhere in that span."""
    epochs = derived.get("movement_epochs")
    bounds: list = []
    if epochs is not None and epochs.height:
        ends = pl.col("epoch_start_at") + pl.duration(
            microseconds=(pl.col("epoch_s") * 1e6).round().cast(pl.Int64)
        )
        bounds = list(
            epochs.select(pl.col("epoch_start_at").min().alias("a"), ends.max().alias("b")).row(0)
        )
    return pl.DataFrame({column: bounds}, schema={column: UTC_US})


__all__ = [
    "EPOCH_S",
    "HDCZA_LOG_TYPE",
    "ankle_side",
    "hdcza_periods",
    "raw_tables",
    "span_frame",
]
