"""Scheduled upkeep: the retention purge (retention.py)."""
