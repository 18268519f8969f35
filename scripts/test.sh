#!/usr/bin/env bash
# `make test`: set up, train if stale, validate the Rasa data, run the whole pytest suite.
# Fails loudly when a step fails or when no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sentence encoder's OpenMP threads must wait passively on shared cores (bot/sentence_encoder.py).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
scripts/setup.sh
mkdir -p reports var
model=$(scripts/train_if_stale.sh | tail -n 1)
export AFTERSALES_MODEL="$model"

echo "== rasa data validate"
.venv/bin/rasa data validate --domain domain.yml --data data --config config.yml

echo "== rasa test core (dialogue stories, every prediction must be right)"
.venv/bin/rasa test core --model "$model" --stories tests/test_stories.yml --fail-on-prediction-errors \
  --out reports/stories >reports/stories.log 2>&1 || { tail -40 reports/stories.log; echo "STORY TESTS FAILED" >&2; exit 1; }
grep -E "Finished evaluating|Correct:|Accuracy" reports/stories.log | head -5 || true

echo "== pytest"
status=0
.venv/bin/python -m pytest -q --junitxml=reports/junit.xml "$@" || status=$?

ran=$(.venv/bin/python - <<'PY'
import xml.etree.ElementTree as ET
root = ET.parse("reports/junit.xml").getroot()
suites = [root] if root.tag == "testsuite" else list(root)
print(sum(int(s.get("tests", 0)) - int(s.get("skipped", 0)) for s in suites))
PY
)
if [ "$status" -ne 0 ]; then echo "TESTS FAILED (pytest exit $status)" >&2; exit "$status"; fi
if [ "${ran:-0}" -le 0 ]; then echo "NO TEST RAN: that is a failure, not a pass" >&2; exit 1; fi
echo "== all green: $ran tests ran"
