"""The warehouse: migrations, privacy, atomic loads, coverage replacement, the lock."""

from __future__ import annotations

import datetime as dt
import stat
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from restless.schemas.core import CORE_MODELS, LINEAGE_COLUMNS, polars_schema
from restless.warehouse.connection import (
    WarehouseBusy,
    connect_reader,
    connect_writer,
    migrate,
    writer_lock,
)
from restless.warehouse.load import FileLoad, TableLoad, load_file

from .conftest import lock_held_elsewhere

UTC = dt.UTC


def test_new_warehouse_is_private_and_migrated(tmp_path: Path) -> None:
    db = tmp_path / "wh" / "restless.duckdb"
    con = connect_writer(db)
    schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    assert {"core", "features", "mart", "ops", "meta"} <= schemas
    versions = con.execute("SELECT version FROM meta.schema_migrations ORDER BY 1").fetchall()
    assert [v[0] for v in versions] == sorted({v[0] for v in versions}) and versions
    assert migrate(con) == []  # idempotent: nothing applied twice
    con.close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


@pytest.mark.parametrize("table", sorted(CORE_MODELS))
def test_core_ddl_matches_the_pandera_contract(tmp_path: Path, table: str) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    cols = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = ?"
        " ORDER BY column_index",
        [table],
    ).fetchall()
    assert [c[0] for c in cols] == list(CORE_MODELS[table].to_schema().columns)


def _stage_frame(rows: list[tuple[str, str, str]], file_id: str, source: str = "fitbit"):
    """rows: (start iso, end iso, stage) in UTC."""
    return pl.DataFrame(
        {
            "participant_id": ["p1"] * len(rows),
            "source": [source] * len(rows),
            "file_id": [file_id] * len(rows),
            "period_key": ["k"] * len(rows),
            "start_at": [dt.datetime.fromisoformat(r[0]).replace(tzinfo=UTC) for r in rows],
            "end_at": [dt.datetime.fromisoformat(r[1]).replace(tzinfo=UTC) for r in rows],
            "stage": [r[2] for r in rows],
        },
        schema=polars_schema("sleep_stages"),
    )


def _file_load(file_id: str, source: str, tables: list[TableLoad], **kw) -> FileLoad:
    """A FileLoad of participant p1 with test defaults (format 'test', status 'loaded')."""
    defaults = {"status": "loaded", "format": "test", "sha256": "0" * 64}
    return FileLoad(
        file_id=file_id,
        participant_id="p1",
        path=f"p1/{file_id}",
        size_bytes=1,
        source=source,
        tables=tables,
        **{**defaults, **kw},
    )


def _load(con, tmp_path: Path, file_id: str, frame: pl.DataFrame, kind: str, column, **kw):
    parquet = tmp_path / f"{file_id}.parquet"
    frame.write_parquet(parquet)
    table = kw.pop("table", "sleep_stages")
    part = TableLoad(table, parquet, frame.height, kind, column)
    return load_file(con, _file_load(file_id, frame["source"][0], [part], **kw), "run1")


