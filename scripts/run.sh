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
# The demo's Toast is the local sandbox: history calls may be spaced far less than the 5 s real Toast asks.
export TOAST_HISTORY_SPACING_S="${TOAST_HISTORY_SPACING_S:-0.3}"
SANDBOX_PORT="${SANDBOX_PORT:-8899}"

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

start_sandbox() {  # start_sandbox [WEBHOOK_URL]: the Toast sandbox, its credentials in instance/run/sandbox.json
  : > instance/run/sandbox.json
  .venv/bin/flask toast sandbox --port "$SANDBOX_PORT" --seed 1 --restaurants 3 --days 120 \
    ${1:+--webhook-url "$1"} > instance/run/sandbox.json 2> instance/run/sandbox.log &
  SANDBOX_PID=$!
  for _ in $(seq 100); do [ -s instance/run/sandbox.json ] && return 0; sleep 0.1; done
  echo "the Toast sandbox did not start (see instance/run/sandbox.log)"; exit 1
}
sandbox_field() { .venv/bin/python -c "import json,sys; d=json.load(open('instance/run/sandbox.json')); print($1)"; }

mkdir -p instance/run
if [ ! -f instance/demo-webhook-url ]; then  # first run: connect the demo organization to the sandbox
  start_sandbox
  sandbox_field "d['client_secret']" | TOAST_WEBHOOK_SECRET="$(sandbox_field "d['webhook_secret']")" \
    .venv/bin/flask toast connect --org demo --host "http://127.0.0.1:$SANDBOX_PORT" --client-id sandbox-group-client \
    $(sandbox_field "' '.join('--restaurant ' + g for g in d['restaurant_guids'])") > instance/run/connect.json
  .venv/bin/python -c "import json; print(json.load(open('instance/run/connect.json'))['webhook_url'])" > instance/demo-webhook-url
  kill "$SANDBOX_PID"; wait "$SANDBOX_PID" 2>/dev/null || true
  echo "demo organization connected to the Toast sandbox; its 12-week history syncs in the background"
fi
start_sandbox "$(cat instance/demo-webhook-url)"  # live orders keep arriving, as signed webhooks

AUDIENCE_PORT="${AUDIENCE_PORT:-8901}"
start_audiences() {  # the Mailchimp sandbox the demo's "Lapsed" segment syncs to; its audience kept across runs
  [ -f instance/demo-mailchimp-key ] || .venv/bin/python -c "import uuid; print(uuid.uuid4().hex + '-us19')" \
    > instance/demo-mailchimp-key
  : > instance/run/audiences.json
  .venv/bin/flask audiences sandbox --kind mailchimp --port "$AUDIENCE_PORT" --api-key "$(cat instance/demo-mailchimp-key)" \
    --list-id demo-audience --state instance/run/mailchimp-audience.json \
    > instance/run/audiences.json 2> instance/run/audiences.log &
  for _ in $(seq 100); do [ -s instance/run/audiences.json ] && return 0; sleep 0.1; done
  echo "the Mailchimp sandbox did not start (see instance/run/audiences.log)"; exit 1
}
start_audiences
if [ ! -f instance/demo-audience.json ]; then  # first run: connect it and queue the first sync of "Lapsed"
  .venv/bin/flask audiences connect --org demo --kind mailchimp --base-url "http://127.0.0.1:$AUDIENCE_PORT/3.0" \
    --list-id demo-audience < instance/demo-mailchimp-key > instance/demo-audience.json
  .venv/bin/flask audiences sync --org demo --segment lapsed --destination \
    "$(.venv/bin/python -c "import json; print(json.load(open('instance/demo-audience.json'))['destination_id'])")" > /dev/null
  echo "demo's Lapsed segment syncs to the Mailchimp sandbox (nightly, after orders, and on Sync now)"
fi

.venv/bin/rq cron workers.cron --url "$REDIS_URL" &
.venv/bin/rq worker-pool --num-workers "${TABLECLOTH_WORKERS:-$(nproc)}" --worker-class workers.worker.AppWorker \
  --url "$REDIS_URL" webhooks sync default models &
.venv/bin/gunicorn --config python:portal.webhooks.serving --workers 2 --threads 4 --bind 127.0.0.1:5000 --access-logfile - wsgi:app &
echo "portal: http://127.0.0.1:5000  Toast sandbox: http://127.0.0.1:$SANDBOX_PORT  Mailchimp sandbox: http://127.0.0.1:$AUDIENCE_PORT  (Ctrl-C stops everything)"
wait -n
