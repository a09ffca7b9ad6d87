"""Garmin ``monitoring`` messages -> per-epoch movement and heart-rate rows.

What the device logs (FIT profile, message 55, and the real vivofit
``MonitoringFile.fit``): a message is written when the wearer's state changes, with
the packed activity type and 0-7 intensity and, for the current activity type, a
``cycles`` counter that is cumulative since the local day start (the counter of every
type restarts at local midnight). The profile stores ``cycles`` with scale 2; its
sub-fields say what a cycle is per type: ``steps`` (scale 1: raw = steps) for walking
and running, ``strokes`` (scale 2: raw / 2) for cycling and swimming, and cycles
(raw / 2) for every other type. The real file confirms raw = steps for walking:
``monitoring_info.cycles_to_distance`` is 1.512 m per cycle = 0.756 m per step, and
its two daily-summary messages (``duration_min = 1440``: walking raw 3142, running 31)
equal the sum of the differenced intraday walking and running counts.

Rules here:

* one epoch per intraday message: it starts at the message time and lasts until the
  next intraday message, capped at :data:`MAX_EPOCH_S` (longer silences mean the
  device stopped logging, e.g. off the wrist, not an unchanged state; the longest
  silence in the real file is 32 min). A message's own ``duration`` (s) wins when
  present (never running into the next epoch). Without it, the last epoch lasts the
  file's logging interval (its most frequent gap between messages, else 60 s; the
  real file logs whole minutes but has a 1-s gap at an event marker). Messages
  at the same instant merge into one epoch (last type/intensity/duration, summed
  counts);
* counts are differenced per activity type: the first value of a local day counts
  from 0, a value lower than the previous one (a device reset) counts from 0, so a
  count is never negative. Local days come from ``monitoring_info``'s offset; without
  it only resets by decrease are seen;
* ``activity_count`` is the epoch's count in the type's unit (steps, strokes or
  cycles); ``steps`` is that count for walking/running and 0 for other types (a
  Garmin step total is the walking plus running counters);
* daily-summary messages (``duration``/``duration_min`` and no ``intensity``: the real
  file's hold a full timestamp at local midnight, ``duration_min = 1440`` and the
  previous day's totals) are not epochs and do not feed the counters; they are
  checked against the differenced sums of that day instead;
* messages holding only ``heart_rate`` are heart-rate samples, not epochs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import polars as pl

from restless.ingest.fit.frames import fit_us, frame
from restless.ingest.fit.messages import ACTIVITY_TYPES, FIT_EPOCH_S
from restless.ingest.fit.timeline import Timed

MONITORING = 55
MAX_EPOCH_S = 3600
DEFAULT_EPOCH_S = 60
STEP_TYPES = frozenset({1, 6})  # running, walking: `cycles` sub-field `steps`, raw = steps
_DAY_S = 86_400


@dataclass
class MonitoringRows:
    """What the monitoring messages of one file give."""

    epochs: pl.DataFrame | None = None
    heart_rate: list[tuple[int, int]] = field(default_factory=list)  # (fit seconds, bpm)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Epoch:
    at: int
    activity_type: int | None
    intensity: float | None
    count: float | None  # in the activity type's unit
    duration_s: int | None = None  # the message's own duration, when it says


def monitoring_rows(timed: Sequence[Timed], local_offset_s: int | None) -> MonitoringRows:
    """Movement epochs and heart-rate samples from a file's monitoring messages."""
    out = MonitoringRows()
    epochs: list[_Epoch] = []
    counters: dict[int, tuple[int | None, float]] = {}  # type -> (local day, last value)
    summaries: dict[tuple[int | None, int], float] = {}
    for item in timed:
        msg = item.message
        if msg.num != MONITORING or item.at is None:
            continue
        fields = msg.fields
        bpm = fields.get("heart_rate")
        if isinstance(bpm, int | float) and bpm > 0:
            out.heart_rate.append((item.at, int(bpm)))
        kind = fields.get("activity_type")
        cycles = fields.get("cycles")
        if ("duration" in fields or "duration_min" in fields) and "intensity" not in fields:
            if isinstance(kind, int) and isinstance(cycles, int | float):
                summaries[(_day(item.at - 1, local_offset_s), kind)] = cycles
            continue
        if kind is None and cycles is None and "intensity" not in fields:
            continue
        count: float | None = None
        if isinstance(cycles, int | float):
            if isinstance(kind, int):
                count = _difference(counters, kind, cycles, _day(item.at, local_offset_s))
                count *= 2 if kind in STEP_TYPES else 1
            else:
                out.warnings.append(
                    f"monitoring cycles without activity type at FIT time {item.at}"
                )
        elif isinstance(kind, int) and kind not in STEP_TYPES:
            count = 0.0
        intensity = fields.get("intensity")
        duration = fields.get("duration")
        epochs.append(
            _Epoch(
                item.at,
                kind if isinstance(kind, int) else None,
                _float(intensity),
                count,
                duration if isinstance(duration, int) and duration > 0 else None,
            )
        )
    if epochs:
        out.epochs = _epoch_frame(_merge_same_instant(epochs))
        out.warnings.extend(_check_summaries(out.epochs, summaries, local_offset_s))
    return out


