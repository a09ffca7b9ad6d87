"""The streaming ``.gt3x`` decoder (``restless.ingest.raw.gt3x_log``) against ``pygt3x``.

The reference is what the reader produced before the streaming decoder: ``pygt3x``'s whole
recording put on the sample grid (:func:`pygt3x_grid`, the former child-process step).
Synthetic files come from a small writer of ActiGraph records (``ACTIVITY2`` int16 x, y, z;
the checksum is the one's complement of the XOR of header and payload).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from restless.ingest.base import ReadContext, RejectedFile
from restless.ingest.raw import gt3x, gt3x_log
from restless.ingest.raw._common import CHUNK_SAMPLES

from .conftest import real_file

CTX = ReadContext(participant_id="p1", timezone="Europe/Amsterdam")
T0 = 1_700_000_000  # local seconds of the first synthetic record
SECRET = "MOS2SECRET0001"


# --- reference and writer --------------------------------------------------------------


def pygt3x_grid(path: Path) -> tuple[np.ndarray, dict]:
    """pygt3x's whole-file read on the grid, as the reader did before streaming."""
    from pygt3x.reader import FileReader

    with FileReader(str(path)) as reader:
        fs = float(reader.info.sample_rate)
        acc = reader.acceleration
        xyz = reader.calibrate_acceleration(acc[:, 1:4]) if not reader.nhanes else acc[:, 1:4]
        stamps, idle = acc[:, 0], int((acc[:, 4] == 1).sum())
    index = np.rint((stamps - stamps[0]) * fs).astype(np.int64)
    n = int(index[-1]) + 1
    grid = np.zeros((n, 3), dtype=np.float32)
    present = np.zeros(n, dtype=bool)
    present[index] = True
    grid[index] = xyz
    missing = int(n - present.sum())
    if missing:
        grid = grid[np.maximum.accumulate(np.where(present, np.arange(n), 0))]
    meta = {"fs": fs, "first_local": float(stamps[0]), "idle": idle, "missing": missing}
    return grid, meta


def record(kind: int, stamp: int, payload: bytes) -> bytes:
    header = struct.pack("<BBLH", 0x1E, kind, stamp, len(payload))
    check = 0
    for byte in header + payload:
        check ^= byte
    return header + payload + bytes([~check & 0xFF])


def activity2_log(t0: int, raw: np.ndarray, fs: int) -> bytes:
    """Consecutive one-second ACTIVITY2 records of int16 ``raw`` (k * fs, 3), vectorised."""
    k = len(raw) // fs
    payload = raw[: k * fs].astype("<i2").reshape(k, fs * 3).view(np.uint8)
    head = np.zeros((k, 8), dtype=np.uint8)
    head[:, 0], head[:, 1] = 0x1E, 0x1A
    head[:, 2:6] = (t0 + np.arange(k, dtype="<u4")).astype("<u4")[:, None].view(np.uint8)
    head[:, 6:8] = np.array([6 * fs], dtype="<u2").view(np.uint8)
    body = np.concatenate([head, payload], axis=1)
    check = (~np.bitwise_xor.reduce(body, axis=1)).astype(np.uint8)
    return np.concatenate([body, check[:, None]], axis=1).tobytes()


