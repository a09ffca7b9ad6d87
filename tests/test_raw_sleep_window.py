"""The sleep window from a raw ankle recording itself (HDCZA, issue #4).

A synthetic recording at 12.5 Hz (just above the 10-Hz minimum for leg movements, to stay
fast): active days whose sensor orientation keeps changing, and still nights from 23:00 to
07:00 local with one posture change at 03:00 and a planted PLM series at 01:00. The planted
night times are the truth the HDCZA windows are compared with.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import polars as pl
import pytest

from restless.flows.pipeline import parse_file
from restless.flows.raw_scoring import raw_tables
from restless.ingest.base import RawAcceleration, ReadContext
from restless.ingest.registry import detect_format
from restless.models import params
from restless.models.nights import source_rank
from tests.builders import fitbit_classic_log, inbox_file

ZONE = "Europe/Berlin"  # UTC+1 in January: the local nights are not the UTC ones
TZ = ZoneInfo(ZONE)
FS = 12.5
BED, TURN, WAKE = 23, 3, 7  # local hours: still from 23:00, posture change at 03:00, up at 07:00
PLM_HOUR = 1  # a planted PLM series starts at 01:00 local
PLM_COUNT, PLM_IMI_S, PLM_DURATION_S = 12, 20.0, 1.5


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def _night_bounds(night: date) -> tuple[datetime, datetime]:
    """The planted still block of night D: 23:00 local on D to 07:00 local on D + 1."""
    return _local(night, BED), _local(night + timedelta(days=1), WAKE)


def _plm_onsets(night: date) -> list[datetime]:
    first = _local(night + timedelta(days=1), PLM_HOUR)
    return [first + timedelta(seconds=PLM_IMI_S * k) for k in range(PLM_COUNT)]


def _recording(start: datetime, hours: float, seed: int = 4) -> np.ndarray:
    """(n, 3) acceleration in g from ``start`` for ``hours`` at FS: planted nights, busy days.

    The z-angle is the elevation of gravity. By day it swings by tens of degrees within a
    minute and the leg vibrates (walking); by night it stays put except for the 20-s turn at
    03:00 and the planted leg movements (a 4-degree shank tilt and a 3-Hz vibration each).
    """
    rng = np.random.default_rng(seed)
    n = round(hours * 3600 * FS)
    t = np.arange(n) / FS
    elev = 35 * np.sin(2 * np.pi * t / 47) + 15 * np.sin(2 * np.pi * t / 13 + 1)
    azim = 2 * np.pi * t / 300
    noise = np.full(n, 0.03)
    walk = np.full(n, 0.15)
    t0 = start.timestamp()

    def index(moment: datetime) -> int:
        return min(max(round((moment.timestamp() - t0) * FS), 0), n)

    first = (start.astimezone(TZ) - timedelta(days=1)).date()
    last = (start + timedelta(hours=hours)).astimezone(TZ).date()
    night = first
    while night <= last:
        a, b = (index(x) for x in _night_bounds(night))
        turn = index(_local(night + timedelta(days=1), TURN))
        if b > a:
            elev[a:b], azim[a:b], noise[a:b], walk[a:b] = 10.0, 0.4, 0.005, 0.0
            ramp = min(round(20 * FS), max(b - turn, 0))
            elev[turn : turn + ramp] = np.linspace(10.0, -25.0, ramp)
            elev[turn + ramp : b] = -25.0
            for onset in _plm_onsets(night):
                i0 = index(onset)
                i1 = index(onset + timedelta(seconds=PLM_DURATION_S))
                if a <= i0 < i1 <= b:
                    m = i1 - i0
                    bump = np.sin(np.pi * (np.arange(m) + 0.5) / m)
                    elev[i0:i1] += 4.0 * bump
                    walk[i0:i1] = 0.08 * bump
        night += timedelta(days=1)
    e, z = np.deg2rad(elev), azim
    gravity = np.column_stack([np.cos(e) * np.cos(z), np.cos(e) * np.sin(z), np.sin(e)])
    shake = np.sin(2 * np.pi * 3.0 * t)[:, None] * np.array([0.6, 0.5, 0.62])
    return gravity + walk[:, None] * shake + rng.normal(0.0, 1.0, (n, 3)) * noise[:, None]


def _raw(start: datetime, hours: float) -> RawAcceleration:
    xyz = _recording(start, hours)
    size = 1 << 16

    def chunks():
        for i in range(0, len(xyz), size):
            yield xyz[i : i + size]

    return RawAcceleration(
        fs=FS, start_at=start.astimezone(UTC), chunks=chunks, device="synthetic", n_samples=len(xyz)
    )


# --- (a) raw_tables: one HDCZA period per well-covered night, at the planted times ---------


def test_hdcza_periods_match_the_planted_nights() -> None:
    # 08:00 local on Jan 12 to 12:00 local on Jan 14: night Jan 11 has 4 h of its noon-to-noon
    # window (skipped for coverage), nights Jan 12 and 13 are complete
    start = _local(date(2026, 1, 12), 8)
    tables, notes = raw_tables(_raw(start, 52.0), "left", time_zone=ZONE)
    periods = tables["sleep_periods"].sort("start_at")
    assert periods.height == 2
    tolerance = timedelta(minutes=3)
    nights = [date(2026, 1, 12), date(2026, 1, 13)]
    for row, night in zip(periods.iter_rows(named=True), nights, strict=True):
        bed, wake = _night_bounds(night)
        assert abs(row["start_at"] - bed) <= tolerance, (row, bed)
        assert abs(row["end_at"] - wake) <= tolerance, (row, wake)
        assert row["period_key"] == row["start_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (row["log_type"], row["is_nap"]) == ("hdcza", False)
    note = next(n for n in notes if n.startswith("sleep window (HDCZA"))
    assert "2 of 3 nights got a window" in note and "1 skipped for coverage" in note
    # the SIB epochs and the leg movements are still there beside the periods
    assert tables["sleep_epochs"]["method"].unique().to_list() == ["van_hees_sib"]
    assert tables["leg_movements"].height >= 2 * PLM_COUNT


def test_a_short_recording_gets_no_period() -> None:
    """Under HDCZA_MIN_COVERED_H of a noon-to-noon window: no period, and the note says so."""
    start = _local(date(2026, 1, 12), 20)  # 20:00 to 08:00: 12 h of night Jan 12's window
    tables, notes = raw_tables(_raw(start, 12.0), "unknown", time_zone=ZONE)
    assert params.HDCZA_MIN_COVERED_H > 12.0
    assert "sleep_periods" not in tables
    assert any("0 of 1 nights got a window" in n and "1 skipped for coverage" in n for n in notes)


# --- (d) priority -----------------------------------------------------------------------------


def test_side_suffixed_raw_sources_rank_like_their_base_and_after_fitbit() -> None:
    names = ["axivity", "axivity_left", "geneactiv_right", "geneactiv", "raw_csv_left", "fitbit"]
    names += ["actigraph_raw_unknown", "actigraph_raw", "not_a_source"]
    ranks = dict(pl.DataFrame({"source": names}).with_columns(source_rank()).iter_rows())
    assert ranks["axivity_left"] == ranks["axivity"]
    assert ranks["geneactiv_right"] == ranks["geneactiv"]
    assert ranks["actigraph_raw_unknown"] == ranks["actigraph_raw"]
    assert ranks["fitbit"] < ranks["axivity"] < ranks["not_a_source"]
    assert ranks["raw_csv_left"] < ranks["not_a_source"]
    # every raw reader's source is listed, after every non-raw source
    from restless.ingest import raw_csv
    from restless.ingest.raw import cwa, geneactiv, gt3x, matrix

    raw_sources = [m.SOURCE for m in (cwa, geneactiv, gt3x, matrix, raw_csv)]
    order = params.SLEEP_SOURCE_PRIORITY
    assert set(raw_sources) <= set(order)
    assert sorted(order.index(s) for s in raw_sources) == list(
        range(len(order) - len(raw_sources), len(order))
    )


def test_an_hdcza_window_is_the_main_period_only_when_nothing_else_is() -> None:
    """Whatever file carried it (a FIT accelerometer file has the source 'garmin_fit'), a
    window restless found in raw acceleration never beats a device's own period."""
    from restless.models.nights import main_periods

    bed = datetime(2026, 1, 12, 22, tzinfo=UTC)

    def period(source: str, log_type: str | None, hours: float) -> dict:
        return {
            "participant_id": "p1",
            "night_date": date(2026, 1, 12),
            "source": source,
            "period_key": f"{source}-1",
            "start_at": bed,
            "end_at": bed + timedelta(hours=hours),
            "log_type": log_type,
            "is_nap": False,
        }

    def main(*rows: dict) -> str:
        return main_periods(pl.DataFrame(list(rows)))["source"].to_list()

    fitbit = period("fitbit", "classic", 6.0)
    unlisted = period("some_new_vendor", None, 6.0)
    assert main(period("axivity_left", "hdcza", 8.0), fitbit) == ["fitbit"]
    assert main(period("garmin_fit_left", "hdcza", 8.0), fitbit) == ["fitbit"]
    assert main(period("garmin_fit", "hdcza", 8.0), unlisted) == ["some_new_vendor"]
    assert main(period("axivity_left", "hdcza", 8.0)) == ["axivity_left"]
    # between two ankle windows the priority list decides, then the longer one
    assert main(period("raw_csv_right", "hdcza", 9.0), period("axivity_left", "hdcza", 8.0)) == [
        "axivity_left"
    ]


