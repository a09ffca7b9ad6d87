"""The nightly Prefect flow: discover -> parse -> validate -> load -> features -> record.

Parsing and validation run one task per file in a thread pool; loading and feature
writes happen in single tasks that own the only DuckDB writer connection, under the
warehouse lock held for the whole run. A re-run on the same inbox finds every file
already recorded and changes nothing.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from restless.flows.config import Settings, load_settings
from restless.flows.pipeline import (
    FORMATS_BY_NAME,
    base_record,
    parse_file,
    recompute_features,
    validate_file,
)
from restless.flows.raw_options import RawOptions, settle_kept_copy
from restless.ingest.base import ReadContext
from restless.ingest.inbox import InboxFile, UnsafeArchive, expand_archive, scan_inbox
from restless.ingest.registry import detect_format
from restless.models import params
from restless.warehouse import store
from restless.warehouse.connection import connect_writer, writer_lock
from restless.warehouse.load import FileLoad, known_file_ids, load_file


@dataclass
class Discovery:
    """New files to parse (with their format), and records for files decided already."""

    to_parse: list[tuple[InboxFile, str]] = field(default_factory=list)
    decided: list[FileLoad] = field(default_factory=list)
    unchanged: int = 0
    participants: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except Exception:  # called outside a flow (plain-function tests)
        return logging.getLogger("restless")


@task(cache_policy=NONE, name="discover")
def discover(inbox: Path, scratch: Path, known: set[str], archive_max_bytes: int) -> Discovery:
    """Scan the inbox, open new archives safely, sniff each new file's format."""
    scan = scan_inbox(inbox)
    found = Discovery(ignored=scan.ignored)
    seen: set[str] = set()
    queue = list(scan.files)
    while queue:
        item = queue.pop(0)
        found.participants.add(item.participant_id)
        if item.file_id in known or item.file_id in seen:
            found.unchanged += 1
            continue
        seen.add(item.file_id)
        fmt = detect_format(item.path)
        if item.is_archive and fmt is None:  # a zip no reader claims as a whole (.gt3x might)
            if "!" in item.display_path:
                found.decided.append(
                    base_record(item, "skipped", "nested archive: extract it into the inbox")
                )
                continue
            try:
                members = expand_archive(item, scratch, max_bytes=archive_max_bytes)
            except UnsafeArchive as exc:
                found.decided.append(base_record(item, "rejected", f"archive refused: {exc}"))
                continue
            found.decided.append(
                base_record(
                    item,
                    "skipped",
                    f"archive: its {len(members)} files are recorded as '{item.display_path}!…'",
                )
            )
            queue.extend(members)
            continue
        if fmt is None:
            found.decided.append(base_record(item, "skipped", "not a recognised export format"))
            continue
        found.to_parse.append((item, fmt.name))
    return found


@task(cache_policy=NONE, name="parse")
def parse(
    item: InboxFile,
    fmt_name: str,
    ctx: ReadContext,
    workdir: Path,
    raw_options: RawOptions | None = None,
) -> FileLoad:
    return parse_file(item, FORMATS_BY_NAME[fmt_name], ctx, workdir, raw_options)


@task(cache_policy=NONE, name="validate")
def validate(record: FileLoad, workdir: Path) -> FileLoad:
    return validate_file(record, workdir)


@task(cache_policy=NONE, name="load")
def load(warehouse: Path, records: list[FileLoad], run_id: str) -> list[FileLoad]:
    """The single writer: one transaction per file, in a stable order."""
    con = connect_writer(warehouse)
    ordered, loaded = sorted(records, key=lambda r: r.path), []
    try:
        for rec in ordered:
            done = load_file(con, rec, run_id)
            # a kept raw-sample copy exists exactly when its file's rows do
            settle_kept_copy(done.kept_parquet, done.status in ("loaded", "partial"))
            loaded.append(done)
        return loaded
    finally:
        con.close()
        for rec in ordered[len(loaded) :]:  # not reached (the writer failed): keep nothing
            settle_kept_copy(rec.kept_parquet, loaded=False)


@task(cache_policy=NONE, name="features")
def features(warehouse: Path, participant_ids: list[str], science: dict) -> int:
    """Recompute every feature of the touched participants, in one transaction."""
    return recompute_features(warehouse, participant_ids, science) if participant_ids else 0


def resolve_participants(
    settings: Settings,
    participant_ids: set[str],
    stored: dict[str, store.ParticipantRow],
    hints: dict[str, str],
) -> tuple[list[store.ParticipantRow], list[str]]:
    """Time zone per participant: config, else an export's hint, else UTC (warned)."""
    rows, warnings = [], []
    for pid in sorted(participant_ids | set(stored)):
        conf = settings.participants.get(pid)
        previous = stored.get(pid)
        if conf and conf.timezone:
            tz, tz_source = conf.timezone, "config"
        elif pid in hints:
            tz, tz_source = hints[pid], "export"
        elif previous and previous.timezone_source == "export":
            tz, tz_source = previous.timezone, "export"
        else:
            tz, tz_source = "UTC", "default_utc"
            warnings.append(
                f"participant {pid}: no time zone in restless.toml or the exports; "
                "using UTC, so local dates may be off"
            )
        rows.append(
            store.ParticipantRow(
                participant_id=pid,
                timezone=tz,
                timezone_source=tz_source,
                sex=conf.sex if conf else None,
                birth_year=conf.birth_year if conf else None,
                is_pregnant=conf.is_pregnant if conf else None,
                is_lactating=conf.is_lactating if conf else None,
            )
        )
    return rows, warnings


