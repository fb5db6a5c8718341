#!/usr/bin/env bash
# The passes of `make test`, side by side: the pytest ones each mostly keep one core busy, the machine has two,
# and the checks fill the time they spend waiting.
#   checks      lint, types, `rasa data validate` and the conversation tests (`make lint typecheck validate
#               conversation-tests`); their failure is printed as soon as they end
#   sqlite      every test, on SQLite, one Rasa server (as `make run` runs)
#   production  the tests the services can change (`--services-only`), again on PostgreSQL and Redis
#               (scripts/test-services.sh starts them on loopback ports and stops them afterwards)
# Each pass writes var/test-logs/<pass>.log; a failed pass's log is printed whole, a passed one's summary.
#   scripts/test-passes.sh [all|both|checks|sqlite|production]   (default both: the two pytest passes; all: the three)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
LOGS=var/test-logs
mkdir -p "$LOGS"
PY=.venv/bin/python
PRODUCTION_TESTS=(tests/backend tests/actions tests/bot tests/security tests/e2e tests/conversations)

checks_pass() {
  # -o: the setup and training `make test` did before starting the passes are not done again
  make --no-print-directory -o setup -o db -o train lint typecheck validate conversation-tests \
    >"$LOGS/checks.log" 2>&1 || {
    local status=$?
    echo "== checks: FAILED (lint, types, validate or the conversation tests); the pytest passes go on (log: $LOGS/checks.log)"
    return $status
  }
}

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
  if [ "$2" != 0 ]; then
    echo "== $1: FAILED (exit $2) after $3 s; its log follows"
    cat "$LOGS/$1.log"
  elif [ "$1" = checks ]; then
    echo "== checks (lint, types, validate, conversation tests): passed in $3 s (log: $LOGS/checks.log)"
    grep -E "Contracts: |^Success: |Correct: " "$LOGS/checks.log" || true  # imports, types, stories and actions
  else
    echo "== pytest $1: passed in $3 s (log: $LOGS/$1.log)"
    awk '/slowest 15 durations/ {on = 1; print; next} on && /^=/ {exit} on' "$LOGS/$1.log"
    grep -E "^=+ .*(passed|failed).* in [0-9.]+s" "$LOGS/$1.log" | tail -n 1 || true
  fi
}

timed() {  # name: run its pass, then write how long it took beside its log
  local began=$SECONDS status=0
  "${1}_pass" || status=$?
  echo $((SECONDS - began)) >"$LOGS/$1.seconds"
  return $status
}

chosen() {  # name: whether this run includes that pass
  case "$which" in
    all) return 0 ;;
    both) [ "$1" != checks ] ;;
    *) [ "$which" = "$1" ] ;;
  esac
}

declare -A pid
for name in checks sqlite production; do
  chosen "$name" || continue
  rm -f "$LOGS/$name.seconds"
  timed "$name" &
  pid[$name]=$!
  echo "$name: started (log: $LOGS/$name.log)"
done
failed=0
for name in checks sqlite production; do
  [ -n "${pid[$name]:-}" ] || continue
  status=0; wait "${pid[$name]}" || status=$?
  report "$name" "$status" "$(cat "$LOGS/$name.seconds" 2>/dev/null || echo '?')"
  [ "$status" = 0 ] || failed=1
done
exit $failed
