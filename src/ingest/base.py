"""The contract between the flow and every reader.

A reader turns one export file into canonical frames (``schemas.core``) without the
lineage columns. It never touches the database or Prefect. It signals:

* a file it cannot read at all -> raise :class:`RejectedFile` with a reason a person
  understands ("CRC mismatch in FIT footer", "no 'Magnesium (mg)' column");
* a file it could read only partly (a damaged tail) -> return the trustworthy rows with
  ``ReadResult.error`` set; the file is then marked ``partial``;
* a file of a known format that holds nothing restless uses (a FIT workout plan) ->
  raise :class:`NothingToLoad`; the file is marked ``skipped`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

SNIFF_BYTES = 64 * 1024


class RejectedFile(Exception):
    """The file is of a format we know but cannot be trusted at all."""


class NothingToLoad(Exception):
    """The file is readable but holds nothing restless uses."""


@dataclass(frozen=True)
class ReadContext:
    """What a reader may know about the file's owner.

    ``timezone`` is the participant's IANA zone (config, else export hint, else UTC);
    readers of local-time formats use it to derive UTC instants.
    """

    participant_id: str
    timezone: str
    file_id: str = ""
    fit_backend: str = "sdk"


@dataclass(frozen=True)
class Coverage:
    """What one loaded table of a file replaces in the warehouse (DESIGN section 3).

    * ``file``: rows previously loaded from a file with the same ``identity`` (a FIT
      file covers itself: the same recording re-downloaded replaces its earlier copy);
    * ``dates``: every row of this participant and source whose ``column`` (a local
      date) is among the dates the file holds (a Cronometer re-export with more days);
      ``dates_from`` names another table of the same file whose dates define the coverage
      (a servings export covers its days for supplement doses too, even days where the
      re-export no longer lists a dose);
    * ``span``: every row of this participant and source whose ``column`` (an instant)
      lies between the file's minimum and maximum of that column.

    Coverage is computed from every row the reader produced, before validation, so a
    row that is quarantined still replaces the older row for the same slice.
    """

    kind: Literal["file", "dates", "span"]
    column: str | None = None
    dates_from: str | None = None


@dataclass(frozen=True)
class RawAcceleration:
    """Raw tri-axial acceleration a reader decoded, for the flow to score.

    Raw samples are never stored in DuckDB (only as Parquet beside it, when
    ``keep_raw_parquet`` is on): the flow turns them into per-epoch
    summaries, sleep/wake epochs and detected leg movements. ``chunks()`` returns a fresh
    iterator of consecutive ``(n, 3)`` float arrays in g (calibrated by the device where
    the format says how), so a week at 100 Hz never needs to be in memory at once.
    """

    fs: float
    start_at: datetime  # UTC instant of the first sample
    chunks: Callable[[], Iterator[np.ndarray]]
    device: str
    range_g: float | None = None
    n_samples: int | None = None


@dataclass
class ReadResult:
    """Canonical frames from one file, keyed by core table name."""

    tables: dict[str, pl.DataFrame]
    raw: RawAcceleration | None = None
    error: str | None = None
    identity: str | None = None
    timezone_hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    rejected_rows: list[RejectedRow] = field(default_factory=list)


@dataclass(frozen=True)
class RejectedRow:
    """A source row the reader could not turn into a canonical row (goes to ops.quarantine).

    ``row_number`` is the 1-based data row of the source file (header excluded) or the
    index of the record in a JSON list; ``check`` names the rule, ``value`` the raw text.
    """

    table: str
    row_number: int
    column: str
    check: str
    value: str


@dataclass(frozen=True)
class Format:
    """One export format: how to recognise it by content and how to read it."""

    name: str
    source: str
    sniff: Callable[[bytes, str], bool]
    read: Callable[[Path, ReadContext], ReadResult]
    coverage: Mapping[str, Coverage]
    uses_local_time: bool = False
    """Read after the participants' time zones are resolved: the export writes local wall
    times, or (raw acceleration) the flow scores local nights from it. Other formats are read
    first, and their time-zone hints resolve the zones."""
    family: str | None = None
    """Formats of one family are two exports of the same records (MyFitnessPal's CSV and
    its scraped diary JSON): a file replaces covered rows from any format of its family.
    Without a family a file replaces covered rows of its own format only."""
