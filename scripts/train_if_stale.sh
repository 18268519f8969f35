#!/usr/bin/env bash
# Trains the Rasa model only when its inputs changed. The model file name carries a hash of everything that
# shapes it (config, domain, training data, the custom NLU components and the bot code they wrap), so "stale"
# is a file-exists check, not a guess. Prints the model path on the last line (`--path-only`: only that).
set -euo pipefail
cd "$(dirname "$0")/.."
# The sentence encoder's OpenMP threads must wait passively on shared cores (bot/sentence_encoder.py).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
inputs=(config.yml domain.yml data/nlu data/jieba data/rules.yml data/stories.yml
        actions/nlu_components.py actions/importers.py bot/text.py bot/numerals.py bot/entities.py
        bot/intent_model.py bot/sentence_encoder.py bot/labelled_logs.py bot/nlu_eval/baselines.py)
# The shop's labelled chat logs are training data too (config.yml's importer; bot/labelled_logs.py picks the
# file): their path and content are part of the hash, so new logs or a different file retrain the model.
# (No logs is a normal case: the group must not end on a failed test, or pipefail stops the script.)
logs=$(.venv/bin/python -m bot nlu logs-path)
hash=$( { for f in "${inputs[@]}"; do [ -e "$f" ] && find "$f" -type f -not -name '*.pyc' | sort; done \
          | xargs sha256sum; echo "logs: $logs"; if [ -n "$logs" ]; then sha256sum "$logs"; fi; } | sha256sum | cut -c1-12)
model="models/aftersales-$hash.tar.gz"
if [ "${1:-}" = "--path-only" ]; then echo "$model"; exit 0; fi  # which model the inputs name, without training
if [ -f "$model" ]; then
  echo "train: model is up to date ($model)" >&2
else
  echo "train: inputs changed, training $model (about 2-4 minutes)" >&2
  start=$(date +%s)
  .venv/bin/rasa train --fixed-model-name "aftersales-$hash" --out models >&2
  echo "train: done in $(( $(date +%s) - start )) s" >&2
fi
echo "$model"
