"""Philips Respironics Actiware CSV exports -> movement_epochs, sleep_epochs, sleep_periods.

An Actiware export (English, French or Dutch, as Actiware writes it in the language and
regional settings of the PC that exported it) is several tables in one CSV file:

* a header block of ``label:, value, unit`` rows: subject properties (identity, name,
  address, date of birth), Actiwatch data properties (device type, start date and time,
  epoch length, number of samples, time zone offset) and analysis inputs (wake threshold
  selection and value);
* the statistics table: one row per ACTIVE / REST / SLEEP / DAILY / EXCLUDED interval;
* a marker list, then the epoch-by-epoch table: line, date, time, [off-wrist status],
  activity, marker, [white light], sleep/wake (0 = sleep, 1 = wake, NaN = unscored),
  interval status (ACTIVE / REST / REST-S / EXCLUDED), ...

**Privacy.** Only the device type, epoch length, wake threshold, recording start and time
zone offset are taken from the header; the subject's identity, name, address and date of
birth are never copied out of the parsed rows (:class:`ActiwareHeader` has no field for
them).

**Locale.** Labels are matched after folding case and accents in the three languages.
Dates follow the exporting PC's settings (``04/07/2015`` is 4 July in the UK English sample,
``4/02/2015`` is 4 February in the French one): the order (day-month-year, month-day-year
or year-month-day) is the one under which the most epochs' printed date and time lie on the
epoch grid; a tie (a recording within one calendar day) falls back to the language's usual
order with a warning. Decimal commas (``"40,00"`` in the Dutch sample) are recognised from
the header's numbers. ``NaN`` / ``NAN`` cells are unknown (null).

**Instants.** The device counts epochs on its own clock, so epoch *i* (``Line`` i) starts
``(i - 1) x epoch length`` after the recording start; only the start (a local wall-clock
time) is converted to UTC with the participant's zone (``ctx.timezone``). Printed epoch
times are checked against that grid (a warning names how many disagree other than by a
whole DST hour). REST interval bounds from the statistics table are local wall-clock times
converted with the same zone.

**Tables.**

* ``movement_epochs``: one row per epoch; ``activity_count`` = Activity (null when NaN),
  ``epoch_s`` from the header, ``is_wear`` = not off-wrist (null when the export has no
  off-wrist column);
* ``sleep_epochs``: Actiware's own Sleep/Wake column, method ``actiware_vendor``;
  ``is_asleep`` null where Actiware left the epoch unscored, where it is off-wrist, or in an
  EXCLUDED interval. ``restless.models.oakley`` reproduces this column from the counts;
* ``sleep_periods``: one row per REST interval of the statistics table (``log_type``
  'actiware_rest', ``period_key`` = its start instant in ISO UTC), with Actiware's
  duration, sleep and wake minutes and efficiency where the export has those columns.

An epoch table shorter than the header's number of samples is returned with
``ReadResult.error`` set (a truncated export: the file is then ``partial``).
``RejectedRow.row_number`` is the 1-based CSV record number in the file (the file holds
several tables, so the record number is the unambiguous place).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
    RejectedRow,
)

SOURCE = "respironics"
FORMAT_NAME = "actiware_csv"
MOVEMENT, SLEEP_EPOCHS, PERIODS = "movement_epochs", "sleep_epochs", "sleep_periods"
VENDOR_METHOD = "actiware_vendor"
REST_LOG_TYPE = "actiware_rest"

# --- vocabulary (labels after _fold: lower case, no accents, no trailing colon) ----------

HEADER_LABELS: dict[str, frozenset[str]] = {
    "device_type": frozenset({"actiwatch type", "type d'actiwatch", "type actiwatch"}),
    "start_date": frozenset(
        {
            "data collection start date",
            "date de debut de la collecte des donnees",
            "begindatum gegevensverzameling",
        }
    ),
    "start_time": frozenset(
        {
            "data collection start time",
            "heure de debut de la collecte des donnees",
            "begintijd gegevensverzameling",
        }
    ),
    "epoch_length": frozenset({"epoch length", "longueur de la periode", "periodelengte"}),
    "threshold_selection": frozenset(
        {"wake threshold selection", "selection du seuil d'eveil", "waakdrempelselectie"}
    ),
    "threshold_value": frozenset(
        {"wake threshold value", "valeur du seuil d'eveil", "waakdrempelwaarde"}
    ),
    "utc_offset": frozenset({"time zone offset", "decalage du fuseau horaire", "tijdzone-offset"}),
    "samples": frozenset(
        {
            "number of data samples",
            "nombre d'echantillons de donnees",
            "aantal gegevenssamples",
        }
    ),
}
"""The only header rows read (nothing about the subject)."""

THRESHOLD_SELECTIONS: dict[str, str] = {
    "low": "low",
    "faible": "low",
    "bas": "low",
    "laag": "low",
    "medium": "medium",
    "moyen": "medium",
    "moyenne": "medium",
    "gemiddeld": "medium",
    "high": "high",
    "eleve": "high",
    "haut": "high",
    "hoog": "high",
    "automatic": "automatic",
    "automatique": "automatic",
    "automatisch": "automatic",
    "custom": "custom",
    "personnalise": "custom",
    "aangepast": "custom",
}
SELECTION_VALUES = {"low": 20.0, "medium": 40.0, "high": 80.0}
"""Actiware's wake threshold levels (SCIENCE.md section 4), used when the value is absent."""

