"""Simulated ankle acceleration with planted leg movements: ground truth for PLM scoring.

Test support, not product code. :func:`simulate_night` builds one or two ankles' tri-axial
acceleration in g at ``fs``:

* gravity (1 g) along a posture that changes only during large body movements;
* per-axis gain and offset errors (what auto-calibration corrects), white sensor noise at a
  chosen SD, quantisation to the stored resolution (1/256 g, Axivity AX3) and clipping at
  the dynamic range;
* planted movements with known onsets and durations: periodic series (4-40 movements,
  onset-to-onset intervals 12-60 s), isolated movements, too-long leg movements (11-30 s),
  large body movements (15-60 s, posture change), too-short twitches (0.1-0.3 s), and with
  two ankles bilateral pairs (overlapping movements of both legs).

Movement model (a modelling choice, stated because the accuracy figures depend on it): a leg
movement tilts the shank by 3-15 degrees (0.2-s ramps) and adds dynamic acceleration, three
sinusoids of 1.5-6 Hz in random directions with an RMS of 30-150 mg, over its whole duration
with 0.1-s raised-cosine edges. A sustained isometric contraction without any motion is
invisible to an accelerometer and is not simulated. Planted events keep at least 2 s apart
(except the two legs of a bilateral pair), and durations stay at least 0.2 s from the rule
boundaries (twitches <= 0.3 s, leg movements >= 0.8 s, too-long ones >= 10.8 s): a boundary
case to a few samples is a question for the rule tests (tests/test_plm_rules.py), not for a
simulated signal.

:func:`match_events` pairs detected with planted events (definition in its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from restless.demo.ankle import raised_cosine_window

START_AT = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)

EVENT_SCHEMA = {
    "side": pl.String,
    "kind": pl.String,
    "onset_s": pl.Float64,
    "end_s": pl.Float64,
    "duration_s": pl.Float64,
    "amplitude_g": pl.Float64,
}
"""Planted events; ``kind`` in series | isolated | long | body | twitch."""

KINDS_LM = ("series", "isolated", "long", "body")
"""Planted kinds that are leg movements (>= 0.5 s); twitches are not."""


@dataclass(frozen=True)
class SimConfig:
    """What to simulate; defaults give an 8-hour 50 Hz night at realistic noise."""

    fs: float = 50.0
    duration_s: float = 8 * 3600.0
    noise_g: float = 0.005
    two_legs: bool = False
    postures: str = "night"  # "night": lying postures only; "sphere": all six faces
    lm_rms_g: tuple[float, float] = (0.03, 0.15)
    lm_tilt_deg: tuple[float, float] = (3.0, 15.0)
    lm_duration_s: tuple[float, float] = (0.8, 5.0)
    series_imi_s: tuple[float, float] = (12.0, 60.0)
    gain_sd: float = 0.01
    offset_sd_g: float = 0.02
    resolution_g: float | None = 1 / 256
    range_g: float = 8.0
    amplitude_scale: float = 1.0  # scales noise and every movement's dynamic acceleration


@dataclass
class SimulatedNight:
    """One simulated recording: samples per leg and the planted events."""

    config: SimConfig
    seed: int
    xyz: dict[str, np.ndarray]  # side -> (n, 3) float64 in g
    events: pl.DataFrame  # EVENT_SCHEMA
    gains: dict[str, np.ndarray] = field(default_factory=dict)
    offsets: dict[str, np.ndarray] = field(default_factory=dict)
    start_at: datetime = START_AT

    @property
    def fs(self) -> float:
        return self.config.fs

    def truth_movements(self, side: str) -> pl.DataFrame:
        """Planted leg movements of one leg as a detection-like movements frame."""
        ev = self.events.filter((pl.col("side") == side) & pl.col("kind").is_in(KINDS_LM))
        start = pl.lit(self.start_at).dt.cast_time_unit("us")
        return ev.sort("onset_s").select(
            (start + pl.duration(microseconds=(pl.col("onset_s") * 1e6).round().cast(pl.Int64)))
            .dt.replace_time_zone("UTC")
            .alias("start_at"),
            (start + pl.duration(microseconds=(pl.col("end_s") * 1e6).round().cast(pl.Int64)))
            .dt.replace_time_zone("UTC")
            .alias("end_at"),
            "duration_s",
            pl.col("amplitude_g").alias("peak_g"),
            pl.lit(None, dtype=pl.Float64).alias("area_g_s"),
        )


# --- event plan --------------------------------------------------------------------------


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _plan(rng: np.random.Generator, c: SimConfig) -> list[dict]:
    """A night's events in time order, leg movements and twitches at least 2 s apart."""
    sides = ("left", "right") if c.two_legs else ("left",)
    events: list[dict] = []

    def lm(onset: float, kind: str, duration: float, side: str | None = None) -> float:
        """Plant one movement (or a bilateral pair); return the latest end."""
        amp = _loguniform(rng, *c.lm_rms_g)
        if side is None:
            side = sides[rng.integers(len(sides))]
            if c.two_legs and kind in ("series", "isolated") and rng.random() < 0.25:
                side = "both"
        if side == "both":
            other_onset = onset + rng.uniform(-0.3, 0.3)
            other_dur = max(duration + rng.uniform(-0.4, 0.4), c.lm_duration_s[0])
            events.append(dict(side="left", kind=kind, onset_s=onset, duration_s=duration))
            events[-1]["amplitude_g"] = amp
            events.append(dict(side="right", kind=kind, onset_s=other_onset, duration_s=other_dur))
            events[-1]["amplitude_g"] = _loguniform(rng, *c.lm_rms_g)
            return max(onset + duration, other_onset + other_dur)
        events.append(
            dict(side=side, kind=kind, onset_s=onset, duration_s=duration, amplitude_g=amp)
        )
        return onset + duration

    def twitch(onset: float) -> float:
        side = sides[rng.integers(len(sides))]
        duration = rng.uniform(0.1, 0.3)
        events.append(
            dict(
                side=side,
                kind="twitch",
                onset_s=onset,
                duration_s=duration,
                amplitude_g=_loguniform(rng, *c.lm_rms_g),
            )
        )
        return onset + duration

    t = 120.0
    horizon = c.duration_s - 240.0
    while t < horizon:
        r = rng.random()
        if r < 0.35:  # a periodic series
            n = int(rng.integers(4, 41))
            onset = t
            for i in range(n):
                if onset + 20 > horizon:
                    break
                if 0 < i < n - 1 and rng.random() < 0.04:  # a too-long movement breaks it
                    end = lm(onset, "long", rng.uniform(10.8, 14.0))
                else:
                    end = lm(onset, "series", _loguniform(rng, *c.lm_duration_s))
                imi = rng.uniform(*c.series_imi_s)
                if rng.random() < 0.1 and imi - (end - onset) > 7.0:  # a twitch in between
                    twitch(end + 2.5)
                onset = max(onset + imi, end + 2.5)
            t = onset + rng.uniform(100, 400)
        elif r < 0.55:
            end = lm(t, "isolated", _loguniform(rng, *c.lm_duration_s))
            t = end + rng.uniform(100, 300)
        elif r < 0.65:
            end = lm(t, "long", rng.uniform(11.0, 30.0))
            t = end + rng.uniform(100, 300)
        elif r < 0.80:
            duration = rng.uniform(15.0, 60.0)
            for side in sides:  # the whole body moves: every ankle sees it
                events.append(
                    dict(
                        side=side,
                        kind="body",
                        onset_s=t,
                        duration_s=duration,
                        amplitude_g=rng.uniform(0.1, 0.4),
                    )
                )
            t = t + duration + rng.uniform(100, 300)
        else:
            for _ in range(int(rng.integers(1, 6))):
                t = twitch(t) + rng.uniform(3.0, 8.0)
            t += rng.uniform(100, 200)
    for e in events:
        e["end_s"] = e["onset_s"] + e["duration_s"]
    return events


