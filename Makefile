# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export FOIL_RAW_DIR   ?= $(CURDIR)/raw
export FOIL_WAREHOUSE ?= $(CURDIR)/warehouse/analytics.duckdb
STATE  := $(dir $(FOIL_WAREHOUSE)).$(basename $(notdir $(FOIL_WAREHOUSE))).state

.PHONY: run test check lint venv dagster bench sample-check docs clean

# (Re)create the venv when it is missing, broken (e.g. Python moved) or older than the lock file.
$(STAMP): requirements.lock pyproject.toml
	@$(BIN)/python -c "import sys" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@echo "installing locked dependencies into $(VENV) (first time: ~1-2 min) …"
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# Publish, then write the report next to the published file (foil report prints where it is).
run: $(STAMP)
	$(BIN)/foil build
	$(BIN)/foil report

test: $(STAMP)
	$(BIN)/python -m pytest

# The fast tier to run while you work (readers, dbt unit tests, CLI without full builds); `make test` runs
# everything. Tests that build releases are marked slow in tests/conftest.py.
check: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

# ruff on the Python, sqlfluff on the dbt models. sqlfluff's dbt templater compiles the models, and some
# macros read seeds at compile time: the seeds load into a lint-only build database, and dbt's artifacts
# and logs go to dbt_project/target/sqlfluff, apart from the parse `foil build` reuses.
LINT_DBT_ENV := FOIL_BUILD_DB=$(CURDIR)/dbt_project/target/sqlfluff/build.duckdb DBT_TARGET_PATH=target/sqlfluff \
	DBT_LOG_PATH=target/sqlfluff/logs DBT_SEND_ANONYMOUS_USAGE_STATS=false
lint: $(STAMP)
	$(BIN)/ruff check .
	@mkdir -p dbt_project/target/sqlfluff
	cd dbt_project && $(LINT_DBT_ENV) ../$(BIN)/dbt seed --quiet --profiles-dir .
	cd dbt_project && $(LINT_DBT_ENV) ../$(BIN)/sqlfluff lint models --processes 2

# The Dagster UI (webserver + daemon with the release sensor) on http://127.0.0.1:3000
dagster: $(STAMP)
	@$(BIN)/python -c "import sys; from pathlib import Path; from pipelines.lib.instance import ensure_home; ensure_home(Path(sys.argv[1]))" $(STATE)/dagster_home
	DAGSTER_HOME=$(STATE)/dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# HOME, as in `foil build`: the profile opens ~/build.duckdb, and the parse stays reusable by builds.
# --static: one self-contained static_index.html (manifest and catalog inside) that opens from file://
docs: $(STAMP)
	cd dbt_project && HOME=$(STATE) ../$(BIN)/dbt docs generate --static --profiles-dir . --quiet
	@echo "dbt docs: file://$(CURDIR)/dbt_project/target/static_index.html (open it in a browser; no server needed)"

sample-check: $(STAMP)
	$(BIN)/python raw/_generator/generate_sample.py --check
	$(BIN)/python raw/_generator/gen_loadfile_release.py --check
	$(BIN)/python raw/_generator/gen_scanned_release.py --check
	$(BIN)/python raw/_generator/gen_office_release.py --check

bench: $(STAMP)
	$(BIN)/python bench/bench_build.py

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs .pytest_cache
