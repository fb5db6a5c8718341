#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain how to get one.
#
# Rasa 3.6.21 (the last open-source release) runs on Python 3.8-3.10 only, so
# the project's virtual environment must be built from a 3.10 interpreter even
# where the system python3 is newer. Order of search: $PYTHON310 (explicit
# override), python3.10 on PATH, then pyenv's newest installed 3.10.x.
set -euo pipefail

is_310() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

if [ -n "${PYTHON310:-}" ]; then
  if is_310 "$PYTHON310"; then echo "$PYTHON310"; exit 0; fi
  echo "PYTHON310=$PYTHON310 不是 Python 3.10 解释器 / is not a Python 3.10 interpreter" >&2
  exit 1
fi

if command -v python3.10 >/dev/null 2>&1; then
  candidate=$(command -v python3.10)
  # pyenv's shim exists even when the shim would refuse to run 3.10.
  if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
fi

if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3,3nr); do
    prefix=$(pyenv prefix "$version" 2>/dev/null) || continue
    if is_310 "$prefix/bin/python3.10"; then echo "$prefix/bin/python3.10"; exit 0; fi
  done
fi

cat >&2 <<'MSG'
找不到 Python 3.10 解释器。Rasa 3.6.21 只支持 Python 3.8–3.10。
No Python 3.10 interpreter found. Rasa 3.6.21 supports Python 3.8–3.10 only.

请安装其中一种 / install one of:
  Debian/Ubuntu:  sudo apt-get install python3.10 python3.10-venv   (deadsnakes PPA on Ubuntu)
  pyenv:          pyenv install 3.10.13
  macOS:          brew install python@3.10
然后重新运行 make run / then run `make run` again.
也可以指定解释器 / or point to one:  make run PYTHON310=/path/to/python3.10
MSG
exit 1
