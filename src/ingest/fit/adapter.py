"""The FIT reader: sniff by content, pick a backend, decide the outcome.

Outcomes (see :mod:`.framing` for what "trustworthy" means):

* rejected (:class:`RejectedFile`): bad first header, header CRC or whole-file CRC;
  compressed-timestamp record headers (garmin-fit-sdk cannot decode them, so both
  backends refuse rather than give backend-dependent results); damage with nothing
  restless uses before it;
* partial (``ReadResult.error``): rows from the records before the damage;
* skipped (:class:`NothingToLoad`): an intact file without monitoring, sleep,
  heart-rate, HRV or accelerometer data (settings, workouts, weight scale, file_id
  only, activities without heart rate);
* loaded: canonical tables, and ``raw`` acceleration when the file holds
  ``accelerometer_data`` (:mod:`.accel`; the flow scores leg movements from it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from restless.ingest.base import NothingToLoad, ReadContext, ReadResult, RejectedFile
from restless.ingest.fit import backend_fitparse, backend_sdk
from restless.ingest.fit.canonical import to_canonical
from restless.ingest.fit.framing import looks_like_fit, scan
from restless.ingest.fit.messages import FitMessage

Decode = Callable[[bytes], tuple[list[FitMessage], str | None]]
BACKENDS: dict[str, ModuleType] = {"sdk": backend_sdk, "fitparse": backend_fitparse}


def sniff(head: bytes, name: str) -> bool:
    """A FIT file by content: header size 12 or 14 and ``.FIT`` at bytes 8-11."""
    del name
    return looks_like_fit(head)


def backend_for(name: str) -> Decode:
    """The decode function of a backend name; anything unknown is a configuration error."""
    try:
        return BACKENDS[name].decode
    except KeyError:
        raise ValueError(
            f"unknown fit_backend {name!r}: use one of {', '.join(sorted(BACKENDS))}"
        ) from None


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Canonical frames of one FIT file, decoded by ``ctx.fit_backend``."""
    decode = backend_for(ctx.fit_backend)
    data = path.read_bytes()
    framing = scan(data)
    if (
        framing.compressed_timestamp_at is not None
        and framing.compressed_timestamp_at < framing.trusted_end
    ):
        raise RejectedFile(
            "FIT file uses compressed-timestamp record headers (first at byte "
            f"{framing.compressed_timestamp_at}), which garmin-fit-sdk cannot decode; "
            "rejected under every backend so results do not depend on the decoder"
        )
    messages, decoder_error = decode(data[: framing.trusted_end])
    error = framing.damage
    if len(messages) < framing.data_records:
        error = (
            f"{ctx.fit_backend} decoder stopped after {len(messages)} of "
            f"{framing.data_records} messages: {decoder_error}"
        )
    canonical = to_canonical(messages)
    if not canonical.tables and canonical.raw is None:
        if error is not None:
            raise RejectedFile(f"{error}; nothing restless uses before the damage")
        raise NothingToLoad(
            f"FIT {canonical.file_type} file: nothing restless uses "
            "(no monitoring, sleep, heart-rate, HRV or accelerometer data)"
        )
    return ReadResult(
        tables=canonical.tables,
        raw=canonical.raw,
        error=error,
        identity=canonical.identity,
        timezone_hint=canonical.timezone_hint,
        warnings=canonical.warnings,
    )
