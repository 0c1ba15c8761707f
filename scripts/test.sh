#!/usr/bin/env bash
# `make test`: the whole suite on SQLite and PostgreSQL, with a real Redis and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export TABLECLOTH_RUN_DIR="${TABLECLOTH_RUN_DIR:-/tmp/tablecloth-test-$(id -u)}"
REDIS_PORT="${TEST_REDIS_PORT:-6390}"
PG_PORT="${TEST_PG_PORT:-54329}"

scripts/services.sh packages redis postgres chromium
scripts/services.sh redis_start "$REDIS_PORT"
scripts/services.sh pg_start "$PG_PORT" tablecloth_test
trap 'scripts/services.sh redis_stop "$REDIS_PORT"; scripts/services.sh pg_stop "$PG_PORT"' EXIT

export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/tablecloth_test"
export TEST_DATABASES="${TEST_DATABASES:-sqlite,postgresql}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"
.venv/bin/python -m pytest "$@"
