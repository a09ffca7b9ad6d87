"""Decoded FIT messages (either backend) -> canonical frames, identity and time-zone hint.

This is the only place FIT content becomes restless rows, so the two decoder
backends cannot disagree about meaning, only about bytes (and the tests check they
do not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from restless.ingest.base import RawAcceleration
from restless.ingest.fit.accel import accel_rows
from restless.ingest.fit.heart import heart_rows
from restless.ingest.fit.messages import FILE_TYPES, FitMessage
from restless.ingest.fit.monitoring import monitoring_rows
from restless.ingest.fit.sleep import sleep_rows
from restless.ingest.fit.timeline import Timed, resolve
from restless.ingest.localtime import fixed_offset_zone

FILE_ID = 0
ACTIVITY = 34
MONITORING_INFO = 103
GARMIN = 1


@dataclass
class Canonical:
    """Everything the reader returns for one file, before the outcome is decided."""

    tables: dict[str, pl.DataFrame]
    file_type: str
    identity: str | None
    timezone_hint: str | None
    warnings: list[str] = field(default_factory=list)
    raw: RawAcceleration | None = None


def to_canonical(messages: Sequence[FitMessage]) -> Canonical:
    """Canonical frames (non-empty tables only) from messages in file order.

    Accelerometer samples on a regular grid come back as ``raw`` (the flow scores them);
    their movement epochs are then not among the tables, so the flow's derived epochs are
    the only ones for those samples.
    """
    timed = resolve(messages)
    file_id = next((m.fields for m in messages if m.num == FILE_ID), None)
    offset = local_offset_s(timed)
    warnings: list[str] = []

    monitoring = monitoring_rows(timed, offset)
    heart = heart_rows(timed, monitoring.heart_rate)
    sleep = sleep_rows(timed)
    accel = accel_rows(timed, accel_device(file_id))
    for part in (monitoring, heart, sleep, accel):
        warnings.extend(part.warnings)

    movement = [f for f in (monitoring.epochs, accel.epochs) if f is not None and f.height]
    candidates = {
        "movement_epochs": pl.concat(movement).sort("epoch_start_at") if movement else None,
        "heart_rate": heart.heart_rate,
        "hrv_intervals": heart.hrv,
        "sleep_stages": sleep.stages,
        "sleep_periods": sleep.periods,
    }
    tables = {name: df for name, df in candidates.items() if df is not None and df.height}
    if file_id is None:
        warnings.append("FIT file without a file_id message: no recording identity")
    return Canonical(
        tables=tables,
        file_type=file_type_name(file_id),
        identity=recording_identity(file_id),
        timezone_hint=fixed_offset_zone(offset),
        warnings=warnings,
        raw=accel.raw,
    )


def accel_device(file_id: dict[str, Any] | None) -> str:
    """What recorded the accelerometer samples, for the raw-acceleration run notes."""
    if file_id is None:
        return "FIT accelerometer_data"
    maker = "Garmin" if file_id.get("manufacturer") == GARMIN else file_id.get("manufacturer")
    return f"FIT accelerometer_data ({maker or 'unknown maker'}, product {file_id.get('product')})"


def file_type_name(file_id: dict[str, Any] | None) -> str:
    """The ``file_id.type`` name ('activity', 'monitoring_b', 'sleep', ...)."""
    if file_id is None or not isinstance(file_id.get("type"), int):
        return "unknown-type"
    return FILE_TYPES.get(file_id["type"], f"type-{file_id['type']}")


def recording_identity(file_id: dict[str, Any] | None) -> str | None:
    """A short sha256 naming the recording (type, maker, product, serial, creation time).

    The same recording re-downloaded gets the same identity; the serial number itself
    never leaves this function.
    """
    if file_id is None:
        return None
    parts = [
        file_id.get(k) for k in ("type", "manufacturer", "product", "serial_number", "time_created")
    ]
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(f"fit:{text}".encode()).hexdigest()[:16]


def local_offset_s(timed: Sequence[Timed]) -> int | None:
    """Device local offset: ``local_timestamp - timestamp`` of monitoring_info or activity."""
    for item in timed:
        if item.message.num in (MONITORING_INFO, ACTIVITY):
            local = item.message.fields.get("local_timestamp")
            stamp = item.message.fields.get("timestamp")
            if isinstance(local, int) and isinstance(stamp, int):
                return local - stamp
    return None
