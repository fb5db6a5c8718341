#!/usr/bin/env bash
# The two pytest passes of `make test`, side by side: each mostly keeps one core busy, and the machine has two.
#   sqlite      every test, on SQLite, one Rasa server (as `make run` runs)
#   production  the tests the services can change (`--services-only`), again on PostgreSQL and Redis
#               (scripts/test-services.sh starts them on loopback ports and stops them afterwards)
# Each pass writes var/test-logs/<pass>.log; a failed pass's log is printed whole, a passed one's summary.
#   scripts/test-passes.sh [sqlite|production|both]   (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
LOGS=var/test-logs
mkdir -p "$LOGS"
PY=.venv/bin/python
PRODUCTION_TESTS=(tests/backend tests/actions tests/bot tests/security tests/e2e tests/conversations)

sqlite_pass() { scripts/with-env.sh "$PY" -m pytest -p no:cacheprovider --durations=15 >"$LOGS/sqlite.log" 2>&1; }

production_pass() {
  scripts/test-services.sh start >"$LOGS/production.log" 2>&1 || return 1
  local status=0
  (
    set -a; eval "$(scripts/test-services.sh env)"; set +a
    scripts/with-env.sh "$PY" -m pytest -p no:cacheprovider --durations=15 --services-only "${PRODUCTION_TESTS[@]}"
  ) >>"$LOGS/production.log" 2>&1 || status=$?
  scripts/test-services.sh stop >/dev/null 2>&1 || true
  return $status
}

report() {  # name status seconds
  if [ "$2" = 0 ]; then
    echo "== pytest $1: passed in $3 s (log: $LOGS/$1.log)"
    awk '/slowest 15 durations/ {on = 1; print; next} on && /^=/ {exit} on' "$LOGS/$1.log"
    grep -E "^=+ .*(passed|failed).* in [0-9.]+s" "$LOGS/$1.log" | tail -n 1 || true
  else
    echo "== pytest $1: FAILED (exit $2) after $3 s; its log follows"
    cat "$LOGS/$1.log"
  fi
}

timed() {  # name: run its pass, then write how long it took beside its log
  local began=$SECONDS status=0
  "${1}_pass" || status=$?
  echo $((SECONDS - began)) >"$LOGS/$1.seconds"
  return $status
}

declare -A pid
for name in sqlite production; do
  [ "$which" = both ] || [ "$which" = "$name" ] || continue
  rm -f "$LOGS/$name.seconds"
  timed "$name" &
  pid[$name]=$!
  echo "pytest $name: started (log: $LOGS/$name.log)"
done
failed=0
for name in sqlite production; do
  [ -n "${pid[$name]:-}" ] || continue
  status=0; wait "${pid[$name]}" || status=$?
  report "$name" "$status" "$(cat "$LOGS/$name.seconds" 2>/dev/null || echo '?')"
  [ "$status" = 0 ] || failed=1
done
exit $failed
