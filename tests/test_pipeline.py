"""Pipeline steps without Prefect: parse -> validate -> load of one file into real DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from restless.flows.pipeline import FORMATS_BY_NAME, parse_file, validate_file
from restless.ingest.base import ReadContext
from restless.ingest.inbox import scan_inbox
from restless.ingest.registry import detect_format
from restless.warehouse.connection import connect_writer
from restless.warehouse.load import load_file

SUPPLEMENT_LOG = """date,time,product,form,amount_mg,amount_basis
2026-03-01,21:30,Mg glycinate caps,glycinate,1000,compound
2026-03-02,21:30,Slow-Mag,chloride,535,compound
2026-03-03,,Label says elemental,citrate,200,elemental
2026-03-04,21:30,Mystery salt,unobtainium,500,compound
2026-03-05,21:30,Negative,oxide,-5,compound
"""


def _run_one(tmp_path: Path, name: str, text: str, tz: str = "Europe/Berlin"):
    inbox = tmp_path / "inbox"
    path = inbox / "p1" / name
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    (item,) = scan_inbox(inbox).files
    fmt = detect_format(item.path)
    assert fmt is not None
    ctx = ReadContext(participant_id="p1", timezone=tz, file_id=item.file_id)
    work = tmp_path / "work"
    record = validate_file(parse_file(item, FORMATS_BY_NAME[fmt.name], ctx, work), work)
    con = connect_writer(tmp_path / "w.duckdb")
    return load_file(con, record, "run1"), con


def test_compound_doses_become_elemental_and_unknown_forms_are_quarantined(
    tmp_path: Path,
) -> None:
    record, con = _run_one(tmp_path, "supplements.csv", SUPPLEMENT_LOG)
    assert record.status == "loaded"
    doses = dict(
        con.execute(
            "SELECT local_date::VARCHAR, round(magnesium_elemental_mg, 1)"
            " FROM core.supplement_doses ORDER BY local_date"
        ).fetchall()
    )
    # hand-computed: Mg(C2H4NO2)2 = 24.305 + 2*(2*12.011 + 4*1.008 + 14.007 + 2*15.999)
    glycinate = 24.305 / (24.305 + 2 * (2 * 12.011 + 4 * 1.008 + 14.007 + 2 * 15.999))
    # MgCl2.6H2O = 24.305 + 2*35.45 + 6*18.015
    chloride_hexahydrate = 24.305 / (24.305 + 2 * 35.45 + 6 * 18.015)
    assert doses == {
        "2026-03-01": pytest.approx(round(1000 * glycinate, 1), abs=0.05),
        "2026-03-02": pytest.approx(round(535 * chloride_hexahydrate, 1), abs=0.05),
        "2026-03-03": 200.0,
    }
    quarantined = con.execute(
        "SELECT row_number, column_name, check_name, value FROM ops.quarantine ORDER BY 1"
    ).fetchall()
    assert [q[0] for q in quarantined] == [4, 5]
    assert "unobtainium" in quarantined[0][3] and "elemental" in quarantined[0][3]
    assert quarantined[1][1] == "amount_mg"
    hydrate = con.execute(
        "SELECT hydrate_assumed FROM core.supplement_doses WHERE local_date = '2026-03-02'"
    ).fetchone()[0]
    assert hydrate.startswith("MgCl2·6H2O")


def test_a_wrong_column_rejects_the_file_with_a_reason(tmp_path: Path) -> None:
    text = "Day,Time,Food Name,Amount\n2026-01-01,08:00,Oats,1 cup\n"  # no Energy (kcal)
    inbox = tmp_path / "inbox"
    (inbox / "p1").mkdir(parents=True)
    (inbox / "p1" / "servings.csv").write_text(text, encoding="utf-8")
    (item,) = scan_inbox(inbox).files
    fmt = detect_format(item.path)
    assert fmt is not None and fmt.name == "cronometer_servings"
    ctx = ReadContext(participant_id="p1", timezone="UTC", file_id=item.file_id)
    record = parse_file(item, FORMATS_BY_NAME[fmt.name], ctx, tmp_path / "w")
    assert record.status == "rejected" and "Energy" in record.error


def _parse_real(tmp_path: Path, *parts: str):
    from .conftest import real_file

    source = real_file(*parts)
    inbox = tmp_path / "inbox"
    (inbox / "p1").mkdir(parents=True)
    (inbox / "p1" / source.name).write_bytes(source.read_bytes())
    (item,) = scan_inbox(inbox).files
    fmt = detect_format(item.path)
    assert fmt is not None
    ctx = ReadContext(participant_id="p1", timezone="Europe/London", file_id=item.file_id)
    work = tmp_path / "work"
    return validate_file(parse_file(item, FORMATS_BY_NAME[fmt.name], ctx, work), work)


def test_actiware_counts_are_scored_by_oakley_like_actiware(tmp_path: Path) -> None:
    """The flow adds Oakley rows beside Actiware's own column; they agree on every epoch."""
    import polars as pl

    record = _parse_real(tmp_path, "wearables", "respironics_rpx_csv", "test_sample_rpx_eng.csv")
    assert record.status in ("loaded", "partial"), record.error
    (part,) = [t for t in record.tables if t.table == "sleep_epochs"]
    epochs = pl.read_parquet(part.parquet)
    assert set(epochs["method"].unique()) == {"actiware_vendor", "oakley"}
    both = (
        epochs.filter(pl.col("method") == "actiware_vendor")
        .join(epochs.filter(pl.col("method") == "oakley"), on="epoch_start_at", suffix="_o")
        .drop_nulls(["is_asleep", "is_asleep_o"])
    )
    assert both.height > 20_000
    assert (both["is_asleep"] == both["is_asleep_o"]).all()


def test_actigraph_counts_are_scored_by_cole_kripke_and_sadeh(tmp_path: Path) -> None:
    import polars as pl

    record = _parse_real(tmp_path, "wearables", "actigraph_csv", "ActiGraph13.csv")
    assert record.status in ("loaded", "partial"), record.error
    (part,) = [t for t in record.tables if t.table == "sleep_epochs"]
    epochs = pl.read_parquet(part.parquet)
    assert set(epochs["method"].unique()) == {"cole_kripke_1min", "sadeh"}
    # 990 epochs of 15 s = 247.5 min -> 247 whole minutes per method
    assert epochs.group_by("method").len()["len"].to_list() == [247, 247]
