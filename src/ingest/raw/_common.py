"""What every raw-acceleration reader shares: coverage of the derived tables, chunk size."""

from __future__ import annotations

from restless.ingest.base import Coverage

CHUNK_SAMPLES = 1 << 18
"""Samples per yielded chunk (262,144 x 3 float64 = 6 MB): bounded memory for a week."""

COVERAGE = {
    # derived by the flow from the samples (raw samples are never stored): each
    # table replaces the span the recording covers
    "movement_epochs": Coverage("span", "epoch_start_at"),
    "sleep_epochs": Coverage("span", "epoch_start_at"),
    "leg_movements": Coverage("span", "start_at"),
    # HDCZA windows (flows/raw_scoring.py): a re-import replaces the periods whose start
    # lies between the first and last window start it finds
    "sleep_periods": Coverage("span", "start_at"),
}

NIGHTS_IN_LOCAL_TIME = True
"""``Format.uses_local_time`` of raw recordings: their samples carry UTC instants, but the
flow searches the HDCZA sleep window per noon-to-noon night of the participant's own zone,
so they are read after the zones are resolved (with the configured or known zone)."""
