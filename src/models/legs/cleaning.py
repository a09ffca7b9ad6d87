"""Cleaning raw ankle acceleration: auto-calibration to 1 g and non-wear (GGIR's rules).

Both work on small per-window summaries that the detection pass collects in bounded memory
(:mod:`restless.models.legs.detection`), never on the raw samples themselves. Constants and
their sources are in :mod:`restless.models.plm_params` (``CALIBRATION_*``, ``NONWEAR_*``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from restless.models import plm_params as P


@dataclass(frozen=True)
class Calibration:
    """Per-axis correction ``calibrated = (raw + offset_g) * scale`` and how it was judged.

    ``status`` says why a fit was or was not applied (as GGIR ``g.calibrate`` reports it);
    ``error_before_g``/``error_after_g``: mean | ||still-window mean|| - 1 g |.
    """

    offset_g: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    applied: bool = False
    status: str = "not attempted"
    n_windows: int = 0
    error_before_g: float | None = None
    error_after_g: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready calibration, stored with the run."""
        return {**asdict(self), "offset_g": list(self.offset_g), "scale": list(self.scale)}


def fit_calibration(
    still_means: np.ndarray,
    *,
    sphere_g: float = P.CALIBRATION_SPHERE_G,
    max_error_g: float = P.CALIBRATION_MAX_ERROR_G,
    max_iterations: int = P.CALIBRATION_MAX_ITERATIONS,
    tolerance: float = P.CALIBRATION_TOLERANCE,
    min_residual_g: float = P.CALIBRATION_MIN_RESIDUAL_G,
) -> Calibration:
    """Offset and scale per axis that put the still-window means on the 1 g sphere.

    ``still_means``: (k, 3) mean acceleration of 10-s windows without movement. Iterative
    closest-point fit of van Hees et al. (J Appl Physiol 2014;117:738-744), as GGIR's
    ``g.calibrate`` does it: project each calibrated mean onto the unit sphere, regress the
    projection on the calibrated value per axis (weights 1 / max(residual, 0.01 g)), fold
    the fit into offset and scale, repeat until the residual stops changing. Tried only when
    every axis has still windows beyond -0.3 g and +0.3 g; applied only when it lowers the
    error and brings it under 0.01 g.
    """
    x = np.asarray(still_means, dtype=np.float64).reshape(-1, 3)
    n = x.shape[0]
    if n == 0:
        return Calibration(status="not done: no still 10-s windows")
    before = float(np.mean(np.abs(np.linalg.norm(x, axis=1) - 1.0)))
    if not ((x.min(axis=0) < -sphere_g) & (x.max(axis=0) > sphere_g)).all():
        return Calibration(
            status=f"not done: still windows do not cover the sphere (+/-{sphere_g} g per axis)",
            n_windows=n,
            error_before_g=before,
        )
    offset, scale, weights = np.zeros(3), np.ones(3), np.ones(n)
    last = math.inf
    for _ in range(max_iterations):
        cur = (x + offset) * scale
        closest = cur / np.linalg.norm(cur, axis=1, keepdims=True)
        sw = weights.sum()
        mean_cur = weights @ cur / sw
        mean_cl = weights @ closest / sw
        dx = cur - mean_cur
        slope = (weights @ (dx * (closest - mean_cl))) / (weights @ (dx * dx))
        intercept = mean_cl - slope * mean_cur
        fitted = intercept + slope * cur
        offset = offset + intercept / (scale * slope)
        scale = scale * slope
        resid = np.linalg.norm(fitted - closest, axis=1)
        res = 3.0 * float(np.mean(weights * resid**2)) / sw
        weights = 1.0 / np.maximum(resid, min_residual_g)
        if abs(res - last) < tolerance:
            break
        last = res
    after = float(np.mean(np.abs(np.linalg.norm((x + offset) * scale, axis=1) - 1.0)))
    applied = after < before and after < max_error_g
    status = (
        "applied"
        if applied
        else f"not applied: error after {after * 1000:.1f} mg is not below "
        f"{before * 1000:.1f} mg and {max_error_g * 1000:.0f} mg"
    )
    return Calibration(
        offset_g=(float(offset[0]), float(offset[1]), float(offset[2])),
        scale=(float(scale[0]), float(scale[1]), float(scale[2])),
        applied=applied,
        status=status,
        n_windows=n,
        error_before_g=before,
        error_after_g=after,
    )


def nonwear_flags(
    n: np.ndarray,
    mean: np.ndarray,
    m2: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    step_blocks: int,
    extra_blocks: int,
    sd_g: float = P.NONWEAR_SD_G,
    range_g: float = P.NONWEAR_RANGE_G,
    min_axes: int = P.NONWEAR_MIN_AXES,
) -> np.ndarray:
    """Per block: does it lie in a non-wear step (GGIR ``nonwear_approach = "2013"``)?

    Inputs per block and axis: sample count ``n`` (blocks,), ``mean``, sum of squared
    deviations ``m2``, ``low``/``high`` (blocks, 3). Steps of ``step_blocks`` blocks (15 min)
    are judged on the window of ``extra_blocks`` more blocks each side (60 min, cut at the
    recording's ends): an axis looks unworn when its SD < 13 mg and its range < 50 mg; the
    step is non-wear when at least 2 axes do (van Hees et al., PLoS One 2013;8:e61691).
    """
    nb = n.size
    flags = np.zeros(nb, dtype=bool)
    for first in range(0, nb, step_blocks):
        a, b = max(first - extra_blocks, 0), min(first + step_blocks + extra_blocks, nb)
        nn = n[a:b, None].astype(np.float64)
        total = float(nn.sum())
        if total < 2:
            continue
        grand = (nn * mean[a:b]).sum(axis=0) / total
        ss = m2[a:b].sum(axis=0) + (nn * (mean[a:b] - grand) ** 2).sum(axis=0)
        sd = np.sqrt(ss / (total - 1))
        spread = high[a:b].max(axis=0) - low[a:b].min(axis=0)
        unworn = (sd < sd_g) & (spread < range_g)
        flags[first : first + step_blocks] = int(unworn.sum()) >= min_axes
    return flags