EPOCH_COLUMNS: dict[str, frozenset[str]] = {
    "line": frozenset({"line", "ligne", "lijn"}),
    "date": frozenset({"date", "datum"}),
    "time": frozenset({"time", "heure", "tijd"}),
    "activity": frozenset({"activity", "activite", "activiteit"}),
    "sleep_wake": frozenset({"sleep/wake", "sommeil/eveil", "slapen/waken"}),
    "interval": frozenset({"interval status", "statut de l'intervalle", "intervalstatus"}),
}
OFF_WRIST_WORDS = ("off-wrist", "off wrist", "hors poignet", "hors-poignet", "niet-om-pols")
"""An off-wrist status column is recognised by any of these words in its title."""

EXCLUDED_STATUSES = frozenset({"excluded", "exclu", "exclue", "uitgezonderd"})

STATISTICS_COLUMNS: dict[str, frozenset[str]] = {
    "type": frozenset({"interval type", "type d'intervalle", "intervaltype"}),
    "start_date": frozenset({"start date", "date de debut", "begindatum"}),
    "start_time": frozenset({"start time", "heure de debut", "begintijd"}),
    "end_date": frozenset({"end date", "date de fin", "einddatum"}),
    "end_time": frozenset({"end time", "heure de fin", "eindtijd"}),
    "duration": frozenset({"duration", "duree", "duur"}),
    "sleep_time": frozenset({"sleep time", "temps de sommeil", "slaaptijd"}),
    "wake_time": frozenset({"wake time", "temps d'eveil", "waaktijd"}),
    "efficiency": frozenset({"efficiency", "efficacite", "efficientie"}),
}
REST_TYPES = frozenset({"rest", "repos", "rust"})

TITLE_WORDS = {"en": "export file", "fr": "fichier d'exportation", "nl": "exportbestand"}
DATE_FORMATS = {"dmy": "%d/%m/%Y", "mdy": "%m/%d/%Y", "ymd": "%Y/%m/%d"}
LANGUAGE_DATE_ORDER = {"en": "mdy", "fr": "dmy", "nl": "dmy"}
"""Fallback date order when the data cannot tell (Actiware's default regional settings)."""

_NAN = frozenset({"nan", "na", "n/a"})
_DST_HOUR_US = 3_600_000_000


