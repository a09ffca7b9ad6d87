"""Decode FIT bytes with ``fitparse`` 1.2 into :class:`FitMessage` objects.

fitparse's profile is older than the SDK's (no ``sleep_level``/``sleep_assessment``,
different sub-field names), so this backend reads every field by *number* and applies
the scale and offset of :data:`~restless.ingest.fit.messages.PROFILE` to the raw value.
Two things fitparse 1.2 does differently are put right here:

* component fields (``field_def is None``) are already in the destination's units,
  but accumulated components are not accumulated: ``hr.event_timestamp`` from
  ``event_timestamp_12`` is rebuilt with the profile's accumulation rule (12-bit
  rollover, seeded by the last full ``event_timestamp``), as garmin-fit-sdk does;
* fitparse raises in the middle of iteration on damage: the messages yielded before
  the exception are kept and the exception becomes the error text.
"""

from __future__ import annotations

from typing import Any

import fitparse
from fitparse.records import DevFieldDefinition, FieldDefinition
from fitparse.utils import FitParseError

from restless.ingest.fit.messages import (
    PROFILE,
    TIMESTAMP_FIELD,
    FitMessage,
    normalise,
    scale_value,
)

NAME = "fitparse"
_HR = 132
_EVENT_TIMESTAMP = 9
_EVENT_TIMESTAMP_BITS = 12


class _Accumulator:
    """The FIT profile's accumulation of a rolling counter (one per message field)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.last = 0

    def seed(self, raw: int) -> None:
        self.total = raw
        self.last = raw

    def add(self, value: int, bits: int) -> int:
        if self.total is None:
            self.seed(value)
        assert self.total is not None
        self.total += (value - self.last) & ((1 << bits) - 1)
        self.last = value
        return self.total


def decode(data: bytes) -> tuple[list[FitMessage], str | None]:
    """All data messages in file order, and fitparse's exception text if it stopped early."""
    messages: list[FitMessage] = []
    event_ts = _Accumulator()
    try:
        for message in fitparse.FitFile(data).get_messages():
            messages.append(_convert(message, event_ts))
    except (FitParseError, ValueError, KeyError, IndexError, TypeError) as error:
        return messages, f"{type(error).__name__}: {error}"
    return messages, None


def _convert(message: Any, event_ts: _Accumulator) -> FitMessage:
    num = message.mesg_num
    spec = PROFILE.get(num)
    fields: dict[str, Any] = {}
    if spec is None:
        for field in message.fields:
            if (
                field.def_num == TIMESTAMP_FIELD
                and isinstance(field.field_def, FieldDefinition)
                and isinstance(field.raw_value, int)
            ):
                fields["timestamp"] = field.raw_value
        return FitMessage(num, fields)
    specs = spec[1]
    expanded_event_ts: list[float] = []
    for field in message.fields:
        field_spec = specs.get(field.def_num)
        if field_spec is None or isinstance(field.field_def, DevFieldDefinition):
            continue
        if field.field_def is None:  # a component expanded by fitparse: destination units
            if num == _HR and field.def_num == _EVENT_TIMESTAMP:
                raw12 = round(field.raw_value * 1024)
                expanded_event_ts.append(event_ts.add(raw12, _EVENT_TIMESTAMP_BITS) / 1024)
                continue
            value = field.raw_value
        else:
            if num == _HR and field.def_num == _EVENT_TIMESTAMP and field.raw_value is not None:
                event_ts.seed(field.raw_value)
            value = scale_value(field.raw_value, field_spec)
        value = normalise(value)
        if value is not None:
            fields[field_spec.name] = value
    if expanded_event_ts:
        fields["event_timestamp"] = normalise(expanded_event_ts)
    return FitMessage(num, fields)
