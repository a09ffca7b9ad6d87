"""Build canonical frames with exactly the reader columns and dtypes of ``schemas.core``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from restless.ingest.fit.messages import FIT_EPOCH_S
from restless.schemas.core import polars_schema, reader_columns

_US = 1_000_000


def fit_us(fit_seconds: float) -> int:
    """Unix microseconds of a FIT time in seconds (fractions kept to the microsecond)."""
    return round(fit_seconds * _US) + FIT_EPOCH_S * _US


def frame(table: str, columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
    """A ``table`` frame from column lists; instants are given as Unix microseconds.

    Columns left out are all-null. Row order is kept; callers sort.
    """
    schema = polars_schema(table)
    names = reader_columns(table)
    height = max((len(v) for v in columns.values()), default=0)
    series = []
    for name in names:
        dtype = schema[name]
        values = columns.get(name, [None] * height)
        if isinstance(dtype, pl.Datetime):
            s = (
                pl.Series(name, values, dtype=pl.Int64)
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone("UTC")
            )
        else:
            s = pl.Series(name, values, dtype=dtype, strict=False)
        series.append(s)
    return pl.DataFrame(series)
