# Two commands on a fresh machine:  `make run` (install + materialize everything on the sample
# profile) and `make test`. `make ui` opens the Dagster UI on http://127.0.0.1:3000.
# The venv is installed exactly from requirements.lock (pinned, hashed); `make lock` regenerates it.
VENV ?= .venv
PYTHON ?= python3
TOOLS ?= .venv-tools
PIP_TOOLS ?= pip-tools==7.6.2
SQL ?= select * from bigmath_funnel
export SQL  # read by the shell as $$SQL, so any quotes inside the query survive
LOCK_FLAGS ?=
export DAGSTER_HOME := $(CURDIR)
export GX_ANALYTICS_ENABLED := False

.PHONY: install lock run test ui summary query benchmarks clean

install: $(VENV)/.installed

# Rebuilt from scratch whenever the lock (or the project's metadata) changes, so the venv holds
# exactly the lock: nothing left over from an older one. `pip check` fails on a stale lock (a
# dependency in pyproject.toml that the lock lacks).
$(VENV)/.installed: requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(VENV)/bin/python -m pip check
	touch $@

# Regenerate requirements.lock from pyproject.toml (runtime + dev and train extras + the editable build's
# setuptools), with hashes. Existing pins are kept unless a constraint moved;
# `make lock LOCK_FLAGS=--upgrade` takes the newest allowed versions.
lock: $(TOOLS)/bin/pip-compile
	$(TOOLS)/bin/pip-compile --quiet --extra dev --extra train --build-deps-for editable --generate-hashes --strip-extras \
		--allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) -o requirements.lock pyproject.toml

$(TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet '$(PIP_TOOLS)'

run: install
	$(VENV)/bin/python -m assets.materialize  # every asset and every partition, in dependency order, no daemon
	$(VENV)/bin/foundry summary

test: install
	$(VENV)/bin/pytest -q

ui: install
	$(VENV)/bin/dagster dev -m assets.definitions -h 127.0.0.1 -p 3000

# every warehouse view with its row count
summary: install
	$(VENV)/bin/foundry summary

# SQL over the warehouse views:  make query SQL="select step, rows_kept from bigmath_funnel"
query: install
	$(VENV)/bin/foundry query "$$SQL"

benchmarks: install
	$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf var