def test_plms_of_an_ankle_window_ignore_its_sib_epochs() -> None:
    """The ankle's own SIB epochs call a PLM series wake (each movement tilts the shank):
    for a night whose sleep period is that ankle's HDCZA window, the whole window is sleep.
    A Fitbit night keeps its own window and ignores the ankle's epochs too."""
    from restless.models.leg_nights import leg_night_rows

    spt_start = datetime(2026, 1, 12, 22, 0, tzinfo=UTC)
    sib_onset = spt_start + timedelta(minutes=20)  # SIB starts later than the HDCZA window
    series = [spt_start + timedelta(minutes=5, seconds=20 * k) for k in range(8)]
    moves = pl.DataFrame(
        {
            "participant_id": "p1",
            "source": "axivity_left",
            "side": "left",
            "start_at": series,
            "end_at": [t + timedelta(seconds=1.5) for t in series],
            "duration_s": 1.5,
        }
    )
    n_epochs = 8 * 12 * 60  # 8 h of 5-s epochs from the window start
    starts = [spt_start + timedelta(seconds=5 * k) for k in range(n_epochs)]
    epochs = pl.DataFrame(
        {
            "participant_id": "p1",
            "source": "axivity_left",
            "method": "van_hees_sib",
            "epoch_start_at": starts,
            "epoch_s": 5.0,
            "is_asleep": [s >= sib_onset for s in starts],  # the series' minutes are 'wake'
        }
    )
    nights = pl.DataFrame(
        {
            "participant_id": ["p1", "p1"],
            "night_date": [date(2026, 1, 12), date(2026, 1, 13)],
            "sleep_source": ["axivity_left", "fitbit"],
            "sleep_onset_at": [sib_onset, sib_onset + timedelta(days=1)],
            "sleep_offset_at": [spt_start + timedelta(hours=h) for h in (8, 24 + 8)],
            "sol_min": [20.0, 0.0],
            "time_in_bed_min": [480.0, 460.0],
        }
    )
    moves = pl.concat([moves, moves.with_columns(pl.col("^.*_at$") + pl.duration(days=1))])
    rows = leg_night_rows(nights, moves, epochs)[0].sort("night_date")
    ankle, fitbit = rows.row(0, named=True), rows.row(1, named=True)
    assert ankle["plms_count"] == 8  # inside the HDCZA window, all counted as sleep
    assert ankle["plms_index"] == pytest.approx(8 / 8.0)  # per hour of the 8-h window
    assert ankle["plmw_index"] is None and ankle["lm_pre_sleep_count"] == 0
    # the Fitbit night's window starts at its own onset, after the series: pre-sleep LMs
    assert fitbit["plms_count"] == 0 and fitbit["lm_pre_sleep_count"] == 8


