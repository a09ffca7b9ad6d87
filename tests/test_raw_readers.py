"""Raw-acceleration readers (.cwa, GENEActiv .bin, .gt3x, Matrix .BIN) on the real samples,
and the child-process isolation that keeps a crashing or hanging decoder from ending a run.

Expected values are computed here independently of the readers: sample counts from block
headers / page counts, first instants from header bytes by hand, samples against
Axivity's own CSV export of the same recording and a hand-decoded hex sample.
"""

from __future__ import annotations

import itertools
import os
import signal
import struct
import time
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from restless.ingest.base import ReadContext, ReadResult, RejectedFile
from restless.ingest.raw import cwa, geneactiv, gt3x, matrix
from restless.ingest.raw._common import CHUNK_SAMPLES
from restless.ingest.raw.isolate import run_isolated
from restless.ingest.registry import detect_format

from .conftest import real_file

CTX = ReadContext(participant_id="p1", timezone="Europe/Amsterdam")
CORRUPT = "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"


def samples(result: ReadResult) -> np.ndarray:
    chunks = list(result.raw.chunks())
    assert all(c.ndim == 2 and c.shape[1] == 3 and len(c) <= CHUNK_SAMPLES for c in chunks)
    return np.concatenate(chunks)


def still_magnitude(acc: np.ndarray, fs: float) -> float:
    """Mean vector magnitude over 1-s windows where the magnitude barely moves."""
    w = int(fs)
    mag = np.linalg.norm(acc[: len(acc) // w * w], axis=1).reshape(-1, w)
    still = mag.std(axis=1) < 0.02
    assert still.sum() >= 5
    return float(mag[still].mean())


# --- Axivity .cwa -------------------------------------------------------------------


def cwa_blocks(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + 512] for i in range(1024, len(data) - 511, 512)]


def cwa_block_time(block: bytes) -> datetime:
    """First-sample instant of one data block, decoded by hand with struct/datetime."""
    (frac_word,) = struct.unpack_from("<H", block, 4)
    (packed,) = struct.unpack_from("<I", block, 14)
    rate_code = block[24]
    (offset,) = struct.unpack_from("<h", block, 26)
    fs = 3200 / 2 ** (15 - (rate_code & 15))
    whole = datetime(
        2000 + (packed >> 26),
        (packed >> 22) & 15,
        (packed >> 17) & 31,
        (packed >> 12) & 31,
        (packed >> 6) & 63,
        packed & 63,
        tzinfo=UTC,
    )
    frac = (frac_word & 0x7FFF) * 2 if frac_word & 0x8000 else 0
    index = offset + (frac * int(fs)) // 65536
    return whole + timedelta(seconds=frac / 65536 - index / fs)


@pytest.mark.parametrize(
    ("name", "device", "fs"),
    [
        ("ax3_testfile.cwa", "Axivity AX3", 100.0),
        ("ax3_sample.cwa", "Axivity AX3", 200.0),
        ("ax6_sample.cwa", "Axivity AX6", 100.0),
    ],
)
def test_cwa_counts_rate_start_and_gravity(name: str, device: str, fs: float) -> None:
    path = real_file("wearables", "axivity_cwa", name)
    blocks = cwa_blocks(path)
    expected_n = sum(struct.unpack_from("<H", b, 28)[0] for b in blocks)
    result = cwa.read(path, CTX)
    acc = samples(result)
    assert result.error is None and result.tables == {}
    assert result.raw.n_samples == expected_n == len(acc)
    assert result.raw.fs == fs == 3200 / 2 ** (15 - (blocks[0][24] & 15))
    assert result.raw.device == device
    assert abs((result.raw.start_at - cwa_block_time(blocks[0])).total_seconds()) < 1e-4
    assert abs(still_magnitude(acc, fs) - 1.0) < 0.08


def test_cwa_matches_axivitys_own_csv_export() -> None:
    """The first 209 samples and the first instant equal Axivity's CSV of the recording."""
    result = cwa.read(real_file("wearables", "axivity_cwa", "ax3_testfile.cwa"), CTX)
    csv = np.loadtxt(
        real_file("wearables", "axivity_csv", "ax3_testfile_unix_timestamps.csv"), delimiter=","
    )
    acc = samples(result)
    assert abs(result.raw.start_at.timestamp() - csv[0, 0]) < 0.001
    np.testing.assert_array_equal(acc[:22], csv[:22, 1:])  # identical until its first skip
    # the export skips and re-times a few samples: each row is the decoded sample at its
    # time slot or a neighbour of it
    slot = np.rint((csv[:, 0] - result.raw.start_at.timestamp()) * 100).astype(int)
    near = [(acc[slot + d] == csv[:, 1:]).all(axis=1) for d in (-1, 0, 1)]
    assert (near[0] | near[1] | near[2]).all()
    assert near[1].mean() > 0.85
    assert result.raw.range_g == 8.0


def test_cwa_corrupt_blocks_are_skipped_and_reported() -> None:
    intact_path = real_file("wearables", "axivity_cwa", "ax3_testfile.cwa")
    path = real_file("wearables", "axivity_cwa", CORRUPT)
    result = cwa.read(path, CTX)
    assert result.error is not None
    assert "6 of 145" in result.error and "blocks 0, 13, 14, 142, 143, 144" in result.error
    intact = samples(cwa.read(intact_path, CTX))
    acc = samples(result)
    blocks = cwa_blocks(path)
    # the stream starts at good block 1, with that block's own timestamp
    assert abs((result.raw.start_at - cwa_block_time(blocks[1])).total_seconds()) < 1e-4
    # blocks 1-12 decode exactly as in the intact file
    np.testing.assert_array_equal(acc[: 12 * 120], intact[120 : 13 * 120])
    # blocks 13-14 are a held gap whose length comes from blocks 12 and 15's timestamps
    span = cwa_block_time(blocks[15]) - cwa_block_time(blocks[12])
    gap = round(span.total_seconds() * 100) - 120
    assert 230 <= gap <= 250 and f"({gap} samples" in result.error
    assert (acc[12 * 120 : 12 * 120 + gap] == acc[12 * 120 - 1]).all()
    # blocks 15-141 follow the gap, unchanged; blocks 142-144 are dropped
    after = acc[12 * 120 + gap :]
    np.testing.assert_array_equal(after, intact[15 * 120 : 142 * 120])
    assert result.raw.n_samples == len(acc) == 12 * 120 + gap + 127 * 120


def test_cwa_rejects_a_file_without_any_good_block(tmp_path: Path) -> None:
    data = bytearray(real_file("wearables", "axivity_cwa", "ax3_testfile.cwa").read_bytes()[:4096])
    for i in range(1024, 4096, 512):
        data[i + 100] ^= 0xFF  # break every block's checksum
    bad = tmp_path / "bad.cwa"
    bad.write_bytes(bytes(data))
    with pytest.raises(RejectedFile, match="checksum"):
        cwa.read(bad, CTX)


# --- GENEActiv .bin -------------------------------------------------------------------


def test_geneactiv_bin_decodes_calibrated_pages() -> None:
    path = real_file("wearables", "geneactiv_bin", "GENEActiv_testfile.bin")
    lines = path.read_bytes().split(b"\r\n")
    hexlines = [ln for ln in lines if len(ln) == 3600]
    page_times = [ln.split(b":", 1)[1].decode() for ln in lines if ln.startswith(b"Page Time:")]
    result = geneactiv.read(path, CTX)
    acc = samples(result)
    assert result.raw.fs == 85.7
    assert result.raw.n_samples == len(acc) == 300 * len(hexlines) == 4800
    # consecutive page times 300 samples apart confirm the rate
    t = [datetime.strptime(p, "%Y-%m-%d %H:%M:%S:%f") for p in page_times[:16]]
    steps = {round((b - a).total_seconds() * 85.7) for a, b in itertools.pairwise(t)}
    assert steps <= {299, 300, 301}
    # Page Time 2013-05-30 10:12:54:500 at "GMT +01:00" -> 09:12:54.5 UTC
    assert result.raw.start_at == datetime(2013, 5, 30, 9, 12, 54, 500000, tzinfo=UTC)
    # first sample by hand: 0C4 FFD F3D -> 196, -3, -195; (raw*100 - offset) / gain
    expected = [(196 * 100 - 439) / 25875, (-3 * 100 + 662) / 25734, (-195 * 100 + 3056) / 25538]
    np.testing.assert_allclose(acc[0], expected, rtol=1e-12)
    assert abs(acc[299, 2] - -0.80836403369903564453) < 1e-6  # GGIRread's test value
    assert abs(still_magnitude(acc, 85.7) - 1.0) < 0.08
    # the 64 KB sample is cut from a longer recording: partial, saying why
    assert "page 16 is cut off" in result.error and "222048" in result.error
    assert "012967" not in result.raw.device  # no serial


def test_old_genea_format_is_rejected_with_its_reason() -> None:
    path = real_file("wearables", "geneactiv_bin", "genea_testfile.bin")
    with pytest.raises(RejectedFile, match="GENEA"):
        geneactiv.read(path, CTX)


# --- ActiGraph .gt3x -----------------------------------------------------------------


def test_gt3x_reads_through_the_child_process() -> None:
    path = real_file("wearables", "actigraph_gt3x", "actigraph_testfile.gt3x")
    with zipfile.ZipFile(path) as archive:
        info = dict(
            line.split(": ", 1)
            for line in archive.read("info.txt").decode().splitlines()
            if ": " in line
        )
    result = gt3x.read(path, CTX)
    acc = samples(result)
    fs = float(info["Sample Rate"])
    ticks = int(info["Start Date"])  # .NET ticks of local time
    local = datetime(1, 1, 1) + timedelta(microseconds=ticks // 10)
    assert info["TimeZone"] == "02:00:00"
    assert result.raw.start_at == (local - timedelta(hours=2)).replace(tzinfo=UTC)
    assert result.raw.fs == fs == 30.0
    last = (int(info["Last Sample Time"]) - ticks) / 1e7
    assert result.raw.n_samples == len(acc) == 53040
    assert 0.99 * last * fs <= len(acc) <= last * fs
    assert abs(still_magnitude(acc, fs) - 1.0) < 0.08
    assert result.raw.device == "ActiGraph wGT3XBT"
    assert info["Serial Number"] not in repr(result)


def test_gt3x_rejects_a_damaged_zip(tmp_path: Path) -> None:
    data = real_file("wearables", "actigraph_gt3x", "actigraph_testfile.gt3x").read_bytes()
    bad = tmp_path / "cut.gt3x"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(RejectedFile, match="zip"):
        gt3x.read(bad, CTX)


# --- Matrix .BIN ---------------------------------------------------------------------


def matrix_packets(path: Path) -> list[tuple[bool, int, int, int]]:
    """(crc ok, t0, t1, accelerometer count) of each packet, parsed by hand."""
    data = path.read_bytes()
    starts = [i for i in range(len(data)) if data.startswith(b"MDTCPACK", i)]
    out = []
    for start, end in zip(starts, [*starts[1:], len(data)], strict=True):
        crc, t0, t1, n_acc = struct.unpack_from("<IiiI", data, start + 8)
        out.append((zlib.crc32(data[start + 12 : end]) == crc, t0, t1, n_acc))
    return out


@pytest.mark.parametrize(
    ("name", "fs", "n_packets"),
    [("mtx_12.5Hz_acc.BIN", 12.5, 2), ("mtx_25Hz_acc_HR.BIN", 25.0, 4)],
)
def test_matrix_bin_resampled_to_the_nominal_rate(name: str, fs: float, n_packets: int) -> None:
    path = real_file("wearables", "matrix_mtx_bin", name)
    packets = matrix_packets(path)
    assert len(packets) == n_packets and all(p[0] for p in packets)
    result = matrix.read(path, CTX)
    acc = samples(result)
    assert result.error is None and result.raw.fs == fs
    assert result.raw.start_at == datetime.fromtimestamp(packets[0][1], tz=UTC)
    # the grid spans first to last sample: last packet's last sample, evenly spread
    *_, (_, t0, t1, n_acc) = packets
    last = t0 + (n_acc - 1) * (t1 - t0) / n_acc - packets[0][1]
    assert result.raw.n_samples == len(acc) == int(last * fs) + 1
    assert abs(still_magnitude(acc, fs) - 1.0) < 0.08


def test_matrix_corrupt_packet_is_skipped_and_reported() -> None:
    path = real_file("wearables", "matrix_mtx_bin", "mtx_corrupted.bin")
    packets = matrix_packets(path)
    assert [p[0] for p in packets] == [False, True, True, True]
    result = matrix.read(path, CTX)
    acc = samples(result)
    assert "1 of 4 Matrix packets" in result.error and "(packets 0)" in result.error
    assert result.raw.fs == 100.0
    assert result.raw.start_at == datetime.fromtimestamp(packets[1][1], tz=UTC)
    assert result.raw.n_samples == len(acc)
    assert abs(still_magnitude(acc, 100.0) - 1.0) < 0.08


# --- sniffing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "name", "fmt"),
    [
        ("axivity_cwa", "ax3_testfile.cwa", "axivity_cwa"),
        ("axivity_cwa", "ax6_sample.cwa", "axivity_cwa"),
        ("axivity_cwa", CORRUPT, "axivity_cwa"),
        ("geneactiv_bin", "GENEActiv_testfile.bin", "geneactiv_bin"),
        ("geneactiv_bin", "genea_testfile.bin", "geneactiv_bin"),
        ("actigraph_gt3x", "actigraph_testfile.gt3x", "actigraph_gt3x"),
        ("matrix_mtx_bin", "mtx_12.5Hz_acc.BIN", "matrix_bin"),
        ("matrix_mtx_bin", "mtx_corrupted.bin", "matrix_bin"),
    ],
)
def test_registry_detects_raw_formats_by_content(folder: str, name: str, fmt: str) -> None:
    path = real_file("wearables", folder, name)
    detected = detect_format(path)
    assert detected is not None and detected.name == fmt


def test_raw_sniffers_refuse_other_zips_and_files() -> None:
    for folder, name in [
        ("sleep_as_android", "sleep-export.1606738537.zip"),
        ("actiwatch_awd", "Actiwatch.AWD"),
        ("fit", "Activity.fit"),
    ]:
        head = real_file("wearables", folder, name).read_bytes()[:65536]
        for fmt in (*cwa.FORMATS, *geneactiv.FORMATS, *gt3x.FORMATS, *matrix.FORMATS):
            assert not fmt.sniff(head, name), (fmt.name, name)


# --- isolation -----------------------------------------------------------------------


def decoder_ok(path: str, out: str) -> dict:
    np.save(out, np.arange(30, dtype=np.float32).reshape(10, 3))
    return {"fs": 10.0, "path": path}


def decoder_segfault(path: str, out: str) -> dict:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def decoder_hang(path: str, out: str) -> dict:
    time.sleep(120)
    return {}


def decoder_raises(path: str, out: str) -> dict:
    raise ValueError("bad packet 7")


def test_isolated_decoder_streams_its_samples_and_cleans_up(tmp_path: Path) -> None:
    result = run_isolated(decoder_ok, tmp_path / "x.bin", timeout_s=60)
    assert result.meta == {"fs": 10.0, "path": str(tmp_path / "x.bin")}
    assert result.n_samples == 10
    np.testing.assert_array_equal(np.concatenate(list(result.chunks())).ravel(), np.arange(30))
    folder = result.folder
    assert folder.exists()
    result.close()
    assert not folder.exists()


def test_segfaulting_decoder_becomes_a_rejected_file(tmp_path: Path) -> None:
    with pytest.raises(RejectedFile, match="segmentation fault"):
        run_isolated(decoder_segfault, tmp_path / "x.bin", timeout_s=60, what="native decoder")


def test_hanging_decoder_is_killed_after_the_timeout(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(RejectedFile, match=r"did not finish within 3 s"):
        run_isolated(decoder_hang, tmp_path / "x.bin", timeout_s=3)
    assert time.monotonic() - start < 20


def test_decoder_exception_is_the_reason(tmp_path: Path) -> None:
    with pytest.raises(RejectedFile, match="ValueError: bad packet 7"):
        run_isolated(decoder_raises, tmp_path / "x.bin", timeout_s=60)
