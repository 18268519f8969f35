#!/usr/bin/env bash
# Creates .venv with a Python 3.10 interpreter and installs the pinned dependency tree (requirements.lock).
# Idempotent and quick when nothing changed: reinstalls only when requirements.lock or pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,10) else 1)' 2>/dev/null; then
  py=$(scripts/find_python.sh)
  echo "setup: creating $VENV with $py"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
fi

stamp="$VENV/.installed-lock"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the pinned dependencies (about 2 minutes on a fresh machine)"
  # pip's own warnings about the machine's unused extra index folders are noise; real errors still fail the script.
  "$VENV/bin/python" -m pip install -q --upgrade "pip==23.3.2" 2>&1 | grep -v "is ignored: it is neither" || true
  "$VENV/bin/python" -m pip install -q -r requirements.lock 2>&1 | grep -v "is ignored: it is neither" || true
  "$VENV/bin/python" -m pip install -q --no-deps -e . 2>&1 | grep -v "is ignored: it is neither" || true
  # A failed install above is caught here rather than by grep's exit code.
  "$VENV/bin/python" -c 'import rasa, rasa_sdk, jieba, spacy, sqlalchemy, alembic, opencc, bot' \
    || { echo "setup: the dependency install failed (see above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