# --- (b, c, e) through the real flow ----------------------------------------------------------

NIGHT = date(2026, 1, 12)


def _write_csv(path: Path, start: datetime, hours: float, precision: int = 4) -> None:
    """Axivity's headerless raw CSV layout: unix seconds, x, y, z (g)."""
    xyz = _recording(start, hours)
    stamps = start.timestamp() + np.arange(len(xyz)) / FS
    pl.DataFrame({"t": stamps, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).write_csv(
        path, include_header=False, float_precision=precision
    )


def _fitbit_sleep_log(path: Path) -> None:
    """A classic Fitbit log for night Jan 12, 23:30 to 06:30 local (the export's clock)."""
    fitbit_classic_log(path, datetime(2026, 1, 12, 23, 30), 7 * 60, 777)


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_ankle_only_night_then_fitbit_wins_and_reimport_replaces(
    prefect_harness, tmp_path: Path
) -> None:
    from restless.flows.nightly import nightly

    inbox = tmp_path / "inbox"
    (inbox / "p1" / "left").mkdir(parents=True)
    # 16:00 local Jan 12 to 10:00 local Jan 13: 18 h of night Jan 12's noon-to-noon window
    start = _local(NIGHT, 16)
    _write_csv(inbox / "p1" / "left" / "ankle.csv", start, 18.0)
    config = tmp_path / "restless.toml"
    config.write_text(f'[participants.p1]\ntimezone = "{ZONE}"\n', encoding="utf-8")
    db = tmp_path / "wh" / "restless.duckdb"

    def run() -> None:
        nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))

    # (b) only the ankle: the night comes from its own HDCZA window
    run()
    periods = _query(
        db, "SELECT source, start_at, end_at, log_type, is_nap FROM core.sleep_periods"
    )
    assert len(periods) == 1, periods
    source, spt_start, spt_end, log_type, is_nap = periods[0]
    bed, wake = _night_bounds(NIGHT)
    assert (source, log_type, is_nap) == ("raw_csv_left", "hdcza", False)
    assert abs(spt_start - bed) <= timedelta(minutes=3)
    assert abs(spt_end - wake) <= timedelta(minutes=3)
    row = _query(
        db,
        "SELECT night_date, sleep_source, restlessness_method, plms_count, plms_index,"
        " plmw_index, tst_min FROM features.nightly WHERE participant_id = 'p1'",
    )
    assert len(row) == 1, row
    night_date, sleep_source, method, plms, plms_index, plmw_index, tst = row[0]
    assert (night_date, sleep_source, method) == (NIGHT, "raw_csv_left", "raw_accel")
    assert plms == PLM_COUNT
    window_h = (spt_end - spt_start).total_seconds() / 3600
    assert plms_index == pytest.approx(PLM_COUNT / window_h)  # the whole window is sleep
    assert plmw_index is None
    assert tst is not None and 0 < tst <= window_h * 60  # TST from SIB inside the window
    warnings = _query(db, "SELECT warnings FROM ops.files WHERE source = 'raw_csv_left'")
    assert "1 of 1 nights got a window" in str(warnings)

    # (e) the same inbox again: nothing new; then a re-export of the same recording (other
    # bytes, same samples) replaces the period instead of adding a second one
    run()
    assert _query(db, "SELECT count(*) FROM core.sleep_periods")[0][0] == 1
    # (c) and a Fitbit log of the same night: Fitbit wins the night (raw sources rank last)
    _write_csv(inbox / "p1" / "left" / "ankle_reexport.csv", start, 18.0, precision=6)
    _fitbit_sleep_log(inbox / "p1" / "sleep-2026-01-13.json")
    run()
    files = _query(db, "SELECT path, status FROM ops.files ORDER BY path")
    assert all(status == "loaded" for _, status in files), files
    counts = _query(
        db, "SELECT source, count(*) FROM core.sleep_periods GROUP BY source ORDER BY source"
    )
    assert counts == [("fitbit", 1), ("raw_csv_left", 1)]
    row = _query(
        db,
        "SELECT sleep_source, restlessness_method, plms_count FROM features.nightly"
        " WHERE participant_id = 'p1'",
    )
    assert len(row) == 1, row
    assert row[0][:2] == ("fitbit", "raw_accel")


