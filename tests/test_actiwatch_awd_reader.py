"""CamNtech Actiwatch .AWD files: epoch codes, counts, start instants, rejection reasons,
privacy and generated edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from restless.ingest import actiware, actiwatch_awd, registry
from restless.ingest.base import ReadContext, RejectedFile
from restless.schemas.core import LINEAGE_COLUMNS, reader_columns
from restless.schemas.validate import validate_table

from .conftest import real_file

LINEAGE = ("p1", "actiwatch", "f1")

AWD = ("wearables", "actiwatch_awd")
AMSTERDAM = ReadContext("p1", "Europe/Amsterdam")


def _independent_counts(path: Path) -> list[int]:
    """The first number of every line after the 7-line header (plain string handling)."""
    lines = path.read_text(encoding="latin-1").splitlines()[7:]
    return [int(line.replace(",", " ").split()[0]) for line in lines if line.strip()]


def test_ggirread_test_file_matches_its_published_figures() -> None:
    # GGIRread's test of this file: epoch 60 s, start 2009-10-01 17:00, 329 rows,
    # counts summing to 108864.
    path = real_file(*AWD, "Actiwatch.AWD")
    result = actiwatch_awd.read(path, AMSTERDAM)
    movement = result.tables["movement_epochs"]
    assert movement.columns == reader_columns("movement_epochs")
    assert movement.height == 329
    assert movement["activity_count"].sum() == 108_864 == sum(_independent_counts(path))
    assert movement["epoch_s"].unique().to_list() == [60.0]
    # 17:00 in Amsterdam on 1 October 2009 is summer time (UTC+2)
    first = datetime(2009, 10, 1, 15, 0, tzinfo=UTC)
    assert movement["epoch_start_at"][0] == first
    assert movement["epoch_start_at"][-1] == first + timedelta(minutes=328)
    assert movement["activity_count"][1] == 498  # "498 , 0,00 M": count, light, marker
    assert result.warnings == [] and result.rejected_rows == [] and result.error is None


def test_pyactigraphy_one_minute_sample() -> None:
    path = real_file(*AWD, "test_sample.AWD")
    movement = actiwatch_awd.read(path, ReadContext("p1", "Europe/Paris")).tables["movement_epochs"]
    counts = _independent_counts(path)
    assert movement.height == len(counts) == 11718
    assert movement["activity_count"].sum() == sum(counts)
    # "01-Jan-2018", "08:30", code "4" (60 s); Paris winter time UTC+1
    assert movement["epoch_start_at"][0] == datetime(2018, 1, 1, 7, 30, tzinfo=UTC)
    assert movement["epoch_s"][0] == 60.0


def test_aw7_fifteen_second_sample_with_light_column() -> None:
    path = real_file(*AWD, "test_sample_aw7.AWD")
    movement = actiwatch_awd.read(path, ReadContext("p1", "Europe/London")).tables[
        "movement_epochs"
    ]
    counts = _independent_counts(path)
    assert movement.height == len(counts) == 30623
    assert movement["activity_count"].sum() == sum(counts)
    assert movement["epoch_s"][0] == 15.0  # code " 1 "
    # "17-Nov-2009", "19:30": London in November is UTC+0
    start = datetime(2009, 11, 17, 19, 30, tzinfo=UTC)
    assert movement["epoch_start_at"][0] == start
    assert movement["epoch_start_at"][-1] == start + timedelta(seconds=15 * 30622)


def test_example_01_is_rejected_for_its_1918_start() -> None:
    path = real_file(*AWD, "example_01.AWD")
    with pytest.raises(RejectedFile, match=r"1918-01-23 is before 1980"):
        actiwatch_awd.read(path, AMSTERDAM)


@pytest.mark.parametrize(
    "name", ["Actiwatch.AWD", "example_01.AWD", "test_sample.AWD", "test_sample_aw7.AWD"]
)
def test_every_real_awd_is_detected_by_content(name: str) -> None:
    path = real_file(*AWD, name)
    fmt = registry.detect_format(path)
    assert fmt is not None and fmt.name == "actiwatch_awd" and fmt.source == "actiwatch"
    assert not actiware.sniff(path.read_bytes()[:65536], name)


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Actiwatch.AWD", "Europe/Amsterdam"),
        ("test_sample.AWD", "Europe/Paris"),
        ("test_sample_aw7.AWD", "Europe/London"),
    ],
)
def test_rows_pass_the_schema_and_no_subject_field_leaves(name: str, zone: str) -> None:
    path = real_file(*AWD, name)
    subject = path.read_text(encoding="latin-1").splitlines()[0].strip()
    result = actiwatch_awd.read(path, ReadContext("p1", zone))
    frame = result.tables["movement_epochs"]
    assert frame.select(pl.col(pl.String)).drop_nulls().height == 0  # no text column filled
    for text in [*result.warnings, *(r.value for r in result.rejected_rows)]:
        assert subject not in text
    with_lineage = frame.with_columns(
        *(pl.lit(v).alias(c) for c, v in zip(LINEAGE_COLUMNS, LINEAGE, strict=True))
    )
    valid, quarantine = validate_table("movement_epochs", with_lineage)
    assert quarantine.height == 0 and valid.height == frame.height


def _awd(tmp_path: Path, code: str, data: list[str]) -> Path:
    path = tmp_path / "gen.AWD"
    header = ["Jane Doe", "29-Mar-2020", "01:58", code, "41", "V12345", "F"]
    path.write_text("\n".join([*header, *data]) + "\n\n", encoding="latin-1")
    return path


def test_bad_line_keeps_the_epochs_after_it_in_place(tmp_path: Path) -> None:
    path = _awd(tmp_path, "2", ["10", "x7", "30 , 1.5 M"])
    result = actiwatch_awd.read(path, ReadContext("p1", "Europe/Berlin"))
    movement = result.tables["movement_epochs"]
    # 01:58 CET on the spring-forward night is 00:58 UTC; 30-s epochs (code 2)
    assert movement["epoch_start_at"].to_list() == [
        datetime(2020, 3, 29, 0, 58, tzinfo=UTC),
        datetime(2020, 3, 29, 0, 59, tzinfo=UTC),
    ]
    assert movement["activity_count"].to_list() == [10.0, 30.0]
    [bad] = result.rejected_rows
    assert (bad.row_number, bad.check, bad.value) == (9, "count_format", "x7")
    assert all("Jane" not in w for w in result.warnings)


def test_unknown_epoch_code_is_rejected_by_name(tmp_path: Path) -> None:
    path = _awd(tmp_path, "4", ["1", "2"])
    path.write_text(path.read_text(encoding="latin-1").replace("\n4\n", "\n7\n"), "latin-1")
    with pytest.raises(RejectedFile, match="unknown epoch-length code '7'"):
        actiwatch_awd.read(path, AMSTERDAM)
    assert not actiwatch_awd.sniff(path.read_bytes(), path.name)


def test_epoch_codes_are_the_documented_ones() -> None:
    assert actiwatch_awd.EPOCH_CODES == {
        "1": 15, "2": 30, "4": 60, "8": 120, "20": 300, "81": 2, "C1": 5, "C2": 10
    }  # fmt: skip
    assert actiwatch_awd.device_model("D0309360327") == "Actiwatch-7"
    assert actiwatch_awd.device_model("V00000") == "Actiwatch-4"