def info_txt(fs: int, **extra: str) -> str:
    fields = {
        "Serial Number": SECRET,
        "Device Type": "wGT3XBT",
        "Firmware": "1.9.2",
        "Sample Rate": str(fs),
        "Start Date": str(621355968000000000 + T0 * 10_000_000),
        "TimeZone": "-05:00:00",
        "Acceleration Scale": "256.0",
        "Acceleration Min": "-8.0",
        "Acceleration Max": "8.0",
        "Subject Name": "Jane Doe",
        **extra,
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def write_gt3x(path: Path, log: bytes, fs: int, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        archive.writestr("log.bin", log)
        archive.writestr("info.txt", info_txt(fs))
    return path


def movement(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = 256 + np.cumsum(rng.integers(-3, 4, n)) % 200
    return np.stack([rng.integers(-400, 400, n), rng.integers(-50, 50, n), z], 1).astype(np.int16)


def decode(path: Path, tmp_path: Path) -> tuple[np.ndarray, dict]:
    out = tmp_path / f"{path.stem}.npy"
    meta = gt3x.decode_gt3x(str(path), str(out))
    return np.load(out), meta


def samples(path: Path) -> tuple[np.ndarray, gt3x.ReadResult]:
    result = gt3x.read(path, CTX)
    chunks = list(result.raw.chunks())
    return np.concatenate(chunks), result


# --- real file -------------------------------------------------------------------------


def test_real_gt3x_decodes_identically_to_pygt3x(tmp_path: Path) -> None:
    path = real_file("wearables", "actigraph_gt3x", "actigraph_testfile.gt3x")
    expected, ref = pygt3x_grid(path)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert grid.dtype == np.float32
    assert (meta["fs"], meta["first_local"]) == (ref["fs"], ref["first_local"])
    assert (meta["idle"], meta["missing"]) == (ref["idle"], ref["missing"]) == (35400, 0)
    acc, result = samples(path)
    np.testing.assert_array_equal(acc, expected.astype(np.float64))
    assert result.error is None and result.raw.n_samples == len(expected)
    assert any("35400 samples logged in idle-sleep mode" in w for w in result.warnings)


# --- synthetic files -------------------------------------------------------------------


def test_idle_sleep_gap_and_missing_second_as_before(tmp_path: Path) -> None:
    fs = 30
    raw = movement(40 * fs)
    log = record(0x15, T0, b"\x00\x00\x02\x00\x04\x00\x00\x00")  # PARAMETERS: idle sleep on
    log += activity2_log(T0, raw[: 10 * fs], fs)
    log += record(0x03, T0 + 10, b"\x08") + record(0x03, T0 + 20, b"\x09")
    log += activity2_log(T0 + 20, raw[10 * fs : 15 * fs], fs)  # seconds 20-24
    log += activity2_log(T0 + 26, raw[16 * fs : 20 * fs], fs)  # second 25 missing
    path = write_gt3x(tmp_path / "ism.gt3x", log, fs)
    expected, ref = pygt3x_grid(path)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert len(grid) == 30 * fs
    assert (meta["idle"], meta["missing"]) == (ref["idle"], ref["missing"]) == (10 * fs, fs)
    # idle seconds 10-19 and missing second 25 repeat the last logged sample
    np.testing.assert_array_equal(
        grid[10 * fs : 20 * fs], np.broadcast_to(grid[10 * fs - 1], (300, 3))
    )
    np.testing.assert_array_equal(
        grid[25 * fs : 26 * fs], np.broadcast_to(grid[25 * fs - 1], (30, 3))
    )
    acc, result = samples(path)
    np.testing.assert_array_equal(acc, expected)
    assert (
        result.error
        == "30 samples (1.0 s) missing inside the recording, filled with the last sample"
    )
    assert "300 samples logged in idle-sleep mode (last value repeated)" in result.warnings
    assert result.raw.start_at.isoformat() == "2023-11-15T03:13:20+00:00"  # local + 5 h
    assert result.raw.device == "ActiGraph wGT3XBT" and result.raw.range_g == 8.0
    assert SECRET not in repr(result) and "Jane" not in repr(result)


def test_recording_that_ends_asleep_fills_to_the_last_record(tmp_path: Path) -> None:
    fs = 30
    log = activity2_log(T0, movement(5 * fs), fs)
    log += record(0x03, T0 + 6, b"\x08") + record(0x02, T0 + 12, b"\x10\x0f")  # battery
    path = write_gt3x(tmp_path / "asleep.gt3x", log, fs)
    expected, ref = pygt3x_grid(path)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert meta["idle"] == ref["idle"] == 7 * fs and meta["missing"] == 0


def test_multi_chunk_file_streams_in_bounded_blocks(tmp_path: Path, monkeypatch) -> None:
    fs = 100
    seconds = 3 * CHUNK_SAMPLES // fs + 7  # four chunks
    log = activity2_log(T0, movement(seconds * fs, seed=3), fs)
    path = write_gt3x(tmp_path / "long.gt3x", log, fs)
    expected, _ = pygt3x_grid(path)
    # small reads and writes: many batches and flushes, records cut at batch edges
    monkeypatch.setattr(gt3x_log, "READ_BYTES", 100_003)
    monkeypatch.setattr(gt3x_log, "FLUSH_SAMPLES", 7_777)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert meta["missing"] == meta["idle"] == 0
    result = gt3x.read(path, CTX)  # the child process uses the default sizes
    chunks = list(result.raw.chunks())
    assert len(chunks) == 4 and all(len(c) <= CHUNK_SAMPLES for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    assert result.raw.n_samples == seconds * fs


def test_corrupt_record_is_skipped_and_the_second_missing(tmp_path: Path) -> None:
    fs = 30
    log = bytearray(activity2_log(T0, movement(10 * fs), fs))
    log[4 * (9 + 6 * fs) + 20] ^= 0xFF  # a payload byte of the fifth record
    path = write_gt3x(tmp_path / "flip.gt3x", bytes(log), fs)
    expected, ref = pygt3x_grid(path)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert meta["bad_checksums"] == 1 and meta["missing"] == ref["missing"] == fs
    _, result = samples(path)
    assert "missing inside the recording" in result.error
    assert "1 log.bin records with a bad checksum skipped" in result.warnings


def test_truncated_log_bin_gives_a_partial_file(tmp_path: Path) -> None:
    fs = 30
    log = activity2_log(T0, movement(10 * fs), fs)
    path = write_gt3x(tmp_path / "cut.gt3x", log[: 7 * (9 + 6 * fs) + 50], fs)
    expected, _ = pygt3x_grid(path)
    acc, result = samples(path)
    np.testing.assert_array_equal(acc, expected)
    assert len(acc) == 7 * fs
    assert result.error == "recording cut short: log.bin ends inside a record (50 bytes ignored)"


def damage_log_bin(path: Path, at: float, out: Path) -> Path:
    """Zero 64 bytes of the compressed ``log.bin`` at fraction ``at`` of its length."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("log.bin")
    start = member.header_offset + 30 + len(member.filename)
    spot = start + int(member.compress_size * at)
    data[spot : spot + 64] = bytes(64)
    out.write_bytes(bytes(data))
    return out


def test_damaged_deflate_stream_keeps_what_came_before(tmp_path: Path) -> None:
    fs, seconds = 100, 10_000  # 6 MB of log.bin: more than one read
    log = activity2_log(T0, movement(seconds * fs), fs)
    path = write_gt3x(tmp_path / "ok.gt3x", log, fs)
    acc, result = samples(damage_log_bin(path, 0.9, tmp_path / "late.gt3x"))
    assert result.error is not None and result.error.startswith("recording cut short: ")
    assert gt3x_log.READ_BYTES // len(log[: 9 + 6 * fs]) * fs <= len(acc) < seconds * fs
    original = movement(seconds * fs)[: len(acc)] / 256.0
    np.testing.assert_array_equal(acc, original.astype(np.float32))
    # damage inside the first read leaves no samples: a rejection with the reason
    small = write_gt3x(tmp_path / "small.gt3x", log[: 600 * (9 + 6 * fs)], fs)
    with pytest.raises(RejectedFile, match=r"no acceleration samples .*(CRC|Error)"):
        gt3x.read(damage_log_bin(small, 0.5, tmp_path / "early.gt3x"), CTX)


def test_log_bin_without_samples_is_rejected(tmp_path: Path) -> None:
    path = write_gt3x(tmp_path / "empty.gt3x", record(0x02, T0, b"\x10\x0f"), 30)
    with pytest.raises(RejectedFile, match=r"log\.bin holds no acceleration samples"):
        gt3x.read(path, CTX)
    junk = write_gt3x(tmp_path / "junk.gt3x", np.random.default_rng(1).bytes(5000), 30)
    with pytest.raises(RejectedFile, match="gt3x decoder failed"):
        gt3x.read(junk, CTX)


def pack12(values: np.ndarray) -> bytes:
    """12-bit two's-complement values, two per three bytes (big-endian nibbles)."""
    v = (values.astype(np.int64) & 0xFFF).reshape(-1, 2)
    out = np.stack([v[:, 0] >> 4, ((v[:, 0] & 0xF) << 4) | (v[:, 1] >> 8), v[:, 1] & 0xFF], 1)
    return out.astype(np.uint8).tobytes()


def test_activity_12bit_records_match_pygt3x(tmp_path: Path) -> None:
    fs = 30
    raw = movement(8 * fs, seed=5)
    raw[:, 0] = np.clip(raw[:, 0], -2048, 2047)
    yxz = raw[:, [1, 0, 2]]  # ACTIVITY packs y, x, z
    log = b"".join(
        record(0x00, T0 + s, pack12(yxz[s * fs : (s + 1) * fs].ravel())) for s in range(8)
    )
    log += record(0x00, T0 + 8, b"\x01")  # USB connection, not samples
    path = write_gt3x(tmp_path / "a1.gt3x", log, fs)
    expected, _ = pygt3x_grid(path)
    grid, _ = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    np.testing.assert_array_equal(grid, (raw / 256.0).astype(np.float32))


def test_nhanes_layout_samples_match_pygt3x(tmp_path: Path) -> None:
    fs = 40
    raw = movement(20 * fs + 1, seed=7)  # odd count: a padded last sample
    raw[:, 0] = np.clip(raw[:, 0], -2048, 2047)
    values = raw[:, [1, 0, 2]].ravel()
    packed = pack12(np.concatenate([values, [0]]))
    path = tmp_path / "nhanes.gt3x"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("activity.bin", packed)
        archive.writestr("log.txt", "")
        archive.writestr("info.txt", info_txt(fs))
    expected, _ = pygt3x_grid(path)
    grid, meta = decode(path, tmp_path)
    np.testing.assert_array_equal(grid, expected)
    assert meta["first_local"] == T0  # .NET ticks of Start Date, not pygt3x's ticks / 1e9


def test_npy_writer_header_is_read_by_numpy(tmp_path: Path) -> None:
    writer = gt3x_log.NpyWriter(str(tmp_path / "w.npy"))
    writer.write(0, np.ones((5, 3), np.float32))
    writer.repeat(5, np.array([1.0, 2.0, 3.0]), 4)
    writer.write(2, np.zeros((1, 3), np.float32))
    assert writer.close() == 9
    arr = np.load(tmp_path / "w.npy")
    assert arr.shape == (9, 3) and arr[2].tolist() == [0, 0, 0] and arr[-1].tolist() == [1, 2, 3]
