"""Per-run choices for raw acceleration files: which ankle, and whether to keep the samples.

**Which ankle.** ``[participants.<id>.sensors]`` in restless.toml maps file names (or globs)
under the participant's inbox folder to ``left``/``right`` (:func:`sensor_side`); a match
wins over folder names, which stay the fallback (:func:`restless.flows.raw_scoring.
ankle_side`). Keys are file names rather than device serial numbers: the flow never needs to
read or keep a serial (the privacy rule), globs work for every raw format including CSVs that
carry no serial, and devices that put their serial in the file name (``AX3_12345*``) can
still be matched by it.

**Keeping raw samples.** With ``keep_raw_parquet`` each raw file's samples go to
``<warehouse folder>/raw/<participant>/<file_id>.parquet`` (:class:`RawParquet`): columns
``t_s`` (float64 seconds from the first sample, ``index / fs``) and ``x_g``, ``y_g``,
``z_g`` (float32, g, *as the reader decoded them*: the device's own calibration where the
format has one, never restless's auto-calibration, so the copy is reproducible and the fit
stored in ``ops.files.warnings`` can be re-applied). The start instant, rate and device are in
the Parquet key-value metadata. Files are 0600 in 0700 folders, written to a temporary file
and renamed when the file's samples were scored, so a failed parse leaves no half file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from restless.flows.config import Settings
from restless.ingest.base import RawAcceleration

SIDES = ("left", "right")
ROW_GROUP_ROWS = 1 << 20
"""Samples per Parquet row group (about 20 MB before compression): readers yield chunks of
262,144 samples, which are buffered up to this size."""


@dataclass(frozen=True)
class RawOptions:
    """What parse_file needs beyond the reader's context for raw acceleration files.

    ``sensors``: participant id -> {file name or glob: 'left'/'right'} from restless.toml;
    ``parquet_dir``: where raw samples are kept (``<warehouse folder>/raw``), None = not kept.
    """

    sensors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    parquet_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RawOptions:
        """Sides of every configured participant; ``<warehouse folder>/raw`` when kept."""
        return cls(
            sensors={pid: dict(p.sensors) for pid, p in settings.participants.items() if p.sensors},
            parquet_dir=settings.warehouse.parent / "raw" if settings.keep_raw_parquet else None,
        )


def _relative(display_path: str) -> str:
    """The file's path below the participant folder, archive members as sub-folders."""
    parts = display_path.replace("\\", "/").replace("!", "/").split("/")
    return "/".join(parts[1:] if len(parts) > 1 else parts)


def sensor_side(patterns: Mapping[str, str], display_path: str) -> tuple[str | None, str]:
    """The configured side of a file, or None, and a note saying how it was decided.

    A pattern without ``/`` is matched against the file name, one with ``/`` against the
    path below the participant folder (``*`` also crosses folders); case-insensitive. When
    matching patterns disagree the side is None (decided by folder names) and the note says
    which patterns clash.
    """
    rel = _relative(display_path)
    name = rel.rsplit("/", 1)[-1].lower()
    hits = {
        pattern: side
        for pattern, side in patterns.items()
        if fnmatch.fnmatchcase(rel.lower() if "/" in pattern else name, pattern.lower())
    }
    if not hits:
        return None, ""
    if len(set(hits.values())) > 1:
        clash = ", ".join(f"'{p}' = {s}" for p, s in sorted(hits.items()))
        return None, f"config sensor patterns disagree ({clash})"
    pattern, side = next(iter(hits.items()))
    return side, f"config sensors '{pattern}'"


def resolve_side(
    patterns: Mapping[str, str], display_path: str, folder_side: str
) -> tuple[str, str]:
    """Config first, then the folder name (``folder_side``, from ``ankle_side``); the note
    goes into the file's warnings."""
    side, how = sensor_side(patterns, display_path)
    if side is not None:
        return side, f"ankle side {side} from {how}"
    prefix = f"{how}; " if how else ""
    if folder_side in SIDES:
        return folder_side, f"{prefix}ankle side {folder_side} from the folder name"
    return "unknown", (
        f"{prefix}ankle side unknown: no sensors entry in restless.toml matches and no"
        " left/right folder"
    )


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


