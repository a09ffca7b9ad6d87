"""Entry point of the feature models: canonical core frames in, validated feature frames out.

The flow calls :func:`compute_features` with the canonical tables it loaded (any of them may
be empty or missing) and the participants' configuration, and stores
:func:`restless.models.params.as_dict` with the run. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from restless.models import params
from restless.models.epoch_stages import epochs_as_stages
from restless.models.intake import daily_intake, magnesium_events, with_local_times
from restless.models.leg_nights import apply_leg_nights
from restless.models.nightly import nightly
from restless.models.nights import participant_zones
from restless.models.response import KEY as RESPONSE_KEY
from restless.models.response import magnesium_response
from restless.schemas.core import polars_schema
from restless.schemas.features import (
    DailyIntake,
    ImiHistogram,
    MagnesiumResponse,
    Nightly,
    ScoredLegMovement,
)

PARTICIPANT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "timezone": pl.String(),
    "sex": pl.String(),
    "birth_year": pl.Int64(),
    "is_pregnant": pl.Boolean(),
    "is_lactating": pl.Boolean(),
}


def _conform(frame: pl.DataFrame | None, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The frame with exactly ``schema``'s columns and dtypes (missing ones null).

    Naive datetimes are taken as UTC (the canonical convention); zoned ones are converted.
    """
    if frame is None:
        return pl.DataFrame(schema=dict(schema))
    columns = []
    for name, dtype in schema.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        col = pl.col(name)
        current = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and isinstance(current, pl.Datetime):
            col = (
                col.dt.replace_time_zone(dtype.time_zone)
                if current.time_zone is None
                else col.dt.convert_time_zone(dtype.time_zone or "UTC")
            )
        columns.append(col.cast(dtype).alias(name))
    return frame.select(columns)


def canonical(core: Mapping[str, pl.DataFrame], table: str) -> pl.DataFrame:
    """Canonical table ``table`` from ``core`` in its schema's shape (empty when missing)."""
    return _conform(core.get(table), polars_schema(table))


def _stages_and_scored_epochs(core: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Vendor stages, plus per-epoch sleep/wake scores of sources that have no stages."""
    stages = canonical(core, "sleep_stages")
    epochs = canonical(core, "sleep_epochs")
    staged_sources = stages.select("participant_id", "source").unique()
    unstaged = epochs.join(staged_sources, on=["participant_id", "source"], how="anti")
    return pl.concat([stages, epochs_as_stages(unstaged)])


def compute_features(
    core: Mapping[str, pl.DataFrame], participants: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """features.daily_intake, features.nightly, features.magnesium_response and the nightly
    leg-movement tables (features.imi_histogram, features.leg_movements: actigraphic
    screening estimates), validated and sorted by their keys (the response is computed from
    the validated nightly frame).

    ``core``: canonical tables keyed by name (schemas/core.py), with lineage columns.
    ``participants``: participant_id, timezone (IANA), sex ('female'|'male'|None),
    birth_year, is_pregnant, is_lactating. Raises pandera's SchemaErrors when a feature row
    breaks its contract (a bug, never bad input: inputs were validated on load).
    """
    people = _conform(participants, PARTICIPANT_SCHEMA)
    zones = participant_zones(people)
    items = with_local_times(canonical(core, "intake_items"), zones, "consumed_at")
    doses = with_local_times(canonical(core, "supplement_doses"), zones, "taken_at")
    daily = daily_intake(items, canonical(core, "daily_nutrition"), doses, people, zones)
    nights = nightly(
        canonical(core, "sleep_periods"),
        _stages_and_scored_epochs(core),
        canonical(core, "movement_epochs"),
        daily,
        magnesium_events(items, doses),
        zones,
        vendor_scores=canonical(core, "vendor_scores"),
    )
    nights, histograms, leg_movements = apply_leg_nights(
        nights, canonical(core, "leg_movements"), canonical(core, "sleep_epochs")
    )
    nightly_valid = Nightly.validate(nights, lazy=True).sort(["participant_id", "night_date"])
    response = magnesium_response(
        nightly_valid,
        min_nights_per_group=params.RESPONSE_MIN_NIGHTS_PER_GROUP,
        min_nights_correlation=params.RESPONSE_MIN_NIGHTS_CORRELATION,
    )
    return {
        "daily_intake": DailyIntake.validate(daily, lazy=True).sort(
            ["participant_id", "local_date"]
        ),
        "nightly": nightly_valid,
        "magnesium_response": MagnesiumResponse.validate(response, lazy=True).sort(
            RESPONSE_KEY, nulls_last=True
        ),
        "imi_histogram": ImiHistogram.validate(histograms, lazy=True).sort(
            ["participant_id", "night_date", "scale", "bin_lo_s"]
        ),
        "leg_movements": ScoredLegMovement.validate(leg_movements, lazy=True).sort(
            ["participant_id", "night_date", "start_at"]
        ),
    }
