"""Leg-movement scoring parameters, each with its source.

Every constant that turns ankle acceleration into leg movements (LM), candidate leg
movements (CLM), periodic leg movement (PLM) series and nightly indices lives here, so a run
can store exactly what it used (:func:`as_dict`) and a reviewer can check each number
against its citation. SCIENCE.md sections 1-3 (beside DESIGN.md) hold the standards; DESIGN.md
section 5 the adaptation to acceleration.

Sources cited below:

* WASM 2016: Ferri R, Fulda S, Allen RP, et al. World Association of Sleep Medicine (WASM)
  2016 standards for recording and scoring leg movements in polysomnograms. Sleep Med
  2016;26:86-95 (PMID 27890390).
* AASM: Berry RB et al. The AASM Manual for the Scoring of Sleep and Associated Events,
  v2.5, 2018 (the leg-movement rules unchanged since 2007/2012).
* Ferri 2006: Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of periodic
  leg movements during sleep in restless legs syndrome. Sleep 2006;29:759-769
  (periodicity index, IMI histograms).
* Yang 2014: Yang et al., Sleep Med 2014;15:132-137 (actigraphic PLM detection is only
  valid with thresholds adapted to each recording's noise).
* GGIR: van Hees VT et al., R package GGIR (v3.x), functions ``detect_nonwear_clipping`` and
  ``g.calibrate``; van Hees VT et al., PLoS One 2013;8:e61691 (non-wear); van Hees VT et al.,
  J Appl Physiol 2014;117:738-744 (auto-calibration against local gravity).

Project choices (not from a paper) say so and say how they were checked: on the simulator in
``tests/plm_simulator.py``, whose accuracy tables are in ``bench/RESULTS.md``.

Actigraphic PLM numbers are screening estimates: the AASM actigraphy guideline (Smith et al.,
J Clin Sleep Med 2018;14:1231-1237) advises against diagnosing PLMD from actigraphy.
"""

from __future__ import annotations

from typing import Any

# --- Input -------------------------------------------------------------------------------

MIN_SAMPLING_HZ: float = 10.0
"""Lowest sampling rate accepted. Sub-second rules (0.5 s minimum LM, 0.5 s merge gap) need
sub-second raw acceleration at the ankle (SCIENCE.md section 2; DESIGN.md section 5: "at least
10 Hz"; published home studies use 100 Hz)."""

DEFAULT_RANGE_G: float = 8.0
"""Dynamic range assumed when the reader does not give one: +/-8 g, the default range of the
Axivity AX3/AX6 and the range GGIR's clipping threshold (7.5 g) is set for."""

# --- Detection: filters -------------------------------------------------------------------

HIGHPASS_WINDOW_S: float = 1.0
"""Gravity and posture are removed per axis by subtracting the mean of the 1 s before the
sample's 0.1-s sub-block and, separately, the mean of the 1 s after it; of the two high-pass
vectors the one with the smaller magnitude is kept. Each one-sided difference is exact on
one side of a movement (the past window holds only rest before an onset, the future window
only rest after an end), so neither onset nor end is smeared the way a centred linear
high-pass smears every step by half its window (on the simulator a centred 1-s boxcar put
onsets 0.37 s early and made LMs 0.8 s too long; this filter: 0.01 s and 0.02 s). Axes are
filtered *before* the vector magnitude because a pure rotation of the shank (dorsiflexion,
knee flexion) leaves the raw magnitude at 1 g. Passes the 0.5-10 Hz content of leg
movements. Project choice, validated on the simulator."""

ENVELOPE_WINDOW_S: float = 0.1
"""The envelope is the root mean square of the high-pass magnitude over a centred 0.1 s (and
0.1 s is also the sub-block of the gravity means), as EMG is rectified and smoothed before
thresholding. Far shorter than the 0.5 s minimum LM, so it widens an event by at most 0.1 s
and cannot turn a 0.3-s twitch into an LM. Project choice, validated on the simulator."""

NOISE_SAMPLE_S: float = 0.5
"""The resting floor is estimated from envelope values 0.5 s apart (independent after the
0.1-s smoothing), 900 per block. Project choice for speed: the MAD of 900 values has a
standard error near 6 %, the median over 5 blocks about 3 %."""

