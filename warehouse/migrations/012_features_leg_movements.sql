-- features.leg_movements (schemas/features.py ScoredLegMovement is the contract): one row per
-- SCORED leg movement of each participant-night, i.e. after the WASM 2016 bilateral merge, the
-- CLM rule and the PLM series over both ankles (restless.models.leg_nights). These are the
-- movements that features.nightly's plms_count counts: in_series AND in_sleep_period AND
-- in_sleep IS NOT false. Actigraphic screening estimates, not polysomnography.
-- core.leg_movements.is_clm/in_series are scored from one sensor alone; these are the night's.
CREATE TABLE features.leg_movements (
    participant_id VARCHAR NOT NULL,
    night_date DATE NOT NULL,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    duration_s DOUBLE NOT NULL,
    peak_g DOUBLE,
    area_g_s DOUBLE,
    sides VARCHAR NOT NULL,
    n_monolateral BIGINT NOT NULL,
    is_clm BOOLEAN NOT NULL,
    imi_s DOUBLE,
    in_series BOOLEAN NOT NULL,
    series_id BIGINT,
    is_periodic_imi BOOLEAN NOT NULL,
    in_sleep_period BOOLEAN NOT NULL,
    in_sleep BOOLEAN,
    PRIMARY KEY (participant_id, night_date, start_at)
);