def test_derived_tables_cover_the_whole_recording_span(tmp_path: Path) -> None:
    """A re-import replaces raw-derived rows anywhere in the recording, not only between its
    first and last new row: the coverage of each derived table is the recording's span
    (first sample to the end of the last 30-s epoch), whatever rows the tables hold."""
    path = tmp_path / "ankle.csv"
    start = _local(NIGHT, 16)
    hours = 18.0
    _write_csv(path, start, hours)
    file = inbox_file(path, "p1/left/ankle.csv", file_id="f-ankle")
    fmt = detect_format(path)
    assert fmt is not None
    record = parse_file(file, fmt, ReadContext("p1", ZONE, "f-ankle"), tmp_path)
    assert record.status == "loaded", record.error
    parts = {t.table: t for t in record.tables}
    n = round(hours * 3600 * FS)
    first, end = start.astimezone(UTC), start.astimezone(UTC) + timedelta(seconds=n / FS)
    for table in ("sleep_periods", "sleep_epochs", "movement_epochs", "leg_movements"):
        part = parts[table]
        assert part.coverage_kind == "span"
        bounds = pl.read_parquet(part.coverage_parquet)[part.coverage_column].to_list()
        assert bounds[0] == first, table
        assert abs(bounds[1] - end) <= timedelta(seconds=1 / FS), table
    # the one HDCZA period lies well inside that span, so its own start alone would cover
    # only an instant
    period = pl.read_parquet(parts["sleep_periods"].parquet)
    assert period.height == 1 and period["start_at"][0] > first + timedelta(hours=6)


