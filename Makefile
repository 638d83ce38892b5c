# pipekit: two set-up commands (see README):
#   make demo   creates .venv, installs pipekit, runs the example analysis end to end
#   make test   creates .venv, installs pipekit[test], runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test venv bench lint clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	touch $@

$(VENV)/.installed-base: $(VENV)/.created setup.cfg pyproject.toml
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.created setup.cfg pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@ $(VENV)/.installed-base $(VENV)/.installed-demo

venv: $(VENV)/.installed-base

$(VENV)/.installed-demo: $(VENV)/.created setup.cfg pyproject.toml
	$(PIP) install -q -e '.[matplotlib]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-demo
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) examples/demo/run_demo.py

test: $(VENV)/.installed-test
	@# the venv imports Debian's gfal2 bindings when installed (.ci/run installs them before .venv exists)
	@tests/infra/gfal2.sh shim $(VENV)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-base
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(PIP) install -q ruff
	$(VENV)/bin/ruff check pipekit tests bench examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
