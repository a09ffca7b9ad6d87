"""Which format a file is, decided by its content (and, only to break ties, its name)."""

from __future__ import annotations

from pathlib import Path

from restless.ingest.base import SNIFF_BYTES, Format


def all_formats() -> list[Format]:
    """Every format restless reads, most specific first."""
    from restless.ingest import cronometer, fit, fitbit, supplement_log

    return [*fit.FORMATS, *fitbit.FORMATS, *cronometer.FORMATS, *supplement_log.FORMATS]


def detect_format(path: Path, formats: list[Format] | None = None) -> Format | None:
    """The first format whose sniffer accepts the file's first bytes, or None."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    for fmt in formats if formats is not None else all_formats():
        if fmt.sniff(head, path.name):
            return fmt
    return None
