# The two commands of the README are `make run` and `make test`; the rest are their parts.
# The sentence encoder's OpenMP threads must wait passively on shared cores (bot/sentence_encoder.py).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup run test train db eval bench clean property run-scaled screenshots

setup:            ## create .venv (Python 3.10) and install the pinned tree
	scripts/setup.sh

run:              ## set up, seed the demo shop, train if stale, start the servers
	scripts/run.sh

run-scaled:       ## the scaled stack: HAProxy, 2 Rasa on PostgreSQL + Redis, 2 action servers (docs/scaling.md)
	scripts/run_scaled.sh

test:             ## set up, train if stale, validate data, run all tests
	scripts/test.sh

train: setup      ## train the model if its inputs changed
	scripts/train_if_stale.sh

db: setup         ## create/upgrade the database and seed the demo shop
	.venv/bin/python -m bot db seed

eval: setup       ## NLU figures on the labeled buyer messages, with both baselines
	.venv/bin/python -m actions.eval_nlu $${EVAL:-../shared/eval/dev.jsonl} --model $$(scripts/train_if_stale.sh | tail -n 1)

bench: setup      ## benchmarks (figures, not pass/fail); BENCH_TRAIN=warm skips training from scratch (10-25 min)
	.venv/bin/python bench/bench_policy.py
	.venv/bin/python bench/bench_service.py
	.venv/bin/python bench/bench_e2e.py --model $$(scripts/train_if_stale.sh | tail -n 1)
	.venv/bin/python bench/bench_copilot.py --model $$(scripts/train_if_stale.sh | tail -n 1)
	.venv/bin/python bench/bench_train.py $$([ "$${BENCH_TRAIN:-scratch}" = warm ] && echo --warm-only)

property: setup   ## the settlement property over 10,000 generated buyer/agent sequences (CI runs 40); fails if fewer ran
	SETTLEMENT_EXAMPLES=$${SETTLEMENT_EXAMPLES:-10000} .venv/bin/python -m pytest -q --hypothesis-show-statistics \
		tests/test_settlement_properties.py

screenshots: setup ## refresh docs/screenshots/ (the README's) from the browser tests; test runs write var/screenshots/
	AFTERSALES_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q tests/browser

clean:
	rm -rf models/ reports/ .rasa/ var/ logs/
