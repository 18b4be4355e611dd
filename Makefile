# The two commands a new user needs: `make demo` and `make test`. Each sets up .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := plugins/text plugins/claims plugins/sentiment
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS)) | sha256sum | cut -c1-12)

.PHONY: demo test install clean bench bench-team

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,parquet,hf,report,server]" $(addprefix -e ,$(PLUGINS))
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/workbench demo

# ruff over the tree and mypy over the plugin API (pyproject.toml says which files), then the tests
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo 'pytest ran no tests' >&2; exit 1; fi; exit $$rc

# crowd-kit in its own venv (it would pull transformers and pin scikit-learn into .venv); the
# benchmark runs it as a subprocess on the same data. BENCH_ARGS passes options, e.g. --repeats 5;
# BENCH_REAL_ARGS to the real-crowd benchmark (it skips in one line without /work/shared/crowd-data).
# The whole pipeline at scale runs on a 5 MB corpus by default (about half a minute);
# BENCH_SCALE_ARGS="--sizes 5,20,50" for the 20 and 50 MB figures (about 5 minutes and 1.7 GB of memory).
CROWDKIT := .venv-crowdkit
$(CROWDKIT)/.installed:
	$(PYTHON) -m venv $(CROWDKIT)
	$(CROWDKIT)/bin/python -m pip install -q "crowd-kit==1.4.2" "scikit-learn<1.6"
	touch $@

bench: install $(CROWDKIT)/.installed
	$(BIN)/python -m benchmarks.bench_aggregate --crowdkit $(CROWDKIT)/bin/python $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.bench_cli --crowdkit $(CROWDKIT)/bin/python $(BENCH_CLI_ARGS)
	$(BIN)/python -m benchmarks.bench_realcrowd --crowdkit $(CROWDKIT)/bin/python $(BENCH_REAL_ARGS)
	$(BIN)/python -m benchmarks.bench_labelstudio $(BENCH_LS_ARGS)
	$(BIN)/python -m benchmarks.bench_scale $(BENCH_SCALE_ARGS)
	$(BIN)/python -m benchmarks.bench_team $(BENCH_TEAM_ARGS)

# A team on one Label Studio (dev server vs gunicorn workers on PostgreSQL), also the last step of
# `make bench`: on BENCH_TEAM_ARGS="--postgres postgresql://USER:PASS@127.0.0.1:PORT/postgres", else
# $WORKBENCH_TEST_POSTGRES_DSN, else a throwaway cluster of its own (Debian's postgresql package);
# skips in one line without any. About 15-20 minutes on 2 cores.
bench-team: install
	$(BIN)/python -m benchmarks.bench_team $(BENCH_TEAM_ARGS)

clean:
	rm -rf $(VENV) .workbench
