"""DuckDB: migrations, connections, the lock, transactional loads, quarantine."""