NOISE_BLOCK_S: float = 450.0
"""Block over which the resting baseline and noise of the envelope are estimated (7.5 min);
two blocks make GGIR's 15-min non-wear step, eight its 60-min window. Project choice."""

NOISE_SMOOTH_BLOCKS: int = 5
"""The thresholds of a block use the median of the estimates of the 5 blocks centred on it
(37.5 min), so a block dominated by movement borrows its neighbours' floor (rolling robust
estimate, Yang 2014: adapt to each recording's noise). Project choice."""

NOISE_CLIP_K: float = 3.0
"""Robust estimate of the resting envelope: median and 1.4826 x MAD, recomputed twice after
dropping samples more than 3 robust SDs above the median (one-sided sigma clipping removes
the movements, which only ever raise the envelope). Project choice."""

NOISE_CLIP_ITERATIONS: int = 2
"""Sigma-clipping passes of the baseline estimate (see :data:`NOISE_CLIP_K`)."""

MAD_TO_SD: float = 1.4826
"""MAD x 1.4826 estimates the standard deviation of normally distributed data."""

NOISE_MIN_G: float = 0.0002
"""Floor on the noise estimate (0.2 mg), below any MEMS accelerometer's resting noise: keeps
thresholds above the baseline when a quantised, perfectly still signal has MAD = 0."""

ONSET_K: float = 6.0
"""Onset threshold = resting baseline + 6 noise SDs of the envelope: the acceleration
counterpart of "8 uV above the resting level" (WASM 2016 / AASM), in units of the
recording's own noise (Yang 2014). Pure sensor noise never crossed it (no false LM in
2 x 24 h at each of 10, 25, 50 and 100 Hz). Chosen on the simulator over 8 SDs, which
misses weak movements sooner (worst of 5 nights at 15 mg noise: sensitivity 0.89 with
8 SDs, 0.94 with 6); bench/RESULTS.md, threshold sweep."""

OFFSET_K: float = 4.0
"""Offset threshold = baseline + 4 noise SDs: the lower threshold of the hysteresis, the
counterpart of "2 uV above resting" (WASM 2016 / AASM). Not the literal 8:2 ratio: a noise
excursion above a low offset threshold inside the 0.5-s quiet window prolongs the movement
by up to 0.5 s (and turns 0.3-s twitches into LMs). At 5 mg noise the share of movements
more than 0.2 s too long was 34 % with 2 SDs, 8 % with 3 and 1 % with 4 (precision 0.94,
0.995, 1.0); bench/RESULTS.md, threshold sweep."""

OFFSET_QUIET_S: float = 0.5
"""An LM ends at the start of the first period of at least 0.5 s during which the envelope
stays at or below the offset threshold (WASM 2016; AASM rule A.5). Movements separated by
less than 0.5 s on one leg are therefore one LM."""

LM_MIN_S: float = 0.5
"""Minimum duration of a leg movement (WASM 2016; AASM rule A.1). Shorter events are twitches,
dropped by detection."""

# --- Detection: cleaning (non-wear, clipping, calibration) -------------------------------

NONWEAR_STEP_S: float = 900.0
"""Non-wear is decided per 15-min step (GGIR ``windowsizes[2] = 900``)."""

NONWEAR_WINDOW_S: float = 3600.0
"""... over the 60-min window centred on the step (GGIR ``windowsizes[3] = 3600``,
``nonwear_approach = "2013"``, van Hees et al. 2013)."""

NONWEAR_SD_G: float = 0.013
"""An axis looks unworn when its SD over the window is below 13 mg (GGIR ``sdcriter``) ..."""

NONWEAR_RANGE_G: float = 0.05
"""... and its value range is below 50 mg (GGIR ``racriter``)."""

NONWEAR_MIN_AXES: int = 2
"""A window is non-wear when at least 2 of the 3 axes look unworn (GGIR ``wearthreshold``).
Known limit: a perfectly still worn ankle for an hour with a low-noise sensor also passes."""

CLIP_MARGIN_G: float = 0.5
"""A sample is clipped within 0.5 g of the device's range (GGIR ``clipthres`` 7.5 g for an
8 g range: "usually 0.5 g below the dynamic range")."""

CALIBRATION_WINDOW_S: float = 10.0
"""Auto-calibration uses 10-s windows without movement (van Hees 2014; GGIR ``g.calibrate``)."""

