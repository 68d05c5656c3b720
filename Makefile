# Two commands set everything up on a machine with only python3 and make:
#   make run   - create .venv, install, migrate, load the seeds, serve on http://127.0.0.1:$(PORT)
#   make test  - create .venv with the dev requirements and run the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
WORKERS ?= 1
export DEBUG ?= true

.PHONY: run test bench lint migrate clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_seeds
	$(PY) manage.py ensure_admin

run: migrate
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	$(VENV)/bin/uvicorn comments_project.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) --no-access-log

test: $(VENV)/.dev-installed
	$(PY) -m pytest

bench: $(VENV)/.dev-installed
	$(PY) -m benchmarks

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache test-db.sqlite3*
