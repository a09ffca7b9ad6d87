-- Score-only nights and the vendors' own nightly scores on features.nightly
-- (schemas/features.py Nightly). A night with vendor scores but no sleep period (an Oura
-- daily_sleep export without sleep documents) has no period key and no time in bed, so both
-- become nullable; the scores are the night's own sleep source's, 0-100, higher = better.
ALTER TABLE features.nightly ALTER COLUMN sleep_period_key DROP NOT NULL;
ALTER TABLE features.nightly ALTER COLUMN time_in_bed_min DROP NOT NULL;
ALTER TABLE features.nightly ADD COLUMN vendor_sleep_score DOUBLE;
ALTER TABLE features.nightly ADD COLUMN vendor_restfulness_score DOUBLE;
