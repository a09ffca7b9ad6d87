"""Apple Health ``export.xml`` (format ``apple_health_xml``, source ``apple_health``).

An Apple Health export (``export.zip``, expanded by the inbox into its members, or a
bare ``export.xml``) is one XML document of several gigabytes. It is streamed element by
element through expat with entity declarations refused and nothing external ever loaded
(:mod:`.safe_xml`); records are buffered as tuples and turned into compact polars frames
every :data:`CHUNK_ROWS` records (:mod:`.collect`), so memory stays flat; the rules that
need the whole file (sleep sessions, one step device per hour, food items, supplements)
run on those frames at the end (:mod:`.tables`, whose docstring states each rule).

Records used: ``HKCategoryTypeIdentifierSleepAnalysis`` -> sleep_stages and
sleep_periods; ``HKQuantityTypeIdentifierStepCount`` -> movement_epochs (one epoch per
record, ``epoch_s`` = end - start); ``HKQuantityTypeIdentifierHeartRate`` -> heart_rate;
the dietary magnesium, iron, calcium, potassium, caffeine and energy records ->
intake_items (mg: g x 1000, µg / 1000; kcal: kJ / 4.184) and, for supplements,
supplement_doses. Everything else (body mass, workouts, activity summaries, ...) is
skipped.

Time. Every date carries its own UTC offset (``2026-03-08 23:10:00 -0500``): instants are
that wall time minus the offset, so a night across a DST change has its true length, and
an intake's ``local_date``/``local_time`` are the wall time as written. No zone rule is
needed; ``timezone_hint`` is the most frequent ``HKTimeZone`` metadata value, if any.

Privacy. The ``Me`` element (date of birth, sex, blood type) is never read by
:func:`read`; :func:`participant_hints` returns at most the birth *year* and sex, for the
lead to wire into config. Source names ("Jane's Apple Watch") and device descriptions
(hardware, serial-like ids) are never stored: only a product type ('watch', 'phone',
'app') appears, in ``sleep_periods.log_type`` and ``period_key``.

Damage. Entity declarations (a bomb, an external entity) reject the file. A file that
stops being well-formed after ``<HealthData>`` opened (a truncated copy) is read as
*partial*: ``error`` says where it broke, and the heart-rate, step and sleep rows of
every record closed before the break are kept, except the sleep session being read at
the break (its remaining records may lie past it). Intake is left out of a partial file:
Apple groups records by type, so each food's nutrients lie in separate blocks and a cut
file cannot tell which foods are whole (loading them would replace complete days with
partial ones). A break before ``<HealthData>`` rejects the file.
``RejectedRow.row_number`` is the 1-based position of the ``<Record>`` in the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from restless.ingest import localtime
from restless.ingest.apple_health import collect, safe_xml, tables
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
)

SOURCE = "apple_health"
CHUNK_ROWS = 100_000
"""Records buffered as tuples (all kinds together) before they become typed frames."""

_ROOT = re.compile(rb"<!DOCTYPE\s+HealthData[\s\[>]|<HealthData[\s>/]")


def sniff(head: bytes, name: str) -> bool:
    """An XML document whose DOCTYPE or root element is ``HealthData``."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"<") and _ROOT.search(text) is not None


