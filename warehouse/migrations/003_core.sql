-- Canonical rows (schemas/core.py is the contract; tests check these columns against it).
CREATE TABLE core.sleep_periods (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    period_key VARCHAR NOT NULL,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    log_type VARCHAR,
    is_main_vendor BOOLEAN,
    vendor_time_in_bed_min DOUBLE,
    vendor_minutes_asleep DOUBLE,
    vendor_minutes_awake DOUBLE,
    vendor_minutes_to_fall_asleep DOUBLE,
    vendor_efficiency_pct DOUBLE,
    vendor_restless_count BIGINT,
    vendor_restless_min DOUBLE,
    vendor_awake_count BIGINT,
    vendor_sleep_score DOUBLE,
    vendor_restlessness_score DOUBLE
);

CREATE TABLE core.sleep_stages (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    period_key VARCHAR,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    stage VARCHAR NOT NULL
);

CREATE TABLE core.movement_epochs (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    epoch_start_at TIMESTAMPTZ NOT NULL,
    epoch_s DOUBLE NOT NULL,
    steps BIGINT,
    activity_count DOUBLE,
    intensity DOUBLE,
    activity_type VARCHAR,
    mean_accel_mg DOUBLE
);

CREATE TABLE core.heart_rate (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    measured_at TIMESTAMPTZ NOT NULL,
    bpm BIGINT NOT NULL,
    confidence BIGINT
);

CREATE TABLE core.hrv_intervals (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    beat_index BIGINT NOT NULL,
    measured_at TIMESTAMPTZ,
    rr_ms DOUBLE NOT NULL
);

CREATE TABLE core.intake_items (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    local_date DATE NOT NULL,
    local_time TIME,
    consumed_at TIMESTAMPTZ,
    item_name VARCHAR NOT NULL,
    meal_group VARCHAR,
    category VARCHAR,
    amount_text VARCHAR,
    is_supplement BOOLEAN NOT NULL,
    energy_kcal DOUBLE,
    magnesium_mg DOUBLE,
    iron_mg DOUBLE,
    calcium_mg DOUBLE,
    potassium_mg DOUBLE,
    caffeine_mg DOUBLE,
    alcohol_g DOUBLE,
    nutrient_origin VARCHAR NOT NULL
);

CREATE TABLE core.daily_nutrition (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    local_date DATE NOT NULL,
    energy_kcal DOUBLE,
    magnesium_mg DOUBLE,
    iron_mg DOUBLE,
    calcium_mg DOUBLE,
    potassium_mg DOUBLE,
    caffeine_mg DOUBLE,
    alcohol_g DOUBLE,
    is_completed BOOLEAN
);

CREATE TABLE core.supplement_doses (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    local_date DATE NOT NULL,
    local_time TIME,
    taken_at TIMESTAMPTZ,
    product VARCHAR NOT NULL,
    form VARCHAR,
    amount_mg DOUBLE NOT NULL,
    amount_basis VARCHAR NOT NULL,
    elemental_fraction DOUBLE,
    hydrate_assumed VARCHAR,
    magnesium_elemental_mg DOUBLE
);
