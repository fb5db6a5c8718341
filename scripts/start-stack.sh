#!/usr/bin/env bash
# Start every process of the Procfile with honcho; the Telegram bridge only
# when TELEGRAM_BOT_TOKEN is set. Ctrl-C (or SIGTERM) stops them all.
# Run through scripts/with-env.sh, so the environment is already complete.
set -euo pipefail
cd "$(dirname "$0")/.."
processes=(rasa actions web worker)
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  processes+=(telegram)
fi
# -e /dev/null: the environment was loaded by scripts/with-env.sh already.
exec .venv/bin/honcho --no-colour -f Procfile -e /dev/null start "${processes[@]}"
