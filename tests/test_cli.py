"""The command line: names, exit codes, read-only queries, the busy warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restless.flows.cli import app
from restless.warehouse.connection import connect_writer

from .conftest import lock_held_elsewhere

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_warehouse(prefect_harness, demo_inbox, tmp_path_factory):
    info, config = demo_inbox
    db = tmp_path_factory.mktemp("cli") / "restless.duckdb"
    result = runner.invoke(
        app,
        ["run", "--inbox", str(info.inbox), "--warehouse", str(db), "--config", str(config)],
    )
    assert result.exit_code == 0, result.output
    assert "files_loaded=" in result.output
    return db


def test_query_formats(cli_warehouse: Path) -> None:
    sql = "SELECT night_date, tst_min FROM features.nightly ORDER BY night_date LIMIT 3"
    as_json = runner.invoke(
        app, ["query", "--warehouse", str(cli_warehouse), sql, "--format", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert len(rows) == 3 and set(rows[0]) == {"night_date", "tst_min"}
    as_csv = runner.invoke(
        app, ["query", "--warehouse", str(cli_warehouse), sql, "--format", "csv"]
    )
    assert as_csv.stdout.splitlines()[0] == "night_date,tst_min"
    assert len(as_csv.stdout.splitlines()) == 4


def test_query_connection_is_read_only(cli_warehouse: Path) -> None:
    result = runner.invoke(
        app, ["query", "--warehouse", str(cli_warehouse), "DELETE FROM features.nightly"]
    )
    assert result.exit_code == 1
    assert "read-only" in result.output.lower() or "read only" in result.output.lower()


def test_status_lists_files_and_runs(cli_warehouse: Path) -> None:
    result = runner.invoke(app, ["status", "--warehouse", str(cli_warehouse)])
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output and "last runs" in result.output


def test_missing_warehouse_and_bad_config_exit_codes(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["query", "--warehouse", str(tmp_path / "no.duckdb"), "SELECT 1"])
    assert missing.exit_code == 3
    bad = tmp_path / "restless.toml"
    bad.write_text('[participants.p1]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    result = runner.invoke(
        app,
        [
            "run",
            "--inbox",
            str(tmp_path / "inbox"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--config",
            str(bad),
        ],
    )
    assert result.exit_code == 2
    assert "Mars/Olympus" in result.output


def test_a_second_writer_exits_with_a_clear_message(prefect_harness, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    inbox = tmp_path / "inbox"
    (inbox / "p1").mkdir(parents=True)
    config = tmp_path / "restless.toml"
    config.write_text("[restless]\nlock_wait_s = 0.5\n", encoding="utf-8")
    with lock_held_elsewhere(db):
        result = runner.invoke(
            app, ["run", "--inbox", str(inbox), "--warehouse", str(db), "--config", str(config)]
        )
    assert result.exit_code == 75, result.output
    assert "another restless run is writing" in result.output


def test_backfill_recomputes_the_same_features(cli_warehouse: Path) -> None:
    import duckdb

    def snapshot() -> tuple:
        con = duckdb.connect(str(cli_warehouse), read_only=True)
        try:
            return con.execute(
                "SELECT count(*), sum(hash(t::VARCHAR)) FROM features.nightly t"
            ).fetchone()
        finally:
            con.close()

    before = snapshot()
    result = runner.invoke(app, ["backfill", "--warehouse", str(cli_warehouse)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"nights_written={before[0]}"
    assert snapshot() == before


def test_the_nightly_schedule_is_a_cron_deployment() -> None:
    from prefect.schedules import Cron

    from restless.flows.nightly import nightly

    deployment = nightly.to_deployment(
        name="restless-nightly",
        schedule=Cron("30 4 * * *", timezone="Europe/Berlin"),
        parameters={"inbox": "inbox", "warehouse": "warehouse/restless.duckdb"},
    )
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 4 * * *"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert deployment.parameters["inbox"] == "inbox"


def test_science_thresholds_come_from_the_config(cli_warehouse: Path, tmp_path: Path) -> None:
    """[science] log_min_energy_kcal: a higher threshold marks more days incomplete."""
    import duckdb

    def incomplete() -> int:
        con = duckdb.connect(str(cli_warehouse), read_only=True)
        try:
            return con.execute(
                "SELECT count(*) FROM features.daily_intake WHERE NOT is_log_complete"
            ).fetchone()[0]
        finally:
            con.close()

    before = incomplete()
    strict = tmp_path / "strict.toml"
    strict.write_text("[science]\nlog_min_energy_kcal = 2500\n", encoding="utf-8")
    result = runner.invoke(
        app, ["backfill", "--warehouse", str(cli_warehouse), "--config", str(strict)]
    )
    assert result.exit_code == 0, result.output
    assert incomplete() > before
    bad = tmp_path / "bad.toml"
    bad.write_text("[science]\nbootstrap_seed = 1\n", encoding="utf-8")
    refused = runner.invoke(
        app, ["backfill", "--warehouse", str(cli_warehouse), "--config", str(bad)]
    )
    assert refused.exit_code == 2 and "bootstrap_seed" in refused.output
    # back to the defaults for the other tests of this module
    assert runner.invoke(app, ["backfill", "--warehouse", str(cli_warehouse)]).exit_code == 0
    assert incomplete() == before


def test_demo_command_prints_the_nights(prefect_harness, tmp_path: Path) -> None:
    """The README's first command: generate the demo inbox, run, print a nights table."""
    db = tmp_path / "warehouse" / "restless.duckdb"
    result = runner.invoke(app, ["demo", "--warehouse", str(db)])
    assert result.exit_code == 0, result.output
    assert "files_rejected=0" in result.output
    assert "last 14 nights" in result.output and "restless_min" in result.output
    assert "association" in result.output
    # the overview never averages restless minutes across methods: one line per method
    overview = result.output.split("all nights by restlessness method")[1]
    assert "| epoch_movement " in overview and "| raw_accel " in overview
    assert "plms_index" in result.output
    again = runner.invoke(app, ["demo", "--warehouse", str(db)])  # idempotent re-run
    assert again.exit_code == 0 and "files_loaded=0" in again.output