class RawParquet:
    """Streams one recording's samples into ``<dir>/<participant>/<file_id>.parquet``.

    Call the instance with each ``(n, 3)`` chunk in order, then :meth:`commit` (rename into
    place) or :meth:`discard` (remove the temporary file). Memory: one row group buffer.
    A write error (a full disk) never interrupts the caller's pass over the samples: the
    temporary file is removed, ``error`` keeps the reason and :meth:`commit` raises it.
    """

    def __init__(self, root: Path, participant_id: str, file_id: str, raw: RawAcceleration):
        import pyarrow as pa
        import pyarrow.parquet as pq

        _private_dir(root)
        folder = root / participant_id
        _private_dir(folder)
        self.path = folder / f"{file_id}.parquet"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{file_id}.", suffix=".tmp")  # 0600
        os.close(fd)
        self.tmp = Path(tmp)
        self.fs = float(raw.fs)
        self.rows = 0
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._pa = pa
        metadata = {
            "restless.start_at": raw.start_at.isoformat(),
            "restless.fs_hz": repr(self.fs),
            "restless.device": raw.device,
            "restless.range_g": "" if raw.range_g is None else repr(float(raw.range_g)),
            "restless.file_id": file_id,
            "restless.calibration": "none: samples as the reader decoded them",
        }
        self.schema = pa.schema(
            [
                ("t_s", pa.float64()),
                ("x_g", pa.float32()),
                ("y_g", pa.float32()),
                ("z_g", pa.float32()),
            ],
            metadata=metadata,
        )
        self.error: Exception | None = None
        try:
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        except Exception:
            self.tmp.unlink(missing_ok=True)
            raise

    def __call__(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0 or self.error is not None:
            return
        try:
            self._buffer.append(np.asarray(chunk, dtype=np.float32).reshape(-1, 3))
            self._buffered += len(chunk)
            if self._buffered >= ROW_GROUP_ROWS:
                self._flush()
        except Exception as exc:
            self.error = exc
            self.discard()

    def _flush(self) -> None:
        if not self._buffered:
            return
        xyz = np.concatenate(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        t = (self.rows + np.arange(len(xyz), dtype=np.float64)) / self.fs
        pa = self._pa
        table = pa.Table.from_arrays(
            [pa.array(t), pa.array(xyz[:, 0]), pa.array(xyz[:, 1]), pa.array(xyz[:, 2])],
            schema=self.schema,
        )
        self._writer.write_table(table)
        self.rows += len(xyz)
        self._buffer, self._buffered = [], 0

    def close(self) -> Path:
        """Write what is buffered and close the temporary file (0600); whether it is kept is
        decided once the file's load has committed (:func:`settle_kept_copy`)."""
        if self.error is not None:
            raise self.error
        self._flush()
        self._writer.close()
        os.chmod(self.tmp, 0o600)
        return self.tmp

    def commit(self) -> Path:
        """:meth:`close`, then rename into place (replacing an older copy)."""
        os.replace(self.close(), self.path)
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file; nothing is left behind."""
        with contextlib.suppress(Exception):  # removing the file is what matters
            self._writer.close()
        self._buffer, self._buffered = [], 0
        self.tmp.unlink(missing_ok=True)


def settle_kept_copy(kept: tuple[Path, Path] | None, loaded: bool) -> None:
    """Rename a closed raw-sample copy (temporary, final) into place when its file loaded;
    remove it when the file was rejected, skipped or rolled back, so no copy outlives rows."""
    if kept is None:
        return
    temporary, final = kept
    if loaded:
        os.replace(temporary, final)
    else:
        temporary.unlink(missing_ok=True)


__all__ = [
    "ROW_GROUP_ROWS",
    "SIDES",
    "RawOptions",
    "RawParquet",
    "resolve_side",
    "sensor_side",
    "settle_kept_copy",
]
