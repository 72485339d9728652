"""Wiring: replay mode, live mode, housekeeping, live rule loading."""
