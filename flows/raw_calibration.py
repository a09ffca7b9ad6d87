"""Auto-calibration of raw ankle acceleration before leg movements are scored.

Every accelerometer reads a little off 1 g at rest (offset and gain errors per axis of tens
of mg); the gravity-subtracted epochs (``mean_accel_mg``), the z-angle behind sleep/wake and
the detector's thresholds all inherit the error. :func:`first_pass` reads the recording once
(one extra decoding pass, streamed: only one 3-value mean per still 10-s window is kept, about
1.5 MB for a week) and fits the van Hees et al. 2014 auto-calibration
(:func:`restless.models.legs.estimate_calibration`: still windows must reach beyond +/-0.3 g
on every axis, and the fit is applied only when it lowers the error below 10 mg, as GGIR's
``g.calibrate``). :func:`calibrated` then wraps the recording so that every ``chunks()`` call
applies ``(raw + offset_g) * scale`` lazily, chunk by chunk; the scoring pass
(:func:`restless.flows.raw_scoring.raw_tables`) sees only calibrated samples.

The first pass can feed a sink on the way (the optional raw Parquet copy,
:mod:`restless.flows.raw_options`), so keeping raw samples costs no further decoding. The sink
gets the samples as the reader decoded them, before this calibration.

This lives in ``flows`` rather than ``models`` because it wraps the readers'
:class:`~restless.ingest.base.RawAcceleration`, which models may not import; the science is
in :mod:`restless.models.legs.cleaning`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from restless.ingest.base import RawAcceleration
from restless.models.legs.cleaning import Calibration

Sink = Callable[[np.ndarray], None]


def _as_xyz(chunk: np.ndarray) -> np.ndarray:
    return np.asarray(chunk, dtype=np.float64).reshape(-1, 3)


def first_pass(raw: RawAcceleration, sink: Sink | None = None) -> Calibration:
    """Read the recording once; fit the auto-calibration; hand each chunk to ``sink``.

    Below the detector's minimum sampling rate (10 Hz) no fit is attempted (the still-window
    geometry needs it); the pass still runs when there is a sink to feed.
    """
    from restless.models import plm_params as P
    from restless.models.legs import estimate_calibration

    fs = float(raw.fs)

    def chunks() -> Iterator[np.ndarray]:
        for chunk in raw.chunks():
            xyz = _as_xyz(chunk)
            if sink is not None:
                sink(xyz)
            yield xyz

    if fs < P.MIN_SAMPLING_HZ:
        if sink is not None:
            for _ in chunks():
                pass
        return Calibration(status=f"not attempted: {fs:.2f} Hz is below {P.MIN_SAMPLING_HZ:g} Hz")
    return estimate_calibration(chunks(), fs)


def calibrated(raw: RawAcceleration, cal: Calibration) -> RawAcceleration:
    """``raw`` itself when ``cal`` was not applied, else a copy whose ``chunks()`` returns
    ``(raw + offset_g) * scale`` per chunk (a fresh iterator each call, nothing held)."""
    if not cal.applied:
        return raw
    offset = np.asarray(cal.offset_g, dtype=np.float64)
    scale = np.asarray(cal.scale, dtype=np.float64)
    source = raw.chunks

    def chunks() -> Iterator[np.ndarray]:
        for chunk in source():
            xyz = _as_xyz(chunk) + offset  # a new array: the reader's buffer is never changed
            xyz *= scale
            yield xyz

    return replace(raw, chunks=chunks)


def calibration_note(cal: Calibration) -> str:
    """One line for the file's warnings: applied with its values, or why not."""
    head = "auto-calibration (van Hees 2014)"
    mg = lambda v: "n/a" if v is None else f"{v * 1000:.1f} mg"  # noqa: E731
    if cal.applied:
        off = "/".join(f"{v:+.4f}" for v in cal.offset_g)
        sc = "/".join(f"{v:.4f}" for v in cal.scale)
        return (
            f"{head} applied from {cal.n_windows} still 10-s windows: offset x/y/z {off} g,"
            f" scale x/y/z {sc}; error {mg(cal.error_before_g)} -> {mg(cal.error_after_g)}"
        )
    text = f"{head} {cal.status}; {cal.n_windows} still 10-s windows"
    if cal.error_before_g is not None:
        text += f", error {mg(cal.error_before_g)}"
    return text + "; samples scored as decoded"


def calibrate_raw(
    raw: RawAcceleration, sink: Sink | None = None
) -> tuple[RawAcceleration, Calibration, list[str]]:
    """First pass (fit, feeding ``sink``) then the lazily calibrated recording and a note."""
    cal = first_pass(raw, sink)
    return calibrated(raw, cal), cal, [calibration_note(cal)]


__all__ = ["calibrate_raw", "calibrated", "calibration_note", "first_pass"]
