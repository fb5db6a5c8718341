#!/usr/bin/env bash
# Create .venv from a Python 3.10 interpreter and install the locked
# dependencies. Idempotent: the stamp file records the hash of the lock file,
# so a second run with an unchanged lock installs nothing and returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
LOCK=requirements.lock
STAMP="$VENV/.lock-sha256"

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  echo ".venv 不是 Python 3.10，重新创建 / .venv is not Python 3.10, recreating it" >&2
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(scripts/find-python310.sh)
  echo "使用 / using $PY"
  "$PY" -m venv "$VENV"
fi

want=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

echo "安装依赖 / installing locked dependencies from $LOCK (first run takes a few minutes)"
# Some machines' pip configuration names local mirrors that may be absent;
# pip warns once per package about them. Those lines are noise, not errors.
quiet_pip() {
  # pipefail (set above) makes the pipeline fail exactly when pip fails.
  "$VENV/bin/python" -m pip "$@" --quiet --disable-pip-version-check 2>&1 | { grep -v "^WARNING: Location '" || true; }
}
quiet_pip install --upgrade "pip==26.3"
# The lock pins every package, transitive ones included, to an exact version. uv (pinned in the lock
# too) installs them in under half of pip's time on a new machine (35-43 s against 96 s here, with
# empty caches; 25 s from its own cache, which it links into the venv). Where it cannot (its index is
# PyPI and it does not read pip's configuration: a machine that only reaches a mirror pip is
# configured for), pip installs them as before.
# --compile-bytecode: pip writes the .pyc files at install and uv does not; where
# PYTHONDONTWRITEBYTECODE is set (this machine, CI) every process would compile Rasa and TensorFlow
# again at each start (make test took 31 instead of 24 minutes of CPU without it).
quiet_pip install "$(grep -i '^uv==' "$LOCK")"
if ! "$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$LOCK"; then
  echo "uv 安装失败，改用 pip / uv could not install the lock, pip installs it" >&2
  quiet_pip install -r "$LOCK"
fi
"$VENV/bin/python" -m pip check
echo "$want" > "$STAMP"
