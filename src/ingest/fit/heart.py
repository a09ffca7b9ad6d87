"""Heart rate (``record``, ``hr``, ``monitoring``) and beat-to-beat intervals (``hrv``).

``hr`` messages (buffered strap data, e.g. while swimming) hold beat-event times in
1/1024 s relative to an anchor message that carries both a ``timestamp`` (plus
``fractional_timestamp``) and one ``event_timestamp``: a sample is at
``anchor + (event_timestamp - anchor_event_timestamp)``, with the 32-bit/1024 s
rollover (0x400000 s) undone, exactly as garmin-fit-sdk's ``expand_heart_rates``
does. Unlike that function we do not add its 250 ms carry-forward rows that fill
gaps up to 5 s: they are not measurements. The canonical rows are therefore a subset
of ``expand_heart_rates``' output (checked in the tests).

Rows are unique by instant: a ``record`` sample wins over an ``hr`` sample at the same
microsecond, which wins over a ``monitoring`` one. A ``heart_rate`` of 0 means "no
reading" in FIT files and is dropped.

``hrv.time`` (seconds, up to five per message) becomes ``rr_ms``; invalid entries
(0xFFFF) are already absent; ``beat_index`` counts kept intervals in file order and
``measured_at`` is the last timestamp seen before the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from restless.ingest.fit.frames import fit_us, frame
from restless.ingest.fit.timeline import Timed

RECORD = 20
HRV = 78
HR = 132
ROLLOVER_S = 0x400000  # 2**32 / 1024 s: event_timestamp wraps here


@dataclass
class HeartRows:
    """Heart-rate samples and RR intervals of one file."""

    heart_rate: pl.DataFrame | None = None
    hrv: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def hr_samples(timed: Sequence[Timed]) -> tuple[list[tuple[float, int]], list[str]]:
    """(FIT seconds, bpm) for every beat event in ``hr`` messages, in file order."""
    samples: list[tuple[float, int]] = []
    warnings: list[str] = []
    anchor: float | None = None
    anchor_event = 0.0
    for item in timed:
        msg = item.message
        if msg.num != HR:
            continue
        events = _as_tuple(msg.fields.get("event_timestamp"))
        bpms = _as_tuple(msg.fields.get("filtered_bpm"))
        stamp = msg.fields.get("timestamp")
        if isinstance(stamp, int):
            if len(events) != 1:
                warnings.append(f"hr anchor at FIT time {stamp} without one event_timestamp")
                anchor = None
                continue
            anchor = stamp + float(msg.fields.get("fractional_timestamp", 0.0))
            anchor_event = events[0]
        if anchor is None:
            warnings.append("hr message before any anchor: skipped")
            continue
        if len(events) != len(bpms):
            warnings.append("hr message with mismatched event times and bpm: skipped")
            continue
        for event, bpm in zip(events, bpms, strict=True):
            if event is None or bpm is None:
                continue
            if event < anchor_event:
                if anchor_event - event <= ROLLOVER_S:
                    warnings.append("hr event time before its anchor: skipped")
                    continue
                event += ROLLOVER_S
            samples.append((anchor + (event - anchor_event), int(bpm)))
    return samples, warnings


def heart_rows(timed: Sequence[Timed], monitoring_hr: Sequence[tuple[int, int]]) -> HeartRows:
    """Heart-rate and HRV frames of one file (None where the file has none)."""
    out = HeartRows()
    records = [
        (float(item.at), int(item.message.fields["heart_rate"]))
        for item in timed
        if item.message.num == RECORD
        and item.at is not None
        and isinstance(item.message.fields.get("heart_rate"), int | float)
    ]
    from_hr, warnings = hr_samples(timed)
    out.warnings.extend(warnings)
    rows = records + from_hr + [(float(t), b) for t, b in monitoring_hr]
    zero = sum(1 for _, b in rows if b <= 0)
    if zero:
        out.warnings.append(f"{zero} heart-rate values of 0 (no reading) dropped")
    if rows:
        hr = frame(
            "heart_rate",
            {
                "measured_at": [fit_us(t) for t, b in rows if b > 0],
                "bpm": [b for _, b in rows if b > 0],
            },
        )
        hr = hr.unique(subset="measured_at", keep="first", maintain_order=True)
        out.heart_rate = hr.sort("measured_at") if hr.height else None
    beats: list[tuple[int | None, float]] = []
    for item in timed:
        if item.message.num != HRV:
            continue
        for seconds in _as_tuple(item.message.fields.get("time")):
            if seconds is not None:
                beats.append((item.last_seen, round(seconds * 1000.0, 3)))
    if beats:
        out.hrv = frame(
            "hrv_intervals",
            {
                "beat_index": list(range(len(beats))),
                "measured_at": [None if t is None else fit_us(t) for t, _ in beats],
                "rr_ms": [rr for _, rr in beats],
            },
        )
    return out
