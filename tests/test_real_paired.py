"""Real people's paired exports end to end: a Cronometer daily summary with the same
person's WHOOP sleeps, and a MyFitnessPal Nutrition Summary with the same person's Oura
daily_sleep scores (score-only nights, no magnesium)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil

import duckdb
import polars as pl
import pytest

from restless.flows.nightly import nightly
from restless.ingest import oura
from restless.ingest.base import ReadContext
from restless.models.nightly import DAY_SCORE_NIGHT_OFFSET_D
from restless.models.nights import assign_nights, main_periods

from .conftest import real_file


@pytest.fixture(scope="module")
def paired(prefect_harness, tmp_path_factory):
    summary = real_file("foodlogs", "cronometer", "maximumpeaches__tracking", "dailysummary.csv")
    sleeps = real_file("foodlogs", "whoop", "maximumpeaches__tracking", "sleeps.csv")
    root = tmp_path_factory.mktemp("paired")
    counts, con = _run_pair(root, "mp01", "America/New_York", 1990, summary, sleeps)
    yield counts, con, summary, sleeps
    con.close()


def _run_pair(root, participant: str, timezone: str, birth_year: int, *files):
    """One real flow run over ``files`` of one (male) participant: (counts, read-only con)."""
    inbox = root / "inbox" / participant
    inbox.mkdir(parents=True)
    for path in files:
        shutil.copy(path, inbox / path.name)
    config = root / "restless.toml"
    config.write_text(
        f'[participants.{participant}]\ntimezone = "{timezone}"\nsex = "male"\n'
        f"birth_year = {birth_year}\n",
        encoding="utf-8",
    )
    db = root / "w.duckdb"
    counts = nightly(inbox=str(root / "inbox"), warehouse=str(db), config_path=str(config))
    return counts, duckdb.connect(str(db), read_only=True)


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


# --- MyFitnessPal + Oura daily_sleep (marcus-furius/health-intel) --------------------------

MFP = ("foodlogs", "myfitnesspal", "marcus-furius__health-intel")
OURA = ("foodlogs", "oura", "marcus-furius__health-intel", "daily_sleep_2025-03-08_2026-03-08.json")

# The same person's Oura *sleep* documents (not in ../shared: the file is 2.6 MB), as stored at
# marcus-furius/health-intel data/raw/oura/sleep_2025-03-08_2026-03-08.json, commit
# 73864868c9c903964d1cb356b578b926e96e12e5: id, type, bedtime_start, bedtime_end, day, copied
# from the file. Every long_sleep's ``day`` is the date it ENDS (the wake-up day); evening
# short periods are counted on the next day too.
REAL_OURA_SLEEPS = [
    ("f16f5919-dde2-44e8-a78e-06aedf87d405", "long_sleep",
     "2025-03-08T22:32:33.000+00:00", "2025-03-09T06:34:08.000+00:00", "2025-03-09"),
    ("ba322aba-7556-4916-9bb5-dc5df694f734", "sleep",
     "2025-03-09T21:19:03.000+00:00", "2025-03-09T21:39:03.000+00:00", "2025-03-10"),
    ("ed17bf7a-583b-4f8c-8c60-ad1195735746", "long_sleep",
     "2025-03-09T22:52:33.000+00:00", "2025-03-10T06:24:52.000+00:00", "2025-03-10"),
    ("aabb4c16-0813-49b0-a64e-e0e9b33f9319", "sleep",
     "2025-08-31T17:02:29.000+01:00", "2025-08-31T17:32:29.000+01:00", "2025-08-31"),
    ("e3f6d58f-7715-46c6-a5cb-f614b8fcd8b6", "sleep",
     "2025-08-31T18:59:59.000+01:00", "2025-08-31T19:33:29.000+01:00", "2025-09-01"),
    ("2c38c8bb-9547-492a-8e1e-0f0beb05c204", "long_sleep",
     "2025-08-31T22:37:59.000+01:00", "2025-09-01T06:16:32.000+01:00", "2025-09-01"),
    ("cad96086-fee4-4775-8a36-8660d04b3226", "long_sleep",
     "2025-09-01T22:52:30.000+01:00", "2025-09-02T06:43:08.000+01:00", "2025-09-02"),
]  # fmt: skip

# Hand-read from the daily_sleep file: Oura day -> (score, contributors.restfulness)
HAND_READ = {
    "2025-03-09": (91, 84),
    "2025-03-10": (88, 93),
    "2025-09-01": (90, 84),
    "2025-09-02": (91, 86),
}


def test_oura_day_is_the_wake_up_date_so_night_is_day_minus_one(tmp_path) -> None:
    docs = [
        {"id": key, "type": kind, "bedtime_start": start, "bedtime_end": end, "day": day}
        | {"time_in_bed": 1}  # a period field, so the file is recognised as sleep documents
        for key, kind, start, end, day in REAL_OURA_SLEEPS
    ]
    path = tmp_path / "sleep.json"
    path.write_text(json.dumps(docs), encoding="utf-8")
    ctx = ReadContext(participant_id="p1", timezone="Europe/London")
    periods = (
        oura.read_sleep(path, ctx)
        .tables["sleep_periods"]
        .with_columns(participant_id=pl.lit("p1"), source=pl.lit("oura"), file_id=pl.lit("f"))
    )
    zones = pl.DataFrame({"participant_id": ["p1"], "timezone": ["Europe/London"]})
    nights = assign_nights(periods, zones)
    days = {key: dt.date.fromisoformat(day) for key, _k, _s, _e, day in REAL_OURA_SLEEPS}
    main = main_periods(nights)
    assert main.height == 4  # the four long sleeps; the short evening periods are naps
    for key, night in main.select("period_key", "night_date").iter_rows():
        assert night == days[key] - dt.timedelta(days=1)  # the rule nightly.py applies
    assert DAY_SCORE_NIGHT_OFFSET_D["oura"] == -1


@pytest.fixture(scope="module")
def mfp_oura(prefect_harness, tmp_path_factory):
    nutrition = real_file(*MFP, "Nutrition-Summary-2024-07-02-to-2026-03-02.csv")
    daily_sleep = real_file(*OURA)
    root = tmp_path_factory.mktemp("mfp_oura")
    counts, con = _run_pair(root, "mf01", "Europe/London", 1985, nutrition, daily_sleep)
    yield counts, con, nutrition, daily_sleep
    con.close()


def test_oura_daily_scores_become_score_only_nights(mfp_oura) -> None:
    counts, con, _nutrition, daily_sleep = mfp_oura
    assert counts["files_loaded"] == 2
    docs = {d["day"]: d for d in json.loads(daily_sleep.read_text(encoding="utf-8"))}
    rows = con.execute(
        "SELECT night_date, sleep_source, sleep_period_key, sleep_onset_at, time_in_bed_min,"
        " tst_min, restlessness_method, coverage, vendor_sleep_score, vendor_restfulness_score,"
        " timezone FROM features.nightly ORDER BY night_date"
    ).fetchall()
    assert len(rows) == len(docs) == 349  # one night per Oura day, none without a score
    by_night = {r[0]: r for r in rows}
    for _night, source, key, onset, tib, tst, method, coverage, *_scores, zone in rows:
        assert (source, key, onset, tib, tst, method) == ("oura", None, None, None, None, None)
        assert coverage == 0.0 and zone == "Europe/London"
    for day, (score, restfulness) in HAND_READ.items():
        assert (docs[day]["score"], docs[day]["contributors"]["restfulness"]) == (
            score,
            restfulness,
        )
        night = dt.date.fromisoformat(day) - dt.timedelta(days=1)
        assert by_night[night][8:10] == (score, restfulness)
    first = min(dt.date.fromisoformat(d) for d in docs)
    assert rows[0][0] == first - dt.timedelta(days=1)  # Oura day 2025-03-08 = night 03-07
    mart = con.execute(
        "SELECT count(*) FROM mart.nightly WHERE is_score_only AND vendor_sleep_score IS NOT NULL"
    ).fetchone()[0]
    assert mart == 349


def test_mfp_days_feed_the_nights_without_magnesium(mfp_oura) -> None:
    _counts, con, nutrition, _daily_sleep = mfp_oura
    with nutrition.open(encoding="utf-8", newline="") as handle:
        kcal: dict[str, float] = {}
        for r in csv.DictReader(handle):
            kcal[r["Date"]] = kcal.get(r["Date"], 0.0) + float(r["Calories"] or 0)
    rows = con.execute(
        "SELECT night_date, energy_kcal, is_log_complete, intake_basis, magnesium_total_mg,"
        " magnesium_pct_rda, calcium_mg, iron_mg FROM features.nightly"
        " WHERE energy_kcal IS NOT NULL ORDER BY night_date"
    ).fetchall()
    assert len(rows) >= 200  # nights whose day has an MFP log (228 when written)
    for night, energy, complete, basis, mg, pct, calcium, iron in rows:
        assert energy == pytest.approx(kcal[night.isoformat()], abs=1e-6)
        assert complete == (energy >= 1000.0)  # no Time column: calories decide
        assert basis == "servings"
        # no magnesium in MFP exports; Calcium/Iron are % Daily Value: unknown, never 0
        assert (mg, pct, calcium, iron) == (None, None, None, None)
    short = {night for night, _e, complete, *_ in rows if not complete}
    assert dt.date(2025, 9, 6) in short  # 950.9 kcal logged that day


def test_no_magnesium_means_insufficient_data(mfp_oura) -> None:
    _counts, con, _nutrition, _daily_sleep = mfp_oura
    rows = con.execute(
        "SELECT measure, comparison, sleep_source, restlessness_method, status,"
        " nights_compared, nights_group_a, label FROM features.magnesium_response"
    ).fetchall()
    measures = {m for m, *_ in rows}
    assert measures == {"vendor_restfulness_score", "vendor_sleep_score"}  # no sleep window
    for measure, comparison, source, method, status, compared, group_a, label in rows:
        assert (source, method, status) == ("oura", None, "insufficient_data")
        assert label.startswith("association")
        if comparison in ("rda", "correlation"):
            assert compared == 0, (measure, comparison)  # no day has a magnesium total
        else:
            assert group_a == 0  # no supplement logged: nothing "on"
