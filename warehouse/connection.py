"""Connections to the warehouse file: private on creation, migrated, one writer at a time.

DuckDB allows one read-write process per file; a second one fails with a low-level lock
error, and a read-only reader cannot open the file while a writer holds it. restless
adds its own advisory lock (``<file>.lock``) so a second nightly run waits for the first
and then says clearly why it gave up, instead of failing half-way.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

PRIVATE_MODE = 0o600


class WarehouseBusy(RuntimeError):
    """Another process is writing the warehouse."""


class WarehouseMissing(FileNotFoundError):
    """A read-only command was pointed at a warehouse file that does not exist."""


@contextmanager
def writer_lock(db_path: Path, wait_s: float = 30.0) -> Iterator[None]:
    """Hold the single-writer lock for ``db_path``, waiting up to ``wait_s`` seconds."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    raise WarehouseBusy(
                        f"another restless run is writing {db_path} ({holder or 'unknown'}); "
                        f"waited {wait_s:.0f} s. Try again when it has finished."
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}".encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _make_private(db_path: Path) -> None:
    for candidate in (db_path, db_path.with_name(db_path.name + ".wal")):
        if candidate.exists():
            os.chmod(candidate, PRIVATE_MODE)


def connect_writer(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating with mode 0600 if needed) and migrate the warehouse for writing.

    Call it only while holding :func:`writer_lock`.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(db_path))
    finally:
        os.umask(old_umask)
    _make_private(db_path)
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    return con


def connect_reader(db_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection for queries and dashboards; never creates the file."""
    if not db_path.exists():
        raise WarehouseMissing(f"no warehouse at {db_path}: run `restless run` or `restless demo`")
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"{db_path} is being written by a running restless job; "
                "read-only queries can open it when that run has finished"
            ) from exc
        raise
    con.execute("SET TimeZone = 'UTC'")
    return con


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every numbered migration, in order."""
    folder = resources.files("restless.warehouse").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def view_files() -> list[tuple[str, str]]:
    """(name, sql) of every dashboard view definition, applied after the migrations."""
    folder = resources.files("restless.warehouse").joinpath("views")
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in ``meta.schema_migrations``; refresh views."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    for _name, sql in view_files():
        con.execute(sql)
    return applied


def fetch_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pl.DataFrame:
    """Run a query and return the whole result as a polars frame (fetched fully)."""
    relation = con.sql(sql, params=params)
    return relation.pl() if relation is not None else pl.DataFrame()
