#!/usr/bin/env bash
# `make run`: Redis, migrations, the demo organization, an RQ worker and the portal on http://127.0.0.1:5000.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p instance
export TABLECLOTH_RUN_DIR="${TABLECLOTH_RUN_DIR:-$PWD/instance/run}"
REDIS_PORT="${REDIS_PORT:-6381}"
ENV_FILE=instance/dev.env

if [ ! -f "$ENV_FILE" ]; then  # development secrets, generated once and kept out of git
  .venv/bin/python - > "$ENV_FILE" <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"SECRET_KEY={secrets.token_urlsafe(32)}")
print(f"PORTAL_ENCRYPTION_KEY={Fernet.generate_key().decode()}")
PY
  chmod 600 "$ENV_FILE"
fi
set -a; . "$ENV_FILE"; set +a
export FLASK_APP=wsgi FLASK_DEBUG=1 HTMX_SOURCE=local REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PORTAL_BASE_URL="http://127.0.0.1:5000"

scripts/services.sh packages redis
scripts/services.sh redis_start "$REDIS_PORT"
cleanup() {
  trap - INT TERM EXIT
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/services.sh redis_stop "$REDIS_PORT"
}
trap cleanup INT TERM EXIT

.venv/bin/flask db upgrade
if [ ! -f instance/demo-owner.txt ]; then
  .venv/bin/flask demo seed | tee instance/demo-owner.txt
else
  .venv/bin/flask demo seed >/dev/null
  echo "demo owner (from instance/demo-owner.txt): $(cat instance/demo-owner.txt)"
fi

.venv/bin/rq worker --with-scheduler --worker-class workers.worker.AppWorker --url "$REDIS_URL" sync default models &
.venv/bin/gunicorn --workers 2 --threads 4 --bind 127.0.0.1:5000 --access-logfile - wsgi:app &
echo "portal: http://127.0.0.1:5000  (Ctrl-C stops the portal, the worker and Redis)"
wait -n
