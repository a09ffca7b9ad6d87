"""Prefect flows and the restless command line (orchestration only)."""