def test_a_cwa_recording_is_scored_in_the_participants_local_nights(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw formats whose samples carry UTC (.cwa here) are read after the zones are resolved,
    so the HDCZA window is searched per LOCAL noon-to-noon night. In Los Angeles the planted
    23:00-07:00 nights are 07:00-15:00 UTC: a UTC noon boundary would cut them at 12:00 UTC
    and lose a night for coverage."""
    from restless.demo.cwa_writer import write_cwa_file
    from tests.builders import run_nightly

    zone = "America/Los_Angeles"
    monkeypatch.setattr(sys.modules[__name__], "TZ", ZoneInfo(zone))  # the planted nights
    start = _local(NIGHT, 16)  # 16:00 local Jan 12 to 08:00 local Jan 14: two 20-h nights
    inbox = tmp_path / "inbox"
    (inbox / "p1" / "left").mkdir(parents=True)
    write_cwa_file(
        inbox / "p1" / "left" / "ankle.cwa",
        start_utc=start.astimezone(UTC),
        samples_g=_recording(start, 40.0),
        sample_rate_hz=FS,
    )
    db = run_nightly(tmp_path, inbox, timezone=zone)
    periods = _query(db, "SELECT source, start_at, end_at FROM core.sleep_periods ORDER BY 2")
    assert [p[0] for p in periods] == ["axivity_left", "axivity_left"], periods
    nights = [NIGHT, NIGHT + timedelta(days=1)]
    for (_, spt_start, spt_end), night in zip(periods, nights, strict=True):
        bed, wake = _night_bounds(night)
        assert abs(spt_start - bed) <= timedelta(minutes=3), (spt_start, bed)
        assert abs(spt_end - wake) <= timedelta(minutes=3), (spt_end, wake)
    rows = _query(db, "SELECT night_date, sleep_source FROM features.nightly ORDER BY 1")
    assert rows == [(night, "axivity_left") for night in nights]