def _fold(text: str) -> str:
    """Lower case, accents stripped, curly quotes straightened, trailing colon removed."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u00a0", " "))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().strip()
    return re.sub(r"\s+", " ", text.rstrip(":").strip())


@dataclass(frozen=True)
class ActiwareHeader:
    """What restless keeps from an export's header: no subject field at all.

    ``wake_threshold`` is the header's value (or the level's value when only the selection
    is given); ``date_order`` is 'dmy', 'mdy' or 'ymd'; ``start_local`` the wall-clock start
    of the recording; ``utc_offset_min`` the export's own time zone offset, if stated.
    """

    language: str | None
    device_type: str | None
    epoch_s: int
    wake_threshold: float | None
    wake_threshold_selection: str | None
    date_order: str
    start_local: datetime | None
    utc_offset_min: int | None
    samples: int | None
    decimal_comma: bool


@dataclass
class _Parsed:
    header: ActiwareHeader
    epochs: pl.DataFrame
    rest_rows: list[tuple[int, dict[str, str]]]
    warnings: list[str] = field(default_factory=list)


# --- sniffing -----------------------------------------------------------------------------


def sniff(head: bytes, name: str) -> bool:
    """First line names an Actiware export file (any language) and the header has an epoch
    length label."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = _fold(text.split("\n", 1)[0].strip().strip('",'))
    if "actiware" not in first or "export" not in first:
        return False
    folded = _fold(text[:20_000])
    return any(label in folded for label in HEADER_LABELS["epoch_length"])


# --- parsing ------------------------------------------------------------------------------


def _records(path: Path) -> tuple[list[list[str]], list[str]]:
    """Every CSV record of the file (UTF-8, else Windows-1252 with a warning)."""
    text, warnings = csv_text.read_text(path)
    try:
        return list(csv.reader(io.StringIO(text, newline=""))), warnings
    except csv.Error as err:
        raise RejectedFile(f"not a readable CSV: {err}") from err


def _language(records: Sequence[Sequence[str]]) -> str | None:
    first = _fold(records[0][0]) if records and records[0] else ""
    return next((lang for lang, words in TITLE_WORDS.items() if words in first), None)


def _header_cells(records: Sequence[Sequence[str]], end: int) -> dict[str, list[str]]:
    """The cells after the label of each wanted header row (first occurrence, before ``end``)."""
    by_label = {label: key for key, labels in HEADER_LABELS.items() for label in labels}
    found: dict[str, list[str]] = {}
    for record in records[:end]:
        if len(record) >= 2:
            key = by_label.get(_fold(record[0]))
            if key is not None and key not in found:
                found[key] = [cell.strip() for cell in record[1:]]
    return found


def _has_decimal_comma(cells: Iterable[list[str]]) -> bool:
    return any(re.fullmatch(r"-?\d+,\d+", c) for values in cells for c in values[:1])


def _number(text: str | None, decimal_comma: bool) -> float | None:
    """A header or statistics number; None when blank, NaN or not a number."""
    if text is None:
        return None
    cleaned = text.strip()
    if decimal_comma:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _epoch_table(records: Sequence[Sequence[str]]) -> tuple[int, dict[str, int]]:
    """Index of the epoch table's title row and the column index of each known column."""
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if not record or _fold(record[0]) not in EPOCH_COLUMNS["line"]:
            continue
        titles = [_fold(cell) for cell in record]
        if not any(t in EPOCH_COLUMNS["activity"] for t in titles):
            continue
        columns: dict[str, int] = {}
        for position, title in enumerate(titles):
            for key, labels in EPOCH_COLUMNS.items():
                if title in labels and key not in columns:
                    columns[key] = position
            if "off_wrist" not in columns and any(w in title for w in OFF_WRIST_WORDS):
                columns["off_wrist"] = position
        missing = [k for k in ("line", "date", "time", "activity") if k not in columns]
        if missing:
            raise RejectedFile(f"epoch table has no {', '.join(missing)} column")
        return index, columns
    raise RejectedFile("no epoch-by-epoch table (no 'Line ... Activity' title row)")