def _day(fit_s: int, local_offset_s: int | None) -> int | None:
    return None if local_offset_s is None else (fit_s + local_offset_s) // _DAY_S


def _difference(
    counters: dict[int, tuple[int | None, float]], kind: int, value: float, day: int | None
) -> float:
    """The increase of a cumulative counter since its last value (never negative)."""
    previous = counters.get(kind)
    counters[kind] = (day, value)
    if previous is None or previous[0] != day or value < previous[1]:
        return value
    return value - previous[1]


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _merge_same_instant(epochs: list[_Epoch]) -> list[_Epoch]:
    merged: dict[int, _Epoch] = {}
    for epoch in epochs:
        seen = merged.get(epoch.at)
        if seen is None:
            merged[epoch.at] = epoch
            continue
        counts = [c for c in (seen.count, epoch.count) if c is not None]
        merged[epoch.at] = _Epoch(
            epoch.at,
            epoch.activity_type,
            epoch.intensity,
            sum(counts) if counts else None,
            epoch.duration_s,
        )
    return sorted(merged.values(), key=lambda e: e.at)


def _logging_interval(gaps: list[int]) -> int:
    """The file's most frequent gap between messages (the shorter on a tie), else 60 s."""
    counts = Counter(g for g in gaps if g > 0)
    if not counts:
        return DEFAULT_EPOCH_S
    return min(counts, key=lambda g: (-counts[g], g))


def _epoch_frame(epochs: list[_Epoch]) -> pl.DataFrame:
    starts = [e.at for e in epochs]
    gaps = [b - a for a, b in pairwise(starts)]
    interval = _logging_interval(gaps)
    lengths = [min(g, MAX_EPOCH_S) for g in gaps] + [min(interval, MAX_EPOCH_S)]
    for i, e in enumerate(epochs):
        if e.duration_s is not None:
            lengths[i] = min(e.duration_s, gaps[i]) if i < len(gaps) else e.duration_s
    steps: list[int | None] = []
    for e in epochs:
        if e.activity_type in STEP_TYPES:
            steps.append(None if e.count is None else round(e.count))
        else:
            steps.append(0 if e.count is not None else None)
    return frame(
        "movement_epochs",
        {
            "epoch_start_at": [fit_us(s) for s in starts],
            "epoch_s": [float(x) for x in lengths],
            "steps": steps,
            "activity_count": [e.count for e in epochs],
            "intensity": [e.intensity for e in epochs],
            "activity_type": [
                None
                if e.activity_type is None
                else ACTIVITY_TYPES.get(e.activity_type, str(e.activity_type))
                for e in epochs
            ],
        },
    )


def _check_summaries(
    epochs: pl.DataFrame, summaries: dict[tuple[int | None, int], float], local_offset_s: int | None
) -> list[str]:
    """Compare the device's daily totals with the differenced counts of the same day."""
    if not summaries or local_offset_s is None:
        return []
    sums: dict[tuple[int | None, str], float] = defaultdict(float)
    for start, kind, count in epochs.select(
        pl.col("epoch_start_at").dt.epoch("s"), "activity_type", "activity_count"
    ).iter_rows():
        if kind is not None and count is not None:
            sums[(_day(start - FIT_EPOCH_S, local_offset_s), kind)] += count
    warnings = []
    for (day, kind), cycles in sorted(summaries.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        expected = cycles * (2 if kind in STEP_TYPES else 1)
        got = sums.get((day, ACTIVITY_TYPES.get(kind, str(kind))), 0.0)
        if abs(got - expected) > 1e-6:
            warnings.append(
                f"monitoring daily summary for {ACTIVITY_TYPES.get(kind, kind)} says "
                f"{expected:g}, the epochs of that day add up to {got:g}"
            )
    return warnings
