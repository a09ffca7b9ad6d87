-- Per-epoch sleep/wake scores (vendor columns and actigraphy scorers), wear flags, naps,
-- and the food-composition lookup columns of intake items.
CREATE TABLE core.sleep_epochs (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    epoch_start_at TIMESTAMPTZ NOT NULL,
    epoch_s DOUBLE NOT NULL,
    activity DOUBLE,
    is_asleep BOOLEAN,
    method VARCHAR NOT NULL
);

ALTER TABLE core.sleep_periods ADD COLUMN is_nap BOOLEAN;
ALTER TABLE core.movement_epochs ADD COLUMN is_wear BOOLEAN;
ALTER TABLE core.intake_items ADD COLUMN amount_g DOUBLE;
ALTER TABLE core.intake_items ADD COLUMN lookup_food_id VARCHAR;
ALTER TABLE core.intake_items ADD COLUMN lookup_confidence DOUBLE;

CREATE TABLE core.vendor_scores (
    participant_id VARCHAR NOT NULL, source VARCHAR NOT NULL, file_id VARCHAR NOT NULL,
    local_date DATE NOT NULL,
    period_key VARCHAR,
    score_name VARCHAR NOT NULL,
    value DOUBLE NOT NULL
);
