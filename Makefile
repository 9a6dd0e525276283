# Run-and-test entry points. Every target builds what it needs on a fresh clone.
#
#   make venv     .venv with the tap and its dev tools (pip install -e '.[dev]')
#   make plugins  meltano install (tap-acefone and target-postgres into .meltano/)
#   make demo     sandbox -> meltano run tap-acefone target-postgres -> report, twice
#   make test     the whole pytest suite, end-to-end tests included
#   make test-fast  the suite without the e2e tests
#   make e2e      only the e2e tests
#   make lint     ruff check + ruff format --check
#   make typecheck  mypy --strict over tap_acefone/ (pyproject.toml [tool.mypy])
#   make settings write meltano.yml's tap-acefone settings and the README's table from
#                 tap-acefone --about (the settings are described in tap_acefone/settings.py)
#   make bench    tap vs the physical floor (not a test; BENCH_ARGS=--quick for a smoke run)
#   make mutation mutmut over the modules that decide correctness, on a fixed sample (not a
#                 test; MUTATION_ARGS=--all for every mutant); make mutation-report reprints it
#   make clean    caches, installed plugins, build output (keeps .venv and Meltano's state);
#                 make distclean also removes .venv

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

VENV_STAMP    := $(VENV)/.tap-acefone-dev.stamp
PLUGINS_STAMP := .meltano/.tap-acefone-plugins.stamp

export MELTANO_SEND_ANONYMOUS_USAGE_STATS ?= false
export PIP_DISABLE_PIP_VERSION_CHECK ?= 1

.DEFAULT_GOAL := help
.PHONY: help venv plugins demo test test-fast e2e lint typecheck format settings readme bench clean \
	distclean mutation mutation-report

help:
	@sed -n '3,17p' Makefile | sed 's/^# \{0,1\}//'

venv: $(VENV_STAMP)

# Re-installs only when pyproject.toml changes (the tap itself is installed editable).
$(VENV_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

plugins: $(PLUGINS_STAMP)

$(PLUGINS_STAMP): $(VENV_STAMP) meltano.yml
	$(BIN)/meltano install
	@mkdir -p $(dir $@) && touch $@

demo: $(PLUGINS_STAMP)
	$(BIN)/python scripts/demo.py

test: $(PLUGINS_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(VENV_STAMP)
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

e2e: $(PLUGINS_STAMP)
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV_STAMP)
	$(BIN)/mypy

format: $(VENV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

settings: $(VENV_STAMP)
	$(BIN)/python scripts/generate_settings.py

readme: settings

# Not part of the test suite: tap vs the physical floor on the sandbox, one table (~35 min;
# BENCH_ARGS=--quick for a smoke run, --help for the rest).
bench: $(PLUGINS_STAMP)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# Not part of the test suite: mutmut (the [mutation] extra) over the [tool.mutmut] modules of
# pyproject.toml, every 20th mutant of each module (scripts/mutation_sample.py says why;
# MUTATION_ARGS=--all for the full set, which takes hours). Results stay in mutants/.
MUTATION_ARGS ?=
MUTATION_STAMP := $(VENV)/.tap-acefone-mutation.stamp

$(MUTATION_STAMP): $(VENV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	@touch $@

mutation: $(MUTATION_STAMP)
	nice -n 10 $(BIN)/python scripts/mutation_sample.py run $(MUTATION_ARGS)

mutation-report: $(MUTATION_STAMP)
	$(BIN)/python scripts/mutation_sample.py report --diffs $(MUTATION_ARGS)

# Keeps .meltano/meltano.db: it holds Meltano's incremental state for real syncs.
clean:
	rm -rf .meltano/extractors .meltano/loaders .meltano/run .meltano/logs $(PLUGINS_STAMP)
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis .tmp output build dist mutants
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
