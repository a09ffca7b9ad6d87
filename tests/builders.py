"""Small builders shared by the raw-acceleration tests: inbox files, Fitbit logs, a flow run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from restless.ingest.inbox import InboxFile


def inbox_file(
    path: Path, display: str, participant: str = "p1", *, file_id: str | None = None
) -> InboxFile:
    """An inbox entry for ``path`` with a dummy checksum; file id ``f-<stem>`` unless given."""
    return InboxFile(
        participant_id=participant,
        path=path,
        display_path=display,
        sha256="0" * 64,
        size_bytes=path.stat().st_size,
        file_id=file_id if file_id is not None else f"f-{path.stem}",
    )


def fitbit_classic_log(path: Path, start: datetime, minutes: int, log_id: int) -> None:
    """One classic Fitbit sleep log from ``start`` (the export's clock), asleep throughout."""
    end = start + timedelta(minutes=minutes)
    fmt = "%Y-%m-%dT%H:%M:%S.000"
    log = {
        "logId": log_id,
        "dateOfSleep": end.strftime("%Y-%m-%d"),
        "startTime": start.strftime(fmt),
        "endTime": end.strftime(fmt),
        "duration": minutes * 60 * 1000,
        "minutesAsleep": minutes,
        "timeInBed": minutes,
        "type": "classic",
        "mainSleep": True,
        "levels": {
            "summary": {"restless": {"count": 0, "minutes": 0}, "awake": {"count": 0}},
            "data": [{"dateTime": start.strftime(fmt), "level": "asleep", "seconds": minutes * 60}],
        },
    }
    path.write_text(json.dumps([log]), encoding="utf-8")


def series_events(
    onsets_s: list[float],
    duration_s: float = 1.5,
    amplitude_g: float = 0.08,
    side: str = "left",
) -> list[dict]:
    """Simulator events (``tests.plm_simulator``): one leg movement of a series per onset."""
    return [
        {
            "side": side,
            "kind": "series",
            "onset_s": t,
            "duration_s": duration_s,
            "end_s": t + duration_s,
            "amplitude_g": amplitude_g,
        }
        for t in onsets_s
    ]


def run_nightly(tmp_path: Path, inbox: Path, timezone: str = "UTC") -> Path:
    """Write ``restless.toml`` for participant p1, run the nightly flow once, return the db."""
    from restless.flows.nightly import nightly

    config = tmp_path / "restless.toml"
    config.write_text(f'[participants.p1]\ntimezone = "{timezone}"\n', encoding="utf-8")
    db = tmp_path / "wh" / "restless.duckdb"
    nightly(inbox=str(inbox), warehouse=str(db), config_path=str(config))
    return db