def read(path: Path, ctx: ReadContext, *, chunk_rows: int = CHUNK_ROWS) -> ReadResult:
    """Stream ``export.xml`` into the canonical tables (see the module docstring)."""
    collector = collect.Collector(chunk_rows)
    error: str | None = None
    try:
        safe_xml.stream(path, collector.start, collector.end)
    except safe_xml.UnsafeXml as err:
        raise RejectedFile(str(err)) from err
    except safe_xml.XmlBreak as err:
        if not collector.out.saw_root:
            raise RejectedFile(
                f"not a readable Apple Health export: the XML breaks before <HealthData> ({err})"
            ) from err
        error = (
            f"the XML breaks at line {err.line}, column {err.column} ({err.message}): "
            "kept the records completed before the break"
        )
    collected = collector.finish()
    if not collected.saw_root:
        raise RejectedFile("not an Apple Health export: no <HealthData> root element")
    last = collected.last
    drop_sleep = last[1] if error and last and last[0] == collect.SLEEP else None

    sources = tables.sources_frame(collected)
    heart, heart_dropped = tables.heart_rate(collected, sources)
    movement, steps_dropped = tables.movement(collected, sources)
    periods, stages, sleep_warnings = tables.sleep(collected, sources, drop_sleep)
    items, doses, intake_warnings = tables.intake(collected, sources)
    if error and items.height:
        # Apple writes records grouped by type: each food's nutrients lie in several
        # blocks, so a cut file cannot tell which foods are whole, and loading them would
        # replace complete days with partial ones.
        intake_warnings = [
            f"{items.height} intake item(s) left out: a truncated export cannot tell which "
            "foods have all their nutrient records (they lie in separate blocks by type)"
        ]
        items, doses = items.clear(), doses.clear()
    result_tables = {
        tables.PERIODS: periods,
        tables.STAGES: stages,
        tables.MOVEMENT: movement,
        collect.HR: heart,
        tables.INTAKE: items,
        tables.DOSES: doses,
    }
    rows = sum(frame.height for frame in result_tables.values())
    if rows == 0 and error:
        raise RejectedFile(
            f"{error}, but no sleep, step, heart-rate or dietary record was complete before it"
        )
    if rows == 0 and not collected.rejected:
        raise NothingToLoad(
            "Apple Health export without sleep analysis, step count, heart rate or "
            "dietary (magnesium, iron, calcium, potassium, caffeine, energy) records"
        )
    warnings = [*sleep_warnings, *intake_warnings]
    if heart_dropped:
        warnings.append(
            f"{heart_dropped} heart-rate sample(s) dropped: repeated, or a second device "
            "at the same instant (one sample per instant, watch first)"
        )
    if steps_dropped:
        warnings.append(
            f"{steps_dropped} step record(s) dropped: repeated, or from a device that "
            "counted fewer steps in the same hour (one device per hour, never added)"
        )
    if collected.rejected_dropped:
        warnings.append(f"{collected.rejected_dropped} more rejected record(s) not listed")
    return ReadResult(
        tables=result_tables,
        error=error,
        timezone_hint=_zone_hint(collected),
        warnings=warnings,
        rejected_rows=sorted(collected.rejected, key=lambda r: (r.row_number, r.column)),
    )


def _zone_hint(collected: collect.Collected) -> str | None:
    """The most frequent valid ``HKTimeZone`` metadata value (ties: alphabetical)."""
    for zone, _ in sorted(collected.zones.items(), key=lambda kv: (-kv[1], kv[0])):
        try:
            localtime.check_zone(zone)
        except ValueError:
            continue
        return zone
    return None


SEXES = {
    "HKBiologicalSexFemale": "female",
    "HKBiologicalSexMale": "male",
    "HKBiologicalSexOther": "other",
}


def participant_hints(path: Path) -> dict[str, Any]:
    """``{"birth_year", "sex"}`` from the ``Me`` element, for the magnesium allowance.

    Reads only up to ``Me`` (it precedes the records). The full date of birth is reduced
    to its year here and never returned; either value is None when the export leaves it
    unset. An unsafe file is rejected like :func:`read` does.
    """
    hints: dict[str, Any] = {"birth_year": None, "sex": None}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "Me":
            born = re.match(
                r"\s*(\d{4})-", attrs.get("HKCharacteristicTypeIdentifierDateOfBirth", "")
            )
            hints["birth_year"] = int(born.group(1)) if born else None
            hints["sex"] = SEXES.get(attrs.get("HKCharacteristicTypeIdentifierBiologicalSex", ""))
            raise safe_xml.StopStreaming
        if name in ("Record", "Workout", "ActivitySummary", "Correlation"):
            raise safe_xml.StopStreaming  # past where Me would be

    try:
        safe_xml.stream(path, start, lambda name: None)
    except safe_xml.UnsafeXml as err:
        raise RejectedFile(str(err)) from err
    except safe_xml.XmlBreak:
        pass  # a damaged file: whatever Me said before the break was kept
    return hints


_SPAN_TABLES = {
    tables.PERIODS: "start_at",
    tables.STAGES: "start_at",
    tables.MOVEMENT: "epoch_start_at",
    collect.HR: "measured_at",
}

FORMATS: list[Format] = [
    Format(
        name="apple_health_xml",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={
            **{table: Coverage("span", column) for table, column in _SPAN_TABLES.items()},
            tables.INTAKE: Coverage("dates", "local_date"),
            tables.DOSES: Coverage("dates", "local_date", dates_from=tables.INTAKE),
        },
    )
]
"""One format: each instant table replaces the span of its time column that the file
covers; intake and supplement doses replace the local dates of the file's intake items
(a re-export of more days supersedes the older one, DESIGN section 3)."""
