"""The steps of a nightly run as plain functions, so tests can call them without Prefect.

Each file travels as a :class:`~restless.warehouse.load.FileLoad`: parsing writes the
reader's frames to Parquet in a per-run work folder, validation writes the rows that
pass and the quarantine beside them, and the single writer loads the Parquet files.
Tasks therefore pass small records between them, never large frames.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import polars as pl

from restless.flows.raw_calibration import calibrate_raw
from restless.flows.raw_options import RawOptions, RawParquet, resolve_side
from restless.flows.raw_scoring import ankle_side, raw_tables, span_frame
from restless.flows.scoring import scored_coverage, scored_sleep_epochs
from restless.ingest.base import Coverage, Format, NothingToLoad, ReadContext, RejectedFile
from restless.ingest.inbox import InboxFile
from restless.ingest.registry import all_formats
from restless.schemas.core import (
    LINEAGE_COLUMNS,
    nullable_column,
    polars_schema,
    reader_columns,
)
from restless.schemas.validate import (
    QUARANTINE_SCHEMA,
    TableRejected,
    empty_quarantine,
    validate_table,
)
from restless.warehouse import store
from restless.warehouse.connection import connect_writer
from restless.warehouse.load import FileLoad, TableLoad

FORMATS_BY_NAME = {fmt.name: fmt for fmt in all_formats()}


def base_record(file: InboxFile, status: str, error: str | None = None) -> FileLoad:
    return FileLoad(
        file_id=file.file_id,
        participant_id=file.participant_id,
        path=file.display_path,
        sha256=file.sha256,
        size_bytes=file.size_bytes,
        status=status,
        error=error,
    )


def _derive(table: str, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fill derived columns that need science the readers may not import: magnesium looked
    up in the bundled food table for items the log left blank, elemental magnesium of
    supplement doses.

    Returns the frame and quarantine rows for what cannot be derived (a compound
    supplement dose of an unknown form has no elemental magnesium to count).
    """
    if table == "intake_items":
        from restless.models.food_lookup import lookup_nutrients

        return lookup_nutrients(frame), empty_quarantine()
    if table != "supplement_doses":
        return frame, empty_quarantine()
    from restless.models.supplements import convertible, fill_elemental, unconvertible

    filled = fill_elemental(frame)
    bad = unconvertible(filled)
    quarantine = bad.select(
        pl.lit(table).alias("table_name"),
        pl.col("row_number").cast(pl.Int64),
        pl.col("column").alias("column_name"),
        pl.col("check").alias("check_name"),
        pl.col("reason").alias("value"),
    )
    return convertible(filled), quarantine.cast(QUARANTINE_SCHEMA)


