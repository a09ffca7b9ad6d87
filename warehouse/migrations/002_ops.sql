-- Lineage: every file seen, every rejected row, every run, every participant's settings.
CREATE TABLE ops.files (
    file_id          VARCHAR PRIMARY KEY,      -- sha256(participant_id, content sha256), 24 hex
    participant_id   VARCHAR NOT NULL,
    path             VARCHAR NOT NULL,         -- relative to the inbox
    format           VARCHAR,                  -- null when no reader recognised the file
    source           VARCHAR,
    sha256           VARCHAR NOT NULL,
    size_bytes       BIGINT NOT NULL,
    status           VARCHAR NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected', 'skipped')),
    error            VARCHAR,                  -- why, whenever status is not 'loaded'
    warnings         VARCHAR,
    identity         VARCHAR,                  -- recording identity for 'file' coverage (FIT)
    rows_loaded      BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    loaded_at        TIMESTAMPTZ,
    run_id           VARCHAR NOT NULL,
    CHECK (status = 'loaded' OR error IS NOT NULL)
);

CREATE TABLE ops.quarantine (
    run_id          VARCHAR NOT NULL,
    file_id         VARCHAR NOT NULL,
    participant_id  VARCHAR NOT NULL,
    table_name      VARCHAR NOT NULL,
    row_number      BIGINT,                    -- 1-based source row; null = the whole table
    column_name     VARCHAR,
    check_name      VARCHAR NOT NULL,
    value           VARCHAR,
    quarantined_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE ops.runs (
    run_id            VARCHAR PRIMARY KEY,
    flow_run_id       VARCHAR,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    status            VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    inbox             VARCHAR,
    fit_backend       VARCHAR,
    files_seen        BIGINT DEFAULT 0,
    files_unchanged   BIGINT DEFAULT 0,
    files_loaded      BIGINT DEFAULT 0,
    files_partial     BIGINT DEFAULT 0,
    files_rejected    BIGINT DEFAULT 0,
    files_skipped     BIGINT DEFAULT 0,
    rows_loaded       BIGINT DEFAULT 0,
    rows_quarantined  BIGINT DEFAULT 0,
    participants_recomputed BIGINT DEFAULT 0,
    nights_written    BIGINT DEFAULT 0,
    params            JSON,                    -- science parameters used (models.params)
    message           VARCHAR
);

CREATE TABLE ops.participants (
    participant_id   VARCHAR PRIMARY KEY,
    timezone         VARCHAR NOT NULL,
    timezone_source  VARCHAR NOT NULL CHECK (timezone_source IN ('config', 'export', 'default_utc')),
    sex              VARCHAR CHECK (sex IN ('female', 'male')),
    birth_year       INTEGER,
    is_pregnant      BOOLEAN,
    is_lactating     BOOLEAN,
    updated_at       TIMESTAMPTZ NOT NULL
);