def _statistics_rows(
    records: Sequence[Sequence[str]], end: int
) -> list[tuple[int, dict[str, str]]]:
    """REST rows of the statistics table as ``(record number, {column: cell})``."""
    start = next(
        (
            i
            for i, record in enumerate(records[:end])
            if record and _fold(record[0]) in STATISTICS_COLUMNS["type"]
        ),
        None,
    )
    if start is None:
        return []
    titles = [_fold(cell) for cell in records[start]]
    columns = {
        key: titles.index(next(t for t in titles if t in labels))
        for key, labels in STATISTICS_COLUMNS.items()
        if any(t in labels for t in titles)
    }
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records[start + 1 : end], start=start + 2):
        if record and record[0].strip().startswith("---"):
            break
        if record and _fold(record[0]) in REST_TYPES:
            rows.append(
                (number, {k: record[i].strip() for k, i in columns.items() if i < len(record)})
            )
    return rows


def _epoch_frame(
    records: Sequence[Sequence[str]], title: int, columns: dict[str, int]
) -> pl.DataFrame:
    """The epoch rows as text: ``record`` (1-based CSV record number) and one column per key."""
    data: dict[str, list[str | None]] = {key: [] for key in columns}
    numbers: list[int] = []
    for number, record in enumerate(records[title + 1 :], start=title + 2):
        if not record or not record[0].strip():
            continue
        numbers.append(number)
        for key, position in columns.items():
            cell = record[position].strip() if position < len(record) else ""
            data[key].append(cell or None)
    frame = pl.DataFrame(
        {"record": numbers, **data},
        schema={"record": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )
    return frame


def _epoch_length(cells: list[str] | None) -> int | None:
    """Seconds from ``[value, unit, ...]`` (a unit starting with 'min' means minutes)."""
    if not cells:
        return None
    value = _number(cells[0], decimal_comma=True)
    if value is None or value <= 0:
        return None
    unit = _fold(cells[1]) if len(cells) > 1 else ""
    seconds = value * 60 if unit.startswith("min") else value
    return round(seconds) if abs(seconds - round(seconds)) < 1e-9 else None


def _utc_offset(cells: list[str] | None) -> int | None:
    match = re.fullmatch(r"([+-])(\d{1,2}):(\d{2})", cells[0]) if cells else None
    if match is None:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    return -minutes if match[1] == "-" else minutes


def _normalise_dates(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.replace_all(r"[.\-]", "/")


def _date_order(epochs: pl.DataFrame, epoch_s: int, language: str | None) -> tuple[str, list[str]]:
    """The date order under which the printed epoch dates and times fit the epoch grid."""
    line = pl.col("line").str.strip_chars().cast(pl.Int64, strict=False)
    clock = localtime.parse_time(pl.col("time"))
    step_us = epoch_s * 1_000_000
    dated = epochs.filter(pl.col("date").is_not_null() & line.is_not_null())
    fits: dict[str, int] = {}
    for order, fmt in DATE_FORMATS.items():
        day = _normalise_dates(pl.col("date")).str.to_date(fmt, strict=False)
        parsed = dated.select(line.alias("line"), localtime.combine(day, clock).alias("at"))
        parsed = parsed.filter(pl.col("at").is_not_null())
        if parsed.height == 0:
            continue
        first = parsed.row(0, named=True)
        offset = (pl.col("at") - pl.lit(first["at"])).dt.total_microseconds() - (
            pl.col("line") - first["line"]
        ) * step_us
        fits[order] = parsed.select(offset.is_in([0, _DST_HOUR_US, -_DST_HOUR_US]).sum()).item()
    if not fits:
        raise RejectedFile("epoch dates are neither day/month/year, month/day/year nor y/m/d")
    best = max(fits.values())
    winners = [order for order, count in fits.items() if count == best]
    if len(winners) == 1:
        return winners[0], []
    fallback = LANGUAGE_DATE_ORDER.get(language or "", "dmy")
    chosen = fallback if fallback in winners else winners[0]
    return chosen, [
        f"date order is ambiguous (the epoch dates fit {' and '.join(winners)} equally): "
        f"read as {chosen}, the usual order of the export's language"
    ]


def _parse(path: Path) -> _Parsed:
    """Header, epoch rows (text) and REST rows of one export."""
    records, warnings = _records(path)
    title_cell = _fold(records[0][0]) if records and records[0] else ""
    if "actiware" not in title_cell or "export" not in title_cell:
        raise RejectedFile("not an Actiware export (no 'Actiware ... export' title line)")
    title, columns = _epoch_table(records)
    cells = _header_cells(records, title)
    language = _language(records)
    epoch_s = _epoch_length(cells.get("epoch_length"))
    if epoch_s is None:
        raise RejectedFile("no epoch length in the header ('Epoch Length' row)")
    epochs = _epoch_frame(records, title, columns)
    if epochs.height == 0:
        raise NothingToLoad("Actiware export has a header but no epoch rows")
    order, order_warnings = _date_order(epochs, epoch_s, language)
    warnings += order_warnings
    decimal_comma = _has_decimal_comma(cells.values())
    selection_cells = cells.get("threshold_selection") or [""]
    selection = THRESHOLD_SELECTIONS.get(_fold(selection_cells[0]))
    threshold = _number((cells.get("threshold_value") or [None])[0], decimal_comma)
    if threshold is None and selection in SELECTION_VALUES:
        threshold = SELECTION_VALUES[selection]
    start_local = _local_datetime(
        (cells.get("start_date") or [""])[0], (cells.get("start_time") or [""])[0], order
    )
    samples = _number((cells.get("samples") or [None])[0], decimal_comma)
    device = (cells.get("device_type") or [""])[0] or None
    header = ActiwareHeader(
        language=language,
        device_type=device,
        epoch_s=epoch_s,
        wake_threshold=threshold,
        wake_threshold_selection=selection,
        date_order=order,
        start_local=start_local,
        utc_offset_min=_utc_offset(cells.get("utc_offset")),
        samples=int(samples) if samples is not None else None,
        decimal_comma=decimal_comma,
    )
    return _Parsed(header, epochs, _statistics_rows(records, title), warnings)


def _local_datetime(day: str, clock: str, order: str) -> datetime | None:
    """A naive local datetime from a date cell in ``order`` and a clock cell; None if bad."""
    day = re.sub(r"[.\-]", "/", day.strip())
    for time_format in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"):
        try:
            pattern = f"{DATE_FORMATS[order]} {time_format}"
            return datetime.strptime(f"{day} {clock.strip()}", pattern)
        except ValueError:
            continue
    return None


def header(path: Path) -> ActiwareHeader:
    """The export's header as restless keeps it (epoch length, wake threshold, device type,
    date order, start): what the Oakley scorer needs to score the file like Actiware."""
    return _parse(path).header


# --- reading ------------------------------------------------------------------------------


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """One Actiware export -> movement_epochs, sleep_epochs (vendor) and sleep_periods."""
    zone = localtime.reader_zone(ctx)
    parsed = _parse(path)
    head, warnings = parsed.header, list(parsed.warnings)
    decimal = head.decimal_comma
    rejected: list[RejectedRow] = []

    frame = parsed.epochs.with_columns(
        pl.col("line").str.strip_chars().cast(pl.Int64, strict=False).alias("line_no"),
        _count(pl.col("activity"), decimal).alias("activity_count"),
    )
    bad_line = pl.col("line_no").is_null() | (pl.col("line_no") < 1)
    activity_text = pl.col("activity").str.strip_chars().str.to_lowercase()
    bad_activity = (
        pl.col("activity").is_not_null()
        & ~activity_text.is_in(list(_NAN))
        & (pl.col("activity_count").is_null() | (pl.col("activity_count") < 0))
    )
    duplicate = pl.col("line_no").is_not_null() & pl.col("line_no").is_duplicated()
    for column, check, failed in (
        ("line", "integer_format", bad_line),
        ("line", "unique_line", duplicate & ~bad_line),
        ("activity", "count_format", bad_activity & ~bad_line & ~duplicate),
    ):
        for record, value in frame.filter(failed).select("record", column).iter_rows():
            rejected.append(RejectedRow(MOVEMENT, record, column, check, value or ""))
    frame = frame.filter(~(bad_line | duplicate | bad_activity))
    if frame.height == 0:
        raise RejectedFile("no epoch row has a valid line number and activity count")

    first = frame.sort("line_no").row(0, named=True)
    first_local = _local_datetime(first["date"] or "", first["time"] or "", head.date_order)
    if first_local is None:
        raise RejectedFile(f"first epoch date/time {first['date']!r} {first['time']!r} unreadable")
    start_local = first_local - timedelta(seconds=(first["line_no"] - 1) * head.epoch_s)
    if head.start_local is not None and head.start_local != start_local:
        warnings.append(
            f"header start {head.start_local:%Y-%m-%d %H:%M:%S} differs from the epoch table's "
            f"{start_local:%Y-%m-%d %H:%M:%S}: the epoch table is used"
        )
    start_at = localtime.to_utc(start_local, zone)
    warnings += _offset_warning(head, start_local, start_at, zone)
    step_us = head.epoch_s * 1_000_000
    frame = frame.with_columns(
        (
            pl.lit(start_at).cast(pl.Datetime("us", "UTC"))
            + pl.duration(microseconds=(pl.col("line_no") - 1) * step_us)
        ).alias("epoch_start_at"),
        pl.lit(float(head.epoch_s)).alias("epoch_s"),
        _off_wrist(frame).alias("is_wear"),
        _asleep(frame).alias("__asleep"),
        (
            pl.col("interval")
            .str.strip_chars()
            .str.to_lowercase()
            .is_in(EXCLUDED_STATUSES)
            .fill_null(False)
            if "interval" in frame.columns
            else pl.lit(False)
        ).alias("__excluded"),
    ).sort("line_no")
    warnings += _grid_warnings(frame, start_local, head)

    if head.samples is not None and parsed.epochs.height < head.samples:
        error = (
            f"epoch table holds {parsed.epochs.height} of the {head.samples} epochs the "
            "header announces (truncated export)"
        )
    else:
        error = None
    movement = csv_text.typed(frame, MOVEMENT)
    sleep = frame.with_columns(
        pl.col("activity_count").alias("activity"),
        pl.when(pl.col("is_wear").fill_null(True) & ~pl.col("__excluded"))
        .then(pl.col("__asleep"))
        .alias("is_asleep"),
        pl.lit(VENDOR_METHOD).alias("method"),
    )
    if "sleep_wake" not in parsed.epochs.columns:
        sleep = sleep.clear()  # no Sleep/Wake column: Actiware scored nothing
    periods, period_rejects = _periods(parsed.rest_rows, head, zone)
    return ReadResult(
        tables={
            MOVEMENT: movement,
            SLEEP_EPOCHS: csv_text.typed(sleep, SLEEP_EPOCHS),
            PERIODS: csv_text.typed(periods, PERIODS),
        },
        error=error,
        warnings=warnings,
        rejected_rows=rejected + period_rejects,
    )


def _count(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Activity counts: NaN cells are null; decimal commas read when the file uses them."""
    cleaned = text.str.strip_chars()
    if decimal_comma:
        cleaned = cleaned.str.replace(",", ".", literal=True)
    value = cleaned.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def _off_wrist(frame: pl.DataFrame) -> pl.Expr:
    """``is_wear``: off-wrist status 1 -> False, 0 -> True, else null (no column: null)."""
    if "off_wrist" not in frame.columns:
        return pl.lit(None, dtype=pl.Boolean)
    flag = pl.col("off_wrist").str.strip_chars()
    return pl.when(flag == "1").then(False).when(flag == "0").then(True)


def _asleep(frame: pl.DataFrame) -> pl.Expr:
    """Actiware's Sleep/Wake score: 0 = sleep, 1 = wake, anything else unscored (null)."""
    if "sleep_wake" not in frame.columns:
        return pl.lit(None, dtype=pl.Boolean)
    score = pl.col("sleep_wake").str.strip_chars()
    return pl.when(score == "0").then(True).when(score == "1").then(False)


def _grid_warnings(frame: pl.DataFrame, start_local: datetime, head: ActiwareHeader) -> list[str]:
    """A warning when printed epoch times are off the epoch grid (other than a DST hour)."""
    day = _normalise_dates(pl.col("date")).str.to_date(DATE_FORMATS[head.date_order], strict=False)
    printed = localtime.combine(day, localtime.parse_time(pl.col("time")))
    expected = pl.lit(start_local) + pl.duration(
        microseconds=(pl.col("line_no") - 1) * head.epoch_s * 1_000_000
    )
    offset = (printed - expected).dt.total_microseconds()
    off_grid = frame.select(
        (offset.is_null() | ~offset.is_in([0, _DST_HOUR_US, -_DST_HOUR_US])).sum()
    ).item()
    if not off_grid:
        return []
    return [
        f"{off_grid} epoch(s) print a date/time off the {head.epoch_s}-s grid from the "
        "recording start: their instants follow the line number"
    ]


def _offset_warning(
    head: ActiwareHeader, start_local: datetime, start_at: datetime, zone: str
) -> list[str]:
    """A warning when the export's own UTC offset disagrees with the participant's zone."""
    if head.utc_offset_min is None:
        return []
    zone_offset = round((start_local - start_at.replace(tzinfo=None)).total_seconds() / 60)
    if zone_offset == head.utc_offset_min:
        return []
    return [
        f"the export's time zone offset ({_hhmm(head.utc_offset_min)}) differs from "
        f"{zone} at the recording start ({_hhmm(zone_offset)}): times are read in {zone}"
    ]


def _hhmm(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _periods(
    rows: list[tuple[int, dict[str, str]]], head: ActiwareHeader, zone: str
) -> tuple[pl.DataFrame, list[RejectedRow]]:
    """REST intervals of the statistics table -> sleep_periods rows."""
    out: list[dict[str, object]] = []
    rejected: list[RejectedRow] = []
    for record, cells in rows:
        start = _local_datetime(
            cells.get("start_date", ""), cells.get("start_time", ""), head.date_order
        )
        end = _local_datetime(cells.get("end_date", ""), cells.get("end_time", ""), head.date_order)
        if start is None or end is None:
            column = "start" if start is None else "end"
            value = f"{cells.get(column + '_date', '')} {cells.get(column + '_time', '')}"
            rejected.append(RejectedRow(PERIODS, record, column, "datetime_format", value))
            continue
        start_at, end_at = localtime.to_utc(start, zone), localtime.to_utc(end, zone)
        number = {key: _number(cells.get(key), head.decimal_comma) for key in STATISTICS_COLUMNS}
        out.append(
            {
                "period_key": start_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "start_at": start_at,
                "end_at": end_at,
                "log_type": REST_LOG_TYPE,
                "vendor_time_in_bed_min": number["duration"],
                "vendor_minutes_asleep": number["sleep_time"],
                "vendor_minutes_awake": number["wake_time"],
                "vendor_efficiency_pct": number["efficiency"],
            }
        )
    schema = {
        "period_key": pl.String,
        "start_at": pl.Datetime("us", "UTC"),
        "end_at": pl.Datetime("us", "UTC"),
        "log_type": pl.String,
        "vendor_time_in_bed_min": pl.Float64,
        "vendor_minutes_asleep": pl.Float64,
        "vendor_minutes_awake": pl.Float64,
        "vendor_efficiency_pct": pl.Float64,
    }
    return pl.DataFrame(out, schema=schema), rejected


_SPAN_EPOCHS = Coverage("span", "epoch_start_at")

FORMATS: list[Format] = [
    Format(
        name=FORMAT_NAME,
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={
            MOVEMENT: _SPAN_EPOCHS,
            SLEEP_EPOCHS: _SPAN_EPOCHS,
            PERIODS: Coverage("span", "start_at"),
        },
        uses_local_time=True,
    )
]
