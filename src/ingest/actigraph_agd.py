"""ActiGraph ActiLife ``.agd`` files (``actigraph_agd``) -> movement_epochs, sleep_periods.

An ``.agd`` is an SQLite database: ``settings`` (name/value pairs: ``epochlength`` in
seconds, ``startdatetime``, ...) and ``data`` (one row per epoch: ``dataTimestamp``,
``axis1``-``axis3``, ``steps``, ``lux``, inclinometer seconds). It is opened read-only
(``mode=ro`` URI): the file is never modified. Instants are .NET ticks (100 ns since
0001-01-01) of the device's local wall clock.

* **Counts**: ``activity_count`` is ``axis1`` and ``steps`` is kept, as for the ActiLife
  CSV export (:mod:`restless.ingest.actigraph_csv` explains why axis1).
* **Time**: the first epoch's local wall time is read in ``ctx.timezone``; later epochs
  are placed by elapsed ticks from it (the device clock does not follow DST).
* **Wear**: ``is_wear`` stays null. The inclinometer's ``inclineOff`` seconds are an
  orientation category and the ``capsense`` table's states are undocumented; neither is
  a validated wear flag, so non-wear detection (Choi, Troiano) belongs in the models.
* **Sleep**: rows of ActiLife's own ``sleep`` table (in/out of bed from its sleep
  scoring) become sleep_periods with ``log_type`` ``'actilife_sleep'`` (bounds only).
* **Privacy**: ``subjectname``, ``deviceserial``, ``dateOfBirth``, ``machinename`` and the
  other settings are never read into a frame.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.actigraph_csv import SOURCE, elapsed_instants
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)

MOVEMENT, PERIODS = "movement_epochs", "sleep_periods"
SQLITE_MAGIC = b"SQLite format 3\x00"
TICKS_PER_SECOND = 10_000_000


def ticks_to_naive(ticks: int) -> datetime:
    """The local wall time of a .NET tick count (100 ns since 0001-01-01)."""
    return datetime(1, 1, 1) + timedelta(microseconds=ticks // 10)


def sniff(head: bytes, name: str) -> bool:
    """SQLite with ActiLife's ``settings`` and ``data (dataTimestamp ...)`` tables."""
    return (
        head.startswith(SQLITE_MAGIC)
        and b"CREATE TABLE settings" in head
        and b"dataTimestamp" in head
        and b"settingName" in head
    )


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection: the source file is never written (no journal, no WAL)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        # An export is untrusted input: no side-effecting functions from its schema, and
        # corrupt pages are detected rather than read.
        con.execute("PRAGMA trusted_schema = OFF")
        con.execute("PRAGMA cell_size_check = ON")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise RejectedFile(f"not a readable SQLite .agd file: {err}") from err
    return con


def _tables(con: sqlite3.Connection) -> dict[str, set[str]]:
    """Each table's column names (views are not tables: a view named 'data' is refused)."""
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {}
    for name in names:
        quoted = '"' + str(name).replace('"', '""') + '"'
        columns[name] = {r[1] for r in con.execute(f"PRAGMA table_info({quoted})")}
    return columns


def _settings(con: sqlite3.Connection, wanted: tuple[str, ...]) -> dict[str, str]:
    """Only the named settings (identifying ones are never selected)."""
    marks = ", ".join("?" for _ in wanted)
    rows = con.execute(
        f"SELECT settingName, settingValue FROM settings WHERE settingName IN ({marks})",
        wanted,
    )
    return {str(name): str(value) for name, value in rows}


def _int_setting(settings: dict[str, str], name: str) -> int:
    try:
        return int(settings[name])
    except (KeyError, ValueError) as err:
        raise RejectedFile(f"settings has no whole-number '{name}'") from err


