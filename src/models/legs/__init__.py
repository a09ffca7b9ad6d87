"""Leg movements from ankle acceleration: detection, WASM 2016 series rules, nightly indices.

``detection`` turns one ankle's samples into monolateral leg movements with noise-adaptive
thresholds; ``series`` merges the two legs and applies the CLM and PLM-series rules;
``indices`` gives the per-night numbers. Parameters and citations: ``restless.models.plm_params``.
All outputs are actigraphic screening estimates, not polysomnography.
"""

from restless.models.legs.cleaning import Calibration, fit_calibration
from restless.models.legs.detection import (
    Detection,
    DetectionParams,
    detect_movements,
    detect_movements_chunked,
    estimate_calibration,
)
from restless.models.legs.indices import imi_histogram, night_indices, nightly_indices
from restless.models.legs.series import flag_monolateral, merge_bilateral, score_movements

__all__ = [
    "Calibration",
    "Detection",
    "DetectionParams",
    "detect_movements",
    "detect_movements_chunked",
    "estimate_calibration",
    "fit_calibration",
    "flag_monolateral",
    "imi_histogram",
    "merge_bilateral",
    "night_indices",
    "nightly_indices",
    "score_movements",
]