CALIBRATION_STILL_SD_G: float = 0.013
"""A window is still when every axis has SD below 13 mg (GGIR ``g.calibrate`` sdcriter)."""

CALIBRATION_MAX_ABS_G: float = 2.0
"""... and every axis mean is within +/-2 g, to keep clipped periods out (GGIR)."""

CALIBRATION_SPHERE_G: float = 0.3
"""Calibration is attempted only when each axis has still windows beyond -0.3 g and +0.3 g
(GGIR ``spherecrit``): otherwise offset and scale cannot be told apart."""

CALIBRATION_MAX_ERROR_G: float = 0.01
"""The fitted calibration is applied only if it lowers the mean |norm - 1 g| of the still
windows and brings it below 0.01 g (GGIR ``g.calibrate``, van Hees 2014). GGIR also wants
72 h of data (``minloadcrit``); a night rarely has it, so here the sphere criterion alone
decides whether the fit is tried."""

CALIBRATION_MAX_ITERATIONS: int = 1000
"""Iterations of the closest-point fit (GGIR ``g.calibrate``: ``maxiter = 1000``)."""

CALIBRATION_TOLERANCE: float = 1e-10
"""The fit stops when the weighted residual changes by less than this (GGIR: ``tol``)."""

CALIBRATION_MIN_RESIDUAL_G: float = 0.01
"""Fit weights are 1 / max(residual, 0.01 g) (GGIR: ``pmin(1/residual, 1/0.01)``)."""

# --- Rules: candidate leg movements and bilateral merging (WASM 2016) --------------------

CLM_MAX_MONOLATERAL_S: float = 10.0
"""A monolateral LM of 0.5-10 s is a candidate LM (CLM); longer ones are not CLMs and break
a PLM series (WASM 2016; SCIENCE.md section 1)."""

BILATERAL_MERGE_GAP_S: float = 0.5
"""Monolateral LMs on the two legs that overlap or are separated by less than 0.5 s (end of
one to onset of the other) merge into one bilateral LM (WASM 2016)."""

CLM_MAX_BILATERAL_S: float = 15.0
"""A bilateral LM is a CLM only if it lasts at most 15 s (WASM 2016)."""

BILATERAL_MAX_COMPONENTS: int = 4
"""... and contains at most 4 monolateral CLMs (WASM 2016)."""

# --- Rules: PLM series -------------------------------------------------------------------

PLM_MIN_SERIES: int = 4
"""A PLM series is at least 4 consecutive CLMs (WASM 2016; AASM: 4 LMs)."""

IMI_MIN_S: dict[str, float] = {"wasm2016": 10.0, "aasm": 5.0}
"""Shortest onset-to-onset inter-movement interval (IMI) inside a series: 10 s (WASM 2016,
the default), 5 s (AASM rule B.2, as an option). A CLM with a shorter IMI ends the series."""

IMI_MAX_S: float = 90.0
"""Longest IMI inside a series: 90 s (WASM 2016 and AASM rule B.3). Bounds are inclusive:
an IMI of exactly 10 s or 90 s continues a series, 9.9 s and 90.1 s end it."""

DEFAULT_STANDARD: str = "wasm2016"
"""Series rules used unless the caller asks for ``"aasm"`` (DESIGN.md section 5). Only the
minimum IMI changes; duration limits and the bilateral merge stay WASM 2016."""

# --- Indices -----------------------------------------------------------------------------

PERIODICITY_IMI_RANGE_S: tuple[float, float] = (10.0, 90.0)
"""Periodicity index: an IMI is periodic when it lies in 10-90 s (inclusive) ... (Ferri 2006)."""

PERIODICITY_MIN_RUN: int = 3
"""... and belongs to a run of at least 3 consecutive such IMIs (that is, at least 4
movements, the length of a PLM series). PI = periodic IMIs / all IMIs, from 0 to 1 (Ferri
2006; WASM 2016 reporting)."""

PLMS_INDEX_CUTOFF_ADULT: float = 15.0
"""PLMS index above 15/h is the adult cut-off for PLMD (ICSD-3; SCIENCE.md section 1); > 5/h
in children. Actigraphic indices are screening estimates, never a diagnosis."""

