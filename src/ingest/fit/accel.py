"""``accelerometer_data`` -> 30-s movement epochs with the mean acceleration magnitude.

Sample times are ``timestamp + timestamp_ms / 1000 + sample_time_offset / 1000``.
Values in g come, in this order of preference, from ``calibrated_accel_*`` (g),
``compressed_calibrated_accel_*`` (mG) or raw ``accel_*`` counts calibrated with the
latest accelerometer ``three_d_sensor_calibration`` before the message, as the FIT
profile defines it::

    g_axis = (counts_axis - level_shift - offset_cal[axis])
             * calibration_factor / calibration_divisor
    g = orientation_matrix (3 x 3, row-major) . g_axis

Messages with counts and no calibration are skipped with a warning. Each sample's
``|magnitude - 1 g|`` (the acceleration beyond gravity, in milli-g) is averaged over
30-s epochs aligned to UTC multiples of 30 s (first/last epochs average the samples
present); the raw samples are not returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from restless.ingest.fit.frames import frame
from restless.ingest.fit.messages import FIT_EPOCH_S
from restless.ingest.fit.timeline import Timed

ACCELEROMETER_DATA = 165
THREE_D_SENSOR_CALIBRATION = 167
SENSOR_ACCELEROMETER = 0
EPOCH_S = 30
_AXES = ("x", "y", "z")


@dataclass
class AccelRows:
    """Movement epochs from raw acceleration, and what could not be converted."""

    epochs: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Calibration:
    factor: float
    divisor: float
    level_shift: float
    offset: tuple[float, float, float]
    matrix: tuple[float, ...]

    def to_g(self, axes: Sequence[tuple[float, ...]]) -> list[tuple[float, ...]]:
        scale = self.factor / self.divisor
        sensor = [
            tuple((c - self.level_shift - self.offset[i]) * scale for c in axes[i])
            for i in range(3)
        ]
        m = self.matrix
        return [
            tuple(
                m[3 * r] * x + m[3 * r + 1] * y + m[3 * r + 2] * z
                for x, y, z in zip(*sensor, strict=True)
            )
            for r in range(3)
        ]


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


def _axes_in_g(
    fields: dict[str, Any], calibration: _Calibration | None
) -> list[tuple[float, ...]] | None:
    calibrated = [_tuple(fields.get(f"calibrated_accel_{a}")) for a in _AXES]
    if all(calibrated):
        return calibrated
    compressed = [_tuple(fields.get(f"compressed_calibrated_accel_{a}")) for a in _AXES]
    if all(compressed):
        return [tuple(v / 1000.0 for v in axis) for axis in compressed]
    counts = [_tuple(fields.get(f"accel_{a}")) for a in _AXES]
    if all(counts) and calibration is not None and calibration.divisor:
        return calibration.to_g(counts)
    return None


def accel_rows(timed: Sequence[Timed]) -> AccelRows:
    """30-s epochs of mean |magnitude - 1 g| (mg) from the file's raw accelerometer data."""
    out = AccelRows()
    calibration: _Calibration | None = None
    times: list[float] = []
    x: list[float] = []
    y: list[float] = []
    z: list[float] = []
    skipped = 0
    for item in timed:
        msg = item.message
        if msg.num == THREE_D_SENSOR_CALIBRATION:
            calibration = _calibration(msg.fields) or calibration
            continue
        if msg.num != ACCELEROMETER_DATA or item.at is None:
            continue
        axes = _axes_in_g(msg.fields, calibration)
        if axes is None or None in axes[0] or None in axes[1] or None in axes[2]:
            skipped += 1
            continue
        base = item.at + msg.fields.get("timestamp_ms", 0) / 1000.0
        offsets = _tuple(msg.fields.get("sample_time_offset"))
        n = min(len(axes[0]), len(axes[1]), len(axes[2]))
        if len(offsets) < n:
            skipped += 1
            continue
        times.extend(base + offsets[i] / 1000.0 for i in range(n))
        x.extend(axes[0][:n])
        y.extend(axes[1][:n])
        z.extend(axes[2][:n])
    if skipped:
        out.warnings.append(
            f"{skipped} accelerometer_data messages skipped: no three_d_sensor_calibration "
            "or calibrated values to convert them to g"
        )
    if not times:
        return out
    samples = pl.DataFrame(
        {"t": times, "x": x, "y": y, "z": z}, schema=dict.fromkeys("txyz", pl.Float64)
    )
    epochs = (
        samples.with_columns(
            epoch=((pl.col("t") // EPOCH_S) * EPOCH_S).cast(pl.Int64),
            mg=((pl.col("x") ** 2 + pl.col("y") ** 2 + pl.col("z") ** 2).sqrt() - 1.0).abs()
            * 1000.0,
        )
        .group_by("epoch")
        .agg(pl.col("mg").mean())
        .sort("epoch")
    )
    out.epochs = frame(
        "movement_epochs",
        {
            "epoch_start_at": [(e + FIT_EPOCH_S) * 1_000_000 for e in epochs["epoch"].to_list()],
            "epoch_s": [float(EPOCH_S)] * epochs.height,
            "mean_accel_mg": epochs["mg"].to_list(),
        },
    )
    return out
