"""Migration 011: an existing warehouse gains score-only nights and the vendor score columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from restless.schemas.features import Nightly
from restless.warehouse.connection import connect_writer, migrate, migration_files

SCORE_ONLY = 11


def nullable_columns(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    return dict(
        con.execute(
            "SELECT column_name, is_nullable FROM duckdb_columns()"
            " WHERE schema_name = 'features' AND table_name = 'nightly'"
        ).fetchall()
    )


def test_migration_upgrades_a_warehouse_with_nights(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE SCHEMA meta; CREATE TABLE meta.schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    for version, name, sql in migration_files():
        if version < SCORE_ONLY:  # the warehouse as it was before 011
            con.execute(sql)
            con.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [version, name])
    assert {"vendor_sleep_score", "vendor_restfulness_score"}.isdisjoint(nullable_columns(con))
    con.execute(
        "INSERT INTO features.nightly (participant_id, night_date, timezone, sleep_source,"
        " sleep_period_key, time_in_bed_min, coverage)"
        " VALUES ('p1', DATE '2026-01-10', 'UTC', 'fitbit', 'k10', 480, 1.0)"
    )
    applied = migrate(con)
    assert "011_score_only_nights.sql" in applied
    con.execute(
        "INSERT INTO features.nightly (participant_id, night_date, timezone, sleep_source,"
        " coverage, vendor_sleep_score, vendor_restfulness_score)"
        " VALUES ('p1', DATE '2026-01-11', 'UTC', 'oura', 0.0, 82, 71)"
    )
    rows = con.execute(
        "SELECT night_date, sleep_period_key, time_in_bed_min, vendor_sleep_score,"
        " vendor_restfulness_score FROM features.nightly ORDER BY night_date"
    ).fetchall()
    assert rows == [
        (dt.date(2026, 1, 10), "k10", 480.0, None, None),  # the old night is kept
        (dt.date(2026, 1, 11), None, None, 82.0, 71.0),  # a score-only night fits
    ]
    con.close()


def test_nightly_not_null_matches_the_pandera_contract(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "new.duckdb")
    ddl = nullable_columns(con)
    con.close()
    model = Nightly.to_schema().columns
    assert set(ddl) == set(model)
    assert {name: ddl[name] for name in model} == {
        name: bool(col.nullable) for name, col in model.items()
    }
