#!/usr/bin/env bash
# `make bench`: every benchmark under bench/, each printing its measured figures next to the targets.
# Starts the tests' private Redis and a PostgreSQL cluster of its own (port 54339), so that benchmark databases of
# many GB never sit in the tests' cluster. Sizes can be raised per script (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
export TABLECLOTH_RUN_DIR="${TABLECLOTH_RUN_DIR:-/tmp/tablecloth-test-$(id -u)}"
scripts/services.sh packages redis postgres
scripts/services.sh redis_start 6390
scripts/services.sh pg_start 54339 tablecloth_bench
export BENCH_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:54339/tablecloth_bench"
export BENCH_REDIS_URL="redis://127.0.0.1:6390/7"
for script in toast_parse backfill_floor webhook_load fleet_onboarding predict_fit predict_db guests_scale segments_scale dashboard audience_sync; do
  [ -f "bench/$script.py" ] || continue
  echo "== bench/$script.py"
  .venv/bin/python "bench/$script.py"
done
