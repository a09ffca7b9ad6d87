-- Leg-movement columns of features.nightly from raw ankle acceleration (schemas/features.py
-- Nightly; screening estimates, not polysomnography): PLMW index (per hour of wake inside the
-- sleep period) and leg movements in the hour before sleep onset.
ALTER TABLE features.nightly ADD COLUMN plmw_index DOUBLE;
ALTER TABLE features.nightly ADD COLUMN lm_pre_sleep_count BIGINT;
