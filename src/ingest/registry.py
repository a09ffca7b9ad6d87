"""Which format a file is, decided by its content (and, only to break ties, its name)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from restless.ingest.base import SNIFF_BYTES, Format

READER_MODULES = (
    # one reader module per line; each exposes FORMATS (most specific formats first)
    "restless.ingest.fit",
    "restless.ingest.fitbit",
    "restless.ingest.apple_health",
    "restless.ingest.actiware",
    "restless.ingest.cronometer",
    "restless.ingest.actiwatch_awd",
    "restless.ingest.supplement_log",
    "restless.ingest.myfitnesspal",
    "restless.ingest.oura",
    "restless.ingest.whoop",
    "restless.ingest.actigraph_csv",
    "restless.ingest.actigraph_agd",
    "restless.ingest.actical",
    "restless.ingest.mesa",
    "restless.ingest.motionwatch",
    "restless.ingest.sleep_as_android",
    "restless.ingest.raw",
    "restless.ingest.raw_csv",
)


@cache
def all_formats() -> tuple[Format, ...]:
    """Every format restless reads, in registry order."""
    formats: list[Format] = []
    for name in READER_MODULES:
        formats.extend(importlib.import_module(name).FORMATS)
    return tuple(formats)


def detect_format(path: Path, formats: Sequence[Format] | None = None) -> Format | None:
    """The first format whose sniffer accepts the file's first bytes, or None."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    for fmt in formats if formats is not None else all_formats():
        if fmt.sniff(head, path.name):
            return fmt
    return None
