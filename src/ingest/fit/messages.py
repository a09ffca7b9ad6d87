"""The intermediate form both FIT decoder backends produce, and the profile slice it uses.

A backend turns bytes into a list of :class:`FitMessage` in file order. Each message
carries its global number and, for the fields restless uses, values in FIT *profile
units* (scale and offset applied), with these conventions so that two decoders agree
value for value:

* field names are the profile's main field names (never sub-field names such as
  ``steps`` or ``accel_cal_factor``, which depend on a decoder's sub-field support);
* enums are their raw integers, ``date_time``/``local_date_time`` are integer FIT
  seconds (since 1989-12-31T00:00:00Z), arrays are tuples with ``None`` for invalid
  elements, and a field whose value is invalid is absent;
* components are expanded (``current_activity_type_intensity`` ->
  ``activity_type``/``intensity``; ``hr.event_timestamp_12`` -> accumulated
  ``event_timestamp`` seconds), as the profile describes;
* every message keeps its ``timestamp`` (field 253) even when restless does not use
  the message, because ``timestamp_16`` and ``hrv`` rows are timed by the last
  timestamp seen before them.

``PROFILE`` lists the messages and fields restless reads (FIT profile 21.x numbers,
scales and offsets). fitparse 1.2's profile predates ``sleep_level`` (275) and
``sleep_assessment`` (346), so its backend decodes every field by number against this
table; ``tests/test_fit_reader.py`` checks the table against ``garmin_fit_sdk.Profile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIT_EPOCH_S = 631_065_600  # Unix seconds of the FIT epoch, 1989-12-31T00:00:00Z
TIMESTAMP_FIELD = 253


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One profile field: its name, and raw -> profile units as ``raw / scale - offset``."""

    name: str
    scale: float = 1
    offset: float = 0


@dataclass(frozen=True, slots=True)
class FitMessage:
    """One decoded data message: global message number and fields in profile units."""

    num: int
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        """The profile name, or ``mesg_<num>`` for a message restless does not read."""
        spec = PROFILE.get(self.num)
        return spec[0] if spec else f"mesg_{self.num}"

    def get(self, field: str, default: Any = None) -> Any:
        """A field's value, or ``default`` when the message does not carry it."""
        return self.fields.get(field, default)


def _fields(*specs: tuple[int, FieldSpec]) -> dict[int, FieldSpec]:
    return {TIMESTAMP_FIELD: FieldSpec("timestamp"), **dict(specs)}


