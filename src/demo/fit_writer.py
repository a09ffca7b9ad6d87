"""Write small Garmin-style FIT wellness files (monitoring, sleep, accelerometer).

Used by the demo-data generator and by the FIT reader's round-trip tests. The files
follow what Garmin devices write, so the reader meets the same quirks it meets in the
field:

* monitoring (``file_id.type = monitoring_b``): ``monitoring_info`` carries the local
  offset as ``local_timestamp - timestamp`` at the local day start; every
  ``monitoring`` message carries a ``timestamp_16`` (low 16 bits of the FIT time, the
  full time is recovered from the last full timestamp), the packed
  ``current_activity_type_intensity`` byte and a ``cycles`` counter that is CUMULATIVE
  per activity type since the local day start (raw units: steps for walking/running,
  2 x strokes for cycling/swimming, 2 x cycles otherwise, as the FIT profile says).
  Heart rate goes into separate ``monitoring`` messages holding only
  ``timestamp_16`` and ``heart_rate``, as newer wrist devices write them. An epoch
  followed by a gap (or the last one) carries ``duration`` so its end is recoverable.
* sleep (``file_id.type = 49``, Garmin's sleep file type, absent from the public
  profile): one ``sleep_level`` message per stage change; each level lasts until the
  next message. The END of the night is recorded as a final ``sleep_level`` message at
  ``end_utc`` (level ``awake``): readers treat the last message as the end marker, not
  as a stage. An optional ``sleep_assessment`` follows.
* accelerometer (``file_id.type = activity``): one ``accelerometer_data`` message per
  second of raw counts, after a ``three_d_sensor_calibration`` message that turns
  counts into g: ``g = (counts - level_shift - offset_cal) * factor / divisor``,
  then the orientation matrix; optionally logging pauses and heart-rate ``record``
  messages in between, as activity files carry them.

Every writer is deterministic: the same inputs give the same bytes (no clock reads,
no randomness, messages in input order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from garmin_fit_sdk import Encoder, Profile

FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z in Unix seconds
GARMIN = 1
DEFAULT_PRODUCT = 1837  # garmin_product vivo_fit, the device of the real MonitoringFile.fit
SLEEP_FILE_TYPE = 49  # Garmin's sleep file type (not in the public profile)

MESG_FILE_ID = 0
MESG_RECORD = 20
MESG_DEVICE_INFO = 23
MESG_MONITORING = 55
MESG_MONITORING_INFO = 103
MESG_ACCELEROMETER_DATA = 165
MESG_THREE_D_SENSOR_CALIBRATION = 167
MESG_SLEEP_LEVEL = 275
MESG_SLEEP_ASSESSMENT = 346

ACTIVITY_TYPES: dict[str, int] = {
    name: num for num, name in Profile["types"]["activity_type"].items() if num < 254
}
SLEEP_LEVELS: dict[str, int] = {name: num for num, name in Profile["types"]["sleep_level"].items()}
STEP_TYPES = frozenset({"walking", "running"})  # `cycles` sub-field `steps`, scale 1
# Half the timestamp_16 range: a gap longer than this gets a full timestamp instead.
_MAX_TS16_GAP_S = 0x8000


@dataclass(frozen=True)
class MonitoringEpoch:
    """One device epoch: its activity type, 0-7 intensity and what it counted.

    ``steps`` is the epoch's count in the activity type's own unit (steps for
    walking/running, strokes for cycling/swimming, cycles otherwise); the writer turns
    it into the device's cumulative counter.
    """

    start_utc: datetime
    duration_s: int
    activity_type: str
    intensity: int
    steps: int
    heart_rate: int | None


@dataclass(frozen=True)
class AccelCalibration:
    """A ``three_d_sensor_calibration`` for the accelerometer (FIT profile message 167).

    Defaults describe a +/-16 g sensor with 2048 counts per g centred on 32768.
    ``orientation_matrix`` is row-major and unscaled (the file stores it x 65535).
    """

    calibration_factor: int = 1
    calibration_divisor: int = 2048
    level_shift: int = 32768
    offset_cal: tuple[int, int, int] = (-12, 7, 3)
    orientation_matrix: tuple[float, ...] = field(
        default=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    )

    def _inverse(self) -> tuple[float, ...]:
        """The orientation matrix's inverse, row-major."""
        m = self.orientation_matrix
        det = (
            m[0] * (m[4] * m[8] - m[5] * m[7])
            - m[1] * (m[3] * m[8] - m[5] * m[6])
            + m[2] * (m[3] * m[7] - m[4] * m[6])
        )
        if abs(det) < 1e-12:
            raise ValueError("orientation matrix is singular")
        inv = (
            (m[4] * m[8] - m[5] * m[7]) / det,
            (m[2] * m[7] - m[1] * m[8]) / det,
            (m[1] * m[5] - m[2] * m[4]) / det,
            (m[5] * m[6] - m[3] * m[8]) / det,
            (m[0] * m[8] - m[2] * m[6]) / det,
            (m[2] * m[3] - m[0] * m[5]) / det,
            (m[3] * m[7] - m[4] * m[6]) / det,
            (m[1] * m[6] - m[0] * m[7]) / det,
            (m[0] * m[4] - m[1] * m[3]) / det,
        )
        return inv

    def to_counts(self, g: tuple[float, float, float]) -> tuple[int, int, int]:
        """Counts that this calibration turns back into ``g`` (inverse of the profile rule)."""
        inv = self._inverse()
        sensor = [sum(inv[3 * r + c] * g[c] for c in range(3)) for r in range(3)]
        scale = self.calibration_divisor / self.calibration_factor
        counts = tuple(
            round(sensor[i] * scale) + self.level_shift + self.offset_cal[i] for i in range(3)
        )
        if any(not 0 <= c < 0xFFFF for c in counts):
            raise ValueError(f"acceleration {g} g is outside the sensor's range")
        return counts  # type: ignore[return-value]

    def to_counts_array(self, g: np.ndarray) -> np.ndarray:
        """(n, 3) int64 counts of (n, 3) ``g``: :meth:`to_counts` of every row, the same
        numbers (same operation order, round half to even), without a Python loop."""
        inv = self._inverse()
        g = np.asarray(g, dtype=np.float64).reshape(-1, 3)
        scale = self.calibration_divisor / self.calibration_factor
        counts = np.empty(g.shape, dtype=np.int64)
        for r in range(3):
            sensor = inv[3 * r] * g[:, 0] + inv[3 * r + 1] * g[:, 1] + inv[3 * r + 2] * g[:, 2]
            counts[:, r] = np.rint(sensor * scale).astype(np.int64)
            counts[:, r] += self.level_shift + self.offset_cal[r]
        bad = ((counts < 0) | (counts >= 0xFFFF)).any(axis=1)
        if bad.any():
            first = tuple(g[int(np.argmax(bad))].tolist())
            raise ValueError(f"acceleration {first} g is outside the sensor's range")
        return counts


