-- Each night's scored leg movements for plotting (series coloured, sleep/wake shaded).
CREATE OR REPLACE VIEW mart.leg_movements AS
SELECT
    participant_id,
    night_date,
    start_at,
    end_at,
    duration_s,
    peak_g,
    sides,
    is_clm,
    in_series,
    series_id,
    imi_s,
    in_sleep_period,
    in_sleep,
    in_series AND in_sleep_period AND in_sleep IS NOT false AS counts_as_plms,
    'actigraphic screening estimate, not polysomnography (AASM)' AS label
FROM features.leg_movements;

COMMENT ON VIEW mart.leg_movements IS 'Scored leg movements per night; counts_as_plms rows add up to features.nightly.plms_count. Actigraphic screening estimates, not polysomnography.';
