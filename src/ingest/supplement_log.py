"""A plain supplement log CSV -> ``supplement_doses``.

The log is what a person keeps by hand (or a study hands out)::

    date,time,product,form,amount_mg,amount_basis
    2026-03-01,21:30,Magnesium glycinate caps,glycinate,500,compound
    2026-03-02,,Magnesium (as citrate),,150,elemental

``amount_basis`` says what ``amount_mg`` measures: ``elemental`` magnesium, or the
``compound`` (salt) mass printed on many labels. The reader fills the elemental columns
only for elemental rows (fraction 1.0); compound rows are converted by form in
``restless.models.supplements.fill_elemental`` (src/ingest may not import models), and
rows whose form is unknown are quarantined via ``supplements.unconvertible``.

Rows the reader cannot trust are dropped and listed in ``ReadResult.rejected_rows``:
a date that is not a date, a time that is not a time, an amount that is not a number or
is negative, an amount_basis other than elemental/compound, a blank product.
``date`` and ``time`` are local; ``taken_at`` is UTC from the participant's zone, and a
time typed inside a spring-forward gap is read with the offset before the gap.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import Coverage, Format, ReadContext, ReadResult
from restless.schemas.supplement_forms import form_from_text

SOURCE = "supplement_log"
DOSES = "supplement_doses"

REQUIRED = ("date", "product", "amount_mg", "amount_basis")
OPTIONAL = ("time", "form")


def sniff(head: bytes, name: str) -> bool:
    """A CSV whose header names date, product, amount_mg and amount_basis."""
    cells = {cell.lower() for cell in csv_text.header_cells(head)}
    return set(REQUIRED) <= cells


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Parse the log into supplement_doses (elemental columns filled for elemental rows)."""
    zone = localtime.reader_zone(ctx)
    cells, warnings = csv_text.read_cells(path, REQUIRED, OPTIONAL, what="supplement log")
    raw = {name: pl.col(csv_text.RAW + name) for name in (*REQUIRED, *OPTIONAL)}
    frame = cells.with_columns(
        localtime.parse_date(raw["date"]).alias("local_date"),
        localtime.parse_time(raw["time"]).alias("local_time"),
        csv_text.parse_number(raw["amount_mg"]).alias("amount_mg"),
        raw["amount_basis"].str.strip_chars().str.to_lowercase().alias("amount_basis"),
        raw["product"].str.strip_chars().alias("product"),
        raw["form"].str.strip_chars().alias("form_text"),
    )
    basis_known = pl.col("amount_basis").is_in(["elemental", "compound"]).fill_null(False)
    not_a_number = raw["amount_mg"].is_not_null() & pl.col("amount_mg").is_null()
    checks: list[tuple[str, str, pl.Expr]] = [
        ("date", "date_format", pl.col("local_date").is_null()),
        ("time", "time_format", raw["time"].is_not_null() & pl.col("local_time").is_null()),
        ("product", "required_value", pl.col("product").is_null()),
        ("amount_mg", "required_value", raw["amount_mg"].is_null()),
        ("amount_mg", "number_format", not_a_number),
        ("amount_mg", "non_negative", pl.col("amount_mg") < 0),
        ("amount_basis", "amount_basis_elemental_or_compound", ~basis_known),
    ]
    kept, rejected = csv_text.reject_rows(frame, DOSES, checks)

    forms = [form_from_text(t) or t for t in kept["form_text"].to_list()]
    naive = localtime.combine(pl.col("local_date"), pl.col("local_time"))
    elemental = pl.col("amount_basis") == "elemental"
    doses = kept.with_columns(
        pl.Series("form", forms, dtype=pl.String),
        localtime.local_to_utc(naive, zone, non_existent="shift_forward").alias("taken_at"),
        pl.when(elemental).then(pl.lit(1.0)).alias("elemental_fraction"),
        pl.lit(None, dtype=pl.String).alias("hydrate_assumed"),
        pl.when(elemental).then(pl.col("amount_mg")).alias("magnesium_elemental_mg"),
    )
    warnings += localtime.gap_warnings(kept, naive, zone)
    return ReadResult(
        tables={DOSES: csv_text.typed(doses, DOSES)}, warnings=warnings, rejected_rows=rejected
    )


FORMATS: list[Format] = [
    Format(
        name="supplement_log",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={DOSES: Coverage("dates", "local_date")},
        uses_local_time=True,
    )
]
