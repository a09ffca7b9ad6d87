"""Export CSV text -> typed polars frames, with the rows that fail a check listed.

Shared by the readers of CSV exports (Cronometer, the plain supplement log): every cell
is read as text, columns are matched by name (``raw:<name>``), parsed columns are built
beside them, rows failing a check become ``RejectedRow``s, and what is kept is cast to
the canonical reader columns of its table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from restless.ingest.base import NothingToLoad, RejectedFile, RejectedRow
from restless.schemas.core import polars_schema, reader_columns

RAW = "raw:"
"""Prefix of the raw text columns a reader keeps beside its parsed ones."""


def header_cells(head: bytes) -> list[str]:
    """The first CSV record of a file head, stripped (BOM removed); [] if there is none."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        return []
    try:
        return [cell.strip() for cell in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        return []


def read_text(path: Path) -> tuple[str, list[str]]:
    """The file's text and a warning on a fallback.

    UTF-8 (with or without BOM) is expected; a file that is not UTF-8 is read as
    Windows-1252 (``µ`` is the same character there) with a warning.
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), ["file is not UTF-8: read as Windows-1252"]


def read_text_frame(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Every cell as text (blank -> null), header names stripped; warnings on a fallback
    (:func:`read_text`)."""
    text, warnings = read_text(path)
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, raise_if_empty=True)
    except (pl.exceptions.PolarsError, ValueError) as err:
        raise RejectedFile(f"not a readable CSV: {err}") from err
    stripped = [name.strip() for name in frame.columns]
    duplicated = sorted({n for n in stripped if stripped.count(n) > 1 or "_duplicated_" in n})
    if duplicated:
        raise RejectedFile(f"duplicate column names in header: {duplicated}")
    frame = frame.rename(dict(zip(frame.columns, stripped, strict=True)))
    blank_to_null = [
        pl.when(pl.col(name).str.strip_chars() != "").then(pl.col(name)).alias(name)
        for name in frame.columns
    ]
    return frame.with_columns(blank_to_null), warnings


def match_columns(
    frame: pl.DataFrame, required: Sequence[str], optional: Sequence[str] = ()
) -> pl.DataFrame:
    """One raw text column ``raw:<wanted name>`` per wanted name, matched by name, not position.

    Names match case-insensitively; an absent optional column comes out all null, and a
    missing required column rejects the file with a reason naming it.
    """
    by_lower = {name.lower(): name for name in frame.columns}
    missing = [name for name in required if name.lower() not in by_lower]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise RejectedFile(f"no {names} column in header (columns are matched by name)")
    return frame.select(
        (
            pl.col(by_lower[name.lower()])
            if name.lower() in by_lower
            else pl.lit(None, dtype=pl.String)
        ).alias(RAW + name)
        for name in (*required, *optional)
    )


def read_cells(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    what: str,
    warn_if_absent: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """The data rows of an export: ``row_number`` (1-based) and the ``raw:<name>`` columns.

    Reads the text (:func:`read_text_frame`) and matches the wanted columns
    (:func:`match_columns`). ``warn_if_absent`` maps a column to what its absence means
    (a warning "no '<column>' column: <meaning>"). A header without rows raises
    NothingToLoad naming ``what``.
    """
    text, warnings = read_text_frame(path)
    cells = match_columns(text, required, optional)
    present = {name.lower() for name in text.columns}
    warnings += [
        f"no '{name}' column: {meaning}"
        for name, meaning in (warn_if_absent or {}).items()
        if name.lower() not in present
    ]
    if cells.height == 0:
        raise NothingToLoad(f"{what} has a header but no rows")
    return cells.with_row_index("row_number", offset=1), warnings


_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


def parse_number(text: pl.Expr) -> pl.Expr:
    """A decimal number (``1,234.50`` thousands separators tolerated); null if not finite."""
    cleaned = text.str.strip_chars()
    cleaned = (
        pl.when(cleaned.str.contains(_THOUSANDS))
        .then(cleaned.str.replace_all(",", ""))
        .otherwise(cleaned)
    )
    value = cleaned.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value).otherwise(None)


def reject_rows(
    frame: pl.DataFrame, table: str, checks: Sequence[tuple[str, str, pl.Expr]]
) -> tuple[pl.DataFrame, list[RejectedRow]]:
    """Drop rows failing any ``(column, check name, failed expr)``; list each failure.

    ``frame`` holds ``row_number`` and ``raw:<column>`` with the cell's text as exported.
    """
    flags = frame.with_columns(
        *(expr.fill_null(False).alias(f"__fail_{i}") for i, (_, _, expr) in enumerate(checks))
    )
    rejected: list[RejectedRow] = []
    for i, (column, check, _) in enumerate(checks):
        failing = flags.filter(pl.col(f"__fail_{i}")).select("row_number", RAW + column)
        rejected.extend(
            RejectedRow(table, int(row), column, check, "" if value is None else str(value))
            for row, value in failing.iter_rows()
        )
    fail_columns = [f"__fail_{i}" for i in range(len(checks))]
    kept = flags.filter(~pl.any_horizontal(fail_columns)) if checks else flags
    rejected.sort(key=lambda r: (r.row_number, r.column, r.check))
    return kept.drop(fail_columns), rejected


def typed(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Exactly the reader columns of ``table`` in the canonical dtypes and order."""
    schema = polars_schema(table)
    columns = reader_columns(table)
    return frame.select(
        pl.col(name).cast(schema[name])
        if name in frame.columns
        else pl.lit(None, dtype=schema[name]).alias(name)  # a column this export lacks
        for name in columns
    )
