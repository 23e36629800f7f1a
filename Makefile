# Two commands on a fresh machine:  `make run` (install + materialize everything on the sample
# profile) and `make test`. `make ui` opens the Dagster UI on http://127.0.0.1:3000.
VENV ?= .venv
PYTHON ?= python3
export DAGSTER_HOME := $(CURDIR)
export GX_ANALYTICS_ENABLED := False

.PHONY: install run test ui benchmarks clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,train]'
	touch $@

run: install
	$(VENV)/bin/dagster job execute -m assets.definitions -j foundry_all
	$(VENV)/bin/foundry summary

test: install
	$(VENV)/bin/pytest -q

ui: install
	$(VENV)/bin/dagster dev -m assets.definitions -h 127.0.0.1 -p 3000

benchmarks: install
	$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf var
