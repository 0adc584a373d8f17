# backprop-course: two commands for people (`make lab`, `make test`), a few for maintainers.
# Everything installs into .venv from nothing; a stamp file makes re-runs instant.

PYTHON ?= python3
# The course's matrices are small: one BLAS thread is faster than several fighting over
# two cores (measured 3-10x on small-network training). Kernels started by `make lab`
# and `make test` inherit these.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FIRST  := course/00_welcome.ipynb

.PHONY: install lab test test-fast bench present check notebooks exercises clean help

help:
	@echo "make lab        open JupyterLab on the first course notebook"
	@echo "make test       run every test and every course/solution notebook"
	@echo "make check NB=exercises/<name>.ipynb   check one exercise notebook"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make present    serve the playground as a Voila app on 127.0.0.1 (no code on screen)"
	@echo "make notebooks  re-execute course/ notebooks in place (keeps outputs)"
	@echo "make exercises  regenerate exercises/ from solutions/"

$(STAMP): pyproject.toml environment.yml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ needed, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[browser]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(FIRST)

NOTEBOOKS = $(wildcard course/*.ipynb solutions/*.ipynb)

test: $(STAMP)
	$(PY) -m pytest tests --nbval-lax --nbval-current-env $(NOTEBOOKS)

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow"

check: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make check NB=exercises/<name>.ipynb" && exit 2)
	$(PY) -m pytest -q --nbval-lax "$(NB)"

bench: $(STAMP)
	$(PY) bench/bench_train.py
	$(PY) bench/bench_grade.py
	$(PY) bench/bench_playground.py

# The playground as a Voila web app on 127.0.0.1 (no code on screen), in presenter mode.
# Another port: make present VOILA_PORT=8877
present: $(STAMP)
	BPCORE_PRESENT=1 $(VENV)/bin/voila course/playground.ipynb --Voila.ip=127.0.0.1 \
		--port=$${VOILA_PORT:-8866} --strip_sources=True

exercises: $(STAMP)
	$(PY) -m bpcore.assignments generate

notebooks: $(STAMP)
	$(PY) tools/run_notebooks.py course/*.ipynb

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