def parse_file(
    file: InboxFile,
    fmt: Format,
    ctx: ReadContext,
    workdir: Path,
    raw_options: RawOptions | None = None,
) -> FileLoad:
    """Run the format's reader; write its frames as Parquet; never raise for bad input.

    ``raw_options``: ankle sides from restless.toml and where to keep raw samples (raw
    acceleration files only; default: sides from folder names, samples not kept).
    """
    record = base_record(file, "loaded")
    record.format, record.source = fmt.name, fmt.source
    record.replaces_formats = [
        other.name for other in all_formats() if fmt.family and other.family == fmt.family
    ]
    try:
        result = fmt.read(file.path, ctx)
    except NothingToLoad as exc:
        record.status, record.error = "skipped", str(exc)
        return record
    except RejectedFile as exc:
        record.status, record.error = "rejected", str(exc)
        return record
    except Exception as exc:  # a reader bug must cost one file, never the run
        last = traceback.extract_tb(exc.__traceback__)[-1]
        record.status = "rejected"
        record.error = (
            f"reader {fmt.name} failed: {type(exc).__name__}: {exc} "
            f"(at {Path(last.filename).name}:{last.lineno})"
        )
        return record
    record.identity = result.identity
    record.timezone_hint = result.timezone_hint
    record.warnings = list(result.warnings)
    if result.error:
        record.status, record.error = "partial", result.error
    tables = dict(result.tables)
    coverage_of = dict(fmt.coverage)
    source = fmt.source
    span_of: dict[str, pl.DataFrame] = {}  # derived tables covering the recording's span
    if result.raw is not None:
        # raw samples are auto-calibrated in a first pass (flows/raw_calibration.py), scored
        # (flows/raw_scoring.py) and kept as Parquet only when asked (flows/raw_options.py);
        # each ankle is its own source so one ankle's file never replaces the other ankle's
        # rows. The side comes from restless.toml, else from left/right folder names.
        options = raw_options or RawOptions()
        side, side_note = resolve_side(
            options.sensors.get(file.participant_id, {}),
            file.display_path,
            ankle_side(file.display_path),
        )
        record.warnings.append(side_note)
        # a file that also brings the reader's own tables (a FIT activity with heart rate,
        # sleep or monitoring) keeps its source for them; only the scored rows are the ankle's
        raw_source = f"{fmt.source}_{side}"
        if not result.tables:
            raw_source = fmt.source if side == "unknown" else raw_source
            source = record.source = raw_source
        kept: RawParquet | None = None
        try:
            if options.parquet_dir is not None:
                kept = RawParquet(
                    options.parquet_dir, file.participant_id, file.file_id, result.raw
                )
            # the scoring below sees the calibrated samples; the Parquet copy the decoded ones
            result.raw, _, notes = calibrate_raw(result.raw, sink=kept)
            record.warnings += notes
            derived, notes = raw_tables(result.raw, side, time_zone=ctx.timezone)
        except Exception as exc:  # a scoring bug must cost one file, never the run
            if kept is not None:
                kept.discard()
            record.status = "rejected"
            record.error = f"raw acceleration scoring failed: {type(exc).__name__}: {exc}"
            return record
        record.warnings += notes
        if kept is not None:
            try:
                record.kept_parquet = (kept.close(), kept.path)  # renamed once loaded
                record.warnings.append(
                    f"raw samples kept as decoded (not auto-calibrated): {kept.rows} rows in"
                    f" raw/{file.participant_id}/{kept.path.name}"
                )
            except Exception as exc:  # the scores still load; the missing copy is an error
                kept.discard()
                note = f"raw samples not kept as Parquet: {type(exc).__name__}: {exc}"
                record.status = "partial"
                record.error = f"{record.error}; {note}" if record.error else note
        for table, frame in derived.items():
            column = "epoch_start_at" if "epoch_start_at" in frame.columns else "start_at"
            if result.tables:  # keep the reader's rows of this table beside the scored ones
                frame = frame.with_columns(pl.lit(raw_source).alias("source"))
                if table in tables and tables[table].height:
                    own = tables[table].with_columns(pl.lit(source).alias("source"))
                    frame = pl.concat([own, frame], how="diagonal_relaxed")
                # the rows carry two sources: replace by the file's identity, not by span
                coverage_of.setdefault(table, Coverage("file"))
            tables[table] = frame
            coverage_of.setdefault(table, Coverage("span", column))
            if coverage_of[table].kind == "span":
                span = span_frame(derived, coverage_of[table].column or column)
                if span.height:
                    span_of[table] = span
    scored, notes = scored_sleep_epochs(fmt, file.path, tables)
    record.warnings += notes
    if scored is not None and scored.height:
        previous = tables.get("sleep_epochs")
        tables["sleep_epochs"] = (
            pl.concat([previous.select(scored.columns).cast(scored.schema), scored])
            if previous is not None and previous.height
            else scored
        )
        coverage_of.setdefault("sleep_epochs", scored_coverage(fmt))
    folder = workdir / file.file_id
    folder.mkdir(parents=True, exist_ok=True)
    raw_paths: dict[str, Path] = {}
    heights: dict[str, int] = {}
    for table, frame in tables.items():
        if frame.height == 0:
            continue
        missing = [c for c in reader_columns(table) if c not in frame.columns]
        required = [c for c in missing if not nullable_column(table, c)]
        if required:
            record.status = "rejected"
            record.error = f"reader {fmt.name} produced {table} without columns {required}"
            return record
        frame = frame.with_columns(
            pl.lit(None, dtype=polars_schema(table)[c]).alias(c) for c in missing
        )
        raw = frame.select(reader_columns(table)).with_columns(
            pl.lit(file.participant_id).alias("participant_id"),
            frame["source"] if "source" in frame.columns else pl.lit(source).alias("source"),
            pl.lit(file.file_id).alias("file_id"),
        )
        raw_paths[table] = folder / f"raw_{table}.parquet"
        raw.write_parquet(raw_paths[table])
        heights[table] = raw.height
    for table, coverage in coverage_of.items():
        covering = raw_paths.get(coverage.dates_from or table)
        if table in span_of and table in raw_paths:
            # a raw recording replaces its tables' rows over its whole time span, not only
            # between its first and last new row (an edge night's window can move)
            covering = folder / f"span_{table}.parquet"
            span_of[table].write_parquet(covering)
        if covering is None and coverage.kind != "file":
            continue  # the file brings no rows that define a slice of this table
        record.tables.append(
            TableLoad(
                table,
                raw_paths.get(table),
                heights.get(table, 0),
                coverage.kind,
                coverage.column,
                coverage_parquet=covering,
            )
        )
    rejected = pl.DataFrame(
        {
            "table_name": [r.table for r in result.rejected_rows],
            "row_number": [r.row_number for r in result.rejected_rows],
            "column_name": [r.column for r in result.rejected_rows],
            "check_name": [r.check for r in result.rejected_rows],
            "value": [r.value for r in result.rejected_rows],
        },
        schema=QUARANTINE_SCHEMA,
    )
    if rejected.height:
        record.quarantine_parquet = folder / "reader_quarantine.parquet"
        rejected.write_parquet(record.quarantine_parquet)
        record.rows_quarantined = rejected.height
    return record


