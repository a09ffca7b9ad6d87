"""Garmin FIT files: one reader, two decoder backends (garmin-fit-sdk, fitparse).

``read`` picks the backend from ``ReadContext.fit_backend`` ("sdk", the default, or
"fitparse"). Each backend only decodes bytes into :class:`~.messages.FitMessage`
objects; :mod:`.framing` decides which bytes are trustworthy and :mod:`.canonical`
turns messages into rows, both shared, so the backends give identical results.
``accelerometer_data`` comes back as ``ReadResult.raw`` (:mod:`.accel`): the flow scores
leg movements, movement epochs and sleep/wake from the samples.
"""

from __future__ import annotations

from restless.ingest.base import Coverage, Format
from restless.ingest.fit.adapter import BACKENDS, read, sniff

TABLES = ("movement_epochs", "heart_rate", "hrv_intervals", "sleep_stages", "sleep_periods")

FORMATS: list[Format] = [
    Format(
        name="garmin_fit",
        source="garmin_fit",
        sniff=sniff,
        read=read,
        coverage={table: Coverage("file") for table in TABLES},
    )
]

__all__ = ["BACKENDS", "FORMATS", "TABLES", "read", "sniff"]
