#!/usr/bin/env bash
# The suite twice: on the embedded defaults (SQLite, in-memory layer, local cache), then on
# PostgreSQL + Redis when they answer. REQUIRE_SERVICES=1 (CI) makes a missing one a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG=1 SECURE_SSL_REDIRECT=0

PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_TEST_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}

echo "== leg 1: SQLite, in-memory channel layer, local-memory cache"
env -u DATABASE_URL -u REDIS_URL $PY -m pytest "$@"

if $PY scripts/services_up.py "$PG_URL" "$REDIS_TEST_URL"; then
  echo "== leg 2: PostgreSQL + Redis"
  DATABASE_URL=$PG_URL REDIS_URL=$REDIS_TEST_URL $PY -m pytest "$@"
elif [ "${REQUIRE_SERVICES:-0}" = "1" ]; then
  echo "REQUIRE_SERVICES=1 but PostgreSQL or Redis does not answer: failing." >&2
  exit 1
else
  echo "== leg 2 skipped: PostgreSQL or Redis does not answer (set REQUIRE_SERVICES=1 to fail instead)"
fi
