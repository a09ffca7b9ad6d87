"""What the command line prints: status, the demo's nights, query results."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from restless.flows.pipeline import recompute_features as _recompute
from restless.warehouse.connection import connect_reader, fetch_frame, writer_lock


def render(frame: pl.DataFrame, fmt: str) -> str:
    """A frame as an aligned table, CSV or JSON (one object per row)."""
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        buffer = io.StringIO()
        frame.write_json(buffer)
        return buffer.getvalue() + "\n"
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        fmt_str_lengths=120,
        tbl_width_chars=200,
    ):
        return f"{frame}\n"


def status_report(db_path: Path) -> str:
    """Files by status, quarantined rows by check, the last runs: read-only."""
    con = connect_reader(db_path)
    try:
        files = fetch_frame(
            con,
            "SELECT status, count(*) AS files, sum(rows_loaded) AS rows_loaded,"
            " sum(rows_quarantined) AS rows_quarantined FROM ops.files"
            " GROUP BY status ORDER BY status",
        )
        problems = fetch_frame(
            con,
            "SELECT participant_id, path, status, error FROM ops.files"
            " WHERE status IN ('rejected', 'partial') ORDER BY first_seen_at DESC, path LIMIT 20",
        )
        quarantine = fetch_frame(
            con,
            "SELECT table_name, column_name, check_name, count(*) AS rows FROM ops.quarantine"
            " GROUP BY ALL ORDER BY rows DESC LIMIT 20",
        )
        runs = fetch_frame(
            con,
            "SELECT run_id, started_at, status, files_loaded, files_partial, files_rejected,"
            " files_skipped, files_unchanged, rows_loaded, rows_quarantined, nights_written"
            " FROM ops.runs ORDER BY started_at DESC LIMIT 5",
        )
    finally:
        con.close()
    parts = [
        f"warehouse: {db_path}",
        "files:",
        render(files, "table"),
        "rejected or partial files:",
        render(problems, "table") if problems.height else "  none\n",
        "quarantined rows:",
        render(quarantine, "table") if quarantine.height else "  none\n",
        "last runs:",
        render(runs, "table"),
    ]
    return "\n".join(parts)


def demo_summary(db_path: Path, last: int = 14) -> str:
    """The demo's last nights and the magnesium comparison a user would look at first."""
    con = connect_reader(db_path)
    try:
        nights = fetch_frame(
            con,
            "SELECT night_date, round(tst_min) AS tst_min, round(sleep_efficiency, 1) AS eff,"
            " awakenings, round(restless_min, 1) AS restless_min, restlessness_method,"
            " round(plms_index, 1) AS plms_index, round(magnesium_total_mg) AS mg_total,"
            " round(magnesium_supplement_mg) AS mg_supp,"
            " round(magnesium_7d_mean_mg) AS mg_7d, is_log_complete"
            " FROM features.nightly ORDER BY night_date DESC LIMIT ?",
            [last],
        ).sort("night_date")
        # one row per restlessness method: minutes of leg movement from an ankle sensor and
        # minutes of wrist movement are different instruments, never averaged together
        overview = fetch_frame(
            con,
            "SELECT restlessness_method, count(*) AS nights,"
            " round(avg(restless_min) FILTER (WHERE magnesium_pct_rda >= 100), 1)"
            "   AS restless_min_after_mg_at_or_above_rda,"
            " round(avg(restless_min) FILTER (WHERE magnesium_pct_rda < 100), 1)"
            "   AS restless_min_after_mg_below_rda"
            " FROM features.nightly WHERE restlessness_method IS NOT NULL"
            " GROUP BY restlessness_method ORDER BY nights DESC, restlessness_method",
        )
    finally:
        con.close()
    return (
        f"last {last} nights (plms_index: an actigraphic screening estimate):\n"
        f"{render(nights, 'table')}\n"
        f"all nights by restlessness method (an association in one person's data, not proof"
        f" of an effect):\n{render(overview, 'table')}"
    )


def recompute_features(
    db_path: Path, participant_ids: list[str] | None, science: dict | None = None
) -> int:
    """``restless backfill``: recompute features under the writer lock."""
    if not db_path.exists():
        from restless.warehouse.connection import WarehouseMissing

        raise WarehouseMissing(f"no warehouse at {db_path}")
    with writer_lock(db_path):
        return _recompute(db_path, participant_ids or None, science)
