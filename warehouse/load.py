"""Load one validated file into ``core`` in one transaction, replacing what it covers.

A load either lands completely (its rows, its quarantined rows and its ``ops.files``
record) or not at all: on any error the transaction is rolled back and the file is
recorded as ``rejected`` with the database's message, so the warehouse stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from restless.schemas.core import CORE_MODELS

QUARANTINE_COLUMNS = ("table_name", "row_number", "column_name", "check_name", "value")


@dataclass(frozen=True)
class TableLoad:
    """Validated rows of one core table from one file, and what they replace.

    ``coverage_parquet`` holds the rows that define the covered slice (all rows the
    reader produced, before validation); ``parquet`` the rows to insert (may be None
    when the file covers a slice of this table but brings no rows for it).
    """

    table: str
    parquet: Path | None
    rows: int
    coverage_kind: str  # 'file' | 'dates' | 'span'
    coverage_column: str | None
    coverage_parquet: Path | None = None


@dataclass
class FileLoad:
    """Everything the writer needs to record one inbox file."""

    file_id: str
    participant_id: str
    path: str
    sha256: str
    size_bytes: int
    status: str  # loaded | partial | rejected | skipped
    format: str | None = None
    source: str | None = None
    replaces_formats: list[str] = field(default_factory=list)  # coverage scope; [] = own
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    identity: str | None = None
    timezone_hint: str | None = None
    tables: list[TableLoad] = field(default_factory=list)
    quarantine_parquet: Path | None = None
    rows_quarantined: int = 0
    kept_parquet: tuple[Path, Path] | None = None  # raw samples: (temporary, final) copy

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows for t in self.tables)


def _table_columns(table: str) -> list[str]:
    return list(CORE_MODELS[table].to_schema().columns)


_SAME_FORMAT = (
    "file_id IN (SELECT file_id FROM ops.files"
    " WHERE participant_id = ? AND format IN (SELECT unnest(?)))"
)
"""A file replaces rows that came from files of its own format (or format family) only: two
formats of one vendor (Oura's sleep periods and its daily scores) may fill the same table
for the same days without erasing each other."""


def _scope(load: FileLoad) -> list[str]:
    return load.replaces_formats or [load.format]


def _delete_covered(con: duckdb.DuckDBPyConnection, load: FileLoad, part: TableLoad) -> None:
    target = f"core.{part.table}"
    covering = part.coverage_parquet or part.parquet
    if covering is None and part.coverage_kind != "file":
        return
    source = f"read_parquet('{covering.as_posix()}')" if covering else ""
    if part.coverage_kind == "file":
        if load.identity is None:
            return
        con.execute(
            f"DELETE FROM {target} WHERE participant_id = ? AND file_id IN ("
            " SELECT file_id FROM ops.files"
            " WHERE participant_id = ? AND identity = ? AND file_id <> ?)",
            [load.participant_id, load.participant_id, load.identity, load.file_id],
        )
    elif part.coverage_kind == "dates":
        col = part.coverage_column
        con.execute(
            f"DELETE FROM {target} WHERE participant_id = ? AND source = ?"
            f" AND {col} IN (SELECT DISTINCT {col} FROM {source}) AND {_SAME_FORMAT}",
            [load.participant_id, load.source, load.participant_id, _scope(load)],
        )
    elif part.coverage_kind == "span":
        col = part.coverage_column
        con.execute(
            f"DELETE FROM {target} WHERE participant_id = ? AND source = ?"
            f" AND {col} BETWEEN (SELECT min({col}) FROM {source})"
            f" AND (SELECT max({col}) FROM {source}) AND {_SAME_FORMAT}",
            [load.participant_id, load.source, load.participant_id, _scope(load)],
        )
    else:
        raise ValueError(f"unknown coverage kind {part.coverage_kind!r}")


def _record_file(con: duckdb.DuckDBPyConnection, load: FileLoad, run_id: str) -> None:
    loaded = load.status in ("loaded", "partial")
    con.execute(
        "INSERT INTO ops.files (file_id, participant_id, path, format, source, sha256,"
        " size_bytes, status, error, warnings, identity, rows_loaded, rows_quarantined,"
        " first_seen_at, loaded_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(),"
        f" {'now()' if loaded else 'NULL'}, ?)",
        [
            load.file_id,
            load.participant_id,
            load.path,
            load.format,
            load.source,
            load.sha256,
            load.size_bytes,
            load.status,
            load.error,
            "; ".join(load.warnings) or None,
            load.identity,
            load.rows_loaded if loaded else 0,
            load.rows_quarantined,
            run_id,
        ],
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, load: FileLoad, run_id: str) -> None:
    if load.quarantine_parquet is None or load.rows_quarantined == 0:
        return
    cols = ", ".join(QUARANTINE_COLUMNS)
    con.execute(
        f"INSERT INTO ops.quarantine (run_id, file_id, participant_id, {cols}, quarantined_at)"
        f" SELECT ?, ?, ?, {cols}, now()"
        f" FROM read_parquet('{load.quarantine_parquet.as_posix()}')",
        [run_id, load.file_id, load.participant_id],
    )


def _complete_copy_of(con: duckdb.DuckDBPyConnection, load: FileLoad) -> str | None:
    """Path of an already loaded complete copy of the same recording, if any.

    A damaged (partial) copy must never replace a complete one; a complete copy does
    replace an earlier partial one.
    """
    if load.identity is None or load.status != "partial":
        return None
    row = con.execute(
        "SELECT path FROM ops.files WHERE participant_id = ? AND identity = ?"
        " AND status = 'loaded' AND file_id <> ? LIMIT 1",
        [load.participant_id, load.identity, load.file_id],
    ).fetchone()
    return row[0] if row else None


def load_file(con: duckdb.DuckDBPyConnection, load: FileLoad, run_id: str) -> FileLoad:
    """Load ``load`` atomically; on failure roll back and record the file as rejected."""
    complete = _complete_copy_of(con, load)
    if complete is not None:
        load.error = f"damaged copy of a recording already loaded from {complete}: {load.error}"
        load.status, load.tables, load.quarantine_parquet = "skipped", [], None
        load.rows_quarantined = 0
    con.execute("BEGIN TRANSACTION")
    try:
        if load.status in ("loaded", "partial"):
            for part in load.tables:
                _delete_covered(con, load, part)
                if part.parquet is None or part.rows == 0:
                    continue
                cols = ", ".join(_table_columns(part.table))
                con.execute(
                    f"INSERT INTO core.{part.table} ({cols}) SELECT {cols}"
                    f" FROM read_parquet('{part.parquet.as_posix()}')"
                )
        _insert_quarantine(con, load, run_id)
        _record_file(con, load, run_id)
        con.execute("COMMIT")
        return load
    except Exception as exc:  # the whole file fails: leave the warehouse as it was
        con.execute("ROLLBACK")
        failed = FileLoad(
            file_id=load.file_id,
            participant_id=load.participant_id,
            path=load.path,
            sha256=load.sha256,
            size_bytes=load.size_bytes,
            status="rejected",
            format=load.format,
            source=load.source,
            error=f"load failed, nothing written: {type(exc).__name__}: {exc}",
            warnings=load.warnings,
            identity=load.identity,
        )
        con.execute("BEGIN TRANSACTION")
        _record_file(con, failed, run_id)
        con.execute("COMMIT")
        return failed


def known_file_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Files already recorded: a re-run skips them (same participant, same bytes)."""
    return {row[0] for row in con.execute("SELECT file_id FROM ops.files").fetchall()}