def test_span_coverage_replaces_exactly_the_overlap(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    first = _stage_frame(
        [
            ("2026-01-01T22:00", "2026-01-01T23:00", "light"),
            ("2026-01-02T22:00", "2026-01-02T23:00", "deep"),
        ],
        "f1",
    )
    _load(con, tmp_path, "f1", first, "span", "start_at")
    # a re-export covering only the second night, with a corrected stage
    second = _stage_frame([("2026-01-02T22:00", "2026-01-02T23:00", "rem")], "f2")
    _load(con, tmp_path, "f2", second, "span", "start_at")
    rows = con.execute(
        "SELECT start_at::VARCHAR, stage, file_id FROM core.sleep_stages ORDER BY start_at"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [("light", "f1"), ("rem", "f2")]


def test_dates_coverage_only_touches_same_participant_and_source(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    schema = polars_schema("daily_nutrition")

    def day(source: str, mg: float, file_id: str) -> pl.DataFrame:
        return (
            pl.DataFrame(
                {
                    "participant_id": ["p1"],
                    "source": [source],
                    "file_id": [file_id],
                    "local_date": [dt.date(2026, 1, 1)],
                    "magnesium_mg": [mg],
                }
            )
            .with_columns(
                [
                    pl.lit(None).cast(t).alias(c)
                    for c, t in schema.items()
                    if c
                    not in ("participant_id", "source", "file_id", "local_date", "magnesium_mg")
                ]
            )
            .select(list(schema))
            .cast(schema)
        )

    _load(
        con,
        tmp_path,
        "a",
        day("cronometer", 100.0, "a"),
        "dates",
        "local_date",
        table="daily_nutrition",
    )
    _load(
        con,
        tmp_path,
        "b",
        day("other_app", 50.0, "b"),
        "dates",
        "local_date",
        table="daily_nutrition",
    )
    _load(
        con,
        tmp_path,
        "c",
        day("cronometer", 120.0, "c"),
        "dates",
        "local_date",
        table="daily_nutrition",
    )
    rows = con.execute(
        "SELECT source, magnesium_mg FROM core.daily_nutrition ORDER BY source"
    ).fetchall()
    assert rows == [("cronometer", 120.0), ("other_app", 50.0)]


def test_file_coverage_replaces_an_earlier_copy_of_the_same_recording(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    stages = [("2026-01-01T22:00", "2026-01-01T23:00", "light")]
    _load(
        con,
        tmp_path,
        "old",
        _stage_frame(stages, "old", "garmin_fit"),
        "file",
        None,
        identity="rec-1",
    )
    _load(
        con,
        tmp_path,
        "new",
        _stage_frame(stages, "new", "garmin_fit"),
        "file",
        None,
        identity="rec-1",
    )
    _load(
        con,
        tmp_path,
        "other",
        _stage_frame(stages, "other", "garmin_fit"),
        "file",
        None,
        identity="rec-2",
    )
    ids = [r[0] for r in con.execute("SELECT file_id FROM core.sleep_stages ORDER BY 1").fetchall()]
    assert ids == ["new", "other"]


def test_failed_load_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    good = _stage_frame([("2026-01-01T22:00", "2026-01-01T23:00", "light")], "f1")
    _load(con, tmp_path, "f1", good, "span", "start_at")
    before = con.execute("SELECT count(*) FROM core.sleep_stages").fetchone()
    # a frame whose parquet lacks a required column: the INSERT fails half-way
    broken = good.drop("stage").with_columns(pl.lit("f2").alias("file_id"))
    parquet = tmp_path / "broken.parquet"
    broken.write_parquet(parquet)
    record = _file_load("f2", "fitbit", [TableLoad("sleep_stages", parquet, 1, "span", "start_at")])
    result = load_file(con, record, "run1")
    assert result.status == "rejected" and "nothing written" in result.error
    assert con.execute("SELECT count(*) FROM core.sleep_stages").fetchone() == before
    status = con.execute("SELECT status, error FROM ops.files WHERE file_id = 'f2'").fetchone()
    assert status[0] == "rejected" and status[1]


def test_lineage_columns_lead_every_core_table() -> None:
    for model in CORE_MODELS.values():
        assert tuple(model.to_schema().columns)[:3] == LINEAGE_COLUMNS


def test_second_writer_waits_then_gives_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with lock_held_elsewhere(db):
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="another restless run"), writer_lock(db, 0.5):
            pass
        assert time.monotonic() - started >= 0.5
    with writer_lock(db, wait_s=1):  # free again once the holder is gone
        pass


def test_reader_is_read_only(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    con = connect_reader(db)
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE core.hack (x INT)")
    con.close()


def test_a_damaged_copy_never_replaces_a_complete_one(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "w.duckdb")
    stages = [("2026-01-01T22:00", "2026-01-01T23:00", "light")]
    _load(
        con,
        tmp_path,
        "good",
        _stage_frame(stages, "good", "garmin_fit"),
        "file",
        None,
        identity="rec-1",
    )
    damaged = _load(
        con,
        tmp_path,
        "bad",
        _stage_frame(stages, "bad", "garmin_fit"),
        "file",
        None,
        identity="rec-1",
        status="partial",
        error="truncated at byte 900",
    )
    assert damaged.status == "skipped" and "already loaded from p1/good" in damaged.error
    ids = [r[0] for r in con.execute("SELECT file_id FROM core.sleep_stages").fetchall()]
    assert ids == ["good"]


@pytest.mark.parametrize(
    "table", ["daily_intake", "nightly", "magnesium_response", "imi_histogram", "leg_movements"]
)
def test_feature_ddl_matches_the_pandera_contract(tmp_path: Path, table: str) -> None:
    from restless.schemas.features import FEATURE_MODELS

    con = connect_writer(tmp_path / "w.duckdb")
    cols = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns()"
            " WHERE schema_name = 'features' AND table_name = ?",
            [table],
        ).fetchall()
    )
    model_cols = FEATURE_MODELS[table].to_schema().columns
    assert set(cols) == set(model_cols)
    duck_of = {
        "Int64": "BIGINT",
        "Float64": "DOUBLE",
        "String": "VARCHAR",
        "Boolean": "BOOLEAN",
        "Date": "DATE",
    }
    for name, col in model_cols.items():
        kind = str(col.dtype.type)
        expected = "TIMESTAMP WITH TIME ZONE" if kind.startswith("Datetime") else duck_of[kind]
        assert cols[name] == expected, name


def test_a_newer_copy_without_a_table_still_replaces_that_table(tmp_path: Path) -> None:
    """'file' coverage: the recording's new copy owns every table, even ones it lacks."""
    con = connect_writer(tmp_path / "w.duckdb")
    stages = [("2026-01-01T22:00", "2026-01-01T23:00", "light")]
    _load(
        con,
        tmp_path,
        "v1",
        _stage_frame(stages, "v1", "garmin_fit"),
        "file",
        None,
        identity="rec-1",
    )
    record = _file_load(
        "v2", "garmin_fit", [TableLoad("sleep_stages", None, 0, "file", None)], identity="rec-1"
    )
    assert load_file(con, record, "run2").status == "loaded"
    assert con.execute("SELECT count(*) FROM core.sleep_stages").fetchone()[0] == 0


def test_two_formats_of_one_source_do_not_erase_each_other(tmp_path: Path) -> None:
    """Oura's sleep documents and daily_sleep documents both fill vendor_scores."""
    con = connect_writer(tmp_path / "w.duckdb")
    schema = polars_schema("vendor_scores")

    def scores(file_id: str, name: str) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "participant_id": ["p1"],
                "source": ["oura"],
                "file_id": [file_id],
                "local_date": [dt.date(2026, 1, 1)],
                "period_key": [None],
                "score_name": [name],
                "value": [80.0],
            },
            schema=schema,
        )

    for file_id, name, fmt in (
        ("s", "oura_restless_periods", "oura_sleep"),
        ("d", "oura_sleep_score", "oura_daily_sleep"),
    ):
        parquet = tmp_path / f"{file_id}.parquet"
        scores(file_id, name).write_parquet(parquet)
        part = TableLoad("vendor_scores", parquet, 1, "dates", "local_date")
        load_file(con, _file_load(file_id, "oura", [part], format=fmt), "run1")
    names = sorted(
        r[0] for r in con.execute("SELECT score_name FROM core.vendor_scores").fetchall()
    )
    assert names == ["oura_restless_periods", "oura_sleep_score"]


