"""Loaded with `-p` before Django is set up: development defaults for a plain `pytest`."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