PRE_SLEEP_WINDOW_S: float = 3600.0
"""Movements in the hour before sleep onset: the urge to move that keeps people awake
(DESIGN.md section 5)."""

IMI_HIST_LINEAR_BIN_S: float = 2.0
"""Linear IMI histogram: 2-s bins from 0 to 100 s plus one overflow bin (project choice in
the style of the SOMAS/Ferri IMI histograms, SCIENCE.md section 1)."""

IMI_HIST_LINEAR_MAX_S: float = 100.0
"""Upper edge of the last finite linear bin."""

IMI_HIST_LOG_RANGE_S: tuple[float, float] = (1.0, 1000.0)
"""Logarithmic IMI histogram from 1 s to 1000 s (Ferri 2006 plot IMIs on a log axis) ..."""

IMI_HIST_LOG_BINS_PER_DECADE: int = 10
"""... with 10 bins per decade, plus an overflow bin above 1000 s. Project choice."""


def as_dict() -> dict[str, Any]:
    """Every leg-movement parameter as JSON-ready values, stored with each run."""
    return {
        "min_sampling_hz": MIN_SAMPLING_HZ,
        "default_range_g": DEFAULT_RANGE_G,
        "highpass_window_s": HIGHPASS_WINDOW_S,
        "envelope_window_s": ENVELOPE_WINDOW_S,
        "noise_sample_s": NOISE_SAMPLE_S,
        "noise_block_s": NOISE_BLOCK_S,
        "noise_smooth_blocks": NOISE_SMOOTH_BLOCKS,
        "noise_clip_k": NOISE_CLIP_K,
        "noise_clip_iterations": NOISE_CLIP_ITERATIONS,
        "mad_to_sd": MAD_TO_SD,
        "noise_min_g": NOISE_MIN_G,
        "onset_k": ONSET_K,
        "offset_k": OFFSET_K,
        "offset_quiet_s": OFFSET_QUIET_S,
        "lm_min_s": LM_MIN_S,
        "nonwear_step_s": NONWEAR_STEP_S,
        "nonwear_window_s": NONWEAR_WINDOW_S,
        "nonwear_sd_g": NONWEAR_SD_G,
        "nonwear_range_g": NONWEAR_RANGE_G,
        "nonwear_min_axes": NONWEAR_MIN_AXES,
        "clip_margin_g": CLIP_MARGIN_G,
        "calibration_window_s": CALIBRATION_WINDOW_S,
        "calibration_still_sd_g": CALIBRATION_STILL_SD_G,
        "calibration_max_abs_g": CALIBRATION_MAX_ABS_G,
        "calibration_sphere_g": CALIBRATION_SPHERE_G,
        "calibration_max_error_g": CALIBRATION_MAX_ERROR_G,
        "calibration_max_iterations": CALIBRATION_MAX_ITERATIONS,
        "calibration_tolerance": CALIBRATION_TOLERANCE,
        "calibration_min_residual_g": CALIBRATION_MIN_RESIDUAL_G,
        "clm_max_monolateral_s": CLM_MAX_MONOLATERAL_S,
        "bilateral_merge_gap_s": BILATERAL_MERGE_GAP_S,
        "clm_max_bilateral_s": CLM_MAX_BILATERAL_S,
        "bilateral_max_components": BILATERAL_MAX_COMPONENTS,
        "plm_min_series": PLM_MIN_SERIES,
        "imi_min_s": dict(IMI_MIN_S),
        "imi_max_s": IMI_MAX_S,
        "default_standard": DEFAULT_STANDARD,
        "periodicity_imi_range_s": list(PERIODICITY_IMI_RANGE_S),
        "periodicity_min_run": PERIODICITY_MIN_RUN,
        "plms_index_cutoff_adult": PLMS_INDEX_CUTOFF_ADULT,
        "pre_sleep_window_s": PRE_SLEEP_WINDOW_S,
        "imi_hist_linear_bin_s": IMI_HIST_LINEAR_BIN_S,
        "imi_hist_linear_max_s": IMI_HIST_LINEAR_MAX_S,
        "imi_hist_log_range_s": list(IMI_HIST_LOG_RANGE_S),
        "imi_hist_log_bins_per_decade": IMI_HIST_LOG_BINS_PER_DECADE,
    }
