-- The nightly inter-movement-interval histogram (companion of features.nightly's PLM columns).
CREATE TABLE features.imi_histogram (
    participant_id VARCHAR NOT NULL,
    night_date DATE NOT NULL,
    scale VARCHAR NOT NULL,
    bin_lo_s DOUBLE NOT NULL,
    bin_hi_s DOUBLE NOT NULL,
    imi_count BIGINT NOT NULL,
    PRIMARY KEY (participant_id, night_date, scale, bin_lo_s)
);