# --- signal synthesis --------------------------------------------------------------------

_NIGHT_POSTURES = np.array(
    [[0.9, 0.3, 0.3], [0.7, -0.7, 0.1], [0.7, 0.6, -0.4], [0.95, 0.0, -0.3], [0.8, 0.2, 0.55]]
)
_SPHERE_POSTURES = np.array(
    [
        [1, 0.1, 0.1],
        [-1, 0.1, -0.1],
        [0.1, 1, 0.1],
        [-0.1, -1, 0.1],
        [0.1, -0.1, 1],
        [0.1, 0.1, -1],
    ],
    dtype=float,
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _perpendicular(rng: np.random.Generator, u: np.ndarray) -> np.ndarray:
    v = rng.normal(size=3)
    v -= v.dot(u) * u
    return _unit(v)


def _vibration(rng: np.random.Generator, n: int, fs: float, rms: float, band: tuple) -> np.ndarray:
    """(n, 3) sum of three sinusoids in random directions with the given total RMS."""
    t = np.arange(n) / fs
    out = np.zeros((n, 3))
    for _ in range(3):
        f = rng.uniform(*band)
        d = _unit(rng.normal(size=3))
        out += np.outer(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)), d)
    return out * (rms / np.sqrt(1.5))  # three unit sinusoids: total mean square 1.5


