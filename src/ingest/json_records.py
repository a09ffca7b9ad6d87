"""JSON exports as lists of records, and JSON values -> canonical rows.

Shared by the readers of JSON exports (Fitbit, Oura): a file is a JSON list of records,
bare or inside a wrapper object (``{"sleep": [...]}``, ``{"data": [...]}``); a file
damaged mid-list keeps the complete records before the damage. JSON numbers become
floats or whole counts (booleans and text are not numbers), and rows become frames in
the canonical reader columns and dtypes of their table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from restless.ingest.base import RejectedFile
from restless.schemas.core import polars_schema, reader_columns


def _list_items(text: str) -> tuple[list[Any], str | None]:
    """Elements of a top-level JSON list, one by one: (complete elements, error or None)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        raise ValueError("not a JSON list")
    pos += 1
    items: list[Any] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("]", pos) and not items:
            return items, None
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            return items, f"JSON damaged after {len(items)} complete records: {err.msg}"
        items.append(item)
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("]", pos):
            return items, None
        else:
            return items, f"JSON damaged after {len(items)} complete records"


def load_records(path: Path, wrapper_key: str | None = None) -> tuple[list[Any], str | None]:
    """The file's list of records; a damaged tail keeps the complete records before it."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if wrapper_key and stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise RejectedFile(f"not valid JSON: {err}") from err
        records = data.get(wrapper_key) if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise RejectedFile(f"JSON object without a '{wrapper_key}' list")
        return records, None
    try:
        records, error = _list_items(text)
    except ValueError as err:
        raise RejectedFile(f"expected a JSON list of records: {err}") from err
    if error and not records:
        raise RejectedFile(error)
    return records, error


def list_body(head: bytes, wrapper_key: str | None = None) -> str | None:
    """The file head's text after the ``[`` that opens its list of records, blanks stripped.

    The list may stand inside a ``{"<wrapper_key>": [...]}`` object; None when the head
    is not such a list.
    """
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text.startswith("{"):
        if wrapper_key is None:
            return None
        match = re.match(r'\{\s*"' + re.escape(wrapper_key) + r'"\s*:\s*\[', text)
        if match is None:
            return None
        text = text[match.end() - 1 :]
    if not text.startswith("["):
        return None
    return text[1:].lstrip()


def first_record(head: bytes, wrapper_key: str | None = None) -> dict[str, Any] | None:
    """The first element of a JSON list in the file head, if it parses as an object.

    The list may stand inside a ``{"<wrapper_key>": [...]}`` object (:func:`list_body`).
    """
    body = list_body(head, wrapper_key)
    if body is None:
        return None
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return None
    return first if isinstance(first, dict) else None


def typed_rows(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    """Rows in the canonical column order and dtypes (empty rows -> empty typed frame)."""
    schema = polars_schema(table)
    columns = reader_columns(table)
    return pl.DataFrame(rows, schema={c: schema[c] for c in columns}, orient="row")


def as_number(value: Any) -> float | None:
    """A JSON number as float; None for anything else (booleans and text included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_count(value: Any) -> int | None:
    """A JSON whole number as int; None for anything else."""
    number = as_number(value)
    return int(number) if number is not None and number == int(number) else None
