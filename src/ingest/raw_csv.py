"""Raw accelerometer CSV exports: tri-axial samples in g with a timestamp per sample.

Two layouts:

* Axivity's headerless export (OmGui / GGIR test files): ``unix_seconds,x,y,z``, e.g.
  ``1551178506.0100,0.828125,-0.359375,-0.375000`` (UTC seconds since 1970, g);
* a header ``timestamp,x,y,z`` (also ``time``/``datetime``) with ISO 8601 timestamps
  (``2026-03-01T22:00:00.020`` or with ``Z``/``+01:00``). Timestamps without an offset are
  local times of the participant's zone (``ReadContext.timezone``).

The reader never loads the samples into a frame: it returns no tables and a
:class:`~restless.ingest.base.RawAcceleration` whose ``chunks()`` re-reads the file in
blocks (pandas' C parser, ``CHUNK_ROWS`` rows at a time), so a week at 100 Hz stays in
bounded memory. The sampling rate is estimated from the timestamps in one streamed pass:
the overall rate (samples - 1) / elapsed is used when it agrees within 2 % with the median
sample interval (robust to timestamps rounded to 0.1 ms), else the median interval alone
(a recording with gaps); gaps longer than ``GAP_S`` are reported as a warning, because the
samples are then treated as contiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from restless.ingest.base import (
    Format,
    RawAcceleration,
    ReadContext,
    ReadResult,
    RejectedFile,
)
from restless.ingest.raw._common import COVERAGE as RAW_COVERAGE

FORMAT_NAME = "raw_accel_csv"
SOURCE = "raw_csv"
CHUNK_ROWS = 1_000_000
"""Rows per parsed block (about 32 MB of float64 per block)."""
MEDIAN_SAMPLE = 200_000
"""Sample intervals (from the start of the file) whose median estimates the rate."""
RATE_AGREEMENT = 0.02
GAP_S = 1.0
"""A step between consecutive timestamps longer than this is reported as a gap."""

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_UNIX_ROW = re.compile(rf"^\s*\d{{9,10}}(?:\.\d+)?\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*$")
_ISO_ROW = re.compile(
    rf"^\s*\"?\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?"
    rf"(?:Z|[+-]\d{{2}}:?\d{{2}})?\"?\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*$"
)
_TIME_HEADERS = ("timestamp", "time", "datetime")
_EPOCH = pd.Timestamp(0, tz="UTC")


def _lines(head: bytes, n: int) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [line.strip() for line in text.splitlines()]
    if len(head) >= 64 * 1024 and lines:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    return [line for line in lines if line][:n]


def _header(line: str) -> bool:
    cells = [c.strip().strip('"').strip().lower() for c in line.split(",")]
    return len(cells) == 4 and cells[0] in _TIME_HEADERS and cells[1:] == ["x", "y", "z"]


def _layout(head: bytes) -> str | None:
    """'unix' (headerless Axivity), 'iso' (timestamp header) or None."""
    lines = _lines(head, 6)
    if len(lines) >= 2 and all(_UNIX_ROW.match(line) for line in lines):
        return "unix"
    if len(lines) >= 2 and _header(lines[0]) and all(_ISO_ROW.match(x) for x in lines[1:]):
        return "iso"
    return None


def sniff(head: bytes, name: str) -> bool:
    return _layout(head) is not None


def _blocks(path: Path, layout: str, usecols: list[int] | None = None) -> Iterator[pd.DataFrame]:
    names = ["t", "x", "y", "z"]
    kwargs = dict(
        header=None,
        names=names,
        skiprows=1 if layout == "iso" else 0,
        chunksize=CHUNK_ROWS,
        skip_blank_lines=True,
        encoding="utf-8-sig",
    )
    if usecols is not None:
        kwargs["usecols"] = usecols
    if layout == "iso":
        kwargs["dtype"] = {"t": str, "x": np.float64, "y": np.float64, "z": np.float64}
    else:
        kwargs["dtype"] = np.float64
    try:
        yield from pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:
        raise RejectedFile(f"raw accelerometer CSV: unreadable row ({exc})") from exc


def _seconds(block: pd.DataFrame, layout: str, zone: ZoneInfo) -> np.ndarray:
    """UTC seconds since 1970 of each row."""
    if layout == "unix":
        return block["t"].to_numpy(dtype=np.float64)
    text = block["t"].str.strip().str.strip('"')
    try:
        aware = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
        out = np.empty(len(text))
        if aware.any():
            stamps = pd.to_datetime(text[aware], format="ISO8601", utc=True)
            out[aware.to_numpy()] = (stamps - _EPOCH).dt.total_seconds().to_numpy()
        if (~aware).any():
            naive = pd.to_datetime(text[~aware], format="ISO8601")
            local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            utc = local.dt.tz_convert("UTC")
            out[(~aware).to_numpy()] = (utc - _EPOCH).dt.total_seconds().to_numpy()
    except (ValueError, TypeError) as exc:
        raise RejectedFile(f"raw accelerometer CSV: unreadable timestamp ({exc})") from exc
    if not np.isfinite(out).all() or (out < 0).any():
        raise RejectedFile("raw accelerometer CSV: timestamp missing or not a valid local time")
    return out


def estimate_rate(first: float, last: float, n: int, median_step: float) -> tuple[float, str]:
    """Sampling rate from the span and the median step; which estimate was used."""
    if n < 2 or not median_step > 0:
        raise RejectedFile("raw accelerometer CSV: fewer than two distinct timestamps")
    by_median = 1.0 / median_step
    if last > first:
        overall = (n - 1) / (last - first)
        if abs(overall - by_median) <= RATE_AGREEMENT * by_median:
            return overall, "span"
    return by_median, "median interval"


def read(path: Path, ctx: ReadContext) -> ReadResult:
    with path.open("rb") as handle:
        layout = _layout(handle.read(64 * 1024))
    if layout is None:
        raise RejectedFile("not a raw accelerometer CSV (unix_seconds,x,y,z or timestamp,x,y,z)")
    zone = ZoneInfo(ctx.timezone)
    n = 0
    first = last = float("nan")
    steps: list[np.ndarray] = []
    kept = 0
    gaps = backwards = 0
    previous = None
    for block in _blocks(path, layout):
        if block[["x", "y", "z"]].isna().to_numpy().any():
            raise RejectedFile(f"raw accelerometer CSV: empty x/y/z cell near row {n + 1}")
        t = _seconds(block, layout, zone)
        if t.size == 0:
            continue
        if previous is None:
            first = float(t[0])
        d = np.diff(t) if previous is None else np.diff(np.concatenate(([previous], t)))
        gaps += int((d > GAP_S).sum())
        backwards += int((d < 0).sum())
        if kept < MEDIAN_SAMPLE:
            steps.append(d[: MEDIAN_SAMPLE - kept])
            kept += min(d.size, MEDIAN_SAMPLE - kept)
        previous = last = float(t[-1])
        n += t.size
    if n == 0:
        raise RejectedFile("raw accelerometer CSV: no samples")
    d = np.concatenate(steps) if steps else np.empty(0)
    d = d[d > 0]
    fs, how = estimate_rate(first, last, n, float(np.median(d)) if d.size else 0.0)
    warnings = [
        f"raw CSV: {n} samples, sampling rate {fs:.3f} Hz estimated from the timestamps ({how})"
    ]
    if gaps:
        warnings.append(
            f"raw CSV: {gaps} gaps over {GAP_S:g} s between timestamps; samples are treated as"
            " contiguous, so times after a gap are shifted"
        )
    if backwards:
        warnings.append(f"raw CSV: timestamps go backwards {backwards} times")

    def chunks() -> Iterator[np.ndarray]:
        for block in _blocks(path, layout, usecols=[1, 2, 3]):
            yield block[["x", "y", "z"]].to_numpy(dtype=np.float64)

    raw = RawAcceleration(
        fs=fs,
        start_at=datetime.fromtimestamp(first, tz=UTC),
        chunks=chunks,
        device="raw CSV",
        range_g=None,
        n_samples=n,
    )
    return ReadResult(tables={}, raw=raw, warnings=warnings)


FORMATS = (
    Format(
        name=FORMAT_NAME,
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage=RAW_COVERAGE,
        uses_local_time=True,
    ),
)
