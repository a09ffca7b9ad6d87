"""Split a frame into rows that pass its pandera model and rows for the quarantine.

pandera is run lazily (every failure at once); each failure case becomes one
quarantine row naming the source row, column, check and offending value, and the rows
it points at are removed. A failure with no row index (a missing column, a wrong dtype)
means the whole table is structurally wrong: :class:`TableRejected` is raised.
"""

from __future__ import annotations

import pandera.errors
import polars as pl

from restless.schemas.core import CORE_MODELS

QUARANTINE_SCHEMA = {
    "table_name": pl.String,
    "row_number": pl.Int64,
    "column_name": pl.String,
    "check_name": pl.String,
    "value": pl.String,
}


class TableRejected(ValueError):
    """The table as a whole does not fit its model."""


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _source_rows(frame: pl.DataFrame, index: pl.Series) -> pl.Series:
    """1-based source row numbers: the reader's ``row_number`` if any, else position + 1."""
    if "row_number" in frame.columns:
        numbers = frame.get_column("row_number")
        return pl.Series([numbers[int(i)] for i in index], dtype=pl.Int64)
    return (index.cast(pl.Int64) + 1).alias("row_number")


def validate_table(table: str, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (valid rows coerced to the model, quarantine rows)."""
    model = CORE_MODELS[table]
    missing = [c for c in model.to_schema().columns if c not in frame.columns]
    if missing:
        raise TableRejected(f"table {table} does not match its schema: missing columns {missing}")
    try:
        return model.validate(frame, lazy=True), empty_quarantine()
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    structural = cases.filter(pl.col("index").is_null())
    if structural.height:
        detail = "; ".join(
            f"{row['column']}: {row['check']} ({row['failure_case']})"
            for row in structural.head(5).iter_rows(named=True)
        )
        raise TableRejected(f"table {table} does not match its schema: {detail}")
    quarantine = pl.DataFrame(
        {
            "table_name": [table] * cases.height,
            "row_number": _source_rows(frame, cases.get_column("index")),
            "column_name": cases.get_column("column").cast(pl.String),
            "check_name": cases.get_column("check").cast(pl.String),
            "value": cases.get_column("failure_case").cast(pl.String),
        },
        schema=QUARANTINE_SCHEMA,
    )
    bad = set(cases.get_column("index").cast(pl.Int64).to_list())
    kept = frame.with_row_index("__pos").filter(~pl.col("__pos").is_in(list(bad))).drop("__pos")
    return model.validate(kept, lazy=True), quarantine