def _fit_seconds(instant: datetime) -> int:
    """FIT seconds (since 1989-12-31 UTC) of an aware instant; naive instants are refused."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant {instant!r} must be timezone-aware")
    return math.floor(instant.timestamp()) - FIT_EPOCH_S


def _header_messages(
    file_type: int | str, time_created_utc: datetime, serial_number: int, product: int
) -> list[dict[str, Any]]:
    """file_id + device_info, the first two messages of every Garmin file."""
    created = _fit_seconds(time_created_utc)
    return [
        {
            "mesg_num": MESG_FILE_ID,
            "type": file_type,
            "manufacturer": GARMIN,
            "product": product,
            "serial_number": serial_number,
            "time_created": created,
        },
        {
            "mesg_num": MESG_DEVICE_INFO,
            "timestamp": created,
            "device_index": 0,
            "manufacturer": GARMIN,
            "product": product,
            "serial_number": serial_number,
            "software_version": 3.6,
        },
    ]


def _write(path: Path, messages: Sequence[Mapping[str, Any]]) -> None:
    """Encode ``messages`` in order and write the file in one go."""
    encoder = Encoder()
    for mesg in messages:
        encoder.write_mesg(dict(mesg))
    path.write_bytes(encoder.close())


def _local_day_start_s(fit_s: int, local_offset_s: int) -> int:
    """FIT seconds (UTC) of the local midnight that starts the day containing ``fit_s``."""
    local = fit_s + local_offset_s
    return local - local % 86_400 - local_offset_s


def write_monitoring_file(
    path: Path,
    *,
    epochs: Sequence[MonitoringEpoch],
    local_offset_s: int,
    time_created_utc: datetime,
    serial_number: int = 3_900_000_001,
) -> None:
    """A ``monitoring_b`` file holding ``epochs`` the way a Garmin wrist device logs them.

    Each epoch becomes one ``monitoring`` message at its start (the message describes
    the epoch that starts at its timestamp and lasts until the next message) whose
    ``cycles`` is the activity type's cumulative count at the epoch's end; counters
    restart at each local midnight (by the epoch start's local date). Sedentary and
    other non-stepping epochs with no count write no ``cycles`` (as devices do). An
    epoch not followed directly by the next one (a gap, e.g. off the wrist, or the
    last epoch) also carries ``duration`` (s), so its end is recoverable.
    """
    if not epochs:
        raise ValueError("a monitoring file needs at least one epoch")
    ordered = list(epochs)
    starts = [_fit_seconds(e.start_utc) for e in ordered]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        raise ValueError("epochs must be in strictly increasing start order")
    day_start = _local_day_start_s(starts[0], local_offset_s)
    messages = _header_messages("monitoring_b", time_created_utc, serial_number, DEFAULT_PRODUCT)
    messages.append(
        {
            "mesg_num": MESG_MONITORING_INFO,
            "timestamp": day_start,
            "local_timestamp": day_start + local_offset_s,
            "activity_type": ["walking", "running"],
            "cycles_to_distance": [1.512, 1.944],
            "cycles_to_calories": [0.0438, 0.1186],
            "resting_metabolic_rate": 1800,
        }
    )
    last_ts = day_start
    current_day = day_start
    cumulative: dict[str, int] = {}
    for index, (epoch, start) in enumerate(zip(ordered, starts, strict=True)):
        next_start = starts[index + 1] if index + 1 < len(starts) else None
        if epoch.activity_type not in ACTIVITY_TYPES:
            raise ValueError(f"unknown activity type {epoch.activity_type!r}")
        if not 0 <= epoch.intensity <= 7 or epoch.steps < 0 or epoch.duration_s <= 0:
            raise ValueError(f"epoch out of range: {epoch}")
        epoch_day = _local_day_start_s(start, local_offset_s)
        if epoch_day != current_day:
            cumulative = {}
            current_day = epoch_day
        mesg: dict[str, Any] = {"mesg_num": MESG_MONITORING}
        if start - last_ts >= _MAX_TS16_GAP_S:
            mesg["timestamp"] = start
        else:
            mesg["timestamp_16"] = start & 0xFFFF
        last_ts = start
        type_num = ACTIVITY_TYPES[epoch.activity_type]
        mesg["current_activity_type_intensity"] = (epoch.intensity << 5) | type_num
        if next_start is not None and next_start < start + epoch.duration_s:
            raise ValueError(f"epoch at {epoch.start_utc} overlaps the next one")
        if next_start != start + epoch.duration_s:
            mesg["duration"] = epoch.duration_s  # followed by a gap (or last): say where it ends
        counted = epoch.activity_type in STEP_TYPES or epoch.activity_type in cumulative
        if counted or epoch.steps > 0:
            raw_increment = epoch.steps if epoch.activity_type in STEP_TYPES else 2 * epoch.steps
            total = cumulative.get(epoch.activity_type, 0) + raw_increment
            cumulative[epoch.activity_type] = total
            mesg["cycles"] = total / 2  # the profile's scale 2: the encoder stores raw = 2 x value
        messages.append(mesg)
        if epoch.heart_rate is not None:
            messages.append(
                {
                    "mesg_num": MESG_MONITORING,
                    "timestamp_16": start & 0xFFFF,
                    "heart_rate": epoch.heart_rate,
                }
            )
    _write(path, messages)


def write_sleep_file(
    path: Path,
    *,
    levels: Sequence[tuple[datetime, str]],
    end_utc: datetime,
    assessment: Mapping[str, int] | None,
    local_offset_s: int,
    time_created_utc: datetime,
    serial_number: int = 3_900_000_001,
) -> None:
    """A Garmin sleep file: stage changes, an end marker at ``end_utc``, the scores.

    ``levels`` are (start, level) with level in awake/light/deep/rem/unmeasurable.
    Garmin sleep files carry no local timestamp, so ``local_offset_s`` is accepted for
    symmetry with the other writers but not written.
    """
    del local_offset_s
    if not levels:
        raise ValueError("a sleep file needs at least one level")
    starts = [_fit_seconds(start) for start, _ in levels]
    end = _fit_seconds(end_utc)
    if starts != sorted(starts) or len(set(starts)) != len(starts) or end <= starts[-1]:
        raise ValueError("levels must be strictly increasing and end after the last level")
    messages = _header_messages(SLEEP_FILE_TYPE, time_created_utc, serial_number, DEFAULT_PRODUCT)
    for start, (_, level) in zip(starts, levels, strict=True):
        if level not in SLEEP_LEVELS:
            raise ValueError(f"unknown sleep level {level!r}")
        messages.append({"mesg_num": MESG_SLEEP_LEVEL, "timestamp": start, "sleep_level": level})
    messages.append({"mesg_num": MESG_SLEEP_LEVEL, "timestamp": end, "sleep_level": "awake"})
    if assessment:
        known = {f["name"] for f in Profile["messages"][MESG_SLEEP_ASSESSMENT]["fields"].values()}
        unknown = sorted(set(assessment) - known)
        if unknown:
            raise ValueError(f"not sleep_assessment fields: {unknown}")
        messages.append({"mesg_num": MESG_SLEEP_ASSESSMENT, **dict(assessment)})
    _write(path, messages)


def write_accelerometer_file(
    path: Path,
    *,
    start_utc: datetime,
    samples_g: Sequence[tuple[float, float, float]],
    sample_rate_hz: int,
    time_created_utc: datetime,
    calibration: AccelCalibration | None = AccelCalibration(),
    write_calibration: bool = True,
    serial_number: int = 3_900_000_001,
    pauses_ms: Mapping[int, int] | None = None,
    heart_rates: Sequence[tuple[datetime, int]] = (),
) -> None:
    """Raw accelerometer samples (in g) as ``accelerometer_data`` counts, one message per second.

    ``calibration`` converts g to counts; ``write_calibration=False`` leaves out the
    ``three_d_sensor_calibration`` message, so a reader cannot convert the counts.
    ``calibration=None`` writes ``calibrated_accel_*`` (g, float32) instead of counts.
    ``pauses_ms`` maps a sample index (a message boundary: a multiple of
    ``sample_rate_hz``) to a logging pause in ms before it: that sample and all later
    ones are written that much later, as when a device stops logging for a while.
    ``heart_rates`` are (instant, bpm) written as ``record`` messages (activity files
    carry them), each before the first accelerometer message at or after its second.
    """
    if not 1 <= sample_rate_hz <= 127:
        raise ValueError("sample_rate_hz must be 1-127 (one message per second, 255-byte fields)")
    pauses = dict(pauses_ms or {})
    if any(i % sample_rate_hz or ms < 0 for i, ms in pauses.items()):
        raise ValueError("pauses must start at a message boundary and be >= 0 ms")
    start = _fit_seconds(start_utc)
    start_ms = round((start_utc.timestamp() - math.floor(start_utc.timestamp())) * 1000)
    records = sorted((_fit_seconds(at), bpm) for at, bpm in heart_rates)
    messages = _header_messages("activity", time_created_utc, serial_number, DEFAULT_PRODUCT)
    if calibration is not None and write_calibration:
        messages.append(
            {
                "mesg_num": MESG_THREE_D_SENSOR_CALIBRATION,
                "timestamp": start,
                "sensor_type": "accelerometer",
                "calibration_factor": calibration.calibration_factor,
                "calibration_divisor": calibration.calibration_divisor,
                "level_shift": calibration.level_shift,
                "offset_cal": list(calibration.offset_cal),
                "orientation_matrix": list(calibration.orientation_matrix),
            }
        )
    per_message = sample_rate_hz
    all_counts = (
        calibration.to_counts_array(np.asarray(samples_g, dtype=np.float64)).tolist()
        if calibration is not None and len(samples_g)
        else None
    )
    paused_ms = 0
    for first in range(0, len(samples_g), per_message):
        chunk = samples_g[first : first + per_message]
        paused_ms += pauses.get(first, 0)
        offset_ms = first * 1000 // sample_rate_hz + start_ms + paused_ms
        while records and records[0][0] <= start + offset_ms // 1000:
            at, bpm = records.pop(0)
            messages.append({"mesg_num": MESG_RECORD, "timestamp": at, "heart_rate": bpm})
        mesg: dict[str, Any] = {
            "mesg_num": MESG_ACCELEROMETER_DATA,
            "timestamp": start + offset_ms // 1000,
            "timestamp_ms": offset_ms % 1000,
            "sample_time_offset": [i * 1000 // sample_rate_hz for i in range(len(chunk))],
        }
        if calibration is None:
            for axis, name in enumerate(("x", "y", "z")):
                mesg[f"calibrated_accel_{name}"] = [float(s[axis]) for s in chunk]
        else:
            counts = all_counts[first : first + per_message]  # type: ignore[index]
            for axis, name in enumerate(("x", "y", "z")):
                mesg[f"accel_{name}"] = [c[axis] for c in counts]
        messages.append(mesg)
    messages.extend(
        {"mesg_num": MESG_RECORD, "timestamp": at, "heart_rate": bpm} for at, bpm in records
    )
    _write(path, messages)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """Shorthand for an aware UTC instant (demo scripts and tests)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    """Shorthand for a duration in minutes."""
    return timedelta(minutes=n)
