-- What was loaded, and what was not and why: for a data-quality panel.
CREATE OR REPLACE VIEW mart.file_status AS
SELECT participant_id, path, format, status, error, rows_loaded, rows_quarantined,
       first_seen_at, loaded_at
FROM ops.files;

CREATE OR REPLACE VIEW mart.quarantine_summary AS
SELECT participant_id, table_name, column_name, check_name, count(*) AS rows,
       max(quarantined_at) AS last_seen_at
FROM ops.quarantine
GROUP BY ALL;