def known_zones(settings: Settings, stored: dict[str, store.ParticipantRow]) -> dict[str, str]:
    """Zones known before any file is read: configured, else taken from an export in an
    earlier run. Formats read first (their own instants in UTC) still need it when they
    carry raw acceleration (a FIT file's accelerometer_data), whose nights are local."""
    zones = {pid: row.timezone for pid, row in stored.items() if row.timezone_source == "export"}
    zones.update({pid: c.timezone for pid, c in settings.participants.items() if c.timezone})
    return zones


def _parse_all(
    items: list[tuple[InboxFile, str]],
    zones: dict[str, str],
    fit_backend: str,
    workdir: Path,
    raw_options: RawOptions | None = None,
) -> list[FileLoad]:
    futures = []
    for item, fmt_name in items:
        ctx = ReadContext(
            participant_id=item.participant_id,
            timezone=zones.get(item.participant_id, "UTC"),
            file_id=item.file_id,
            fit_backend=fit_backend,
        )
        parsed = parse.submit(item, fmt_name, ctx, workdir, raw_options)
        futures.append(validate.submit(parsed, workdir))
    return [f.result() for f in futures]


@flow(
    name="restless-nightly",
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    log_prints=True,
)
def nightly(
    inbox: str,
    warehouse: str,
    config_path: str | None = None,
    fit_backend: str | None = None,
    keep_raw_parquet: bool | None = None,
) -> dict:
    """One nightly run over ``inbox`` into ``warehouse``; returns the run's counts."""
    settings = load_settings(
        Path(config_path) if config_path else None,
        inbox=Path(inbox),
        warehouse=Path(warehouse),
        fit_backend=fit_backend,
        keep_raw_parquet=keep_raw_parquet,
    )
    log = _logger()
    db_path = settings.warehouse
    run_id = uuid.uuid4().hex[:16]
    with (
        writer_lock(db_path, settings.lock_wait_s),
        tempfile.TemporaryDirectory(prefix="restless-run-") as tmp,
    ):
        workdir = Path(tmp)
        con = connect_writer(db_path)
        try:
            known = known_file_ids(con)
            stored = store.stored_participants(con)
            with params.overridden(settings.science):
                used = params.run_record()
            store.start_run(
                con, run_id, str(settings.inbox), settings.fit_backend, used, flow_run.get_id()
            )
        finally:
            con.close()
        try:
            found = discover(
                settings.inbox, workdir / "archives", known, settings.archive_max_bytes
            )
            for note in found.ignored:
                log.warning(note)
            utc_first = [
                (i, f) for i, f in found.to_parse if not FORMATS_BY_NAME[f].uses_local_time
            ]
            local = [(i, f) for i, f in found.to_parse if FORMATS_BY_NAME[f].uses_local_time]
            raw_options = RawOptions.from_settings(settings)  # ankle sides, raw Parquet
            records = _parse_all(
                utc_first, known_zones(settings, stored), settings.fit_backend, workdir, raw_options
            )
            hints = {}
            for rec in records:
                if rec.timezone_hint:
                    hints.setdefault(rec.participant_id, rec.timezone_hint)
            people, warnings = resolve_participants(settings, found.participants, stored, hints)
            for note in warnings:
                log.warning(note)
            zones = {p.participant_id: p.timezone for p in people}
            records += _parse_all(local, zones, settings.fit_backend, workdir, raw_options)
            loaded = load(db_path, found.decided + records, run_id)
            changed = {p.participant_id for p in people if stored.get(p.participant_id) != p}
            touched = sorted(
                {r.participant_id for r in loaded if r.status in ("loaded", "partial")} | changed
            )
            con = connect_writer(db_path)
            try:
                store.upsert_participants(con, people)
            finally:
                con.close()
            nights = features(db_path, touched, settings.science)
            statuses = Counter(r.status for r in loaded)
            counts = {
                "files_seen": len(loaded) + found.unchanged,
                "files_unchanged": found.unchanged,
                "files_loaded": statuses["loaded"],
                "files_partial": statuses["partial"],
                "files_rejected": statuses["rejected"],
                "files_skipped": statuses["skipped"],
                "rows_loaded": sum(r.rows_loaded for r in loaded if r.status != "rejected"),
                "rows_quarantined": sum(r.rows_quarantined for r in loaded),
                "participants_recomputed": len(touched),
                "nights_written": nights,
            }
            for rec in loaded:
                if rec.status in ("rejected", "partial"):
                    log.warning("%s %s: %s", rec.status, rec.path, rec.error)
            message = "; ".join(warnings) or None
            _finish(db_path, run_id, "completed", counts, message)
        except Exception as exc:
            _finish(db_path, run_id, "failed", {}, f"{type(exc).__name__}: {exc}")
            raise
    log.info("run %s completed: %s", run_id, counts)
    return {"run_id": run_id, **counts}


def _finish(db_path: Path, run_id: str, status: str, counts: dict, message: str | None) -> None:
    con = connect_writer(db_path)
    try:
        store.finish_run(con, run_id, status, counts, message)
    finally:
        con.close()