# mesg_num -> (message name, {field number: FieldSpec}); FIT profile 21.x.
PROFILE: dict[int, tuple[str, dict[int, FieldSpec]]] = {
    0: (
        "file_id",
        {
            0: FieldSpec("type"),
            1: FieldSpec("manufacturer"),
            2: FieldSpec("product"),
            3: FieldSpec("serial_number"),
            4: FieldSpec("time_created"),
        },
    ),
    20: ("record", _fields((3, FieldSpec("heart_rate")))),
    34: ("activity", _fields((5, FieldSpec("local_timestamp")))),
    55: (
        "monitoring",
        _fields(
            (3, FieldSpec("cycles", scale=2)),
            (5, FieldSpec("activity_type")),
            (26, FieldSpec("timestamp_16")),
            (27, FieldSpec("heart_rate")),
            (28, FieldSpec("intensity", scale=10)),
            (29, FieldSpec("duration_min")),
            (30, FieldSpec("duration")),
        ),
    ),
    78: ("hrv", {0: FieldSpec("time", scale=1000)}),
    103: ("monitoring_info", _fields((0, FieldSpec("local_timestamp")))),
    132: (
        "hr",
        _fields(
            (0, FieldSpec("fractional_timestamp", scale=32768)),
            (6, FieldSpec("filtered_bpm")),
            (9, FieldSpec("event_timestamp", scale=1024)),
        ),
    ),
    165: (
        "accelerometer_data",
        _fields(
            (0, FieldSpec("timestamp_ms")),
            (1, FieldSpec("sample_time_offset")),
            (2, FieldSpec("accel_x")),
            (3, FieldSpec("accel_y")),
            (4, FieldSpec("accel_z")),
            (5, FieldSpec("calibrated_accel_x")),
            (6, FieldSpec("calibrated_accel_y")),
            (7, FieldSpec("calibrated_accel_z")),
            (8, FieldSpec("compressed_calibrated_accel_x")),
            (9, FieldSpec("compressed_calibrated_accel_y")),
            (10, FieldSpec("compressed_calibrated_accel_z")),
        ),
    ),
    167: (
        "three_d_sensor_calibration",
        _fields(
            (0, FieldSpec("sensor_type")),
            (1, FieldSpec("calibration_factor")),
            (2, FieldSpec("calibration_divisor")),
            (3, FieldSpec("level_shift")),
            (4, FieldSpec("offset_cal")),
            (5, FieldSpec("orientation_matrix", scale=65535)),
        ),
    ),
    275: ("sleep_level", _fields((0, FieldSpec("sleep_level")))),
    346: (
        "sleep_assessment",
        {
            0: FieldSpec("combined_awake_score"),
            1: FieldSpec("awake_time_score"),
            2: FieldSpec("awakenings_count_score"),
            3: FieldSpec("deep_sleep_score"),
            4: FieldSpec("sleep_duration_score"),
            5: FieldSpec("light_sleep_score"),
            6: FieldSpec("overall_sleep_score"),
            7: FieldSpec("sleep_quality_score"),
            8: FieldSpec("sleep_recovery_score"),
            9: FieldSpec("rem_sleep_score"),
            10: FieldSpec("sleep_restlessness_score"),
            11: FieldSpec("awakenings_count"),
            14: FieldSpec("interruptions_score"),
            15: FieldSpec("average_stress_during_sleep", scale=100),
        },
    ),
}

# Only these messages' fields are kept; every other message keeps its timestamp alone.
FIELD_NAMES: dict[int, dict[str, int]] = {
    num: {spec.name: field_num for field_num, spec in fields.items()}
    for num, (_, fields) in PROFILE.items()
}

# FIT enum values restless reads (profile types ``file``, ``activity_type``, ``sleep_level``).
FILE_TYPES: dict[int, str] = {
    1: "device",
    2: "settings",
    3: "sport",
    4: "activity",
    5: "workout",
    6: "course",
    7: "schedules",
    9: "weight",
    10: "totals",
    11: "goals",
    14: "blood_pressure",
    15: "monitoring_a",
    20: "activity_summary",
    28: "monitoring_daily",
    32: "monitoring_b",
    34: "segment",
    35: "segment_list",
    40: "exd_configuration",
    49: "sleep",  # Garmin's sleep file type, not in the public profile
}
ACTIVITY_TYPES: dict[int, str] = {
    0: "generic",
    1: "running",
    2: "cycling",
    3: "transition",
    4: "fitness_equipment",
    5: "swimming",
    6: "walking",
    8: "sedentary",
    13: "wheelchair_pushing",
    254: "all",
}
SLEEP_LEVELS: dict[int, str] = {0: "unmeasurable", 1: "awake", 2: "light", 3: "deep", 4: "rem"}


def scale_value(raw: Any, spec: FieldSpec) -> Any:
    """Raw -> profile units for one value or a tuple (``None`` elements stay ``None``)."""
    if spec.scale == 1 and spec.offset == 0:
        return raw
    if isinstance(raw, tuple):
        return tuple(None if v is None else v / spec.scale - spec.offset for v in raw)
    return raw / spec.scale - spec.offset


def normalise(value: Any) -> Any:
    """Lists -> tuples, one-element arrays -> scalars, all-invalid arrays -> ``None``."""
    if isinstance(value, list | tuple):
        if all(v is None for v in value):
            return None
        if len(value) == 1:
            return value[0]
        return tuple(value)
    return value
