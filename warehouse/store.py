"""Reads and writes other than file loads: participants, feature tables, run records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

from restless.schemas.core import CORE_MODELS, polars_schema
from restless.warehouse.connection import fetch_frame

PARTICIPANT_COLUMNS = (
    "participant_id",
    "timezone",
    "timezone_source",
    "sex",
    "birth_year",
    "is_pregnant",
    "is_lactating",
)


@dataclass(frozen=True)
class ParticipantRow:
    participant_id: str
    timezone: str
    timezone_source: str  # config | export | default_utc
    sex: str | None = None
    birth_year: int | None = None
    is_pregnant: bool | None = None
    is_lactating: bool | None = None

    def values(self) -> tuple:
        return tuple(getattr(self, c) for c in PARTICIPANT_COLUMNS)


def stored_participants(con: duckdb.DuckDBPyConnection) -> dict[str, ParticipantRow]:
    cols = ", ".join(PARTICIPANT_COLUMNS)
    rows = con.execute(f"SELECT {cols} FROM ops.participants").fetchall()
    return {row[0]: ParticipantRow(*row) for row in rows}


def upsert_participants(con: duckdb.DuckDBPyConnection, rows: Iterable[ParticipantRow]) -> None:
    cols = ", ".join(PARTICIPANT_COLUMNS)
    marks = ", ".join("?" for _ in PARTICIPANT_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in PARTICIPANT_COLUMNS[1:])
    con.execute("BEGIN TRANSACTION")
    for row in rows:
        con.execute(
            f"INSERT INTO ops.participants ({cols}, updated_at) VALUES ({marks}, now())"
            f" ON CONFLICT (participant_id) DO UPDATE SET {updates}, updated_at = now()",
            list(row.values()),
        )
    con.execute("COMMIT")


def participants_frame(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pl.DataFrame:
    cols = ", ".join(PARTICIPANT_COLUMNS)
    return fetch_frame(
        con,
        f"SELECT {cols} FROM ops.participants WHERE participant_id IN (SELECT unnest(?))"
        " ORDER BY participant_id",
        [ids],
    )


def read_core(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, pl.DataFrame]:
    """Every canonical table's rows for these participants, in the models' dtypes."""
    frames = {}
    for table in CORE_MODELS:
        frame = fetch_frame(
            con, f"SELECT * FROM core.{table} WHERE participant_id IN (SELECT unnest(?))", [ids]
        )
        frames[table] = (
            frame.cast(polars_schema(table))
            if frame.height
            else pl.DataFrame(schema=polars_schema(table))
        )
    return frames


def replace_features(
    con: duckdb.DuckDBPyConnection, ids: list[str], frames: Mapping[str, pl.DataFrame]
) -> dict[str, int]:
    """Replace these participants' rows of every feature table in one transaction."""
    written = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, frame in frames.items():
            con.execute(
                f"DELETE FROM features.{table} WHERE participant_id IN (SELECT unnest(?))", [ids]
            )
            if frame.height:
                cols = ", ".join(frame.columns)
                con.register("incoming_features", frame)
                con.execute(
                    f"INSERT INTO features.{table} ({cols}) SELECT {cols} FROM incoming_features"
                )
                con.unregister("incoming_features")
            written[table] = frame.height
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return written


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    inbox: str,
    fit_backend: str,
    params: Mapping[str, object],
    flow_run_id: str | None,
) -> None:
    con.execute(
        "INSERT INTO ops.runs (run_id, flow_run_id, started_at, status, inbox, fit_backend,"
        " params) VALUES (?, ?, now(), 'running', ?, ?, ?)",
        [run_id, flow_run_id, inbox, fit_backend, json.dumps(params, sort_keys=True, default=str)],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: Mapping[str, int],
    message: str | None,
) -> None:
    sets = ", ".join(f"{key} = ?" for key in counts)
    con.execute(
        f"UPDATE ops.runs SET status = ?, finished_at = now(), message = ?, {sets}"
        " WHERE run_id = ?",
        [status, message, *counts.values(), run_id],
    )
