#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6.21 runs on 3.8-3.10 only, this project pins 3.10).
# Looks, in order, at: $PYTHON, python3.10 on PATH, pyenv's 3.10.x, the usual install prefixes.
# Exits 1 with a message saying what to do when none is found.
set -u
is_310() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

# An explicit $PYTHON is a request, not a hint: use it or say why not.
if [ -n "${PYTHON:-}" ]; then
  py=$(command -v "$PYTHON" 2>/dev/null || echo "$PYTHON")
  if is_310 "$py"; then echo "$py"; exit 0; fi
  echo "error: \$PYTHON=$PYTHON is not a Python 3.10 interpreter (Rasa 3.6.21 needs 3.8-3.10; this project pins 3.10)." >&2
  exit 1
fi
candidates=()
p=$(command -v python3.10 2>/dev/null) && candidates+=("$p")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for d in "$root"/versions/3.10.*; do [ -d "$d" ] && candidates+=("$d/bin/python3.10"); done
fi
for d in "$HOME"/.pyenv/versions/3.10.* /usr/local/bin /usr/bin /opt/python/3.10*/bin; do
  [ -x "$d/python3.10" ] && candidates+=("$d/python3.10")
  [ -x "$d/bin/python3.10" ] && candidates+=("$d/bin/python3.10")
done

for c in "${candidates[@]}"; do
  if is_310 "$c"; then echo "$c"; exit 0; fi
done
cat >&2 <<'MSG'
error: no Python 3.10 interpreter found. Rasa 3.6.21 runs on Python 3.8-3.10 only.
  Install one, e.g.  pyenv install 3.10.13   (or: apt install python3.10 python3.10-venv),
  or point to it:    PYTHON=/path/to/python3.10 make run
MSG
exit 1