def _epochs(
    con: sqlite3.Connection, columns: set[str], epoch_s: int, start_ticks: int, zone: str
) -> tuple[pl.DataFrame, list[RejectedRow], list[str]]:
    """The data table as movement epochs, placed by elapsed ticks from the first epoch."""
    steps = "steps" if "steps" in columns else "NULL"
    rows = con.execute(f"SELECT dataTimestamp, axis1, {steps} FROM data ORDER BY dataTimestamp")
    frame = pl.DataFrame(
        list(rows),
        schema={"ticks": pl.Int64, "activity_count": pl.Float64, "steps_value": pl.Float64},
        orient="row",
    ).with_row_index("row_number", offset=1)
    if frame.height == 0:
        raise NothingToLoad(".agd file has settings but no epochs in its data table")
    warnings = []
    first_ticks = frame["ticks"][0]
    if first_ticks != start_ticks:
        warnings.append("first epoch differs from settings startdatetime: the data table is used")
    start_at = localtime.to_utc(ticks_to_naive(first_ticks), zone)
    frame = frame.with_columns(
        ((pl.col("ticks") - first_ticks) / TICKS_PER_SECOND).alias("offset_s"),
        pl.col("ticks").cast(pl.String).alias(csv_text.RAW + "dataTimestamp"),
        pl.col("activity_count").cast(pl.String).alias(csv_text.RAW + "axis1"),
        pl.col("steps_value").cast(pl.String).alias(csv_text.RAW + "steps"),
    )
    value = pl.col("steps_value")
    checks = [
        ("axis1", "count_non_negative", ~(pl.col("activity_count") >= 0).fill_null(False)),
        ("steps", "steps_whole_number", (value < 0) | (value != value.floor())),
        ("dataTimestamp", "unique_timestamp", pl.col("ticks").is_duplicated()),
    ]
    kept, rejected = csv_text.reject_rows(frame, MOVEMENT, checks)
    epochs = kept.with_columns(
        elapsed_instants(start_at, pl.col("offset_s")).alias("epoch_start_at"),
        pl.lit(float(epoch_s)).alias("epoch_s"),
        pl.col("steps_value").cast(pl.Int64).alias("steps"),
    )
    return csv_text.typed(epochs, MOVEMENT), rejected, warnings


def _sleep_periods(con: sqlite3.Connection, zone: str) -> pl.DataFrame:
    """ActiLife's scored sleep periods: in bed -> out of bed.

    Only the two instants are kept: the units of the table's summary columns
    (``timeAsleep``, ``latency``, ``efficiency``) are not documented, and restless derives
    those numbers from the epochs itself.
    """
    rows = con.execute(
        "SELECT sleepID, inBedTimestamp, outBedTimestamp FROM sleep ORDER BY inBedTimestamp"
    ).fetchall()
    periods = []
    for sleep_id, in_bed, out_bed in rows:
        start_at = localtime.to_utc(ticks_to_naive(int(in_bed)), zone)
        elapsed = timedelta(microseconds=(int(out_bed) - int(in_bed)) // 10)
        periods.append((f"actilife_sleep:{sleep_id}:{in_bed}", start_at, start_at + elapsed))
    frame = pl.DataFrame(
        periods,
        schema={
            "period_key": pl.String,
            "start_at": pl.Datetime("us", "UTC"),
            "end_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    ).with_columns(log_type=pl.lit("actilife_sleep"))
    return csv_text.typed(frame, PERIODS)


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """An ActiLife .agd database -> movement_epochs (axis1, steps) and its sleep periods."""
    zone = localtime.reader_zone(ctx)
    con = _connect(path)
    try:
        tables = _tables(con)
        if "settings" not in tables or "data" not in tables:
            raise RejectedFile(f"no 'settings' and 'data' tables (found {sorted(tables)})")
        if not {"dataTimestamp", "axis1"} <= tables["data"]:
            raise RejectedFile("data table has no 'dataTimestamp' and 'axis1' columns")
        settings = _settings(con, ("epochlength", "startdatetime", "epochcount"))
        epoch_s = _int_setting(settings, "epochlength")
        if epoch_s <= 0:
            raise RejectedFile(f"epochlength {epoch_s} is not a positive number of seconds")
        start_ticks = _int_setting(settings, "startdatetime")
        movement, rejected, warnings = _epochs(con, tables["data"], epoch_s, start_ticks, zone)
        expected = settings.get("epochcount")
        if expected is not None and expected.isdigit() and int(expected) != movement.height:
            warnings.append(f"settings epochcount {expected}, data table {movement.height} rows")
        sleep_columns = {"sleepID", "inBedTimestamp", "outBedTimestamp"}
        has_sleep = "sleep" in tables and sleep_columns <= tables["sleep"]
        periods = _sleep_periods(con, zone) if has_sleep else None
    except sqlite3.DatabaseError as err:
        raise RejectedFile(f"damaged .agd database: {err}") from err
    finally:
        con.close()
    result_tables = {MOVEMENT: movement}
    if periods is not None and periods.height:
        result_tables[PERIODS] = periods
    return ReadResult(tables=result_tables, warnings=warnings, rejected_rows=rejected)


FORMATS: list[Format] = [
    Format(
        name="actigraph_agd",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={
            MOVEMENT: Coverage("span", "epoch_start_at"),
            PERIODS: Coverage("span", "start_at"),
        },
        uses_local_time=True,
    )
]
