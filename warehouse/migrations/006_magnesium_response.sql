-- features.magnesium_response (schemas/features.py MagnesiumResponse is the contract; a test
-- checks these columns against it). Replaced per participant with the other feature tables.
--
-- Grain: participant, measure, comparison, sleep source and restlessness method. The method is
-- null on sleep-measure rows (waso_min, sleep_efficiency), and a PRIMARY KEY cannot hold a
-- null, so a unique index over the key with the method coalesced guards the grain instead.

CREATE TABLE features.magnesium_response (
    participant_id VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    comparison VARCHAR NOT NULL,
    sleep_source VARCHAR NOT NULL,
    restlessness_method VARCHAR,
    status VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    nights_compared BIGINT NOT NULL,
    nights_group_a BIGINT,
    nights_group_b BIGINT,
    first_night_date DATE,
    last_night_date DATE,
    supplement_start_date DATE,
    supplement_stop_date DATE,
    mean_a DOUBLE,
    mean_b DOUBLE,
    difference DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    spearman_rho DOUBLE
);

CREATE UNIQUE INDEX magnesium_response_grain ON features.magnesium_response (
    participant_id, measure, comparison, sleep_source, coalesce(restlessness_method, '')
);
