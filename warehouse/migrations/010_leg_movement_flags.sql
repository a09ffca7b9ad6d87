-- core.leg_movements gains is_clm and in_series (schemas/core.py LegMovement is the contract):
-- the WASM 2016 candidate-LM and PLM-series flags AS SCORED FROM THIS SENSOR ALONE
-- (restless.models.legs.flag_monolateral, set at load). With one ankle worn that is the
-- night's scoring; with two ankles the bilateral scoring that the nightly indices use is in
-- features.leg_movements. Screening estimates, not polysomnography.
--
-- Rows loaded before this migration are flagged here with the same rules, so both columns are
-- NOT NULL for every row (a default would report a PLM series as "not in a series"). Per
-- recording (participant_id, source, file_id, side), times in integer microseconds:
--   * a row shorter than 0.5 s is no LM: both flags false;
--   * LMs overlapping or under 0.5 s apart (end to onset, chaining) form one movement, and
--     each row takes the flags of its movement;
--   * a movement is a CLM when it lasts at most 10 s;
--   * a PLM series is a run of >= 4 CLMs with onset-to-onset intervals of 10-90 s (WASM 2016,
--     the default standard; the interval is to the previous movement, CLM or not).
-- tests/test_leg_movement_flags.py checks this statement against flag_monolateral.
ALTER TABLE core.leg_movements ADD COLUMN is_clm BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE core.leg_movements ADD COLUMN in_series BOOLEAN NOT NULL DEFAULT false;
-- the default only fills the rows present now: every later load must give both flags
ALTER TABLE core.leg_movements ALTER COLUMN is_clm DROP DEFAULT;
ALTER TABLE core.leg_movements ALTER COLUMN in_series DROP DEFAULT;

UPDATE core.leg_movements AS m
SET is_clm = f.is_clm, in_series = f.in_series
FROM (
    WITH lm AS (
        SELECT rowid AS rid, participant_id, source, file_id, side,
               epoch_us(start_at) AS s_us, epoch_us(end_at) AS e_us
        FROM core.leg_movements
        WHERE epoch_us(end_at) - epoch_us(start_at) >= 500000
    ),
    reach AS (  -- the latest end among the LMs before each one
        SELECT *,
               max(e_us) OVER (
                   PARTITION BY participant_id, source, file_id, side ORDER BY s_us, e_us
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ) AS prev_end_us
        FROM lm
    ),
    grouped AS (  -- movement number: a new one starts 0.5 s or more after that end
        SELECT *,
               sum(CASE WHEN prev_end_us IS NULL OR s_us - prev_end_us >= 500000 THEN 1 ELSE 0 END)
                   OVER (
                       PARTITION BY participant_id, source, file_id, side ORDER BY s_us, e_us
                       ROWS UNBOUNDED PRECEDING
                   ) AS movement
        FROM reach
    ),
    movements AS (
        SELECT participant_id, source, file_id, side, movement,
               min(s_us) AS s_us,
               max(e_us) - min(s_us) <= 10000000 AS clm
        FROM grouped
        GROUP BY participant_id, source, file_id, side, movement
    ),
    linked AS (  -- link: a CLM whose previous movement is a CLM 10-90 s before it
        SELECT *,
               coalesce(
                   clm AND lag(clm) OVER w
                   AND (s_us - lag(s_us) OVER w) BETWEEN 10000000 AND 90000000,
                   false
               ) AS link
        FROM movements
        WINDOW w AS (PARTITION BY participant_id, source, file_id, side ORDER BY s_us)
    ),
    runs AS (  -- a run: one movement without a link, then the linked movements after it
        SELECT *,
               sum(CASE WHEN link THEN 0 ELSE 1 END) OVER (
                   PARTITION BY participant_id, source, file_id, side ORDER BY s_us
                   ROWS UNBOUNDED PRECEDING
               ) AS run
        FROM linked
    ),
    series AS (  -- >= 4 CLMs = >= 3 links in the run
        SELECT *,
               sum(link::INTEGER) OVER (
                   PARTITION BY participant_id, source, file_id, side, run
               ) >= 3 AS in_series
        FROM runs
    )
    SELECT g.rid, s.clm AS is_clm, s.in_series
    FROM grouped AS g
    JOIN series AS s USING (participant_id, source, file_id, side, movement)
) AS f
WHERE m.rowid = f.rid;
