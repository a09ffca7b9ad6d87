"""Inbox scanning and safe archive expansion."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from restless.ingest.inbox import (
    UnsafeArchive,
    expand_archive,
    make_file_id,
    scan_inbox,
)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_scan_finds_participant_files_and_ignores_the_rest(tmp_path: Path) -> None:
    _write(tmp_path / "p01" / "a.csv", b"x")
    _write(tmp_path / "p01" / "sub" / "b.json", b"[]")
    _write(tmp_path / "p01" / ".hidden", b"secret")
    _write(tmp_path / "loose.csv", b"y")
    _write(tmp_path / "jane.doe@example.com" / "c.csv", b"z")
    scan = scan_inbox(tmp_path)
    assert [f.display_path for f in scan.files] == ["p01/a.csv", "p01/sub/b.json"]
    assert all(f.participant_id == "p01" for f in scan.files)
    assert len(scan.ignored) == 2
    # the e-mail-like folder name never appears in what we keep
    assert not any("example.com" in note for note in scan.ignored)
    first = scan.files[0]
    assert first.sha256 == hashlib.sha256(b"x").hexdigest()
    assert first.file_id == make_file_id("p01", first.sha256)


def test_same_bytes_for_two_participants_are_different_files() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert make_file_id("p01", digest) != make_file_id("p02", digest)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_archive_members_are_extracted_with_their_own_ids(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _zip(inbox / "p01" / "export.zip", {"Sleep/sleep.json": b"[1]", "Steps/steps.json": b"[2]"})
    (archive,) = scan_inbox(inbox).files
    assert archive.is_archive
    members = expand_archive(archive, tmp_path / "scratch")
    sleep_dir = hashlib.sha256(b"Sleep").hexdigest()[:8]
    steps_dir = hashlib.sha256(b"Steps").hexdigest()[:8]
    assert [m.display_path for m in members] == [
        f"p01/export.zip!{sleep_dir}/sleep.json",
        f"p01/export.zip!{steps_dir}/steps.json",
    ]
    assert members[0].path.read_bytes() == b"[1]"
    assert members[0].file_id == make_file_id("p01", hashlib.sha256(b"[1]").hexdigest())


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_path_traversal_is_refused(tmp_path: Path, name: str) -> None:
    inbox = tmp_path / "inbox"
    _zip(inbox / "p01" / "bad.zip", {name: b"boom"})
    (archive,) = scan_inbox(inbox).files
    with pytest.raises(UnsafeArchive, match="escapes"):
        expand_archive(archive, tmp_path / "scratch")
    assert not (tmp_path / "evil.txt").exists()


def test_size_and_count_caps(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _zip(inbox / "p01" / "big.zip", {"a.bin": b"\0" * 10_000, "b.bin": b"\0" * 10_000})
    (archive,) = scan_inbox(inbox).files
    with pytest.raises(UnsafeArchive, match="expand to 20000 bytes"):
        expand_archive(archive, tmp_path / "s1", max_bytes=15_000)
    with pytest.raises(UnsafeArchive, match="2 members"):
        expand_archive(archive, tmp_path / "s2", max_members=1)
    assert len(expand_archive(archive, tmp_path / "s3", max_bytes=20_000)) == 2


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = inbox / "p01" / "link.zip"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    (archive,) = scan_inbox(inbox).files
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        expand_archive(archive, tmp_path / "scratch")


def test_member_labels_never_keep_folder_names(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _zip(inbox / "p01" / "MyFitbitData.zip", {"MyFitbitData/JaneDoe/Sleep/sleep-2026.json": b"[]"})
    (archive,) = scan_inbox(inbox).files
    (member,) = expand_archive(archive, tmp_path / "scratch")
    assert "JaneDoe" not in member.display_path
    assert member.display_path.endswith("/sleep-2026.json")
