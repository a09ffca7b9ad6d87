"""A real person's paired exports (Cronometer daily summary + WHOOP sleeps) end to end."""

from __future__ import annotations

import csv
import datetime as dt
import shutil

import duckdb
import pytest

from restless.flows.nightly import nightly

from .conftest import real_file


@pytest.fixture(scope="module")
def paired(prefect_harness, tmp_path_factory):
    summary = real_file("foodlogs", "cronometer", "maximumpeaches__tracking", "dailysummary.csv")
    sleeps = real_file("foodlogs", "whoop", "maximumpeaches__tracking", "sleeps.csv")
    root = tmp_path_factory.mktemp("paired")
    inbox = root / "inbox" / "mp01"
    inbox.mkdir(parents=True)
    shutil.copy(summary, inbox / "dailysummary.csv")
    shutil.copy(sleeps, inbox / "sleeps.csv")
    config = root / "restless.toml"
    config.write_text(
        '[participants.mp01]\ntimezone = "America/New_York"\nsex = "male"\nbirth_year = 1990\n',
        encoding="utf-8",
    )
    db = root / "w.duckdb"
    counts = nightly(inbox=str(root / "inbox"), warehouse=str(db), config_path=str(config))
    con = duckdb.connect(str(db), read_only=True)
    yield counts, con, summary, sleeps
    con.close()


def test_nights_carry_that_days_magnesium(paired) -> None:
    counts, con, summary, _sleeps = paired
    assert counts["files_loaded"] == 2
    with summary.open(encoding="utf-8", newline="") as handle:
        by_day = {r["Date"]: r["Magnesium (mg)"] for r in csv.DictReader(handle)}
    rows = con.execute(
        "SELECT night_date, magnesium_total_mg, intake_basis FROM features.nightly"
        " WHERE magnesium_total_mg IS NOT NULL ORDER BY night_date"
    ).fetchall()
    assert len(rows) >= 150  # 200 when written: WHOOP nights whose day has a known total
    for night_date, total, basis in rows[::25]:
        assert basis == "daily_summary"
        assert total == pytest.approx(float(by_day[night_date.isoformat()]), abs=1e-6)
    # blank magnesium in the summary stays unknown, never zero
    blank_days = [d for d, mg in by_day.items() if mg == ""]
    assert blank_days
    nulls = con.execute(
        "SELECT count(*) FROM features.daily_intake WHERE local_date IN (SELECT unnest(?))"
        " AND magnesium_total_mg IS NULL",
        [[dt.date.fromisoformat(d) for d in blank_days]],
    ).fetchone()[0]
    assert nulls == len(blank_days)


def test_whoop_sleep_lands_on_the_right_night(paired) -> None:
    _counts, con, _summary, sleeps = paired
    with sleeps.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Nap"] == "false" and r["Sleep onset"]]
    row = rows[40]
    onset = dt.datetime.fromisoformat(row["Sleep onset"])
    offset_h = int(row["Cycle timezone"].removeprefix("UTC")[:3])
    onset_utc = (onset - dt.timedelta(hours=offset_h)).replace(tzinfo=dt.UTC)
    night = (onset - dt.timedelta(hours=12)).date()  # noon-to-noon on the local clock
    got = con.execute(
        "SELECT night_date, tst_min FROM features.nightly WHERE sleep_source = 'whoop'"
        " AND sleep_onset_at >= ? - INTERVAL 1 MINUTE AND sleep_onset_at <= ? + INTERVAL 1 DAY"
        " ORDER BY night_date LIMIT 1",
        [onset_utc, onset_utc],
    ).fetchone()
    assert got[0] == night
    assert got[1] == pytest.approx(float(row["Asleep duration (min)"]), abs=1.0)


def test_the_association_table_is_written_and_labelled(paired) -> None:
    _counts, con, _summary, _sleeps = paired
    rows = con.execute(
        "SELECT measure, comparison, status, label FROM features.magnesium_response"
    ).fetchall()
    assert rows
    assert all(label.startswith("association") for *_rest, label in rows)
    assert {m for m, *_ in rows} >= {"waso_min", "sleep_efficiency"}
