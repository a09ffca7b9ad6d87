"""pandera validation splits good rows from quarantined ones, naming row, column, check."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from restless.schemas.core import polars_schema
from restless.schemas.validate import TableRejected, validate_table


def _intake(rows: list[dict]) -> pl.DataFrame:
    schema = polars_schema("intake_items")
    base = {c: None for c in schema}
    base.update(
        participant_id="p1",
        source="cronometer",
        file_id="f",
        local_date=dt.date(2026, 1, 1),
        item_name="x",
        is_supplement=False,
        nutrient_origin="export",
    )
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema)


def test_impossible_values_are_quarantined_and_the_rest_kept() -> None:
    frame = _intake(
        [
            {"row_number": 1, "magnesium_mg": 40.0},
            {"row_number": 2, "magnesium_mg": -5.0},
            {"row_number": 3, "magnesium_mg": 10.0, "nutrient_origin": "guessed"},
            {"row_number": 4, "magnesium_mg": None, "energy_kcal": 50_000.0},
        ]
    )
    valid, quarantine = validate_table("intake_items", frame)
    assert valid.get_column("row_number").to_list() == [1]
    got = sorted(
        (r["row_number"], r["column_name"], r["value"]) for r in quarantine.iter_rows(named=True)
    )
    assert got == [
        (2, "magnesium_mg", "-5.0"),
        (3, "nutrient_origin", "guessed"),
        (4, "energy_kcal", "50000.0"),
    ]
    assert all(quarantine.get_column("check_name").str.len_chars() > 0)


def test_cross_column_rule_quarantines_the_row() -> None:
    schema = polars_schema("sleep_stages")
    t = dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "participant_id": ["p1", "p1"],
            "source": ["fitbit", "fitbit"],
            "file_id": ["f", "f"],
            "period_key": ["k", "k"],
            "start_at": [t, t],
            "end_at": [t + dt.timedelta(minutes=5), t - dt.timedelta(minutes=5)],
            "stage": ["light", "light"],
        },
        schema=schema,
    )
    valid, quarantine = validate_table("sleep_stages", frame)
    assert valid.height == 1
    assert quarantine.get_column("row_number").to_list() == [2]
    assert quarantine.get_column("check_name").to_list() == ["ends_after_start"]


def test_a_missing_column_rejects_the_table() -> None:
    frame = _intake([{"row_number": 1}]).drop("item_name")
    with pytest.raises(TableRejected, match="item_name"):
        validate_table("intake_items", frame)
