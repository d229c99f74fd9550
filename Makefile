# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: install run test lint bench clean

install: $(STAMP)

# Idempotent: re-runs only when a requirements file changed.
$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -r requirements-spark.txt
	touch $(STAMP)

SAMPLE := data/online_retail_II_sample.xlsx

# The API answers from the current saved model: train one on the sample the first time.
run: install
	test -f $${RFM_MODEL_DIR:-models}/current || $(PY) -m core train $(SAMPLE) --model-dir $${RFM_MODEL_DIR:-models}
	$(PY) serve.py --port $(PORT)  # app.py under its connection limits (docs/TEAM.md)

test: install lint
	$(PY) -m pytest

# Run by `make test`: ruff (lint, and the layout `ruff format` writes) on the whole tree and
# mypy on the engine (core/), pinned in requirements-dev.txt and configured in pyproject.toml
# ([tool.ruff], [tool.mypy]). Fix the layout with `.venv/bin/ruff format .`.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy core

# Benchmarks: ours vs the pandas notebook way, DuckDB and Polars, 1M and 10M lines, and the
# k-sweep and scoring; prints the table and writes bench/out/results.md. Quick: BENCH_ARGS=--quick
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis bench/out
