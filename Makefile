# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv if missing, (re)install only when the package's sources changed, and are idempotent.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# The Python that .python-version selects (pyenv resolves "3.12"), else the first 3.12+ on PATH.
BOOTPY  := $(shell for p in python$$(cat .python-version 2>/dev/null) python3.12 python3.13 python3; do \
             command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
             && { echo $$p; break; }; done)
SOURCES := pyproject.toml setup.py $(wildcard cyext/*.pyx cyext/*.pxd)
PYTEST_ARGS ?=

.PHONY: demo test install clean bench mutants

install: $(STAMP)

$(PY):
	@test -n "$(BOOTPY)" || { echo "error: Python 3.12 or newer not found (see .python-version)"; exit 2; }
	@echo "==> creating the virtual environment $(VENV) with $(BOOTPY) (first time only)"
	$(BOOTPY) -m venv $(VENV)
	@echo "==> upgrading pip"
	$(PY) -m pip install --quiet --upgrade pip

# Build requirements first, then an editable install without build isolation: quick to redo, and the
# compiled extension lands next to its sources so tests import exactly what was built.
$(STAMP): $(SOURCES) | $(PY)
	@echo "==> installing the build requirements (setuptools, Cython, numpy)"
	$(PY) -m pip install --quiet "setuptools>=69" "Cython>=3.0" "numpy>=1.26" wheel
	@echo "==> installing piracysim with Mesa, Dask, pandas, matplotlib... and compiling the engine"
	@echo "    (1-2 minutes the first time; later only when the engine's sources change)"
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test]"
	@echo "==> installed"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# --force: the demo replaces its own previous results/baseline, so it can be run again.
demo: $(STAMP)
	@echo "==> validating every scenario in scenarios/"
	$(VENV)/bin/piracysim validate scenarios/*.yaml
	@echo "==> running the baseline scenario (a 25-year warm-up, then 3 measured years) into results/baseline"
	$(VENV)/bin/piracysim run scenarios/baseline.yaml --out results/baseline --force

# Benchmarks print ratios measured side by side; they are never part of the tests (~10 minutes on 2 cores).
bench: $(STAMP)
	$(PY) benchmarks/bench_engines.py
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_sweep_memory.py
	$(PY) benchmarks/bench_api.py
	$(PY) benchmarks/bench_dashboard.py

# Mutation check of the behaviour tests (not part of `make test`, ~5 minutes on 2 cores): each named single-point
# mutation of the Mesa engine or the world compiler must make tests/test_rules_v2.py (and friends) fail.
mutants: $(STAMP)
	$(PY) tools/mutants.py

clean:
	rm -rf $(VENV) build *.egg-info cyext/*.c cyext/*.so
