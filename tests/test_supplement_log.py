"""The plain supplement log reader, end to end with the elemental conversion of the flow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from restless.ingest import supplement_log
from restless.ingest.base import NothingToLoad, ReadContext, RejectedFile
from restless.models import supplements
from restless.schemas.core import CORE_MODELS, polars_schema, reader_columns

BERLIN = ReadContext(participant_id="p1", timezone="Europe/Berlin")

LOG = """date,time,product,form,amount_mg,amount_basis
2026-03-01,21:30,Magnesium glycinate caps,glycinate,500,compound
2026-03-02,,Magnesium (as citrate),,150,elemental
2026-03-29,02:30,Mg citrate,Citrate,300,compound
2026-10-25,02:30,Mg oxide,oxide,400,compound
2026-07-01,8:00 AM,Mystery Mg,xyz,100,compound
2026-13-01,10:00,Bad date,,100,elemental
2026-07-02,10:00,Negative,,-5,elemental
2026-07-02,10:00,Bad basis,,5,mass
2026-07-02,,Blank amount,,,elemental
2026-07-02,25:00,Bad time,,5,elemental
2026-07-02,10:00,Bad number,,abc,elemental
2026-07-02,10:00,,,5,elemental
"""


def _write(tmp_path: Path, text: str, name: str = "supplements.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sniff_by_header(tmp_path: Path) -> None:
    assert supplement_log.sniff(LOG.encode(), "anything.txt")
    reordered = "Amount_MG , Product,DATE,amount_basis\n"
    assert supplement_log.sniff(reordered.encode(), "x.csv")
    cronometer = "Day,Time,Group,Food Name,Amount,Energy (kcal)\n"
    assert not supplement_log.sniff(cronometer.encode(), "supplements.csv")
    assert not supplement_log.sniff(b"", "supplements.csv")


def test_read_parses_good_rows_and_rejects_bad_ones(tmp_path: Path) -> None:
    result = supplement_log.read(_write(tmp_path, LOG), BERLIN)
    doses = result.tables["supplement_doses"]
    assert doses.columns == reader_columns("supplement_doses")
    assert doses.schema == {c: polars_schema("supplement_doses")[c] for c in doses.columns}
    assert doses["row_number"].to_list() == [1, 2, 3, 4, 5]
    rows = {r["row_number"]: r for r in doses.iter_rows(named=True)}
    # Berlin: CET = UTC+1 in March before the 29th, CEST = UTC+2 in July.
    assert rows[1]["taken_at"] == datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
    assert rows[1]["local_time"] == time(21, 30)
    assert rows[2]["taken_at"] is None and rows[2]["local_time"] is None
    assert rows[5]["taken_at"] == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    # 02:30 on 2026-03-29 does not exist in Berlin: read with the offset before the gap.
    assert rows[3]["taken_at"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert any("spring-forward gap" in w for w in result.warnings)
    # 02:30 on 2026-10-25 happens twice: the first (CEST) reading.
    assert rows[4]["taken_at"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert rows[1]["form"] == "glycinate" and rows[3]["form"] == "citrate"
    assert rows[5]["form"] == "xyz"  # unknown text kept for the quarantine reason
    # Elemental columns only for elemental rows.
    assert rows[2]["elemental_fraction"] == 1.0 and rows[2]["magnesium_elemental_mg"] == 150.0
    for n in (1, 3, 4, 5):
        assert rows[n]["elemental_fraction"] is None
        assert rows[n]["magnesium_elemental_mg"] is None
    rejected = [(r.row_number, r.column, r.check, r.value) for r in result.rejected_rows]
    assert rejected == [
        (6, "date", "date_format", "2026-13-01"),
        (7, "amount_mg", "non_negative", "-5"),
        (8, "amount_basis", "amount_basis_elemental_or_compound", "mass"),
        (9, "amount_mg", "required_value", ""),
        (10, "time", "time_format", "25:00"),
        (11, "amount_mg", "number_format", "abc"),
        (12, "product", "required_value", ""),
    ]
    assert {r.table for r in result.rejected_rows} == {"supplement_doses"}


def test_flow_conversion_and_quarantine_of_unknown_forms(tmp_path: Path) -> None:
    doses = supplement_log.read(_write(tmp_path, LOG), BERLIN).tables["supplement_doses"]
    filled = supplements.fill_elemental(doses)
    by_row = {r["row_number"]: r for r in filled.iter_rows(named=True)}
    glycinate_mass = 24.305 + 2 * (2 * 12.011 + 4 * 1.008 + 14.007 + 2 * 15.999)
    assert by_row[1]["magnesium_elemental_mg"] == pytest.approx(500 * 24.305 / glycinate_mass)
    assert by_row[4]["magnesium_elemental_mg"] == pytest.approx(400 * 24.305 / 40.304)
    bad = supplements.unconvertible(filled)
    assert bad["row_number"].to_list() == [5]
    assert bad["reason"][0] == (
        "unknown form 'xyz': cannot convert compound mass to elemental magnesium"
    )
    good = supplements.convertible(filled).with_columns(
        participant_id=pl.lit("p1"), source=pl.lit("supplement_log"), file_id=pl.lit("f")
    )
    CORE_MODELS["supplement_doses"].validate(good, lazy=True)


def test_columns_are_matched_by_name_and_missing_ones_named(tmp_path: Path) -> None:
    reordered = "Amount_basis,PRODUCT, amount_mg ,Date\nelemental,Mg,120,2026-1-5\n"
    result = supplement_log.read(_write(tmp_path, reordered), BERLIN)
    row = result.tables["supplement_doses"].row(0, named=True)
    assert (row["local_date"], row["amount_mg"], row["product"]) == (date(2026, 1, 5), 120.0, "Mg")
    assert row["local_time"] is None and row["form"] is None
    missing = "date,time,product,form,amount_mg\n2026-01-05,,Mg,,120\n"
    with pytest.raises(RejectedFile, match="'amount_basis'"):
        supplement_log.read(_write(tmp_path, missing, "m.csv"), BERLIN)


def test_empty_log_and_bad_zone(tmp_path: Path) -> None:
    header_only = _write(tmp_path, "date,time,product,form,amount_mg,amount_basis\n")
    with pytest.raises(NothingToLoad):
        supplement_log.read(header_only, BERLIN)
    with pytest.raises(RejectedFile, match="time zone"):
        supplement_log.read(_write(tmp_path, LOG, "b.csv"), ReadContext("p1", "Mars/Olympus"))


def test_rereading_gives_identical_frames(tmp_path: Path) -> None:
    path = _write(tmp_path, LOG)
    first, second = supplement_log.read(path, BERLIN), supplement_log.read(path, BERLIN)
    assert_frame_equal(first.tables["supplement_doses"], second.tables["supplement_doses"])
    assert first.rejected_rows == second.rejected_rows


def test_format_declaration() -> None:
    (fmt,) = supplement_log.FORMATS
    assert (fmt.name, fmt.source) == ("supplement_log", "supplement_log")
    assert fmt.coverage["supplement_doses"].kind == "dates"
    assert fmt.coverage["supplement_doses"].column == "local_date"
