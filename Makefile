# The two commands a new user needs: `make demo` and `make test`. Each sets up .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := plugins/text plugins/claims plugins/sentiment
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS)) | sha256sum | cut -c1-12)

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,parquet,hf,report]" $(addprefix -e ,$(PLUGINS))
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/workbench demo

test: install
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo 'pytest ran no tests' >&2; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) .workbench
