-- Dashboard view of the nights: stable names, the estimate labelled as such.
CREATE OR REPLACE VIEW mart.nightly AS
SELECT
    participant_id,
    night_date,
    timezone,
    sleep_source,
    sleep_period_key IS NULL AS is_score_only,
    sleep_onset_at,
    sleep_offset_at,
    tst_min,
    sol_min,
    waso_min,
    sleep_efficiency,
    awakenings,
    restless_min,
    restlessness_method,
    CASE restlessness_method
        WHEN 'vendor_restless' THEN 'vendor restlessness (wearable summary): a proxy, not leg movements'
        WHEN 'epoch_movement' THEN 'movement during the sleep window (wrist epochs): a proxy, not leg movements'
        WHEN 'raw_accel' THEN 'leg movements from ankle acceleration: a screening estimate, not a diagnosis'
        ELSE 'no restlessness measure for this night'
    END AS restlessness_label,
    lm_count,
    lm_index,
    plms_count,
    plms_index,
    periodicity_index,
    plmw_index,
    lm_pre_sleep_count,
    CASE WHEN plms_count IS NOT NULL
        THEN 'actigraphic screening estimate, not polysomnography (AASM)'
    END AS plm_label,
    coverage,
    vendor_sleep_score,
    vendor_restfulness_score,
    magnesium_food_mg,
    magnesium_supplement_mg,
    magnesium_total_mg,
    magnesium_rda_mg,
    magnesium_pct_rda,
    magnesium_3d_mean_mg,
    magnesium_7d_mean_mg,
    magnesium_evening_mg,
    iron_mg,
    calcium_mg,
    caffeine_mg,
    caffeine_after_14_mg,
    alcohol_g,
    energy_kcal,
    is_log_complete,
    steps,
    active_min
FROM features.nightly;

COMMENT ON VIEW mart.nightly IS 'One row per participant and night. Leg-movement columns (lm_*, plms_*, periodicity_index, plmw_index) are actigraphic screening estimates, not polysomnography; restlessness_label says what restless_min measured.';
