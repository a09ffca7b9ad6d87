"""The ``restless`` command line. Command and option names are a contract: scripts and
dashboards call them.

Exit codes: 0 the command completed (a run with rejected files still completed);
2 bad settings or arguments; 3 the warehouse is missing; 75 another run holds the
warehouse; 1 anything else that stopped the command.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from restless.flows.config import DEFAULT_WAREHOUSE, ConfigError, load_settings

app = typer.Typer(
    name="restless",
    help="Wearable and food-log exports -> a DuckDB warehouse of restless nights and magnesium.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_CONFIG, EXIT_MISSING, EXIT_BUSY = 2, 3, 75

InboxOpt = Annotated[
    Path | None, typer.Option("--inbox", help="Inbox folder (env RESTLESS_INBOX).")
]
WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (env RESTLESS_WAREHOUSE)."),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="restless.toml to use.")]


class FitBackend(StrEnum):
    sdk = "sdk"
    fitparse = "fitparse"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _quiet_prefect() -> None:
    """No telemetry from a health-data tool, and no noise on the terminal."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"restless: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _run_flow(
    inbox: Path,
    warehouse: Path,
    config: Path | None,
    backend: str | None,
    keep_raw_parquet: bool | None = None,
) -> dict:
    _quiet_prefect()
    from restless.flows.nightly import nightly
    from restless.warehouse.connection import WarehouseBusy

    try:
        return nightly(
            inbox=str(inbox),
            warehouse=str(warehouse),
            config_path=str(config) if config else None,
            fit_backend=backend,
            keep_raw_parquet=keep_raw_parquet,
        )
    except WarehouseBusy as exc:
        raise _fail(str(exc), EXIT_BUSY) from exc
    except (ConfigError, FileNotFoundError) as exc:
        raise _fail(str(exc), EXIT_CONFIG) from exc


def _print_counts(counts: dict) -> None:
    keys = (
        "files_seen",
        "files_unchanged",
        "files_loaded",
        "files_partial",
        "files_rejected",
        "files_skipped",
        "rows_loaded",
        "rows_quarantined",
        "nights_written",
    )
    typer.echo("  ".join(f"{k}={counts.get(k, 0)}" for k in keys))


@app.command()
def run(
    inbox: InboxOpt = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    fit_backend: Annotated[
        FitBackend | None, typer.Option("--fit-backend", help="FIT decoder.")
    ] = None,
    keep_raw_parquet: Annotated[
        bool | None,
        typer.Option(
            "--keep-raw-parquet/--no-keep-raw-parquet",
            help="Also keep raw accelerometer samples as Parquet beside the warehouse"
            " (env RESTLESS_KEEP_RAW_PARQUET).",
        ),
    ] = None,
) -> None:
    """Run the nightly flow once, now."""
    try:
        settings = load_settings(
            config,
            inbox,
            warehouse,
            fit_backend.value if fit_backend else None,
            keep_raw_parquet=keep_raw_parquet,
        )
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from exc
    if not settings.inbox.is_dir():
        raise _fail(f"inbox {settings.inbox} is not a folder", EXIT_CONFIG)
    counts = _run_flow(
        settings.inbox,
        settings.warehouse,
        config,
        settings.fit_backend,
        settings.keep_raw_parquet,
    )
    _print_counts(counts)


@app.command()
def demo(
    warehouse: Annotated[
        Path, typer.Option("--warehouse", help="DuckDB file for the demo.")
    ] = DEFAULT_WAREHOUSE,
) -> None:
    """Generate the bundled demo inbox, run the nightly flow on it, print its nights."""
    from restless.flows.demo import prepare_demo

    info, config = prepare_demo(warehouse.parent / "demo_inbox")
    typer.echo(f"demo inbox: {info.inbox} ({info.first_night} .. {info.last_night})")
    counts = _run_flow(info.inbox, warehouse, config, None)
    _print_counts(counts)
    from restless.flows.report import demo_summary

    typer.echo(demo_summary(warehouse))


@app.command()
def status(warehouse: WarehouseOpt = None) -> None:
    """Files loaded/rejected, quarantined rows, and the last runs."""
    from restless.flows.report import status_report
    from restless.warehouse.connection import WarehouseBusy, WarehouseMissing

    path = warehouse or load_settings().warehouse
    try:
        typer.echo(status_report(path))
    except WarehouseMissing as exc:
        raise _fail(str(exc), EXIT_MISSING) from exc
    except WarehouseBusy as exc:
        raise _fail(str(exc), EXIT_BUSY) from exc


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run on a read-only connection.")],
    warehouse: WarehouseOpt = None,
    format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Run SQL on the warehouse through a read-only connection."""
    import duckdb

    from restless.flows.report import render
    from restless.warehouse.connection import (
        WarehouseBusy,
        WarehouseMissing,
        connect_reader,
        fetch_frame,
    )

    path = warehouse or load_settings().warehouse
    try:
        con = connect_reader(path)
    except WarehouseMissing as exc:
        raise _fail(str(exc), EXIT_MISSING) from exc
    except WarehouseBusy as exc:
        raise _fail(str(exc), EXIT_BUSY) from exc
    try:
        frame = fetch_frame(con, sql)
    except duckdb.Error as exc:
        raise _fail(f"query failed: {exc}", 1) from exc
    finally:
        con.close()
    sys.stdout.write(render(frame, format.value))


@app.command()
def backfill(
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    participant: Annotated[
        list[str] | None, typer.Option("--participant", help="Only these participants.")
    ] = None,
) -> None:
    """Recompute every feature from the canonical tables (after a science change)."""
    from restless.flows.report import recompute_features
    from restless.warehouse.connection import WarehouseBusy, WarehouseMissing

    try:
        settings = load_settings(config, warehouse=warehouse)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from exc
    try:
        nights = recompute_features(settings.warehouse, participant, settings.science)
    except WarehouseMissing as exc:
        raise _fail(str(exc), EXIT_MISSING) from exc
    except WarehouseBusy as exc:
        raise _fail(str(exc), EXIT_BUSY) from exc
    typer.echo(f"nights_written={nights}")


@app.command()
def serve(
    inbox: InboxOpt = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    cron: Annotated[str, typer.Option("--cron", help="Schedule (cron).")] = "30 4 * * *",
    timezone: Annotated[str, typer.Option("--timezone", help="Time zone of the schedule.")] = "UTC",
) -> None:
    """Serve the nightly flow on a cron schedule (default 04:30) until stopped."""
    from prefect.schedules import Cron

    from restless.flows.nightly import nightly

    try:
        settings = load_settings(config, inbox, warehouse)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from exc
    _quiet_prefect()
    nightly.serve(
        name="restless-nightly",
        schedule=Cron(cron, timezone=timezone),
        parameters={
            "inbox": str(settings.inbox.resolve()),
            "warehouse": str(settings.warehouse.resolve()),
            "config_path": str(config.resolve()) if config else None,
        },
        pause_on_shutdown=False,
    )


if __name__ == "__main__":
    app()