def _synthesise(
    rng: np.random.Generator, c: SimConfig, events: list[dict], side: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fs = c.fs
    n = round(c.duration_s * fs)
    postures = _unit(_SPHERE_POSTURES if c.postures == "sphere" else _NIGHT_POSTURES)
    gravity = np.empty((n, 3))
    dynamic = np.zeros((n, 3))
    mine = sorted((e for e in events if e["side"] == side), key=lambda e: e["onset_s"])
    face = int(rng.integers(len(postures)))
    current = postures[face]
    cursor = 0
    for e in mine:
        i0 = round(e["onset_s"] * fs)
        i1 = min(round(e["end_s"] * fs), n)
        if i1 <= i0:
            continue
        m = i1 - i0
        if e["kind"] == "body":
            gravity[cursor:i0] = current
            if c.postures == "sphere":  # visit every face in turn: calibration needs them all
                face = (face + 1) % len(postures)
            else:
                face = (face + int(rng.integers(1, len(postures)))) % len(postures)
            target = postures[face]
            s = np.linspace(0, 1, m)[:, None]
            s = s * s * (3 - 2 * s)
            gravity[i0:i1] = _unit((1 - s) * current + s * target)
            slow = 0.6 + 0.4 * np.sin(2 * np.pi * np.arange(m) / fs / rng.uniform(3, 8))
            vib = _vibration(rng, m, fs, e["amplitude_g"], (0.5, 4.0)) * slow[:, None]
            dynamic[i0:i1] += vib * raised_cosine_window(m, int(0.1 * fs))[:, None]
            current, cursor = target, i1
            continue
        vib = _vibration(rng, m, fs, e["amplitude_g"], (1.5, 6.0))
        dynamic[i0:i1] += vib * raised_cosine_window(m, max(1, int(0.1 * fs)))[:, None]
        if e["kind"] != "twitch":
            tilt = np.deg2rad(rng.uniform(*c.lm_tilt_deg)) * raised_cosine_window(m, int(0.2 * fs))
            v = _perpendicular(rng, current)
            dynamic[i0:i1] += np.outer(np.cos(tilt) - 1, current) + np.outer(np.sin(tilt), v)
    gravity[cursor:] = current
    signal = gravity + c.amplitude_scale * (dynamic + rng.normal(0.0, c.noise_g, size=(n, 3)))
    gain = 1.0 + rng.normal(0.0, c.gain_sd, size=3)
    offset = rng.normal(0.0, c.offset_sd_g, size=3)
    signal = signal * gain + offset
    if c.resolution_g:
        signal = np.round(signal / c.resolution_g) * c.resolution_g
    np.clip(signal, -c.range_g, c.range_g, out=signal)
    return signal, gain, offset


def simulate_night(seed: int, config: SimConfig | None = None) -> SimulatedNight:
    """One simulated night (one or two ankles) with its planted events."""
    c = config or SimConfig()
    rng = np.random.default_rng(seed)
    events = _plan(rng, c)
    sides = ("left", "right") if c.two_legs else ("left",)
    xyz, gains, offsets = {}, {}, {}
    for side in sides:
        xyz[side], gains[side], offsets[side] = _synthesise(rng, c, events, side)
    for e in events:
        e["amplitude_g"] *= c.amplitude_scale
    frame = pl.DataFrame(
        [{k: e[k] for k in EVENT_SCHEMA} for e in events], schema=EVENT_SCHEMA
    ).sort("side", "onset_s")
    return SimulatedNight(c, seed, xyz, frame, gains, offsets)


# --- matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Event-level agreement of detected with planted movements."""

    true_positives: int
    n_true: int
    n_detected: int

    @property
    def sensitivity(self) -> float:
        return self.true_positives / self.n_true if self.n_true else 1.0

    @property
    def precision(self) -> float:
        return self.true_positives / self.n_detected if self.n_detected else 1.0


def match_events(
    true_onset: np.ndarray,
    true_end: np.ndarray,
    det_onset: np.ndarray,
    det_end: np.ndarray,
    tolerance_s: float = 0.5,
) -> Match:
    """One-to-one matching of detected to planted events (times in seconds).

    A detected event matches a planted one when their intervals overlap and their onsets
    differ by at most ``tolerance_s`` (0.5 s: the WASM temporal resolution, the shortest LM
    and the bilateral merge gap). Pairs are taken greedily in order of onset difference, each
    event used once. Sensitivity = matched / planted, precision = matched / detected.
    """
    to, te = np.asarray(true_onset, float), np.asarray(true_end, float)
    do, de = np.asarray(det_onset, float), np.asarray(det_end, float)
    if to.size == 0 or do.size == 0:
        return Match(0, int(to.size), int(do.size))
    order = np.argsort(do)
    do, de = do[order], de[order]
    lo = np.searchsorted(do, to - tolerance_s, side="left")
    hi = np.searchsorted(do, to + tolerance_s, side="right")
    pairs = []
    for i in range(to.size):
        for j in range(lo[i], hi[i]):
            if do[j] < te[i] and to[i] < de[j]:
                pairs.append((abs(do[j] - to[i]), i, j))
    pairs.sort()
    used_t, used_d = set(), set()
    for _, i, j in pairs:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
    return Match(len(used_t), int(to.size), int(do.size))


def seconds_since(start_at: datetime, instants: pl.Series) -> np.ndarray:
    """UTC instants as seconds since ``start_at``."""
    us = (instants.cast(pl.Int64) - (start_at - datetime(1970, 1, 1, tzinfo=UTC)) // _US).to_numpy()
    return us / 1e6


_US = timedelta(microseconds=1)
