"""Find the files in an inbox: ``inbox/<participant_id>/**``, archives opened safely.

Every file gets a content hash; ``file_id`` combines it with the participant so the
same bytes dropped twice (or a re-run) are recognised and skipped. Zip archives are
expanded into a scratch folder with checks against path traversal, symlinks, nested
archives and unbounded size; the inbox itself is never modified.
"""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from restless.schemas.core import PARTICIPANT_ID_PATTERN

ZIP_MAGIC = b"PK\x03\x04"
DEFAULT_MAX_ARCHIVE_BYTES = 4 * 1024**3
DEFAULT_MAX_ARCHIVE_MEMBERS = 100_000
_PARTICIPANT_RE = re.compile(PARTICIPANT_ID_PATTERN)


@dataclass(frozen=True)
class InboxFile:
    """One candidate export file (a plain file or an archive member)."""

    participant_id: str
    path: Path  # where to read the bytes (inbox, or the scratch folder for members)
    display_path: str  # relative to the inbox; members as 'archive.zip!member'
    sha256: str
    size_bytes: int
    file_id: str
    is_archive: bool = False


@dataclass
class InboxScan:
    """The files found, plus what was ignored and why."""

    files: list[InboxFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_file_id(participant_id: str, sha256: str) -> str:
    """Stable id of 'these bytes for this participant'."""
    return hashlib.sha256(f"{participant_id}\0{sha256}".encode()).hexdigest()[:24]


def is_archive(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ZIP_MAGIC


def scan_inbox(inbox: Path) -> InboxScan:
    """List candidate files under ``inbox/<participant_id>/`` (hidden files ignored)."""
    scan = InboxScan()
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} does not exist or is not a folder")
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            scan.ignored.append(f"{entry.name}: files must sit in a participant folder")
            continue
        if not _PARTICIPANT_RE.match(entry.name) or "@" in entry.name:
            scan.ignored.append(
                "a folder whose name is not a valid pseudonymous participant id "
                "(letters, digits, '_', '-', '.'; no e-mail addresses) was ignored"
            )
            continue
        for path in sorted(entry.rglob("*")):
            rel = path.relative_to(inbox)
            if any(part.startswith(".") for part in rel.parts) or path.is_symlink():
                continue
            if not path.is_file():
                continue
            digest = sha256_of(path)
            scan.files.append(
                InboxFile(
                    participant_id=entry.name,
                    path=path,
                    display_path=rel.as_posix(),
                    sha256=digest,
                    size_bytes=path.stat().st_size,
                    file_id=make_file_id(entry.name, digest),
                    is_archive=is_archive(path),
                )
            )
    return scan


def member_label(name: PurePosixPath) -> str:
    """How an archive member is named in the warehouse: folders hashed, file name kept.

    Vendor exports put the account holder's name in folder names (Fitbit's
    ``MyFitbitData/JaneDoe/Sleep/...``); the label keeps a short hash of the folder so
    members stay distinguishable without storing the name.
    """
    if len(name.parts) == 1:
        return name.name
    folder = hashlib.sha256(name.parent.as_posix().encode()).hexdigest()[:8]
    return f"{folder}/{name.name}"


class UnsafeArchive(ValueError):
    """An archive we refuse to open, with the reason."""


def expand_archive(
    archive: InboxFile,
    scratch: Path,
    max_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_members: int = DEFAULT_MAX_ARCHIVE_MEMBERS,
) -> list[InboxFile]:
    """Extract a zip's regular members into ``scratch`` after checking every entry.

    Refused (the whole archive): absolute or ``..`` member paths, symlink members, more
    than ``max_members`` entries, a declared uncompressed total above ``max_bytes``, or
    members that inflate beyond their declared size. Nested archives are extracted as
    files but not opened again: they are reported as members with ``is_archive`` set.
    """
    try:
        zf = zipfile.ZipFile(archive.path)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchive(f"not a readable zip archive: {exc}") from exc
    with zf:
        infos = [info for info in zf.infolist() if not info.is_dir()]
        if len(infos) > max_members:
            raise UnsafeArchive(f"archive has {len(infos)} members (limit {max_members})")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise UnsafeArchive(
                f"archive would expand to {declared} bytes (limit {max_bytes}); "
                "raise archive_max_bytes in restless.toml if this is expected"
            )
        members = []
        target_root = scratch / archive.file_id
        for info in infos:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or name.parts[:1] == ("",):
                raise UnsafeArchive(f"member {info.filename!r} escapes the archive folder")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchive(f"member {info.filename!r} is a symbolic link")
            if any(part.startswith(".") or part == "__MACOSX" for part in name.parts):
                continue
            out = target_root.joinpath(*name.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            digest = hashlib.sha256()
            with zf.open(info) as src, out.open("wb") as dst:
                for block in iter(lambda src=src: src.read(1 << 20), b""):
                    written += len(block)
                    if written > info.file_size:
                        raise UnsafeArchive(
                            f"member {info.filename!r} inflates beyond its declared size"
                        )
                    digest.update(block)
                    dst.write(block)
            sha = digest.hexdigest()
            members.append(
                InboxFile(
                    participant_id=archive.participant_id,
                    path=out,
                    display_path=f"{archive.display_path}!{member_label(name)}",
                    sha256=sha,
                    size_bytes=written,
                    file_id=make_file_id(archive.participant_id, sha),
                    is_archive=is_archive(out),
                )
            )
        return members
