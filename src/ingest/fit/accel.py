"""``accelerometer_data`` -> raw acceleration in g on one regular time grid, for the flow.

Sample times are ``timestamp + timestamp_ms / 1000 + sample_time_offset / 1000`` (kept in
integer milliseconds, as the file stores them). Values in g come, in this order of
preference, from ``calibrated_accel_*`` (g), ``compressed_calibrated_accel_*`` (mG) or raw
``accel_*`` counts calibrated with the latest accelerometer ``three_d_sensor_calibration``
before the message, as the FIT profile defines it::

    g_axis = (counts_axis - level_shift - offset_cal[axis])
             * calibration_factor / calibration_divisor
    g = orientation_matrix (3 x 3, row-major) . g_axis

Messages with counts and no calibration, or with invalid elements, are skipped with a
warning.

The samples become :class:`~restless.ingest.base.RawAcceleration` (the flow scores leg
movements, 30-s movement epochs and sleep/wake from them, ``flows/raw_scoring.py``):

* ``fs`` from the ``sample_time_offset`` spacing inside messages (intervals / span),
  rounded to a whole Hz when within 1 % of one (Garmin logs 25 Hz as offsets 0, 40, 80 ms);
* every sample is placed on the grid ``start + k / fs`` at its nearest slot. A gap of at
  most :data:`MAX_FILL_S` (a lost message or two) is filled by repeating the last sample
  (as ActiGraph fills idle-sleep samples and the .cwa reader fills damaged blocks), so the
  times after it stay right; a sample on or before an earlier slot is dropped. A longer
  pause, or the clock jumping back by more than that, splits the recording into runs;
  ``RawAcceleration`` is one contiguous grid, so only the longest run is returned and the
  warnings count the samples dropped. A repeated sample never shows as movement, and the
  detector refuses NaN, so filling is the only way to keep a short gap in the grid.

When ``raw`` is returned the reader emits no movement epochs of its own for these samples
(the flow derives them, and would otherwise hold two sets). Only a file whose rate cannot be
inferred (every message holds one sample, a single sample) falls back to 30-s epochs of
mean ``| |a| - 1 g |`` in milli-g, aligned to UTC multiples of 30 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl

from restless.ingest.base import RawAcceleration
from restless.ingest.fit.frames import frame
from restless.ingest.fit.messages import FIT_EPOCH_S
from restless.ingest.fit.timeline import Timed

ACCELEROMETER_DATA = 165
THREE_D_SENSOR_CALIBRATION = 167
SENSOR_ACCELEROMETER = 0
EPOCH_S = 30
_AXES = ("x", "y", "z")

MAX_FILL_S = 2.0
"""Longest gap between consecutive samples filled with the last sample (about two lost
one-second messages); a longer pause splits the recording (project choice)."""

CHUNK_SAMPLES = 1 << 18
"""Rows per array ``RawAcceleration.chunks()`` yields (262,144 x 3 float64 = 6 MB)."""

WHOLE_HZ_TOLERANCE = 0.01
"""A rate within 1 % of a whole number of Hz is that number (offsets are whole ms)."""

_FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)


@dataclass
class AccelRows:
    """Raw acceleration (or, when no grid can be inferred, movement epochs) and warnings."""

    epochs: pl.DataFrame | None = None
    raw: RawAcceleration | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Calibration:
    factor: float
    divisor: float
    level_shift: float
    offset: tuple[float, float, float]
    matrix: tuple[float, ...]

    def to_g(self, counts: np.ndarray) -> np.ndarray:
        """(3, n) counts -> (3, n) g (the FIT profile rule, term by term)."""
        scale = self.factor / self.divisor
        sensor = (counts - self.level_shift - np.asarray(self.offset)[:, None]) * scale
        x, y, z = sensor
        m = self.matrix
        return np.stack([m[3 * r] * x + m[3 * r + 1] * y + m[3 * r + 2] * z for r in range(3)])


@dataclass(frozen=True)
class Samples:
    """Decoded samples in file order: FIT time in ms, g per axis, and what set the rate."""

    t_ms: np.ndarray  # int64, milliseconds since the FIT epoch
    xyz: np.ndarray  # (n, 3) float64, g
    intervals: int  # sample intervals inside messages
    span_ms: int  # their total length


@dataclass(frozen=True)
class Grid:
    """The longest contiguous run on the regular grid ``start_ms + k * 1000 / fs``.

    ``source[k]`` is the index (into :class:`Samples`) of the sample slot ``k`` holds.
    """

    start_ms: int
    source: np.ndarray
    runs: int
    filled: int  # slots of the kept run holding a repeated sample
    gaps_filled: int  # gaps of the kept run that were filled
    overlapping: int  # samples of the kept run dropped (on or before an earlier slot)
    dropped: int  # samples outside the kept run


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _calibration(fields: dict[str, Any]) -> _Calibration | None:
    if fields.get("sensor_type") != SENSOR_ACCELEROMETER:
        return None
    offset = _tuple(fields.get("offset_cal"))
    matrix = _tuple(fields.get("orientation_matrix"))
    try:
        return _Calibration(
            float(fields["calibration_factor"]),
            float(fields["calibration_divisor"]),
            float(fields.get("level_shift", 0)),
            (float(offset[0]), float(offset[1]), float(offset[2]))
            if len(offset) == 3
            else (0.0,) * 3,
            tuple(float(v) for v in matrix)
            if len(matrix) == 9
            else (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0),
        )
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def _valid(axes: list[tuple[Any, ...]]) -> bool:
    return all(axes) and not any(v is None for axis in axes for v in axis)


def _axes_in_g(fields: dict[str, Any], calibration: _Calibration | None) -> np.ndarray | None:
    """(3, n) g of one message, or None when it cannot be converted."""
    calibrated = [_tuple(fields.get(f"calibrated_accel_{a}")) for a in _AXES]
    if all(calibrated):
        return _stack(calibrated) if _valid(calibrated) else None
    compressed = [_tuple(fields.get(f"compressed_calibrated_accel_{a}")) for a in _AXES]
    if all(compressed):
        return _stack(compressed) / 1000.0 if _valid(compressed) else None
    counts = [_tuple(fields.get(f"accel_{a}")) for a in _AXES]
    if _valid(counts) and calibration is not None and calibration.divisor:
        return calibration.to_g(_stack(counts))
    return None


def _stack(axes: list[tuple[Any, ...]]) -> np.ndarray:
    n = min(len(a) for a in axes)
    return np.array([a[:n] for a in axes], dtype=np.float64)


def decode_samples(timed: Sequence[Timed]) -> tuple[Samples | None, list[str]]:
    """Every convertible ``accelerometer_data`` sample, in file order, and warnings."""
    calibration: _Calibration | None = None
    times: list[np.ndarray] = []
    values: list[np.ndarray] = []
    intervals = span_ms = skipped = 0
    for item in timed:
        msg = item.message
        if msg.num == THREE_D_SENSOR_CALIBRATION:
            calibration = _calibration(msg.fields) or calibration
            continue
        if msg.num != ACCELEROMETER_DATA or item.at is None:
            continue
        axes = _axes_in_g(msg.fields, calibration)
        offsets = _tuple(msg.fields.get("sample_time_offset"))
        if axes is None or len(offsets) < axes.shape[1] or None in offsets[: axes.shape[1]]:
            skipped += 1
            continue
        n = axes.shape[1]
        offset_ms = np.asarray(offsets[:n], dtype=np.int64)
        times.append(item.at * 1000 + int(msg.fields.get("timestamp_ms", 0)) + offset_ms)
        values.append(axes.T)
        if n > 1 and offset_ms[-1] > offset_ms[0]:
            intervals += n - 1
            span_ms += int(offset_ms[-1] - offset_ms[0])
    warnings = []
    if skipped:
        warnings.append(
            f"{skipped} accelerometer_data messages skipped: no three_d_sensor_calibration "
            "or calibrated values to convert them to g, or invalid samples"
        )
    if not times:
        return None, warnings
    samples = Samples(np.concatenate(times), np.concatenate(values), intervals, span_ms)
    return samples, warnings


def infer_fs(samples: Samples) -> float | None:
    """Sampling rate (Hz) from the offsets inside messages, else from consecutive samples."""
    if samples.intervals and samples.span_ms:
        fs = 1000.0 * samples.intervals / samples.span_ms
    else:
        steps = np.diff(samples.t_ms)
        steps = steps[steps > 0]
        if not steps.size:
            return None
        fs = 1000.0 / float(np.median(steps))
    whole = round(fs)
    if whole >= 1 and abs(fs - whole) <= WHOLE_HZ_TOLERANCE * fs:
        return float(whole)
    return round(fs, 3)


def regular_grid(t_ms: np.ndarray, fs: float, max_fill_s: float = MAX_FILL_S) -> Grid:
    """Place samples (times in ms, file order) on a grid at ``fs``; keep the longest run.

    A run ends where the next sample is more than ``max_fill_s`` after the previous one's
    slot, or more than ``max_fill_s`` before it. Inside a run each sample goes to its
    nearest slot from the run's first sample; missing slots repeat the sample before them
    and a sample on or before an already filled slot is dropped.
    """
    n = len(t_ms)
    max_fill = math.floor(max_fill_s * fs + 1e-9)
    step_slots = np.diff(t_ms) * (fs / 1000.0)
    cut = (step_slots > max_fill + 1.5) | (step_slots < -(max_fill + 0.5))
    bounds = [0, *(np.flatnonzero(cut) + 1).tolist(), n]
    best: tuple[int, int, np.ndarray, int, int, int] | None = None
    for a, b in pairwise(bounds):
        k = np.rint((t_ms[a:b] - t_ms[a]) * (fs / 1000.0)).astype(np.int64)
        before = np.concatenate(([-1], np.maximum.accumulate(k)[:-1]))
        keep = k > before
        slots = k[keep]
        length = int(slots[-1]) + 1
        if best is not None and length <= len(best[2]):
            continue
        repeats = np.diff(np.append(slots, length))
        source = np.repeat(np.flatnonzero(keep) + a, repeats)
        best = (a, b, source, int((repeats > 1).sum()), int((~keep).sum()), length)
    assert best is not None
    a, b, source, gaps, overlapping, length = best
    return Grid(
        start_ms=int(t_ms[a]),
        source=source,
        runs=len(bounds) - 1,
        filled=length - (b - a - overlapping),
        gaps_filled=gaps,
        overlapping=overlapping,
        dropped=n - (b - a),
    )


def _instant(fit_ms: int) -> datetime:
    return _FIT_EPOCH + timedelta(milliseconds=fit_ms)


def _grid_warnings(grid: Grid, fs: float, total: int) -> list[str]:
    out = []
    if grid.filled:
        out.append(
            f"accelerometer_data: {grid.filled} missing samples ({grid.filled / fs:.2f} s) in"
            f" {grid.gaps_filled} gaps of at most {MAX_FILL_S:g} s filled with the last sample"
        )
    if grid.overlapping:
        out.append(
            f"accelerometer_data: {grid.overlapping} samples timed on or before an earlier"
            " sample dropped"
        )
    if grid.runs > 1:
        first = _instant(grid.start_ms)
        last = _instant(round(grid.start_ms + (len(grid.source) - 1) * 1000.0 / fs))
        out.append(
            f"accelerometer_data: logging paused over {MAX_FILL_S:g} s (or the clock jumped)"
            f" {grid.runs - 1} times; kept the longest run, {first:%Y-%m-%d %H:%M:%S} to"
            f" {last:%Y-%m-%d %H:%M:%S} UTC; {grid.dropped} of {total} samples in the other"
            " runs dropped"
        )
    return out


def _raw(samples: Samples, fs: float, device: str) -> tuple[RawAcceleration, list[str]]:
    grid = regular_grid(samples.t_ms, fs)
    xyz = np.ascontiguousarray(samples.xyz[grid.source])

    def chunks() -> Iterator[np.ndarray]:
        for i in range(0, len(xyz), CHUNK_SAMPLES):
            yield xyz[i : i + CHUNK_SAMPLES]

    raw = RawAcceleration(
        fs=fs,
        start_at=_instant(grid.start_ms),
        chunks=chunks,
        device=device,
        range_g=None,
        n_samples=len(xyz),
    )
    return raw, _grid_warnings(grid, fs, len(samples.t_ms))


def _epochs(samples: Samples) -> pl.DataFrame:
    """30-s epochs (UTC multiples of 30 s) of mean | |a| - 1 g | in milli-g."""
    epochs = (
        pl.DataFrame(
            {
                "t": samples.t_ms / 1000.0,
                "x": samples.xyz[:, 0],
                "y": samples.xyz[:, 1],
                "z": samples.xyz[:, 2],
            }
        )
        .with_columns(
            epoch=((pl.col("t") // EPOCH_S) * EPOCH_S).cast(pl.Int64),
            mg=((pl.col("x") ** 2 + pl.col("y") ** 2 + pl.col("z") ** 2).sqrt() - 1.0).abs()
            * 1000.0,
        )
        .group_by("epoch")
        .agg(pl.col("mg").mean())
        .sort("epoch")
    )
    return frame(
        "movement_epochs",
        {
            "epoch_start_at": [(e + FIT_EPOCH_S) * 1_000_000 for e in epochs["epoch"].to_list()],
            "epoch_s": [float(EPOCH_S)] * epochs.height,
            "mean_accel_mg": epochs["mg"].to_list(),
        },
    )


def accel_rows(timed: Sequence[Timed], device: str = "FIT accelerometer_data") -> AccelRows:
    """The file's accelerometer samples as raw acceleration (see the module docstring)."""
    samples, warnings = decode_samples(timed)
    out = AccelRows(warnings=warnings)
    if samples is None:
        return out
    fs = infer_fs(samples)
    if fs is None:
        out.warnings.append(
            "accelerometer_data: sampling rate cannot be inferred (single samples);"
            " 30-s movement epochs only, no leg movements"
        )
        out.epochs = _epochs(samples)
        return out
    out.raw, notes = _raw(samples, fs, device)
    out.warnings += notes
    return out
