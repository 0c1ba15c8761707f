#!/usr/bin/env bash
# Local services for `make run` and `make test`: installs the Debian packages when missing and runs
# private Redis and PostgreSQL instances under a run directory (never the system-wide ones).
set -euo pipefail

RUN_DIR="${TABLECLOTH_RUN_DIR:-/tmp/tablecloth-$(id -u)}"
mkdir -p "$RUN_DIR"

log() { printf '[services] %s\n' "$*" >&2; }

apt_install() {  # apt_install PACKAGE...: Debian packages, installed once
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${*} and this is not a Debian-like system: install them yourself (see README)"; exit 1
  fi
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -f "$RUN_DIR/.apt-updated" ]; then $sudo apt-get update -qq && touch "$RUN_DIR/.apt-updated"; fi
  log "installing $* (Debian packages)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local dir; dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && { echo "$dir"; return; }
  dirname "$(command -v initdb)"
}

as_pg() {  # PostgreSQL refuses to run as root: run its tools as the postgres user then
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

packages() {  # packages [redis] [postgres] [chromium] [npm]
  for what in "$@"; do
    case $what in
      redis) have redis-server || apt_install redis-server ;;
      postgres) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || apt_install postgresql ;;
      chromium) have chromium || apt_install chromium ;;
      npm) have npm || apt_install npm ;;
      venv) apt_install python3-venv ;;
    esac
  done
}

redis_start() {  # redis_start PORT
  local port=$1 dir="$RUN_DIR/redis-$1"
  mkdir -p "$dir"
  if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "redis did not start on port $port (see $dir/redis.log)"; exit 1
}

redis_stop() { redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true; }

pg_start() {  # pg_start PORT DBNAME...: a throw-away cluster with trust auth on 127.0.0.1 only
  local port=$1; shift
  local bin dir="$RUN_DIR/pg-$port"; bin=$(pg_bindir)
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" "$RUN_DIR" && chmod 755 "$RUN_DIR"
    as_pg "$bin/initdb" -D "$dir" --auth=trust --username=postgres --encoding=UTF8 --no-locale >/dev/null
  fi
  if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    # A cluster whose server was killed replays its WAL before it accepts connections: on a large database
    # that takes minutes, so wait for it rather than fail.
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 900 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
      || { log "PostgreSQL did not start on port $port; the end of $dir/server.log:"; tail -n 15 "$dir/server.log" >&2; exit 1; }
  fi
  for db in "$@"; do
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  done
}

pg_stop() {
  local bin dir="$RUN_DIR/pg-$1"; bin=$(pg_bindir)
  [ -f "$dir/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
}

"$@"
