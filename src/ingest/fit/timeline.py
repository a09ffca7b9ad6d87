"""Give every decoded message its instant, the way the FIT protocol times messages.

A message is timed by its ``timestamp`` (field 253) or, in monitoring files, by a
``timestamp_16``: the low 16 bits of the FIT time, resolved against the last
resolved timestamp as ``last + ((timestamp_16 - last) & 0xFFFF)``; the resolved time
then becomes the reference for the next one (so a file may run for days as long as
consecutive messages are under 18 h apart). Messages without a time of their own
(``hrv``) get the last timestamp seen before them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from restless.ingest.fit.messages import FitMessage


@dataclass(frozen=True, slots=True)
class Timed:
    """A message with its own resolved FIT time (or None) and the last time before it."""

    message: FitMessage
    at: int | None
    last_seen: int | None


def resolve(messages: Iterable[FitMessage]) -> list[Timed]:
    """Timed messages in file order."""
    out: list[Timed] = []
    last: int | None = None
    for message in messages:
        before = last
        at: int | None = None
        stamp = message.fields.get("timestamp")
        short = message.fields.get("timestamp_16")
        if isinstance(stamp, int):
            at = stamp
        elif isinstance(short, int) and last is not None:
            at = last + ((short - last) & 0xFFFF)
        if at is not None:
            last = at
        out.append(Timed(message, at, before))
    return out
