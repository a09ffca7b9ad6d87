"""Left-ankle acceleration of a few demo nights, with planted leg movements.

Why: the demo should show the pipeline's flagship feature, periodic limb movements from a
raw ankle accelerometer, with a truth to check it against. Each ankle night is planned first
(:func:`plan_ankle_night`, a list of :class:`AnkleMovement`) and then synthesised at
:data:`FS` Hz (:func:`synthesise`):

* gravity (1 g) along a lying posture of the shank that changes once or twice during the
  night in a large body movement (15-25 s, slow swaying while the posture turns);
* white sensor noise of :data:`NOISE_G` (5 mg) per axis;
* planted leg movements: PLM series of 1.5-s movements every 20-30 s in runs of 10-40, and a
  few isolated movements (1-4 s). A leg movement tilts the shank by 5-15 degrees (0.2-s
  ramps) and adds three sinusoids of 1.5-6 Hz (RMS 50-120 mg) with 0.1-s raised-cosine edges
  (the model of tests/plm_simulator.py, written again here: the demo package imports nothing
  from tests/).

Planted events keep apart so that their scoring is unambiguous: two runs, an isolated
movement and a posture change are at least :data:`GAP_S` apart (more than the 90-s longest
PLM interval, so a run neither grows nor merges), and every series onset keeps
:data:`EDGE_S` from the whole minutes of the recording, where the wrist's sleep stages
change. Deterministic: the plan comes from a ``random.Random`` the caller seeds, the signal
from a NumPy generator seeded from the same plan.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

FS = 25
"""Samples per second (an Axivity AX3 rate, rate code 0x48 at +/-8 g; the demo writes .cwa)."""
NOISE_G = 0.005
SERIES_LM_S = 1.5
SERIES_IMI_S = (20.0, 30.0)
SERIES_RUN = (10, 40)
GAP_S = 120.0
EDGE_S = 1.5

# Lying postures of the shank, sensor axes (x along the shank, z out of the skin).
_POSTURES = (
    (0.15, 0.10, 0.98),  # supine
    (0.10, 0.95, 0.25),  # on the left side
    (0.12, -0.93, 0.30),  # on the right side
    (0.20, 0.15, -0.96),  # prone
)


@dataclass(frozen=True)
class AnkleMovement:
    """One planted event: seconds from the recording's start, its length and its kind
    (``series``: a movement of a PLM run; ``isolated``; ``posture``: a large body movement
    that turns the shank into another lying posture)."""

    onset_s: float
    duration_s: float
    kind: str


@dataclass(frozen=True)
class AnkleNight:
    """One ankle recording: its first sample, its length and what was planted in it."""

    start_utc: datetime
    n_samples: int
    movements: tuple[AnkleMovement, ...]
    signal_seed: int

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(seconds=self.n_samples / FS)

    def onsets_utc(self, kind: str = "series") -> list[datetime]:
        """Onsets (UTC) of the planted movements of one kind, in time order."""
        return [
            self.start_utc + timedelta(seconds=m.onset_s) for m in self.movements if m.kind == kind
        ]


def _free(busy: list[tuple[float, float]], start: float, end: float) -> bool:
    return all(end + GAP_S <= a or start >= b + GAP_S for a, b in busy)


def _off_the_minute(t: float) -> float:
    """``t`` moved forward to keep :data:`EDGE_S` from a whole minute of the recording."""
    within = t % 60.0
    if within < EDGE_S:
        return t + EDGE_S - within
    if within > 60.0 - EDGE_S:
        return t + 60.0 - within + EDGE_S
    return t


def plan_ankle_night(
    rng: random.Random, start_utc: datetime, duration_s: float, n_runs: int, n_isolated: int
) -> AnkleNight:
    """Runs of PLMs (more of them early in the night, as in RLS), isolated movements and one
    or two posture changes, all :data:`GAP_S` apart; a run that does not fit is left out."""
    busy: list[tuple[float, float]] = []
    moves: list[AnkleMovement] = []

    def place(length: float, early: bool) -> float | None:
        for _ in range(200):
            u = rng.random() ** 1.5 if early else rng.random()
            start = 60.0 + u * (duration_s - 120.0 - length)
            if start >= 60.0 and _free(busy, start, start + length):
                busy.append((start, start + length))
                return start
        return None

    for _ in range(rng.randint(1, 2)):
        length = rng.uniform(15.0, 25.0)
        at = place(length, early=False)
        if at is not None:
            moves.append(AnkleMovement(round(at, 2), round(length, 2), "posture"))
    for _ in range(n_runs):
        count = rng.randint(*SERIES_RUN)
        gaps = [rng.uniform(*SERIES_IMI_S) for _ in range(count - 1)]
        first = place(sum(gaps) + SERIES_LM_S + 2 * count * EDGE_S, early=True)
        if first is None:
            continue
        t = _off_the_minute(first)
        for k in range(count):
            moves.append(AnkleMovement(round(t, 2), SERIES_LM_S, "series"))
            if k < count - 1:
                t = _off_the_minute(t + gaps[k])
    for _ in range(n_isolated):
        length = rng.uniform(1.0, 4.0)
        at = place(length, early=False)
        if at is not None:
            moves.append(AnkleMovement(round(at, 2), round(length, 2), "isolated"))
    moves.sort(key=lambda m: m.onset_s)
    return AnkleNight(
        start_utc=start_utc,
        n_samples=int(duration_s * FS),
        movements=tuple(moves),
        signal_seed=rng.getrandbits(32),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def raised_cosine_window(n: int, ramp: int) -> np.ndarray:
    """Window of ``n`` ones with raised-cosine edges of ``ramp`` samples (a movement's
    envelope: no step that would ring like an artefact). Shared with tests/plm_simulator."""
    w = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp > 0:
        r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        w[:ramp] = r
        w[n - ramp :] = r[::-1]
    return w


def _vibration(gen: np.random.Generator, n: int, rms: float, band: tuple) -> np.ndarray:
    """(n, 3): three sinusoids in random directions with a total RMS of ``rms`` g."""
    t = np.arange(n) / FS
    out = np.zeros((n, 3))
    for _ in range(3):
        d = _unit(gen.normal(size=3))
        phase = gen.uniform(0, 2 * math.pi)
        out += np.outer(np.sin(2 * math.pi * gen.uniform(*band) * t + phase), d)
    return out * (rms / math.sqrt(1.5))


def synthesise(night: AnkleNight) -> np.ndarray:
    """(n_samples, 3) acceleration in g of the planned night."""
    gen = np.random.default_rng(night.signal_seed)
    n = night.n_samples
    postures = _unit(np.array(_POSTURES))
    face = int(gen.integers(len(postures)))
    current = postures[face]
    gravity = np.empty((n, 3))
    dynamic = np.zeros((n, 3))
    cursor = 0
    for move in night.movements:
        i0 = round(move.onset_s * FS)
        i1 = min(round((move.onset_s + move.duration_s) * FS), n)
        m = i1 - i0
        if m <= 0:
            continue
        if move.kind == "posture":
            gravity[cursor:i0] = current
            face = (face + int(gen.integers(1, len(postures)))) % len(postures)
            target = postures[face]
            s = np.linspace(0.0, 1.0, m)[:, None]
            s = s * s * (3 - 2 * s)
            gravity[i0:i1] = _unit((1 - s) * current + s * target)
            sway = _vibration(gen, m, gen.uniform(0.08, 0.15), (0.5, 4.0))
            dynamic[i0:i1] += sway * raised_cosine_window(m, FS // 10)[:, None]
            current, cursor = target, i1
            continue
        vib = _vibration(gen, m, gen.uniform(0.05, 0.12), (1.5, 6.0))
        dynamic[i0:i1] += vib * raised_cosine_window(m, FS // 10)[:, None]
        tilt = math.radians(gen.uniform(5.0, 15.0)) * raised_cosine_window(m, FS // 5)
        side = _unit(np.cross(current, _unit(gen.normal(size=3))))
        dynamic[i0:i1] += np.outer(np.cos(tilt) - 1, current) + np.outer(np.sin(tilt), side)
    gravity[cursor:] = current
    return gravity + dynamic + gen.normal(0.0, NOISE_G, size=(n, 3))
