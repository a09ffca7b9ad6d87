"""Leg-movement columns of features.nightly from core.leg_movements (raw ankle acceleration).

Per participant-night with a sleep window (the main period chosen by
:mod:`restless.models.nightly`): the participant's monolateral leg movements from one hour
before sleep onset to sleep offset are merged across ankles (:func:`legs.merge_bilateral`,
inside :func:`legs.score_movements`; WASM 2016 by default), scored into CLMs and PLM series,
and summarised by :func:`legs.night_indices`; the scored movements themselves are kept as
``features.leg_movements`` (one row per movement, flagged so that its rows reproduce
``plms_count``). Sides: 'left' and 'right' are the two legs; a sensor of 'unknown' side
stands in for a missing leg (it is never merged with both).

Sleep/wake inside the window: the per-epoch scores of the sleep period's own source
(``core.sleep_epochs``) when it has them; otherwise the whole period counts as sleep (TST =
the period's length, PLMW null). Sustained-inactivity epochs from the ankle sensor itself
(method 'van_hees_sib') are deliberately never used here: a leg movement tilts the shank, so
ankle z-angle scoring would call the epochs of a PLM series wake.

When the night's sleep period is the raw ankle recording's own HDCZA window (issue #4: its
source has only 'van_hees_sib' epochs), the PLM window is that whole period, from its start
to its end (recovered from the nightly row as onset - SOL and start + time in bed), all of it
counted as sleep: PLMS index = PLMS per hour of the window, PLMW null, pre-sleep movements
counted in the hour before the window. The night's sleep metrics (TST, SOL, WASO,
efficiency, awakenings, and ``sleep_onset_at``/``sleep_offset_at``) still come from the
sustained-inactivity epochs inside the HDCZA window (:mod:`restless.models.sleep_metrics`
via :mod:`restless.models.epoch_stages`), as GGIR reports sleep from SIB inside the SPT
window; only the leg-movement columns ignore them.

Nights with leg-movement data get ``restlessness_method = 'raw_accel'`` (preferred over the
vendor and epoch proxies), ``restless_min`` = minutes of leg movements with onset in the
window, ``restless_count`` = ``lm_count``, ``movement_source`` = the leg sensors' sources.
Every number is an actigraphic screening estimate (the AASM advises against diagnosing PLMD
from actigraphy).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from restless.models import legs
from restless.models import plm_params as P
from restless.models.actigraphy_sleep import SIB_METHOD
from restless.models.legs.indices import HISTOGRAM_SCHEMA, SLEEP, UTC_US, sleep_state

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
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per night with leg-movement data (KEY, LEG_COLUMNS, restless_min,
    restless_count, movement_source), those nights' IMI histograms (both scales), and their
    scored movements (``features.leg_movements``, :func:`scored_movement_rows`)."""
    schema = {
        "participant_id": pl.String(),
        "night_date": pl.Date(),
        **LEG_COLUMNS,
        "restless_min": pl.Float64(),
        "restless_count": pl.Int64(),
        "movement_source": pl.String(),
    }
    rows, histograms, scored_nights = [], [], []
    if leg_movements.height == 0 or nights.height == 0:
        return pl.DataFrame(schema=schema), empty_histograms(), empty_movements()
    pre = timedelta(seconds=P.PRE_SLEEP_WINDOW_S)
    with_window = nights.filter(
        pl.col("sleep_onset_at").is_not_null() & pl.col("sleep_offset_at").is_not_null()
    )
    for night in with_window.iter_rows(named=True):
        onset, offset = night["sleep_onset_at"], night["sleep_offset_at"]
        epochs = sleep_epochs.filter(
            (pl.col("participant_id") == night["participant_id"])
            & (pl.col("source") == night["sleep_source"])
            & (pl.col("epoch_start_at") >= onset - timedelta(hours=1))
            & (pl.col("epoch_start_at") < offset)
        )
        own_sensor = (epochs["method"] == SIB_METHOD).any()
        epochs = epochs.filter(pl.col("method") != SIB_METHOD)
        if own_sensor and epochs.height == 0:  # the ankle's HDCZA window: all of it is sleep
            onset, offset = _period_bounds(night)
        moves = leg_movements.filter(
            (pl.col("participant_id") == night["participant_id"])
            & (pl.col("start_at") >= onset - pre)
            & (pl.col("start_at") < offset)
        )
        if moves.height == 0:
            continue
        left, right = _sides(moves.sort("start_at"))
        scored = legs.score_movements(left, right)
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
        scored_nights.append(
            scored_movement_rows(
                night, scored, left, right, onset, offset, epochs if epochs.height else None
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
    return (
        found,
        pl.concat(histograms) if histograms else empty_histograms(),
        pl.concat(scored_nights) if scored_nights else empty_movements(),
    )


def _period_bounds(night: dict) -> tuple[datetime, datetime]:
    """The sleep period's start and end from a nightly row: onset - SOL, start + time in bed
    (the row's sleep onset and offset when those columns are missing or null)."""
    sol, tib = night.get("sol_min"), night.get("time_in_bed_min")
    if sol is None or tib is None:
        return night["sleep_onset_at"], night["sleep_offset_at"]
    start = night["sleep_onset_at"] - timedelta(minutes=sol)
    return start, start + timedelta(minutes=tib)


MOVEMENT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "night_date": pl.Date(),
    "start_at": pl.Datetime("us", "UTC"),
    "end_at": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64(),
    "peak_g": pl.Float64(),
    "area_g_s": pl.Float64(),
    "sides": pl.String(),
    "n_monolateral": pl.Int64(),
    "is_clm": pl.Boolean(),
    "imi_s": pl.Float64(),
    "in_series": pl.Boolean(),
    "series_id": pl.Int64(),
    "is_periodic_imi": pl.Boolean(),
    "in_sleep_period": pl.Boolean(),
    "in_sleep": pl.Boolean(),
}
"""``features.leg_movements`` (schemas/features.py ScoredLegMovement)."""


def scored_movement_rows(
    night: dict,
    scored: pl.DataFrame,
    left: pl.DataFrame | None,
    right: pl.DataFrame | None,
    onset: datetime,
    offset: datetime,
    epochs: pl.DataFrame | None,
) -> pl.DataFrame:
    """One night's scored movements as ``features.leg_movements`` rows (MOVEMENT_SCHEMA).

    ``scored``: :func:`legs.score_movements` of ``left``/``right`` (the sensors standing in
    for each leg); ``onset``/``offset``/``epochs``: the window and per-epoch sleep/wake that
    :func:`legs.night_indices` used, so ``in_sleep_period`` & ``in_series`` & ``in_sleep``
    (null: no epochs, the whole window is sleep) select exactly the movements ``plms_count``
    counts. ``sides``: the real side of each leg's sensor, joined with '+' when bilateral.
    """
    label = {"left": None if left is None else left["side"][0]}
    label["right"] = None if right is None else right["side"][0]
    if label["left"] is not None and label["right"] is not None:
        label["bilateral"] = "+".join(sorted((label["left"], label["right"])))
    onset_us = scored["start_at"].cast(UTC_US).cast(pl.Int64).to_numpy()
    window = tuple(int(pl.Series([t]).cast(UTC_US).cast(pl.Int64)[0]) for t in (onset, offset))
    in_sleep = pl.Series("in_sleep", [None] * scored.height, dtype=pl.Boolean)
    if epochs is not None:
        state = sleep_state(onset_us, window, epochs)
        in_sleep = pl.Series("in_sleep", state == SLEEP, dtype=pl.Boolean)
    return scored.select(
        pl.lit(night["participant_id"], dtype=pl.String).alias("participant_id"),
        pl.lit(night["night_date"], dtype=pl.Date).alias("night_date"),
        "start_at",
        "end_at",
        "duration_s",
        "peak_g",
        "area_g_s",
        pl.col("side").replace_strict(label, return_dtype=pl.String).alias("sides"),
        "n_monolateral",
        "is_clm",
        "imi_s",
        "in_series",
        "series_id",
        "is_periodic_imi",
        pl.Series("in_sleep_period", (onset_us >= window[0]) & (onset_us < window[1])),
        in_sleep,
    ).cast(MOVEMENT_SCHEMA)


def empty_movements() -> pl.DataFrame:
    """An empty ``features.leg_movements`` frame."""
    return pl.DataFrame(schema=MOVEMENT_SCHEMA)


def empty_histograms() -> pl.DataFrame:
    """An empty ``features.imi_histogram`` frame."""
    return pl.DataFrame(
        schema={"participant_id": pl.String, "night_date": pl.Date, **HISTOGRAM_SCHEMA}
    )


def apply_leg_nights(
    nights: pl.DataFrame, leg_movements: pl.DataFrame, sleep_epochs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``nights`` (features.nightly columns) with the leg-movement columns filled and the
    method set to 'raw_accel' where the night has leg-movement data; the IMI histograms
    of those nights (``features.imi_histogram``); and their scored movements
    (``features.leg_movements``)."""
    found, histograms, movements = leg_night_rows(nights, leg_movements, sleep_epochs)
    if found.height == 0:
        return nights, histograms, movements
    columns = nights.columns
    new = found.rename({c: f"_leg_{c}" for c in found.columns if c not in KEY})
    has = pl.col("_leg_lm_count").is_not_null()
    replaced = [*LEG_COLUMNS, "restless_min", "restless_count", "movement_source"]
    filled = (
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
    )
    return filled, histograms, movements
