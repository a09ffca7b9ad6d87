"""A plain supplement log CSV -> ``supplement_doses``; plus the CSV helpers Cronometer reuses.

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

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from restless.ingest import localtime
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)
from restless.schemas.core import polars_schema, reader_columns

SOURCE = "supplement_log"
DOSES = "supplement_doses"

# --- Supplement forms (mirrors restless.models.supplements.FORMS; a test keeps them equal) --

FORM_ALIASES: dict[str, tuple[str, ...]] = {
    "oxide": ("oxide",),
    "hydroxide": ("hydroxide", "milk of magnesia"),
    "carbonate": ("carbonate",),
    "chloride": ("chloride",),
    "sulfate": ("sulfate", "sulphate", "epsom"),
    "citrate": ("citrate",),
    "glycinate": ("glycinate", "bisglycinate", "diglycinate"),
    "malate": ("malate",),
    "lactate": ("lactate",),
    "aspartate": ("aspartate",),
    "taurate": ("taurate", "taurinate"),
    "l-threonate": ("l-threonate", "threonate", "magtein"),
    "orotate": ("orotate",),
    "gluconate": ("gluconate",),
}
"""Form keys and the words that name them in free text ('Mg bisglycinate' -> glycinate)."""

_FORM_PATTERNS = tuple(
    (re.compile(r"(?<![a-z])" + re.escape(alias).replace(r"\ ", r"\s+") + r"(?![a-z])"), key)
    for key, aliases in FORM_ALIASES.items()
    for alias in aliases
)


def form_from_text(text: str | None) -> str | None:
    """The one magnesium salt form a text names, else None (none, or a blend of several)."""
    if text is None:
        return None
    lowered = text.lower().replace("_", " ")
    found = {key for pattern, key in _FORM_PATTERNS if pattern.search(lowered)}
    return found.pop() if len(found) == 1 else None


# --- CSV helpers shared with the Cronometer reader ------------------------------------------


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


def read_text_frame(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Every cell as text (blank -> null), header names stripped; warnings on a fallback.

    UTF-8 (with or without BOM) is expected; a file that is not UTF-8 is read as
    Windows-1252 (``µ`` is the same character there) with a warning.
    """
    raw = path.read_bytes()
    warnings: list[str] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        warnings.append("file is not UTF-8: read as Windows-1252")
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


RAW = "raw:"
"""Prefix of the raw text columns a reader keeps beside its parsed ones."""


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
    return frame.select(pl.col(name).cast(schema[name]) for name in columns)


# --- The plain supplement log ---------------------------------------------------------------

REQUIRED = ("date", "product", "amount_mg", "amount_basis")
OPTIONAL = ("time", "form")


def sniff(head: bytes, name: str) -> bool:
    """A CSV whose header names date, product, amount_mg and amount_basis."""
    cells = {cell.lower() for cell in header_cells(head)}
    return set(REQUIRED) <= cells


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Parse the log into supplement_doses (elemental columns filled for elemental rows)."""
    try:
        localtime.check_zone(ctx.timezone)
    except ValueError as err:
        raise RejectedFile(str(err)) from err
    text, warnings = read_text_frame(path)
    cells = match_columns(text, REQUIRED, OPTIONAL)
    if cells.height == 0:
        raise NothingToLoad("supplement log has a header but no rows")
    raw = {name: pl.col(RAW + name) for name in (*REQUIRED, *OPTIONAL)}
    frame = cells.with_row_index("row_number", offset=1).with_columns(
        localtime.parse_date(raw["date"]).alias("local_date"),
        localtime.parse_time(raw["time"]).alias("local_time"),
        parse_number(raw["amount_mg"]).alias("amount_mg"),
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
    kept, rejected = reject_rows(frame, DOSES, checks)

    forms = [form_from_text(t) or t for t in kept["form_text"].to_list()]
    naive = localtime.combine(pl.col("local_date"), pl.col("local_time"))
    elemental = pl.col("amount_basis") == "elemental"
    doses = kept.with_columns(
        pl.Series("form", forms, dtype=pl.String),
        localtime.local_to_utc(naive, ctx.timezone, non_existent="shift_forward").alias("taken_at"),
        pl.when(elemental).then(pl.lit(1.0)).alias("elemental_fraction"),
        pl.lit(None, dtype=pl.String).alias("hydrate_assumed"),
        pl.when(elemental).then(pl.col("amount_mg")).alias("magnesium_elemental_mg"),
    )
    gaps = kept.filter(localtime.is_nonexistent(naive, ctx.timezone)).height
    if gaps:
        warnings.append(
            f"{gaps} time(s) fall in a spring-forward gap of {ctx.timezone}: "
            "read with the offset before the gap"
        )
    return ReadResult(
        tables={DOSES: typed(doses, DOSES)}, warnings=warnings, rejected_rows=rejected
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
