#!/usr/bin/env bash
# PostgreSQL and Redis for the production-profile run of `make test`.
#
#   scripts/test-services.sh start   install them from Debian when missing (as root), start them on
#                                    loopback ports with their data under var/test-services/
#   scripts/test-services.sh stop    stop them (the data stays until the next start wipes it)
#   scripts/test-services.sh env     print the variables the tests read
#   scripts/test-services.sh pg-stop | pg-start   stop / start PostgreSQL alone (the outage test)
#
# PostgreSQL refuses to run as root: as root it runs as Debian's `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/var/test-services"
PG_PORT=${TEST_PG_PORT:-55439}
REDIS_PORT=${TEST_REDIS_PORT:-56399}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_installed() {
  local need=()
  [ -n "$(pg_bin)" ] || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "安装测试用的服务 / installing for the production-profile tests: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian starts its own cluster and server on the default ports; the tests use their own.
    command -v service >/dev/null 2>&1 && { service postgresql stop >/dev/null 2>&1 || true; service redis-server stop >/dev/null 2>&1 || true; }
    return 0
  fi
  echo "生产配置的测试需要 / the production-profile tests need: ${need[*]}" >&2
  echo "  sudo apt-get install -y ${need[*]}" >&2
  exit 1
}

start() {
  ensure_installed
  stop >/dev/null 2>&1 || true
  local bin; bin=$(pg_bin)
  rm -rf "$DIR"; mkdir -p "$DIR/pg" "$DIR/redis"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$DIR/pg"; chmod 755 "$DIR"; fi
  as_pg "$bin/initdb" -D "$DIR/pg/data" -U santong --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/pg/initdb.log"
  as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U santong santong_test
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR/redis" --daemonize yes \
    --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log" --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT (var/test-services/)"
}

stop() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$DIR/pg/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null || true; fi
  if [ -f "$DIR/redis/redis.pid" ]; then kill "$(cat "$DIR/redis/redis.pid")" 2>/dev/null || true; rm -f "$DIR/redis/redis.pid"; fi
}

pg_stop() { as_pg "$(pg_bin)/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null; }
pg_start() {
  as_pg "$(pg_bin)/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
}

env_lines() {
  echo "TEST_DATABASE_URL=postgresql://santong@127.0.0.1:$PG_PORT/santong_test"
  echo "E2E_POSTGRES_URL=postgresql://santong@127.0.0.1:$PG_PORT/postgres"
  echo "E2E_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  pg-stop) pg_stop ;;
  pg-start) pg_start ;;
  *) echo "usage: $0 start|stop|env|pg-stop|pg-start" >&2; exit 2 ;;
esac