def test_every_actigraphic_plm_number_is_labelled_a_screening_estimate(tmp_path: Path) -> None:
    """The AASM advises against diagnosing PLMD from actigraphy: the catalog comments of
    every leg-movement column and table, and the dashboard views, say so."""
    con = connect_writer(tmp_path / "w.duckdb")
    try:
        plm_columns = [
            "lm_count",
            "lm_index",
            "plms_count",
            "plms_index",
            "periodicity_index",
            "plmw_index",
            "lm_pre_sleep_count",
        ]
        comments = dict(
            con.execute(
                "SELECT column_name, comment FROM duckdb_columns()"
                " WHERE schema_name = 'features' AND table_name = 'nightly'"
            ).fetchall()
        )
        for column in plm_columns:
            assert "screening estimate" in (comments[column] or ""), column
        tables = dict(
            con.execute(
                "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables()"
            ).fetchall()
        )
        for table in ("core.leg_movements", "features.leg_movements", "features.imi_histogram"):
            assert "screening estimates" in (tables[table] or ""), table
        views = dict(
            con.execute(
                "SELECT schema_name || '.' || view_name, comment FROM duckdb_views()"
                " WHERE schema_name = 'mart'"
            ).fetchall()
        )
        for view in ("mart.nightly", "mart.leg_movements"):
            assert "screening estimates" in (views[view] or ""), view
        mart = {r[0] for r in con.execute("DESCRIBE mart.nightly").fetchall()}
        assert set(plm_columns) <= mart and "plm_label" in mart
    finally:
        con.close()
