# Daguerre — the two commands are `make run` and `make test`; both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Machines without a GPU take the CPU wheel; a CUDA user runs e.g.
#   make install TORCH_SPEC='torch --index-url https://download.pytorch.org/whl/cu124'
TORCH_SPEC ?= torch==2.13.0
# spandrel (upscale models; the `upscale` extra in pyproject.toml) without its dependencies:
# it requires torchvision, and pip would bring one built for another torch (on a CPU torch,
# CUDA torch itself). With no importable torchvision, Load Upscale Model says what to install.
SPANDREL_SPEC ?= spandrel==0.4.2 einops==0.8.2
STAMP := $(VENV)/.daguerre-installed

.PHONY: install run test lint bench screenshot clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev,cluster]'
	$(PY) -m pip install --quiet --no-deps $(SPANDREL_SPEC)
	touch $(STAMP)

run: install
	$(VENV)/bin/daguerre $(ARGS)

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

# ruff (style and bugs) and pyright (types; import cycles are errors): zero findings.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/pyright

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The app under Xvfb after a demo run (needs: apt-get install xvfb libxcb-cursor0
# libxcb-icccm4 libxcb-keysyms1); falls back to Qt's offscreen platform without it.
screenshot: install
	@if command -v xvfb-run >/dev/null; then \
		xvfb-run -a -s "-screen 0 1440x900x24" $(PY) -m desktop.screenshot docs/screenshot.png; \
	else \
		QT_QPA_PLATFORM=offscreen $(PY) -m desktop.screenshot docs/screenshot.png; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
