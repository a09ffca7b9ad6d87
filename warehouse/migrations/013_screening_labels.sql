-- Every actigraphic leg-movement number says what it is where SQL users and dashboards look:
-- the catalog's comments (duckdb_columns().comment, duckdb_tables().comment). The AASM
-- advises against diagnosing PLMD from actigraphy: these are screening estimates.
COMMENT ON TABLE core.leg_movements IS 'Monolateral leg movements detected in one ankle sensor''s raw acceleration (restless.models.legs). Actigraphic screening estimates, not polysomnography.';
COMMENT ON COLUMN core.leg_movements.is_clm IS 'Candidate leg movement (WASM 2016: 0.5-10 s) as scored from this sensor alone; the night''s bilateral scoring is features.leg_movements. Screening estimate.';
COMMENT ON COLUMN core.leg_movements.in_series IS 'Part of a PLM series (>= 4 CLMs, 10-90 s apart) as scored from this sensor alone. Screening estimate.';
COMMENT ON TABLE features.leg_movements IS 'Each night''s scored leg movements after the bilateral merge, CLM rule and PLM series; the rows plms_count counts. Actigraphic screening estimates, not polysomnography.';
COMMENT ON TABLE features.imi_histogram IS 'Inter-movement intervals of each night''s CLMs. Actigraphic screening estimates, not polysomnography.';
COMMENT ON COLUMN features.nightly.lm_count IS 'Leg movements in sleep (raw ankle acceleration). Actigraphic screening estimate, not polysomnography.';
COMMENT ON COLUMN features.nightly.lm_index IS 'Leg movements per hour of sleep. Actigraphic screening estimate, not polysomnography.';
COMMENT ON COLUMN features.nightly.plms_count IS 'Periodic limb movements in sleep (WASM 2016 series rules). Actigraphic screening estimate, not polysomnography.';
COMMENT ON COLUMN features.nightly.plms_index IS 'PLMS per hour of sleep (adult clinical cut-off 15/h applies to polysomnography). Actigraphic screening estimate, not a diagnosis.';
COMMENT ON COLUMN features.nightly.periodicity_index IS 'Share of inter-movement intervals inside PLM series. Actigraphic screening estimate.';
COMMENT ON COLUMN features.nightly.plmw_index IS 'Periodic limb movements per hour of wake inside the sleep period. Actigraphic screening estimate.';
COMMENT ON COLUMN features.nightly.lm_pre_sleep_count IS 'Leg movements in the hour before sleep onset. Actigraphic screening estimate.';
