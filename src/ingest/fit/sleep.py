"""Garmin sleep files: ``sleep_level`` -> sleep stages and one sleep period; scores.

Each ``sleep_level`` message starts a level that lasts until the next message. The
LAST message marks the end of the night and starts nothing, so a file with n level
messages gives at most n - 1 stages. ``restless.demo.fit_writer`` writes the end that
way (a final ``awake`` at the wake-up). No public Garmin sleep file was available to
confirm what devices write (SOURCES.md); if a device's last message were a genuine
stage, its end would not be knowable from ``sleep_level`` messages at all, so
dropping it is the only choice that invents nothing. Consecutive messages with the
same level merge into one stage. ``awake`` becomes the canonical ``wake``.

``sleep_assessment`` gives the vendor's scores: ``overall_sleep_score`` ->
``vendor_sleep_score``, ``sleep_restlessness_score`` -> ``vendor_restlessness_score``,
``awakenings_count`` -> ``vendor_awake_count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import polars as pl

from restless.ingest.fit.frames import fit_us, frame
from restless.ingest.fit.messages import FIT_EPOCH_S, SLEEP_LEVELS
from restless.ingest.fit.timeline import Timed

SLEEP_LEVEL = 275
SLEEP_ASSESSMENT = 346
LOG_TYPE = "garmin_sleep"
_STAGE = {
    "awake": "wake",
    "light": "light",
    "deep": "deep",
    "rem": "rem",
    "unmeasurable": "unmeasurable",
}


@dataclass
class SleepRows:
    """What the sleep messages of one file give."""

    stages: pl.DataFrame | None = None
    periods: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def sleep_rows(timed: Sequence[Timed]) -> SleepRows:
    """Stages and the period of a Garmin sleep file (nothing if it has no levels)."""
    out = SleepRows()
    levels = [
        (item.at, item.message.fields["sleep_level"])
        for item in timed
        if item.message.num == SLEEP_LEVEL
        and item.at is not None
        and isinstance(item.message.fields.get("sleep_level"), int)
    ]
    assessments = [item.message.fields for item in timed if item.message.num == SLEEP_ASSESSMENT]
    levels.sort(key=lambda lv: lv[0])
    if len(levels) < 2:
        if levels or assessments:
            out.warnings.append(
                "sleep file without a start and an end level: no sleep period or scores loaded"
            )
        return out
    stages: list[tuple[int, int, str]] = []
    for (start, level), (end, _) in pairwise(levels):
        stage = _STAGE.get(SLEEP_LEVELS.get(level, ""))
        if stage is None:
            out.warnings.append(f"unknown sleep level {level} at FIT time {start}: skipped")
            continue
        if end <= start:
            continue
        if stages and stages[-1][2] == stage and stages[-1][1] == start:
            stages[-1] = (stages[-1][0], end, stage)
        else:
            stages.append((start, end, stage))
    begin, finish = levels[0][0], levels[-1][0]
    key = datetime.fromtimestamp(begin + FIT_EPOCH_S, UTC).isoformat()
    out.stages = frame(
        "sleep_stages",
        {
            "period_key": [key] * len(stages),
            "start_at": [fit_us(s) for s, _, _ in stages],
            "end_at": [fit_us(e) for _, e, _ in stages],
            "stage": [stage for _, _, stage in stages],
        },
    )
    scores = assessments[-1] if assessments else {}
    out.periods = frame(
        "sleep_periods",
        {
            "period_key": [key],
            "start_at": [fit_us(begin)],
            "end_at": [fit_us(finish)],
            "log_type": [LOG_TYPE],
            "vendor_awake_count": [scores.get("awakenings_count")],
            "vendor_sleep_score": [scores.get("overall_sleep_score")],
            "vendor_restlessness_score": [scores.get("sleep_restlessness_score")],
        },
    )
    return out
