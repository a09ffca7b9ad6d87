"""Decode FIT bytes with Garmin's ``garmin-fit-sdk`` into :class:`FitMessage` objects.

The SDK applies the profile itself (scale, offset, component expansion with
accumulation); we switch off what would make its output differ from fitparse's:
enum-to-string and datetime conversion (raw integers are kept), sub-field expansion
(main field names only) and ``merge_heart_rates`` (which would overwrite
``record.heart_rate`` with averages of ``hr`` messages). Messages are collected in file
order through the SDK's message listener.
"""

from __future__ import annotations

from typing import Any

from garmin_fit_sdk import Decoder, Stream

from restless.ingest.fit.messages import FIELD_NAMES, TIMESTAMP_FIELD, FitMessage, normalise

NAME = "sdk"


def decode(data: bytes) -> tuple[list[FitMessage], str | None]:
    """All data messages in file order, and the decoder's error if it stopped early."""
    messages: list[FitMessage] = []

    def on_message(mesg_num: int, message: dict[Any, Any]) -> None:
        messages.append(FitMessage(mesg_num, _fields(mesg_num, message)))

    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    _, errors = decoder.read(
        convert_types_to_strings=False,
        convert_datetimes_to_dates=False,
        expand_sub_fields=False,
        merge_heart_rates=False,
        mesg_listener=on_message,
    )
    error = "; ".join(str(e) for e in errors) if errors else None
    return messages, error


def _fields(mesg_num: int, message: dict[Any, Any]) -> dict[str, Any]:
    """Keep the fields restless reads (by profile name); every message keeps its timestamp."""
    wanted = FIELD_NAMES.get(mesg_num)
    out: dict[str, Any] = {}
    if wanted is None:
        stamp = message.get("timestamp", message.get(TIMESTAMP_FIELD))
        if isinstance(stamp, int):
            out["timestamp"] = stamp
        return out
    for name in wanted:
        if name in message:
            value = normalise(message[name])
            if value is not None:
                out[name] = value
    return out
