"""Per-movement WASM 2016 flags (issue #4): core.leg_movements.is_clm/in_series as scored from
one sensor at load, and features.leg_movements, the scored movements each night's PLMS count
counts. Expected flags are worked out by hand from the rules (SCIENCE.md section 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from restless.models.leg_nights import leg_night_rows
from restless.models.legs import flag_monolateral
from restless.schemas.features import ScoredLegMovement
from restless.warehouse.connection import migrate, migration_files
from tests.plm_simulator import START_AT, SimConfig, _synthesise
from tests.test_raw_pipeline import FS, _flow_night

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
UTC_US = pl.Datetime("us", "UTC")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def moves(*events: tuple[float, float], side: str = "left", **lineage: str) -> pl.DataFrame:
    """core.leg_movements-like rows from (onset_s, duration_s) pairs."""
    return pl.DataFrame(
        {
            "participant_id": lineage.get("participant_id", "p1"),
            "source": lineage.get("source", f"raw_csv_{side}"),
            "file_id": lineage.get("file_id", f"f-{side}"),
            "side": side,
            "start_at": [at(a) for a, _ in events],
            "end_at": [at(a + d) for a, d in events],
            "duration_s": [float(d) for _, d in events],
            "peak_g": 0.1,
            "area_g_s": 0.1,
            "onset_threshold_g": 0.02,
            "offset_threshold_g": 0.01,
        },
        schema_overrides={"start_at": UTC_US, "end_at": UTC_US},
    )


EMPTY_EPOCHS = pl.DataFrame(
    schema={
        "participant_id": pl.String,
        "source": pl.String,
        "method": pl.String,
        "epoch_start_at": UTC_US,
        "epoch_s": pl.Float64,
        "is_asleep": pl.Boolean,
    }
)


def one_night(onset_s: float = 0.0, hours: float = 2.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "participant_id": ["p1"],
            "night_date": [date(2026, 3, 1)],
            "sleep_source": ["fitbit"],
            "sleep_onset_at": [at(onset_s)],
            "sleep_offset_at": [at(onset_s + hours * 3600)],
        }
    )


# Hand case: CLMs at 0, 20, 40, 60 s (a series of 4, IMIs of 20 s), a 12-s movement at 70 s (an
# LM, not a CLM), a CLM at 90 s (its IMI of 20 s follows a non-CLM: no link), an isolated CLM
# at 300 s, and a 0.3-s twitch at 400 s (no LM at all).
HAND = [(0, 1.5), (20, 1.5), (40, 1.5), (60, 1.5), (70, 12), (90, 1.5), (300, 2), (400, 0.3)]
HAND_FLAGS = [  # (is_clm, in_series)
    (True, True),
    (True, True),
    (True, True),
    (True, True),
    (False, False),
    (True, False),
    (True, False),
    (False, False),
]


def test_monolateral_flags_by_hand_keep_rows_and_order() -> None:
    frame = moves(*HAND)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    flagged = flag_monolateral(shuffled)
    assert flagged.columns == [*frame.columns, "is_clm", "in_series"]
    assert flagged.drop("is_clm", "in_series").equals(shuffled)  # rows and order kept
    flags = zip(flagged["is_clm"], flagged["in_series"], strict=True)
    got = dict(zip(flagged["start_at"], flags, strict=True))
    assert [got[at(a)] for a, _ in HAND] == HAND_FLAGS


def test_monolateral_lms_under_0_5_s_apart_share_their_movement_flags() -> None:
    # 0-1 s and 1.3-2.3 s are 0.3 s apart: one 2.3-s movement; with 20, 40 and 60 s a series.
    # 100-106 s and 106.4-112 s merge into a 12-s movement: no CLM, though each part is short.
    frame = moves((0, 1), (1.3, 1), (20, 1), (40, 1), (60, 1), (100, 6), (106.4, 5.6))
    flagged = flag_monolateral(frame)
    assert flagged["is_clm"].to_list() == [True] * 5 + [False, False]
    assert flagged["in_series"].to_list() == [True] * 5 + [False, False]


def test_no_movements_give_typed_empty_flags() -> None:
    flagged = flag_monolateral(moves())
    assert flagged.height == 0
    assert flagged.schema["is_clm"] == pl.Boolean and flagged.schema["in_series"] == pl.Boolean


def test_features_rows_of_one_ankle_equal_its_core_flags() -> None:
    core = flag_monolateral(moves(*HAND))
    _, _, scored = leg_night_rows(one_night(-30), core, EMPTY_EPOCHS)
    ScoredLegMovement.validate(scored, lazy=True)
    # one row per LM (the twitch is none); same flags as the sensor's own scoring
    lms = core.filter(pl.col("duration_s") >= 0.5)
    assert scored["start_at"].to_list() == lms["start_at"].to_list()
    assert scored["is_clm"].to_list() == lms["is_clm"].to_list()
    assert scored["in_series"].to_list() == lms["in_series"].to_list()
    assert scored["series_id"].to_list() == [1, 1, 1, 1, None, None, None]
    assert set(scored["sides"]) == {"left"} and set(scored["n_monolateral"]) == {1}
    assert scored["imi_s"].to_list() == [None, 20.0, 20.0, 20.0, 10.0, 20.0, 210.0]


def test_bilateral_pair_is_one_scored_movement() -> None:
    # four bilateral pairs 20 s apart (right 0.2 s after left) and one pair 1.8 s apart with
    # overlap: left 300-302 s, right 301.8-303.8 s -> one movement 300-303.8 s
    left = moves((0, 1.5), (20, 1.5), (40, 1.5), (60, 1.5), (300, 2), side="left")
    right = moves((0.2, 1.5), (20.2, 1.5), (40.2, 1.5), (60.2, 1.5), (301.8, 2), side="right")
    core = pl.concat([flag_monolateral(left), flag_monolateral(right)])
    rows, _, scored = leg_night_rows(one_night(-30), core, EMPTY_EPOCHS)
    ScoredLegMovement.validate(scored, lazy=True)
    assert scored.height == 5
    assert set(scored["sides"]) == {"left+right"} and set(scored["n_monolateral"]) == {2}
    assert scored["start_at"].to_list() == [at(s) for s in (0, 20, 40, 60, 300)]
    assert scored["duration_s"].to_list() == pytest.approx([1.7] * 4 + [3.8])
    assert scored["is_clm"].to_list() == [True] * 5
    assert scored["in_series"].to_list() == [True] * 4 + [False]
    assert rows["plms_count"][0] == 4 and rows["lm_count"][0] == 5


def test_unknown_side_sensor_is_labelled_as_such() -> None:
    core = flag_monolateral(moves((0, 1), (20, 1), side="unknown"))
    _, _, scored = leg_night_rows(one_night(-30), core, EMPTY_EPOCHS)
    assert set(scored["sides"]) == {"unknown"}


def _epochs(onset_s: float, hours: float, wake: tuple[float, float]) -> pl.DataFrame:
    """30-s vendor epochs from an hour before onset to offset, asleep except ``wake``."""
    starts = np.arange(onset_s - 3600, onset_s + hours * 3600, 30.0)
    return pl.DataFrame(
        {
            "participant_id": "p1",
            "source": "fitbit",
            "method": "vendor",
            "epoch_start_at": [at(s) for s in starts],
            "epoch_s": 30.0,
            "is_asleep": [not (wake[0] <= s < wake[1]) for s in starts],
        },
        schema_overrides={"epoch_start_at": UTC_US},
    )


def _plms_from_rows(scored: pl.DataFrame) -> int:
    rule = pl.col("in_series") & pl.col("in_sleep_period") & pl.col("in_sleep").fill_null(True)
    return scored.filter(rule).height


def test_plms_count_is_the_scored_rows_in_series_and_in_sleep() -> None:
    # ten CLMs 20 s apart from 60 s before sleep onset (t = 0) to 120 s after, one series;
    # epochs asleep except [120, 150) s: 3 in the pre-sleep hour, 6 in sleep, 1 in wake
    core = flag_monolateral(moves(*((-60 + 20 * i, 1.5) for i in range(10))))
    assert core["in_series"].all()
    rows, _, scored = leg_night_rows(one_night(0), core, _epochs(0, 2, (120, 150)))
    ScoredLegMovement.validate(scored, lazy=True)
    assert scored["in_sleep_period"].to_list() == [False] * 3 + [True] * 7
    assert scored["in_sleep"].to_list() == [False] * 3 + [True] * 6 + [False]
    assert rows["plms_count"][0] == 6 == _plms_from_rows(scored)

    # without per-epoch sleep the whole period is sleep: in_sleep is null, 7 PLMS
    rows, _, scored = leg_night_rows(one_night(0), core, EMPTY_EPOCHS)
    assert scored["in_sleep"].null_count() == scored.height
    assert rows["plms_count"][0] == 7 == _plms_from_rows(scored)


# --- migration 010 on a warehouse that already holds leg movements ----------------------------


def _warehouse_before_010(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA meta")
    con.execute(
        "CREATE TABLE meta.schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    for version, name, sql in migration_files():
        if version < 10:
            con.execute(sql)
            con.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [version, name])
    return con


def _random_recording(rng: np.random.Generator, n: int, **lineage: str) -> pl.DataFrame:
    """LMs with durations 0.2-13 s and gaps from overlaps to 100 s, some exactly on a rule."""
    durations = rng.choice([0.3, 0.5, 1.0, 2.0, 6.0, 10.0, 10.5, 12.0], size=n)
    gaps = rng.choice([-0.5, 0.2, 0.499, 0.5, 5.0, 8.5, 9.0, 18.0, 80.0, 88.0], size=n)
    onsets, t = [], 0.0
    for d, g in zip(durations, gaps, strict=True):
        onsets.append(t)
        t = max(t + 0.1, t + d + g)
    return moves(*zip(onsets, durations, strict=True), **lineage)


def test_migration_010_flags_existing_rows_as_flag_monolateral_does(tmp_path: Path) -> None:
    con = _warehouse_before_010(tmp_path / "old.duckdb")
    rng = np.random.default_rng(11)
    recordings = [
        moves(*HAND, side="left", file_id="hand"),
        _random_recording(rng, 300, side="left", file_id="a"),
        _random_recording(rng, 300, side="right", file_id="b"),
        _random_recording(rng, 200, side="left", file_id="c", participant_id="p2"),
    ]
    old = pl.concat(recordings)
    con.register("old_rows", old)
    con.execute("INSERT INTO core.leg_movements SELECT * FROM old_rows")
    con.unregister("old_rows")
    applied = migrate(con)
    assert "010_leg_movement_flags.sql" in applied
    got = con.sql(
        "SELECT file_id, start_at, end_at, is_clm, in_series FROM core.leg_movements"
    ).pl()
    expected = pl.concat([flag_monolateral(r) for r in recordings]).select(
        "file_id", "start_at", "end_at", "is_clm", "in_series"
    )
    keys = ["file_id", "start_at", "end_at"]
    assert got.sort(keys).equals(expected.sort(keys))
    assert expected["in_series"].sum() > 20 and (~expected["is_clm"]).sum() > 20  # not trivial
    # from now on a load must give both flags
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO core.leg_movements (participant_id, source, file_id, side, start_at,"
            " end_at, duration_s) VALUES ('p1', 's', 'f', 'left', now(), now(), 1)"
        )
    con.close()


def test_migrated_warehouse_has_the_contract_columns(tmp_path: Path) -> None:
    from restless.schemas.core import LegMovement

    con = _warehouse_before_010(tmp_path / "old.duckdb")
    migrate(con)
    cols = con.execute(
        "SELECT column_name FROM duckdb_columns()"
        " WHERE schema_name = 'core' AND table_name = 'leg_movements' ORDER BY column_index"
    ).fetchall()
    assert [c[0] for c in cols] == list(LegMovement.to_schema().columns)
    con.close()


# --- a synthetic raw night through the real flow ----------------------------------------------

# one ankle at 50 Hz: a series of 4 CLMs 20 s apart, a 12-s leg movement, an isolated CLM and a
# series of 5 CLMs 25 s apart (hand truth: 9 movements in series, 10 CLMs, 1 long LM)
PLANTED = (
    [(600.0 + 20 * i, 1.5) for i in range(4)]
    + [(760.0, 12.0), (1000.0, 2.0)]
    + [(1200.0 + 25 * i, 1.5) for i in range(5)]
)


def _write_raw_night(path: Path) -> None:
    config = SimConfig(fs=FS, duration_s=40 * 60.0, noise_g=0.005)
    events = [
        {
            "side": "left",
            "kind": "series",
            "onset_s": t,
            "duration_s": d,
            "end_s": t + d,
            "amplitude_g": 0.08,
        }
        for t, d in PLANTED
    ]
    xyz, _, _ = _synthesise(np.random.default_rng(5), config, events, "left")
    stamps = (
        pl.Series(
            np.round((START_AT.timestamp() + np.arange(len(xyz)) / FS) * 1e6).astype(np.int64)
        )
        .cast(UTC_US)
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
    pl.DataFrame({"timestamp": stamps, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).write_csv(
        path, float_precision=5
    )


def test_flow_core_flags_equal_the_nightly_scoring_with_one_ankle(
    prefect_harness, tmp_path: Path
) -> None:
    db = _flow_night(tmp_path, _write_raw_night)

    con = duckdb.connect(str(db), read_only=True)
    try:
        core = con.sql(
            "SELECT start_at, duration_s, is_clm, in_series FROM core.leg_movements"
            " ORDER BY start_at"
        ).pl()
        scored = con.sql("SELECT * FROM features.leg_movements ORDER BY start_at").pl()
        plms = con.execute(
            "SELECT plms_count FROM features.nightly WHERE participant_id = 'p1'"
        ).fetchone()[0]
    finally:
        con.close()
    # the planted movements, found and flagged by hand truth
    assert core["in_series"].sum() == 9
    assert core["is_clm"].sum() == 10
    long = core.filter(pl.col("duration_s") > 10)
    assert long.height == 1 and not long["is_clm"][0] and not long["in_series"][0]
    # one ankle: the nightly scoring is the sensor's own, movement for movement
    assert scored.height and set(scored["sides"]) == {"left"}
    joined = scored.join(core, on="start_at", how="left", suffix="_core")
    assert joined["is_clm_core"].null_count() == 0
    assert joined["is_clm"].to_list() == joined["is_clm_core"].to_list()
    assert joined["in_series"].to_list() == joined["in_series_core"].to_list()
    assert plms == _plms_from_rows(scored) == 9
