"""The demo's Axivity AX3 ``.cwa`` writer: read back by restless's reader, laid out like the
real AX3 files, and byte for byte what cwa.h says on a hand-built two-block recording."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from restless.demo.cwa_writer import (
    DEMO_DEVICE_ID,
    encode_cwa,
    pack_timestamps,
    rate_code,
    write_cwa_file,
)
from restless.ingest.base import ReadContext, ReadResult
from restless.ingest.raw import cwa
from restless.ingest.registry import detect_format

from .conftest import real_file

CTX = ReadContext(participant_id="p1", timezone="Europe/Berlin")
START = datetime(2026, 3, 9, 22, 13, 0, tzinfo=UTC)


def _signal(n: int, peak_g: float, seed: int = 7) -> np.ndarray:
    """(n, 3) g: gravity on z, noise and a few large swings up to ``peak_g``."""
    gen = np.random.default_rng(seed)
    g = gen.normal(0.0, 0.05, size=(n, 3))
    g[:, 2] += 1.0
    swings = gen.choice(n, size=n // 20, replace=False)
    g[swings] = gen.uniform(-peak_g, peak_g, size=(len(swings), 3))
    return g


def _read(path: Path) -> tuple[ReadResult, np.ndarray]:
    result = cwa.read(path, CTX)
    return result, np.concatenate(list(result.raw.chunks()))


def _blocks(data: bytes) -> np.ndarray:
    return np.frombuffer(data[1024:], dtype=np.uint8).reshape(-1, 512)


@pytest.mark.parametrize("packed", [True, False])
def test_round_trip_through_the_reader(tmp_path: Path, packed: bool) -> None:
    """Samples come back within the format's quantisation: half a unit of 1/256 g, or of
    2**e/256 g for a packed sample that needs the exponent e (beyond about 2 g)."""
    g = _signal(25 * 600 + 17, peak_g=15.9)  # a last block that is not full: kept
    path = tmp_path / "night.cwa"
    write_cwa_file(
        path,
        start_utc=START,
        samples_g=g,
        sample_rate_hz=25,
        range_g=16,
        packed=packed,
        whole_blocks=False,
    )
    result, decoded = _read(path)
    assert result.error is None and result.warnings == []
    raw = result.raw
    assert (raw.fs, raw.device, raw.range_g) == (25.0, "Axivity AX3", 16.0)
    assert raw.start_at == START
    assert raw.n_samples == len(g) == len(decoded)
    error = np.abs(decoded - g).max(axis=1)
    if packed:
        bound = np.maximum(0.5 / 256, np.abs(g).max(axis=1) / 511)
    else:
        bound = np.full(len(g), 0.5 / 256)
    assert (error <= bound + 1e-12).all()
    if packed:  # the large swings needed exponents
        stored = _blocks(path.read_bytes())[:, 30:510].copy().view("<u4")
        assert set(np.unique(stored >> 30).tolist()) == {0, 1, 2, 3}


def test_every_block_sums_to_zero_and_is_numbered(tmp_path: Path) -> None:
    g = _signal(120 * 40 + 3, peak_g=3.0)
    data = encode_cwa(
        start_utc=START, samples_g=g, sample_rate_hz=25, session_id=12, whole_blocks=False
    )
    blocks = _blocks(data)
    assert len(blocks) == 41 and (len(data) - 1024) % 512 == 0
    words = blocks.view("<u2")
    assert ((words.sum(axis=1, dtype=np.uint64) & 0xFFFF) == 0).all()
    assert (words[:, 0] == 0x5841).all() and (words[:, 1] == 508).all()  # "AX", 508
    assert blocks[:, 6:10].copy().view("<u4")[:, 0].tolist() == [12] * 41  # session id
    assert blocks[:, 10:14].copy().view("<u4")[:, 0].tolist() == list(range(41))  # sequence
    assert (blocks[:, 24] == 0x48).all() and (blocks[:, 25] == 0x30).all()
    assert words[:, 14].tolist() == [120] * 40 + [3]


def test_whole_blocks_only_by_default(tmp_path: Path) -> None:
    """As the device writes whole sectors, the samples after the last full block are left
    out (packed: 120 a block, unpacked: 80)."""
    g = _signal(120 * 5 + 70, peak_g=1.5)
    for packed, capacity in ((True, 120), (False, 80)):
        path = tmp_path / f"whole-{packed}.cwa"
        write_cwa_file(path, start_utc=START, samples_g=g, packed=packed)
        result, decoded = _read(path)
        kept = len(g) // capacity * capacity
        assert result.raw.n_samples == kept == len(decoded)
        assert (_blocks(path.read_bytes()).view("<u2")[:, 14] == capacity).all()
        assert np.abs(decoded - g[:kept]).max() <= 0.5 / 256
    with pytest.raises(ValueError, match="one whole block"):
        encode_cwa(start_utc=START, samples_g=g[:119])


def test_header_and_blocks_pass_the_readers_checks_like_the_real_ax3(tmp_path: Path) -> None:
    """The written file is recognised and read without a damaged block or a warning, as the
    real AX3 recording is; its header equals the real one except in the recording's own
    fields, and carries no annotation (nothing identifying)."""
    real_path = real_file("wearables", "axivity_cwa", "ax3_sample.cwa")
    path = tmp_path / "ankle.cwa"
    write_cwa_file(path, start_utc=START, samples_g=_signal(5000, 1.5), sample_rate_hz=25)
    for p in (real_path, path):
        fmt = detect_format(p)
        assert fmt is not None and fmt.name == "axivity_cwa"
        assert cwa.sniff(p.read_bytes()[:2048], p.name)
        result = cwa.read(p, CTX)
        assert result.error is None and result.warnings == [], p.name
    ours, real = path.read_bytes()[:1024], real_path.read_bytes()[:1024]
    own = {*range(5, 11), *range(13, 21), 36, *range(37, 42)}  # ids, window, rate, changed
    assert {i for i in range(1024) if ours[i] != real[i]} <= own
    assert ours[64:512] == b" " * 448
    device, session = struct.unpack_from("<HI", ours, 5)
    assert (device, session) == (DEMO_DEVICE_ID, 1)
    assert ours[36] == rate_code(25, 8) == 0x48
    real_100 = real_file("wearables", "axivity_cwa", "ax3_testfile.cwa").read_bytes()[36]
    assert rate_code(100, 8) == real_100  # the real 100-Hz +/-8 g recording's code


def test_a_damaged_block_is_noticed_by_the_reader(tmp_path: Path) -> None:
    """The checksum is the one the reader checks: one flipped byte damages that block."""
    g = _signal(120 * 10, peak_g=1.5)
    data = bytearray(encode_cwa(start_utc=START, samples_g=g, sample_rate_hz=25))
    data[1024 + 3 * 512 + 100] ^= 0x01
    path = tmp_path / "damaged.cwa"
    path.write_bytes(bytes(data))
    result, decoded = _read(path)
    assert result.error is not None and "(blocks 3)" in result.error
    assert len(decoded) == len(g)  # the block's place in time is kept from its neighbours


def _packed_word(x: int, y: int, z: int, e: int) -> int:
    return (e << 30) | ((z & 0x3FF) << 20) | ((y & 0x3FF) << 10) | (x & 0x3FF)


def test_hand_built_two_block_recording() -> None:
    """150 samples at 25 Hz from a whole second, packed: block 0 holds 120 samples stamped at
    its first sample (22:13:00, offset 0), block 1 the other 30 from 4.8 s, stamped at the
    whole second 22:13:05 that its sample 5 falls on (offset 5, fraction 0)."""
    g = np.zeros((150, 3))
    g[:, 2] = 1.0
    g[0] = (0.5, -0.25, 1.0)  # units 128, -64, 256: exponent 0
    g[1] = (3.0, 0.0, -1.0)  # 768 needs exponent 1: 384, 0, -128
    g[149] = (-8.0, 0.0, 0.0)  # -2048 needs exponent 2: -512
    data = encode_cwa(
        start_utc=START, samples_g=g, sample_rate_hz=25, session_id=99, whole_blocks=False
    )
    assert len(data) == 1024 + 2 * 512

    def stamp(t: datetime) -> int:  # cwa.h: YYYYYYMM MMDDDDDh hhhhmmmm mmssssss
        y, mo, d, h, mi, s = t.year - 2000, t.month, t.day, t.hour, t.minute, t.second
        return (y << 26) | (mo << 22) | (d << 17) | (h << 12) | (mi << 6) | s

    words = [_packed_word(0, 0, 256, 0)] * 150
    words[0] = _packed_word(128, -64, 256, 0)
    words[1] = _packed_word(384, 0, -128, 1)
    words[149] = _packed_word(-512, 0, 0, 2)
    expected = []
    for index, (first, count, offset, at) in enumerate(
        [(0, 120, 0, START), (120, 30, 5, START + timedelta(seconds=5))]
    ):
        body = struct.pack(f"<{count}I", *words[first : first + count]).ljust(480, b"\0")
        head = struct.pack(
            "<2sHHIIIHHBBBBhH",
            b"AX",
            508,
            0x8000,  # a fraction of a second follows (0)
            99,
            index,
            stamp(at),
            0x0028,
            0x0109,
            1 if index == 0 else 0,  # resume logging: the first block
            0xCE,
            0x48,  # 25 Hz, +/-8 g
            0x30,  # three axes packed in 32 bits
            offset,
            count,
        )
        block = head + body
        checksum = (-sum(struct.unpack("<255H", block))) & 0xFFFF
        expected.append(block + struct.pack("<H", checksum))
    assert data[1024:] == b"".join(expected)
    header = data[:1024]
    assert header[:5] == b"MD\xfc\x03\x00"
    window = struct.unpack_from("<II", header, 13)
    assert window == (stamp(START), stamp(START + timedelta(seconds=6)))  # 150 / 25 Hz
    assert struct.unpack_from("<I", header, 37)[0] == stamp(START - timedelta(hours=1))


def test_a_start_between_seconds_keeps_its_time(tmp_path: Path) -> None:
    """A start 0.3 s after a whole second: the fraction field carries it (1/32768 s)."""
    start = START + timedelta(milliseconds=300)
    for fs in (6.25, 25.0, 100.0, 3200.0):
        path = tmp_path / f"frac-{fs}.cwa"
        g = _signal(2040, 1.5)  # 17 whole blocks
        write_cwa_file(path, start_utc=start, samples_g=g, sample_rate_hz=fs)
        result, decoded = _read(path)
        assert result.error is None and result.raw.fs == fs
        assert abs((result.raw.start_at - start).total_seconds()) <= 1 / 32768
        assert len(decoded) == len(g)


def test_pack_timestamps_matches_the_reader() -> None:
    instants = [START, datetime(2000, 1, 1, tzinfo=UTC), datetime(2063, 12, 31, 23, 59, 59)]
    secs = np.array([int(t.replace(tzinfo=UTC).timestamp()) for t in instants])
    assert cwa.unpack_timestamp(pack_timestamps(secs)).tolist() == secs.astype(float).tolist()


def test_refusals() -> None:
    g = np.zeros((120, 3))
    with pytest.raises(ValueError, match="not an AX3 rate"):
        encode_cwa(start_utc=START, samples_g=g, sample_rate_hz=30)
    with pytest.raises(ValueError, match="range"):
        encode_cwa(start_utc=START, samples_g=g + np.array([0, 0, 8.1]), sample_rate_hz=25)
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_cwa(start_utc=START.replace(tzinfo=None), samples_g=g)
    with pytest.raises(ValueError, match="non-empty"):
        encode_cwa(start_utc=START, samples_g=np.zeros((0, 3)))
    with pytest.raises(ValueError, match="one whole block"):
        encode_cwa(start_utc=START, samples_g=g[:10])
