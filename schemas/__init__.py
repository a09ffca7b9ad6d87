"""pandera models: the single source of column names, dtypes and ranges."""
