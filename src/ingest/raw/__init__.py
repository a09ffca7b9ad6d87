"""Readers of research raw-acceleration formats: Axivity .cwa, GENEActiv .bin, ActiGraph .gt3x,
Matrix .BIN.

Each returns ``ReadResult(tables={}, raw=RawAcceleration(...))``; the flow scores the
samples and never stores them. ActiGraph decoding runs in a child process (isolate.py).
"""

from __future__ import annotations

from restless.ingest.base import Format
from restless.ingest.raw import cwa, geneactiv, gt3x, matrix

FORMATS: tuple[Format, ...] = (
    *cwa.FORMATS,
    *geneactiv.FORMATS,
    *gt3x.FORMATS,
    *matrix.FORMATS,
)
