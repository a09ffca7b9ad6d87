"""Fitbit account-export JSON: the formats restless recognises, and what each replaces.

Formats are decided by the JSON's structure (the file name only tells apart per-minute
series of identical shape, such as ``steps-*.json`` and ``calories-*.json``):

* ``fitbit_sleep``: sleep logs -> sleep_periods, sleep_stages (``fitbit_sleep`` module);
* ``fitbit_heart_rate``: heart-rate samples -> heart_rate (``fitbit_series``);
* ``fitbit_steps``: per-minute steps -> movement_epochs (``fitbit_series``);
* ``fitbit_series``: any other per-minute series: recognised, skipped with its name.

Every time in these files is local and naive; ``ctx.timezone`` turns it into UTC.
"""

from __future__ import annotations

from restless.ingest.base import Coverage, Format
from restless.ingest.fitbit_series import (
    HEART_RATE,
    MOVEMENT,
    read_heart_rate,
    read_series,
    read_steps,
    sniff_heart_rate,
    sniff_series,
    sniff_steps,
)
from restless.ingest.fitbit_sleep import PERIODS, STAGES, read_sleep, sniff_sleep

SOURCE = "fitbit"

FORMATS: list[Format] = [
    Format(
        name=name,
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={table: Coverage("span", column) for table, column in spans.items()},
        uses_local_time=True,
    )
    for name, sniff, read, spans in [
        ("fitbit_sleep", sniff_sleep, read_sleep, {PERIODS: "start_at", STAGES: "start_at"}),
        ("fitbit_heart_rate", sniff_heart_rate, read_heart_rate, {HEART_RATE: "measured_at"}),
        ("fitbit_steps", sniff_steps, read_steps, {MOVEMENT: "epoch_start_at"}),
        ("fitbit_series", sniff_series, read_series, {}),
    ]
]
"""Most specific first: the registry takes the first format whose sniffer accepts a file.

Every Fitbit file is in local naive time, and a load replaces the span of instants the
file covers in each table it fills (table -> its time column).
"""
