"""Insights for staff: per chatbot, the figures of the last days (queries.py), drawn as
server-rendered SVG (charts.py), in words a person reads (formatting.py)."""