def validate_file(record: FileLoad, workdir: Path) -> FileLoad:
    """Validate each parsed table with its pandera model; failing rows go to quarantine."""
    if record.status not in ("loaded", "partial"):
        return record
    quarantines = []
    if record.quarantine_parquet is not None:
        quarantines.append(pl.read_parquet(record.quarantine_parquet))
    validated = []
    for part in record.tables:
        if part.parquet is None:
            validated.append(part)  # covers a slice, brings no rows
            continue
        frame, unconvertible = _derive(part.table, pl.read_parquet(part.parquet))
        quarantines.append(unconvertible)
        try:
            valid, quarantine = validate_table(part.table, frame)
        except TableRejected as exc:
            record.status, record.error, record.tables = "rejected", str(exc), []
            return record
        path = part.parquet.with_name(part.parquet.name.replace("raw_", "valid_"))
        valid.select([*LINEAGE_COLUMNS, *reader_columns(part.table)]).write_parquet(path)
        validated.append(replace(part, parquet=path, rows=valid.height))
        quarantines.append(quarantine)
    record.tables = validated
    all_quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame()
    record.rows_quarantined = all_quarantine.height
    if all_quarantine.height:
        record.quarantine_parquet = workdir / record.file_id / "quarantine.parquet"
        all_quarantine.write_parquet(record.quarantine_parquet)
    if not any(t.rows for t in record.tables):
        record.status, record.tables = "rejected", []
        record.error = (
            f"all {record.rows_quarantined} rows failed validation (see ops.quarantine)"
            if record.rows_quarantined
            else "the reader found no rows"
        )
    return record


def recompute_features(
    db_path: Path,
    participant_ids: list[str] | None = None,
    science: Mapping[str, object] | None = None,
) -> int:
    """Recompute all features of these participants (None = everyone) from ``core``.

    ``science`` holds the ``[science]`` overrides of restless.toml. The caller holds the
    writer lock. Returns the number of nightly rows written.
    """
    from restless.models import params
    from restless.models.features import compute_features

    con = connect_writer(db_path)
    try:
        ids = participant_ids
        if ids is None:
            ids = sorted(store.stored_participants(con))
        if not ids:
            return 0
        with params.overridden(science or {}):
            frames = compute_features(store.read_core(con, ids), store.participants_frame(con, ids))
        return store.replace_features(con, ids, frames).get("nightly", 0)
    finally:
        con.close()
