"""Sleep/wake scoring of count actigraphy at load time (readers may not import models).

Which scorer fits which device (DESIGN section 5, SCIENCE.md section 4): Actiwatch counts
are scored by Oakley, the algorithm of Philips Actiware, with the export's own wake
threshold (Actiware's default, medium = 40, when the file has none); ActiGraph and Actical
counts by Cole-Kripke 1992 (1-min mean set, ActiLife count scaling for ActiGraph) and Sadeh
1994. The per-epoch results go to ``core.sleep_epochs`` beside any vendor column, one row
per epoch and method; a recording that cannot be scored (irregular epochs) keeps its
movement rows and says why in a warning.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from restless.ingest.base import Coverage, Format

OAKLEY_SOURCES = ("respironics", "actiwatch")
COUNT_SCORED_SOURCES = ("actigraph", "actical")


def _oakley_threshold(fmt: Format, path: Path) -> float | str:
    if fmt.name == "actiware_csv":
        from restless.ingest.actiware import header

        threshold = header(path).wake_threshold
        if threshold is not None:
            return threshold
    return 40.0


def scored_sleep_epochs(
    fmt: Format, path: Path, tables: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame | None, list[str]]:
    """Extra ``sleep_epochs`` rows scored from the file's movement counts, and warnings."""
    movement = tables.get("movement_epochs")
    if movement is None or movement.height == 0 or "activity_count" not in movement.columns:
        return None, []
    try:
        if fmt.source in OAKLEY_SOURCES:
            from restless.models.oakley import oakley_epochs

            scored = oakley_epochs(movement, _oakley_threshold(fmt, path))
        elif fmt.source in COUNT_SCORED_SOURCES:
            from restless.models.actigraphy_sleep import score_movement_epochs

            scored = score_movement_epochs(
                movement,
                ["cole_kripke_1min", "sadeh"],
                actilife_counts=fmt.source == "actigraph",
            )
        else:
            return None, []
    except ValueError as exc:
        return None, [f"sleep/wake scoring skipped: {exc}"]
    columns = ["epoch_start_at", "epoch_s", "activity", "is_asleep", "method"]
    return scored.select(columns), []


def scored_coverage(fmt: Format) -> Coverage:
    """Scored epochs replace what the file's movement epochs replace."""
    movement = fmt.coverage.get("movement_epochs", Coverage("span", "epoch_start_at"))
    return Coverage(movement.kind, "epoch_start_at" if movement.column else None)
