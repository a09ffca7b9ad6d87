-- core.leg_movements (schemas/core.py LegMovement is the contract; a test checks these columns
-- and their order against it): one row per monolateral leg movement detected in one ankle
-- sensor's raw acceleration. Screening estimates, not polysomnography.
CREATE TABLE core.leg_movements (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    duration_s DOUBLE NOT NULL,
    peak_g DOUBLE,
    area_g_s DOUBLE,
    onset_threshold_g DOUBLE,
    offset_threshold_g DOUBLE
);
