"""Leg movements (LM) from one ankle's tri-axial acceleration.

The EMG rules of WASM 2016 (Ferri et al., Sleep Med 2016;26:86-95), adapted to acceleration
as DESIGN.md section 5 describes: acceleration replaces microvolts, the thresholds adapt to
each recording's noise (Yang et al., Sleep Med 2014;15:132-137) and the values used are
returned with the result. Every constant and its source is in
:mod:`restless.models.plm_params`.

Pipeline (``fs`` >= 10 Hz, samples in g):

1. calibrate: scale each axis when an auto-calibration was accepted (offsets cancel in 2);
2. high-pass each axis twice, against the mean of the 1 s before the sample's 0.1-s
   sub-block and against the mean of the 1 s after it, and keep the smaller of the two
   squared vector magnitudes (free of the smearing a centred filter adds around every
   step); its root mean square over 0.1 s is the *envelope*, in g;
3. per 7.5-min block, the resting baseline and noise SD of the envelope (median and MAD,
   sigma-clipped); a block's thresholds use the median over the 5 blocks centred on it:
   onset = baseline + 6 SD, offset = baseline + 4 SD (plm_params ``ONSET_K``/``OFFSET_K``);
4. an LM starts where the envelope first exceeds the onset threshold and ends at the start
   of the first >= 0.5 s during which it stays at or below the offset threshold
   (hysteresis, as 8 uV on / 2 uV above resting off in EMG); LMs shorter than 0.5 s are
   dropped.

Cleaning is reported, not hidden: non-wear (GGIR's 2013 rule) and clipped samples per block,
and the auto-calibration estimate with its errors before and after
(:mod:`restless.models.legs.cleaning`).

Bounded memory: :func:`detect_movements_chunked` takes consecutive, non-overlapping chunks of
any size and re-blocks them into fixed blocks aligned on the first sample, keeping the
context each filter needs itself (about 1.1 s each side, plus two blocks of envelope for the
centred threshold median). The result therefore does not depend on how the input was
chunked; a week at 100 Hz needs a few MB. :func:`detect_movements` wraps it for an in-memory
array (without copying it).

Samples are assumed evenly spaced at ``fs`` with no gaps (readers split or fill gaps); a
non-finite sample raises. Actigraphic leg movements are screening estimates (the AASM
actigraphy guideline, Smith et al. 2018, advises against diagnosing PLMD from actigraphy).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from restless.models import plm_params as P
from restless.models.legs.cleaning import Calibration, fit_calibration, nonwear_flags

UTC_US = pl.Datetime("us", "UTC")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MOVEMENT_SCHEMA: dict[str, Any] = {
    "start_at": UTC_US,
    "end_at": UTC_US,
    "duration_s": pl.Float64,
    "peak_g": pl.Float64,
    "area_g_s": pl.Float64,
    "onset_threshold_g": pl.Float64,
    "offset_threshold_g": pl.Float64,
}
"""One row per detected monolateral LM, sorted by ``start_at``. ``peak_g``: largest envelope
value (0.1-s RMS of the high-pass magnitude); ``area_g_s``: integral of the envelope above
the resting baseline from onset to end; the thresholds are those of the block holding the
onset."""

BLOCK_SCHEMA: dict[str, Any] = {
    "block_start_at": UTC_US,
    "block_end_at": UTC_US,
    "baseline_g": pl.Float64,
    "noise_g": pl.Float64,
    "onset_threshold_g": pl.Float64,
    "offset_threshold_g": pl.Float64,
    "clipped_samples": pl.Int64,
    "is_nonwear": pl.Boolean,
}
"""One row per 7.5-min block: the thresholds used there and the cleaning flags."""


@dataclass(frozen=True)
class DetectionParams:
    """Detection settings; defaults from :mod:`restless.models.plm_params` (citations there)."""

    highpass_window_s: float = P.HIGHPASS_WINDOW_S
    envelope_window_s: float = P.ENVELOPE_WINDOW_S
    onset_k: float = P.ONSET_K
    offset_k: float = P.OFFSET_K
    offset_quiet_s: float = P.OFFSET_QUIET_S
    lm_min_s: float = P.LM_MIN_S
    noise_sample_s: float = P.NOISE_SAMPLE_S
    noise_block_s: float = P.NOISE_BLOCK_S
    noise_smooth_blocks: int = P.NOISE_SMOOTH_BLOCKS
    noise_clip_k: float = P.NOISE_CLIP_K
    noise_clip_iterations: int = P.NOISE_CLIP_ITERATIONS
    noise_min_g: float = P.NOISE_MIN_G
    nonwear_step_s: float = P.NONWEAR_STEP_S
    nonwear_window_s: float = P.NONWEAR_WINDOW_S
    nonwear_sd_g: float = P.NONWEAR_SD_G
    nonwear_range_g: float = P.NONWEAR_RANGE_G
    nonwear_min_axes: int = P.NONWEAR_MIN_AXES
    clip_margin_g: float = P.CLIP_MARGIN_G
    calibration_window_s: float = P.CALIBRATION_WINDOW_S
    calibration_still_sd_g: float = P.CALIBRATION_STILL_SD_G
    calibration_max_abs_g: float = P.CALIBRATION_MAX_ABS_G

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready settings, stored with the run next to the thresholds they produced."""
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_movements_chunked` found in one sensor's recording.

    ``movements`` (MOVEMENT_SCHEMA) are monolateral LMs, before the CLM/series rules of
    :mod:`restless.models.legs.series`. ``blocks`` (BLOCK_SCHEMA) holds the thresholds used
    and the non-wear and clipping flags; :meth:`thresholds` summarises them.
    """

    movements: pl.DataFrame
    blocks: pl.DataFrame
    calibration_used: Calibration
    calibration_estimate: Calibration
    fs: float
    n_samples: int
    start_at: datetime
    params: DetectionParams = field(default_factory=DetectionParams)

    def thresholds(self) -> dict[str, float | None]:
        """Median baseline, noise and thresholds (g) over the recording's blocks."""
        cols = ("baseline_g", "noise_g", "onset_threshold_g", "offset_threshold_g")
        if self.blocks.height == 0:
            return dict.fromkeys(cols)
        return {c: float(self.blocks[c].median()) for c in cols}


# --- geometry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    """Every window of the pipeline in samples, derived once from ``fs`` and the params."""

    fs: float
    window: int  # still/calibration window (10 s)
    block: int  # noise block (45 windows = 7.5 min)
    sub: int  # sub-block (about 0.1 s, divides the window): unit of the gravity baselines
    hp_subs: int  # sub-blocks in each one-sided high-pass window (1 s)
    env_half: int  # envelope: mean of 2 * env_half + 1 squared magnitudes (0.1 s)
    context: int  # raw samples needed on each side of a block (whole sub-blocks)
    floor_stride: int  # stride of the envelope samples for the resting floor
    quiet: int  # samples at or below the offset threshold that end an LM
    min_lm: int  # shortest LM in samples
    smooth_half: int  # blocks on each side in the threshold median
    nonwear_step: int  # blocks per non-wear step
    nonwear_extra: int  # blocks on each side of a step in its non-wear window


def _geometry(fs: float, p: DetectionParams) -> _Geometry:
    if not fs >= P.MIN_SAMPLING_HZ:
        raise ValueError(f"fs = {fs} Hz: leg movements need at least {P.MIN_SAMPLING_HZ} Hz")
    ratios = {
        "noise_block_s / calibration_window_s": p.noise_block_s / p.calibration_window_s,
        "nonwear_step_s / noise_block_s": p.nonwear_step_s / p.noise_block_s,
        "nonwear_window_s / noise_block_s": p.nonwear_window_s / p.noise_block_s,
    }
    for name, value in ratios.items():
        if value < 1 or abs(value - round(value)) > 1e-9:
            raise ValueError(f"{name} must be a whole number >= 1, got {value}")
    step, span = (round(v) for v in list(ratios.values())[1:])
    if span < step or (span - step) % 2:
        raise ValueError("the non-wear window must exceed the step by an even number of blocks")
    if p.noise_smooth_blocks < 1 or p.noise_smooth_blocks % 2 == 0:
        raise ValueError("noise_smooth_blocks must be odd and >= 1 (a centred median)")
    window = round(p.calibration_window_s * fs)
    target = max(1, round(p.envelope_window_s * fs))
    sub = max(d for d in range(1, target + 1) if window % d == 0)
    env_half = max(0, math.floor((p.envelope_window_s * fs - 1.0) / 2.0 + 0.5))
    hp_subs = max(1, round(p.highpass_window_s * fs / sub))
    return _Geometry(
        fs=fs,
        window=window,
        block=window * round(ratios["noise_block_s / calibration_window_s"]),
        sub=sub,
        hp_subs=hp_subs,
        env_half=env_half,
        context=(hp_subs + -(-env_half // sub)) * sub,
        floor_stride=max(1, round(p.noise_sample_s * fs)),
        quiet=max(1, math.ceil(p.offset_quiet_s * fs - 1e-9)),
        min_lm=max(1, math.ceil(p.lm_min_s * fs - 1e-9)),
        smooth_half=p.noise_smooth_blocks // 2,
        nonwear_step=step,
        nonwear_extra=(span - step) // 2,
    )


# --- re-blocking -------------------------------------------------------------------------


@dataclass
class _Segment:
    """One block with its context: ``data[i]`` is absolute sample ``first + i``."""

    start: int  # absolute index of the block's first sample
    size: int  # samples in the block
    first: int  # absolute index of data[0]
    data: np.ndarray  # (m, 3), the block plus the context available
    total: int | None  # recording length once known (the last blocks), else None


def _as_rows(chunk: np.ndarray) -> np.ndarray:
    """A chunk as an (n, 3) float array (no copy when it already is one)."""
    a = np.asarray(chunk)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"a chunk must be (n, 3) samples of x, y, z in g, got {a.shape}")
    return a


def _reblock(chunks: Iterable[np.ndarray], block: int, context: int) -> Iterator[_Segment]:
    """Fixed blocks aligned on sample 0, with ``context`` samples each side, from any chunks.

    Holds at most a block, two contexts and the newest chunk; one big chunk is used as is
    (views, no copy). The blocks never depend on where the chunk boundaries fell.
    """
    buf = np.empty((0, 3))
    buf_first = 0
    pending: list[np.ndarray] = []
    pending_n = 0
    start = 0
    for chunk in chunks:
        a = _as_rows(chunk)
        if a.shape[0] == 0:
            continue
        pending.append(a)
        pending_n += a.shape[0]
        if buf_first + buf.shape[0] + pending_n < start + block + context:
            continue
        parts = [buf, *pending] if buf.shape[0] else pending
        buf = parts[0] if len(parts) == 1 else np.concatenate(parts)
        pending, pending_n = [], 0
        while buf_first + buf.shape[0] >= start + block + context:
            lo = max(start - context, 0)
            data = buf[lo - buf_first : start + block + context - buf_first]
            yield _Segment(start, block, lo, data, None)
            start += block
            drop = max(start - context, 0) - buf_first
            if drop > 0:
                buf = buf[drop:]
                buf_first += drop
    if pending:
        parts = [buf, *pending] if buf.shape[0] else pending
        buf = parts[0] if len(parts) == 1 else np.concatenate(parts)
    total = buf_first + buf.shape[0]
    while start < total:
        lo = max(start - context, 0)
        size = min(block, total - start)
        yield _Segment(start, size, lo, buf[lo - buf_first : total - buf_first], total)
        start += block


class _Scratch:
    """Reusable work arrays: fresh large arrays cost a page fault per 4 kB on every block."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        size = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(max(size, 1), dtype=dtype)
            self._bufs[name] = buf
        return buf[:size].reshape(shape)


# --- envelope ----------------------------------------------------------------------------

_WORK = np.float32
"""Per-sample work type: high-pass values of a few mg to a few g need 7 digits, not 16, and
float32 halves the memory traffic. Running sums, baselines and statistics stay float64."""


def _baselines(
    c: np.ndarray, ja: int, jb: int, abs0: int, n_subs: int, g: _Geometry, total_subs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis means of the ``hp_subs`` sub-blocks before and after sub-blocks ja..jb-1.

    ``c``: (3, n_subs + 1) running sums of the segment's sub-block sums (c[:, 0] = 0);
    ``abs0``: absolute index of the segment's first sub-block. Windows are cut at the
    recording's ends; a sub-block with nothing before it (the recording's first) or after it
    (its last) uses the other side.
    """
    h, r = g.hp_subs, g.sub
    if ja - h >= 0 and jb + h <= n_subs and abs0 + ja >= h and abs0 + jb + h <= total_subs:
        past = c[:, ja:jb] - c[:, ja - h : jb - h]
        future = c[:, ja + 1 + h : jb + 1 + h] - c[:, ja + 1 : jb + 1]
        return past * (1.0 / (h * r)), future * (1.0 / (h * r))
    j = np.arange(ja, jb)
    n_past = np.minimum(h, j + abs0)
    n_future = np.minimum(np.minimum(h, total_subs - 1 - (j + abs0)), n_subs - 1 - j)
    with np.errstate(invalid="ignore", divide="ignore"):
        past = (c[:, j] - c[:, j - n_past]) / (n_past * r)
        future = (c[:, j + 1 + n_future] - c[:, j + 1]) / (n_future * r)
    past = np.where(n_past > 0, past, future)
    future = np.where(n_future > 0, future, past)
    return past, future


def _envelope(
    seg: _Segment,
    g: _Geometry,
    scale: tuple[float, float, float] | None,
    w: _Scratch,
    e2: np.ndarray,
) -> np.ndarray:
    """Squared envelope (sum of 2*env_half+1 squared magnitudes) of the block's samples.

    Per sub-block of about 0.1 s, gravity is the mean of the 1 s before it and, separately,
    of the 1 s after it; each sample's high-pass vector is taken against both and the
    smaller squared magnitude kept. Writes into ``e2`` (length ``seg.size``) and returns the
    block's samples as a (3, n) view of the scratch copy.
    """
    r, he = g.sub, g.env_half
    f, s, n = seg.first, seg.start, seg.size
    end = seg.total if seg.total is not None else f + seg.data.shape[0]
    length = seg.data.shape[0]
    n_subs = -(-length // r)
    x = w.get("x", (3, n_subs * r), _WORK)
    np.copyto(x[:, :length], seg.data.T, casting="same_kind")
    if n_subs * r > length:  # the recording's last partial sub-block: repeat the last sample
        x[:, length:] = x[:, length - 1 : length]
    sums = w.get("sums", (3, n_subs))
    np.copyto(sums, x[:, 0::r])
    for i in range(1, r):
        np.add(sums, x[:, i::r], out=sums)
    c = w.get("c", (3, n_subs + 1))
    c[:, 0] = 0.0
    np.cumsum(sums, axis=1, out=c[:, 1:])
    if not np.isfinite(c[:, -1]).all():  # running sums carry any NaN or inf to the end
        raise ValueError(f"non-finite sample in samples {f}..{f + length}: fill gaps first")
    ja = (max(s - he, 0) - f) // r
    jb = -(-(min(s + n + he, end) - f) // r)
    nj = jb - ja
    total_subs = -(-seg.total // r) if seg.total is not None else 1 << 62
    past, future = _baselines(c, ja, jb, f // r, n_subs, g, total_subs)
    xt = x[:, ja * r : jb * r].reshape(3, nj, r).transpose(0, 2, 1)  # (axis, phase, sub-block)
    d = w.get("d", (3, r, nj), _WORK)
    power = []
    for base in (past, future):
        np.subtract(xt, base[:, None, :].astype(_WORK), out=d)
        np.multiply(d, d, out=d)
        if scale is not None:
            d *= np.asarray(scale, dtype=_WORK)[:, None, None] ** 2
        acc = w.get(f"p{len(power)}", (r, nj), _WORK)
        np.add(d[0], d[1], out=acc)
        acc += d[2]
        power.append(acc)
    np.minimum(power[0], power[1], out=power[0])
    m = w.get("m", (nj * r,), _WORK)
    np.copyto(m.reshape(nj, r), power[0].T)
    m0 = f + ja * r  # absolute index of m[0]
    lo, hi = s - he - m0, s + n + he - m0
    if lo >= 0 and hi <= m.size and s - he >= 0 and s + n + he <= end:
        src = m[lo:hi]
    else:  # recording edges: missing neighbours count as zero (and are not counted)
        src = w.get("m_pad", (n + 2 * he,), _WORK)
        src[:] = 0.0
        a, b = max(lo, 0), min(hi, end - m0)
        src[a - lo : b - lo] = m[a:b]
    np.copyto(e2, src[:n])
    for i in range(1, 2 * he + 1):
        e2 += src[i : i + n]
    if s - he < 0 or s + n + he > end:  # rescale the cut windows to a full-window sum
        t = np.arange(s, s + n)
        counts = np.minimum(t + he, end - 1) - np.maximum(t - he, 0) + 1
        e2 *= (2 * he + 1) / counts
    return x[:, s - f : s - f + n]


# --- per-block statistics ----------------------------------------------------------------


@dataclass
class _Block:
    """What one block contributes; the envelope is dropped once it has been scanned."""

    start: int
    size: int
    envelope2: np.ndarray  # (size,) squared envelope x (2 * env_half + 1)
    baseline: float
    noise: float
    low: np.ndarray  # (3,) per-axis minimum of the sub-sampled samples (calibrated)
    high: np.ndarray  # (3,) maximum
    dec_n: int  # sub-sampled samples, for the non-wear SD
    dec_mean: np.ndarray  # (3,)
    dec_m2: np.ndarray  # (3,) sum of squared deviations
    still_means: np.ndarray  # (k, 3) raw means of still 10-s windows (for calibration)
    clipped: int


def _median(z: np.ndarray) -> float:
    """Median by one partial sort (np.median's overhead dominates for a few hundred values)."""
    k = z.size // 2
    if z.size % 2:
        return float(np.partition(z, k)[k])
    part = np.partition(z, (k - 1, k))
    return float(part[k - 1] + part[k]) / 2.0


def _robust_floor(z: np.ndarray, p: DetectionParams) -> tuple[float, float]:
    """Resting baseline and noise SD of envelope values: median and MAD, sigma-clipped."""
    mu = _median(z)
    sd = max(_median(np.abs(z - mu)) * P.MAD_TO_SD, p.noise_min_g)
    for _ in range(p.noise_clip_iterations):
        kept = z[z <= mu + p.noise_clip_k * sd]
        mu = _median(kept)
        sd = max(_median(np.abs(kept - mu)) * P.MAD_TO_SD, p.noise_min_g)
    return mu, sd


def _window_stats(dec: np.ndarray, size: int, g: _Geometry):
    """Per 10-s window of a block: sample counts, per-axis sums and sums of squares.

    ``dec``: the block's samples one per sub-block, (3, k) contiguous. One sample per
    sub-block (about 10 Hz) estimates SD and range well enough for the GGIR still and
    non-wear criteria at a tenth of the cost of full-rate sums.
    """
    bounds = np.arange(0, size, g.window) // g.sub
    counts = np.diff(np.append(bounds, dec.shape[1]))
    return counts, np.add.reduceat(dec, bounds, axis=1), np.add.reduceat(dec * dec, bounds, axis=1)


def _still_windows(counts, sums, squares, size: int, g: _Geometry, p: DetectionParams):
    """Raw means (k, 3) of the complete 10-s windows without movement (GGIR criteria)."""
    c = counts.astype(np.float64)
    means = sums / c
    var = np.maximum(squares / c - means * means, 0.0) * (c / np.maximum(c - 1.0, 1.0))
    still = (
        (np.arange(counts.size) < size // g.window)
        & (var < p.calibration_still_sd_g**2).all(axis=0)
        & (np.abs(means) < p.calibration_max_abs_g).all(axis=0)
    )
    return means[:, still].T


def _block(
    seg: _Segment,
    g: _Geometry,
    p: DetectionParams,
    cal: Calibration,
    clip_at: float,
    w: _Scratch,
    e2: np.ndarray,
) -> _Block:
    """Envelope (into ``e2``), resting floor and cleaning statistics of one block."""
    raw = _envelope(seg, g, cal.scale if cal.applied else None, w, e2)
    dec = np.ascontiguousarray(raw[:, :: g.sub], dtype=np.float64)
    counts, sums, squares = _window_stats(dec, seg.size, g)
    low, high = dec.min(axis=1), dec.max(axis=1)
    clipped = 0
    if (low <= -clip_at).any() or (high >= clip_at).any():
        clipped = int(np.count_nonzero((np.abs(raw) >= clip_at).any(axis=0)))
    dec_n = int(counts.sum())
    dec_mean = sums.sum(axis=1) / dec_n
    dec_m2 = np.maximum(squares.sum(axis=1) - dec_n * dec_mean * dec_mean, 0.0)
    if cal.applied:
        off, sc = np.asarray(cal.offset_g), np.asarray(cal.scale)
        low, high = (low + off) * sc, (high + off) * sc
        dec_mean, dec_m2 = (dec_mean + off) * sc, dec_m2 * sc * sc
    z = np.sqrt(e2[:: g.floor_stride] * (1.0 / (2 * g.env_half + 1)))
    baseline, noise = _robust_floor(z, p)
    return _Block(
        start=seg.start,
        size=seg.size,
        envelope2=e2,
        baseline=baseline,
        noise=noise,
        low=low,
        high=high,
        dec_n=dec_n,
        dec_mean=dec_mean,
        dec_m2=dec_m2,
        still_means=_still_windows(counts, sums, squares, seg.size, g, p),
        clipped=clipped,
    )


# --- hysteresis --------------------------------------------------------------------------

_NONE = np.iinfo(np.int64).max


@dataclass
class _Open:
    """A region still open at a block's end: runs above the offset threshold so far."""

    start: int
    end: int  # end of its last above-offset run (absolute, exclusive)
    onset: int  # first onset crossing, or _NONE
    area: float  # sum of (envelope - baseline) from onset to ``end`` (g x samples)
    peak2: float  # largest squared envelope from onset to ``end``
    tail_area: float  # the same over [end, block end), counted if the region goes on
    tail_peak2: float


class _Hysteresis:
    """Onset/offset hysteresis across blocks, carrying at most one open region.

    A *region* is a stretch of above-offset runs whose gaps are shorter than ``quiet``
    samples; it is an LM if it holds an onset crossing, from that crossing to its end.
    Peak and area are computed only for LMs, from their own samples.
    """

    def __init__(self, g: _Geometry) -> None:
        self.g = g
        self.norm = 1.0 / (2 * g.env_half + 1)
        self.carry: _Open | None = None
        self.onsets: list[int] = []
        self.ends: list[int] = []
        self.peaks: list[float] = []
        self.areas: list[float] = []

    def _stats(self, e2: np.ndarray, a: int, b: int, baseline: float) -> tuple[float, float]:
        """Area (g x samples) above the baseline and largest squared envelope over [a, b)."""
        if b <= a:
            return 0.0, 0.0
        piece = e2[a:b].astype(np.float64) * self.norm
        return float(np.sqrt(piece).sum()) - baseline * (b - a), float(piece.max())

    def feed(self, b: _Block, onset: float, offset: float, baseline: float, final: bool) -> None:
        g, e2, s = self.g, b.envelope2, b.start
        scale = 2 * g.env_half + 1
        above = e2 > offset * offset * scale
        t = np.flatnonzero(above[1:] != above[:-1]) + 1
        if above[0]:
            t = np.concatenate(([0], t))
        if above[-1]:
            t = np.concatenate((t, [above.size]))
        starts, ends = t[0::2] + s, t[1::2] + s
        first_on = np.full(starts.size, _NONE, dtype=np.int64)
        if starts.size:
            on_idx = np.flatnonzero(e2 > onset * onset * scale) + s
            if on_idx.size:
                run = np.searchsorted(starts, on_idx, side="right") - 1
                first = np.concatenate(([True], run[1:] != run[:-1]))
                first_on[run[first]] = on_idx[first]
        carry = self.carry
        self.carry = None
        if carry is not None:
            starts = np.concatenate(([carry.start], starts))
            ends = np.concatenate(([carry.end], ends))
            first_on = np.concatenate(([carry.onset], first_on))
        if starts.size == 0:
            return
        gi = np.flatnonzero(np.concatenate(([True], starts[1:] - ends[:-1] >= g.quiet)))
        last = np.concatenate((gi[1:], [starts.size])) - 1
        g_start, g_end = starts[gi], ends[last]
        g_onset = np.minimum.reduceat(first_on, gi)  # onsets grow with the runs
        open_last = not final and s + b.size - g_end[-1] < g.quiet
        special = np.zeros(gi.size, dtype=bool)
        if carry is not None and carry.onset != _NONE:
            special[0] = True  # its onset lies in an earlier block: running sums carried
        if open_last:
            special[-1] = True
        for i in np.flatnonzero(special):
            onset_i, end_i = int(g_onset[i]), int(g_end[i])
            area, peak2 = 0.0, 0.0
            if onset_i != _NONE and carry is not None and i == 0 and carry.onset != _NONE:
                area, peak2 = carry.area, carry.peak2
                if end_i > carry.end:  # the region went on into this block
                    more = self._stats(e2, 0, end_i - s, baseline)
                    area += carry.tail_area + more[0]
                    peak2 = max(peak2, carry.tail_peak2, more[1])
            elif onset_i != _NONE:
                area, peak2 = self._stats(e2, onset_i - s, end_i - s, baseline)
            if open_last and i == gi.size - 1:
                tail = self._stats(e2, end_i - s, b.size, baseline)
                self.carry = _Open(int(g_start[i]), end_i, onset_i, area, peak2, *tail)
            elif end_i - onset_i >= g.min_lm:
                self._keep([onset_i], [end_i], [math.sqrt(peak2)], [area / g.fs])
        regular = ~special & (g_onset != _NONE)
        regular[regular] = g_end[regular] - g_onset[regular] >= g.min_lm
        if regular.any():  # LMs wholly inside this block, all at once
            lo, hi = g_onset[regular] - s, g_end[regular] - s
            bounds = np.empty(2 * lo.size, dtype=np.int64)
            bounds[0::2], bounds[1::2] = lo, hi
            padded = np.append(e2, np.float32(0.0)) * self.norm
            peak2 = np.maximum.reduceat(padded, bounds)[0::2]
            np.sqrt(padded, out=padded)
            area = np.add.reduceat(padded, bounds, dtype=np.float64)[0::2] - baseline * (hi - lo)
            self._keep(lo + s, hi + s, np.sqrt(peak2.astype(np.float64)), area / g.fs)

    def _keep(self, onsets, ends, peaks, areas) -> None:
        self.onsets.extend(np.asarray(onsets, dtype=np.int64).tolist())
        self.ends.extend(np.asarray(ends, dtype=np.int64).tolist())
        self.peaks.extend(np.asarray(peaks, dtype=np.float64).tolist())
        self.areas.extend(np.asarray(areas, dtype=np.float64).tolist())

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Onset and end indices, peaks (g) and areas (g s) of every LM found."""
        order = np.argsort(np.array(self.onsets, dtype=np.int64), kind="stable")
        return (
            np.array(self.onsets, dtype=np.int64)[order],
            np.array(self.ends, dtype=np.int64)[order],
            np.array(self.peaks, dtype=np.float64)[order],
            np.array(self.areas, dtype=np.float64)[order],
        )


# --- public API --------------------------------------------------------------------------


def _instants(start_at: datetime, index: np.ndarray, fs: float) -> pl.Series:
    """Sample indices as UTC instants (microseconds)."""
    base = (start_at - EPOCH) // timedelta(microseconds=1)
    us = base + np.round(np.asarray(index, dtype=np.float64) * (1e6 / fs)).astype(np.int64)
    return pl.Series(us, dtype=pl.Int64).cast(UTC_US)


def estimate_calibration(
    chunks: Iterable[np.ndarray], fs: float, params: DetectionParams | None = None
) -> Calibration:
    """Auto-calibration from a first pass over the chunks (bounded memory).

    Collects the per-axis means of still 10-s windows (SD < 13 mg on every axis, |mean| < 2 g)
    and fits them with :func:`restless.models.legs.cleaning.fit_calibration`. Run it before
    :func:`detect_movements_chunked` when the source can be read twice (a file); the
    detection pass reports the same estimate.
    """
    p = params or DetectionParams()
    g = _geometry(fs, p)
    means = []
    for seg in _reblock(chunks, g.block, 0):
        a = seg.start - seg.first
        dec = np.ascontiguousarray(seg.data[a : a + seg.size : g.sub].T, dtype=np.float64)
        means.append(_still_windows(*_window_stats(dec, seg.size, g), seg.size, g, p))
    return fit_calibration(np.concatenate(means) if means else np.empty((0, 3)))


def detect_movements_chunked(
    chunks: Iterable[np.ndarray],
    fs: float,
    *,
    start_at: datetime,
    calibration: Calibration | None = None,
    range_g: float = P.DEFAULT_RANGE_G,
    params: DetectionParams | None = None,
) -> Detection:
    """Monolateral leg movements from consecutive (n, 3) chunks of samples in g.

    ``chunks``: consecutive, non-overlapping pieces of one recording, any sizes; the function
    keeps the overlap each filter needs, so movements straddling chunk edges stay whole and
    the result equals the in-memory one. ``start_at``: UTC instant of the first sample.
    ``calibration``: from :func:`estimate_calibration`, used only if ``applied``; this pass's
    own estimate is returned as ``calibration_estimate``. ``range_g``: the device's dynamic
    range, for the clipping flag. Memory stays bounded by a few blocks.

    The LMs are screening estimates, not polysomnographic scoring.
    """
    p = params or DetectionParams()
    g = _geometry(fs, p)
    if start_at.tzinfo is None:
        raise ValueError("start_at must be timezone-aware (a UTC instant)")
    start_at = start_at.astimezone(UTC)
    cal = calibration or Calibration()
    clip_at = range_g - p.clip_margin_g  # on the raw values the device stored
    pending: deque[_Block] = deque()
    done: list[_Block] = []
    thresholds: list[tuple[float, float, float, float]] = []
    hyst = _Hysteresis(g)
    k = g.smooth_half

    def settle(final: bool) -> None:
        """Threshold and scan every pending block whose centred window is complete."""
        while pending and (final or len(pending) > k):
            window = done[max(len(done) - k, 0) :] + list(pending)[: k + 1]
            base = statistics.median(w.baseline for w in window)
            noise = statistics.median(w.noise for w in window)
            onset, offset = base + p.onset_k * noise, base + p.offset_k * noise
            b = pending.popleft()
            hyst.feed(b, onset, offset, base, final and not pending)
            thresholds.append((base, noise, onset, offset))
            b.envelope2 = b.envelope2[:0]
            done.append(b)

    work = _Scratch()
    # envelopes of the pending blocks, reused round-robin
    slots = [np.empty(g.block, dtype=_WORK) for _ in range(k + 2)]
    n_samples = 0
    for i, seg in enumerate(_reblock(chunks, g.block, g.context)):
        e2 = slots[i % len(slots)][: seg.size]
        pending.append(_block(seg, g, p, cal, clip_at, work, e2))
        n_samples = seg.start + seg.size
        settle(final=False)
    settle(final=True)

    onsets, ends, peaks, areas = hyst.result()
    nb = len(done)
    thr = np.array(thresholds, dtype=np.float64).reshape(nb, 4)
    at = np.minimum(onsets // g.block, max(nb - 1, 0))
    movements = pl.DataFrame(
        {
            "start_at": _instants(start_at, onsets, fs),
            "end_at": _instants(start_at, ends, fs),
            "duration_s": (ends - onsets) / fs,
            "peak_g": peaks,
            "area_g_s": areas,
            "onset_threshold_g": thr[at, 2] if nb else np.empty(0),
            "offset_threshold_g": thr[at, 3] if nb else np.empty(0),
        },
        schema=MOVEMENT_SCHEMA,
    )
    starts = np.array([b.start for b in done], dtype=np.int64)
    sizes = np.array([b.size for b in done], dtype=np.int64)
    nonwear = nonwear_flags(
        np.array([b.dec_n for b in done]),
        np.array([b.dec_mean for b in done]).reshape(nb, 3),
        np.array([b.dec_m2 for b in done]).reshape(nb, 3),
        np.array([b.low for b in done]).reshape(nb, 3),
        np.array([b.high for b in done]).reshape(nb, 3),
        step_blocks=g.nonwear_step,
        extra_blocks=g.nonwear_extra,
        sd_g=p.nonwear_sd_g,
        range_g=p.nonwear_range_g,
        min_axes=p.nonwear_min_axes,
    )
    blocks = pl.DataFrame(
        {
            "block_start_at": _instants(start_at, starts, fs),
            "block_end_at": _instants(start_at, starts + sizes, fs),
            "baseline_g": thr[:, 0],
            "noise_g": thr[:, 1],
            "onset_threshold_g": thr[:, 2],
            "offset_threshold_g": thr[:, 3],
            "clipped_samples": [b.clipped for b in done],
            "is_nonwear": nonwear,
        },
        schema=BLOCK_SCHEMA,
    )
    still = [b.still_means for b in done]
    return Detection(
        movements=movements,
        blocks=blocks,
        calibration_used=cal,
        calibration_estimate=fit_calibration(np.concatenate(still) if still else np.empty((0, 3))),
        fs=fs,
        n_samples=n_samples,
        start_at=start_at,
        params=p,
    )


def iter_chunks(xyz: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive row slices (views) of an (n, 3) array, ``size`` rows each."""
    for i in range(0, xyz.shape[0], size):
        yield xyz[i : i + size]


def detect_movements(
    xyz: np.ndarray,
    fs: float,
    *,
    start_at: datetime,
    calibrate: bool = True,
    range_g: float = P.DEFAULT_RANGE_G,
    params: DetectionParams | None = None,
) -> Detection:
    """Leg movements from a whole (n, 3) array in g (float64 is read in place, not copied).

    With ``calibrate`` the samples are read twice: :func:`estimate_calibration`, then
    :func:`detect_movements_chunked` with that calibration (applied only when accepted).
    """
    p = params or DetectionParams()

    def chunks() -> Iterable[np.ndarray]:
        if xyz.dtype == np.float64:
            return [xyz]
        return iter_chunks(xyz, _geometry(fs, p).block)  # converted block by block

    cal = estimate_calibration(chunks(), fs, p) if calibrate else None
    return detect_movements_chunked(
        chunks(), fs, start_at=start_at, calibration=cal, range_g=range_g, params=p
    )
