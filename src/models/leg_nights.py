"""Leg-movement columns of features.nightly from core.leg_movements (raw ankle acceleration).

Per participant-night with a sleep window (the main period chosen by
:mod:`restless.models.nightly`): the participant's monolateral leg movements from one hour
before sleep onset to sleep offset are merged across ankles (:func:`legs.merge_bilateral`,
inside :func:`legs.score_movements`; WASM 2016 by default), scored into CLMs and PLM series,
and summarised by :func:`legs.night_indices`. Sides: 'left' and 'right' are the two legs; a
sensor of 'unknown' side stands in for a missing leg (it is never merged with both).

Sleep/wake inside the window: the per-epoch scores of the sleep period's own source
(``core.sleep_epochs``) when it has them; otherwise the whole period counts as sleep (TST =
the period's length, PLMW null). Sustained-inactivity epochs from the ankle sensor itself are
deliberately not used: a leg movement tilts the shank, so ankle z-angle scoring would call the
epochs of a PLM series wake.

Nights with leg-movement data get ``restlessness_method = 'raw_accel'`` (preferred over the
vendor and epoch proxies), ``restless_min`` = minutes of leg movements with onset in the
window, ``restless_count`` = ``lm_count``, ``movement_source`` = the leg sensors' sources.
Every number is an actigraphic screening estimate (the AASM advises against diagnosing PLMD
from actigraphy).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from restless.models import legs
from restless.models import plm_params as P
from restless.models.legs.indices import HISTOGRAM_SCHEMA

RAW_ACCEL = "raw_accel"
LEG_COLUMNS: dict[str, pl.DataType] = {
    "lm_count": pl.Int64(),
    "lm_index": pl.Float64(),
    "plms_count": pl.Int64(),
    "plms_index": pl.Float64(),
    "periodicity_index": pl.Float64(),
    "plmw_index": pl.Float64(),
    "lm_pre_sleep_count": pl.Int64(),
}
KEY = ["participant_id", "night_date"]


def _sides(moves: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    by = {s: moves.filter(pl.col("side") == s) for s in ("left", "right", "unknown")}
    left = by["left"] if by["left"].height else None
    right = by["right"] if by["right"].height else None
    if by["unknown"].height:
        if left is None:
            left = by["unknown"]
        elif right is None:
            right = by["unknown"]
    return left, right


def leg_night_rows(
    nights: pl.DataFrame, leg_movements: pl.DataFrame, sleep_epochs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per night with leg-movement data (KEY, LEG_COLUMNS, restless_min,
    restless_count, movement_source), and those nights' IMI histograms (both scales)."""
    schema = {
        "participant_id": pl.String(),
        "night_date": pl.Date(),
        **LEG_COLUMNS,
        "restless_min": pl.Float64(),
        "restless_count": pl.Int64(),
        "movement_source": pl.String(),
    }
    rows, histograms = [], []
    if leg_movements.height == 0 or nights.height == 0:
        return pl.DataFrame(schema=schema), empty_histograms()
    pre = timedelta(seconds=P.PRE_SLEEP_WINDOW_S)
    with_window = nights.filter(
        pl.col("sleep_onset_at").is_not_null() & pl.col("sleep_offset_at").is_not_null()
    )
    for night in with_window.iter_rows(named=True):
        onset, offset = night["sleep_onset_at"], night["sleep_offset_at"]
        moves = leg_movements.filter(
            (pl.col("participant_id") == night["participant_id"])
            & (pl.col("start_at") >= onset - pre)
            & (pl.col("start_at") < offset)
        )
        if moves.height == 0:
            continue
        left, right = _sides(moves.sort("start_at"))
        scored = legs.score_movements(left, right)
        epochs = sleep_epochs.filter(
            (pl.col("participant_id") == night["participant_id"])
            & (pl.col("source") == night["sleep_source"])
            & (pl.col("epoch_start_at") >= onset - timedelta(hours=1))
            & (pl.col("epoch_start_at") < offset)
        )
        if epochs.height:  # one method: the most frequent in the window
            method = epochs["method"].mode().sort()[0]
            epochs = epochs.filter(pl.col("method") == method)
        idx = legs.night_indices(
            scored,
            onset,
            offset,
            epochs=epochs if epochs.height else None,
            recorded_from=None,
        ).row(0, named=True)
        histograms.append(
            legs.imi_histogram(
                scored, onset, offset, epochs=epochs if epochs.height else None
            ).select(
                pl.lit(night["participant_id"]).alias("participant_id"),
                pl.lit(night["night_date"]).alias("night_date"),
                pl.all(),
            )
        )
        in_window = scored.filter((pl.col("start_at") >= onset) & (pl.col("start_at") < offset))
        rows.append(
            {
                "participant_id": night["participant_id"],
                "night_date": night["night_date"],
                **{c: idx[c] for c in LEG_COLUMNS},
                "restless_min": float(in_window["duration_s"].sum()) / 60.0,
                "restless_count": idx["lm_count"],
                "movement_source": "+".join(sorted(moves["source"].unique().to_list())),
            }
        )
    found = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return found, pl.concat(histograms) if histograms else empty_histograms()


def empty_histograms() -> pl.DataFrame:
    """An empty ``features.imi_histogram`` frame."""
    return pl.DataFrame(
        schema={"participant_id": pl.String, "night_date": pl.Date, **HISTOGRAM_SCHEMA}
    )


def apply_leg_nights(
    nights: pl.DataFrame, leg_movements: pl.DataFrame, sleep_epochs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``nights`` (features.nightly columns) with the leg-movement columns filled and the
    method set to 'raw_accel' where the night has leg-movement data; and the IMI histograms
    of those nights (``features.imi_histogram``)."""
    found, histograms = leg_night_rows(nights, leg_movements, sleep_epochs)
    if found.height == 0:
        return nights, histograms
    columns = nights.columns
    new = found.rename({c: f"_leg_{c}" for c in found.columns if c not in KEY})
    has = pl.col("_leg_lm_count").is_not_null()
    replaced = [*LEG_COLUMNS, "restless_min", "restless_count", "movement_source"]
    return (
        nights.join(new, on=KEY, how="left")
        .with_columns(
            *[
                pl.when(has).then(pl.col(f"_leg_{c}")).otherwise(pl.col(c)).alias(c)
                for c in replaced
            ],
            pl.when(has)
            .then(pl.lit(RAW_ACCEL))
            .otherwise(pl.col("restlessness_method"))
            .alias("restlessness_method"),
        )
        .select(columns)
    ), histograms
