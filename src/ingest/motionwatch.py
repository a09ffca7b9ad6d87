"""CamNtech MotionWatch ``.mtn`` files (``motionwatch_mtn``) -> movement_epochs.

An ``.mtn`` is XML: a change log of properties (``=StartTime``, ``=Device``,
``+UserID``, ``+DOB`` ...) followed by channels, each with a name, units, an epoch
length in seconds and comma-separated values::

    <motionfile><log2 ...>
      <change ...><property><name>=StartTime</name><content>2018-05-23 17:30:00</content>
      <change ...><channel><name>motion</name><units>Triaxial-Counts</units><epoch>5</epoch>
                  <offset>0</offset><data encoding="text">0,0,15,22,...</data></channel>

* **Counts**: the ``motion`` channel -> ``activity_count``; the ``Light`` channel and
  button annotations are not kept.
* **Time**: ``=StartTime`` is local wall time (``ctx.timezone``); value ``i`` starts
  ``i * epoch`` seconds of elapsed time later (the device clock does not follow DST).
  The change log is replayed in order (a later change, or a ``delete``, wins). A channel
  with a non-zero ``<offset>`` is rejected: its meaning is undocumented and guessing
  would misplace every epoch.
* **Safety**: parsed with the standard library's expat, hardened: a document type
  declaration (the only way to declare entities) rejects the file, so no entity is ever
  expanded and nothing external is fetched.
* **Privacy**: ``+UserID``, ``+DOB``, ``+Sex``, ``=SerialNo`` and the signature are
  never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.parsers import expat

import polars as pl

from restless.ingest import csv_text, localtime
from restless.ingest.actigraph_csv import elapsed_instants
from restless.ingest.base import (
    Coverage,
    Format,
    NothingToLoad,
    ReadContext,
    ReadResult,
    RejectedFile,
)

SOURCE = "motionwatch"
MOVEMENT = "movement_epochs"
MOTION_CHANNEL = "motion"


class UnsafeXml(Exception):
    """The document declares a DTD or entities (never in a real .mtn)."""


@dataclass
class Channel:
    """One ``<channel>``: its name, units, epoch (s), offset and raw data text."""

    name: str = ""
    units: str = ""
    epoch: str = ""
    offset: str = ""
    encoding: str = "text"
    data: list[str] = field(default_factory=list)


@dataclass
class _State:
    """What the expat callbacks collect while walking the document."""

    path: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    prop_name: str = ""
    prop_content: str = ""
    prop_delete: bool = False
    text: list[str] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    root: str = ""


def _refuse(*_: object) -> None:
    raise UnsafeXml("the document declares a DTD or entities")


def parse_mtn(data: bytes) -> tuple[dict[str, str], list[Channel]]:
    """Properties (after replaying the change log) and channels of an .mtn document."""
    state = _State()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.buffer_text = True

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not state.path:
            state.root = tag
        state.path.append(tag)
        state.text = []
        if tag == "property":
            state.prop_name, state.prop_content = "", ""
            state.prop_delete = attrs.get("delete") == "yes"
        elif tag == "channel":
            state.channels.append(Channel())
        elif tag == "data" and state.channels and state.path[-2:-1] == ["channel"]:
            state.channels[-1].encoding = attrs.get("encoding", "text")

    def chars(text: str) -> None:
        state.text.append(text)

    def end(tag: str) -> None:
        text = "".join(state.text)
        parent = state.path[-2] if len(state.path) > 1 else ""
        state.path.pop()
        state.text = []
        if parent == "property" and tag == "name":
            state.prop_name = text.strip()
        elif parent == "property" and tag == "content":
            state.prop_content = text.strip()
        elif tag == "property" and state.prop_name:
            if state.prop_delete:
                state.properties.pop(state.prop_name, None)
            else:
                state.properties[state.prop_name] = state.prop_content
        elif parent == "channel" and state.channels:
            channel = state.channels[-1]
            if tag == "data":
                channel.data = [v for v in re.split(r"[,\s]+", text) if v]
            elif tag in ("name", "units", "epoch", "offset"):
                setattr(channel, tag, text.strip())

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except UnsafeXml as err:
        raise RejectedFile(f"refused XML: {err} (entity expansion is never allowed)") from err
    except expat.ExpatError as err:
        raise RejectedFile(f"not well-formed XML: {err}") from err
    if state.root != "motionfile":
        raise RejectedFile(f"root element is <{state.root}>, not <motionfile>")
    return state.properties, state.channels


def sniff(head: bytes, name: str) -> bool:
    """An XML document whose root is ``<motionfile>``."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        text = text[text.find(b"?>") + 2 :].lstrip()
    return text.startswith(b"<motionfile")


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """A MotionWatch .mtn -> movement_epochs from its motion channel."""
    zone = localtime.reader_zone(ctx)
    properties, channels = parse_mtn(path.read_bytes())
    motion = [c for c in channels if c.name.lower() == MOTION_CHANNEL]
    if not motion:
        raise NothingToLoad(f"no motion channel (channels: {[c.name for c in channels]})")
    channel = motion[-1]
    try:
        epoch_s = float(channel.epoch)
    except ValueError as err:
        raise RejectedFile(f"motion channel epoch {channel.epoch!r} is not a number") from err
    if epoch_s <= 0:
        raise RejectedFile(f"motion channel epoch {channel.epoch!r} is not positive")
    if channel.encoding != "text":
        raise RejectedFile(f"motion channel data encoding {channel.encoding!r} is not 'text'")
    if channel.offset not in ("", "0"):
        raise RejectedFile(f"motion channel offset {channel.offset!r}: meaning undocumented")
    start_text = properties.get("=StartTime", "")
    try:
        start_local = datetime.strptime(start_text, "%Y-%m-%d %H:%M:%S")
    except ValueError as err:
        raise RejectedFile(f"=StartTime {start_text!r} is not 'YYYY-MM-DD hh:mm:ss'") from err
    if not channel.data:
        raise NothingToLoad("motion channel holds no values")
    frame = pl.DataFrame({csv_text.RAW + "motion": channel.data}).with_row_index(
        "row_number", offset=1
    )
    frame = frame.with_columns(
        csv_text.parse_number(pl.col(csv_text.RAW + "motion")).alias("activity_count")
    )
    checks = [("motion", "count_non_negative", ~(pl.col("activity_count") >= 0).fill_null(False))]
    kept, rejected = csv_text.reject_rows(frame, MOVEMENT, checks)
    start_at = localtime.to_utc(start_local, zone)
    epochs = kept.with_columns(
        elapsed_instants(start_at, (pl.col("row_number") - 1) * epoch_s).alias("epoch_start_at"),
        pl.lit(epoch_s).alias("epoch_s"),
    )
    warnings = []
    if channel.units and "count" not in channel.units.lower():
        warnings.append(f"motion channel units {channel.units!r}: stored as activity counts")
    return ReadResult(
        tables={MOVEMENT: csv_text.typed(epochs, MOVEMENT)},
        warnings=warnings,
        rejected_rows=rejected,
    )


FORMATS: list[Format] = [
    Format(
        name="motionwatch_mtn",
        source=SOURCE,
        sniff=sniff,
        read=read,
        coverage={MOVEMENT: Coverage("span", "epoch_start_at")},
        uses_local_time=True,
    )
]
