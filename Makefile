# Two commands set everything up on a machine with only python3 and make:
#   make run   - create .venv, install, migrate, load the seeds, serve on http://127.0.0.1:$(PORT)
#                (gunicorn for pages and the API, uvicorn for event streams, nginx in front)
#   make test  - create .venv with the dev requirements and run the tests
# make serve   - the same processes against the DATABASE_URL / REDIS_URL of the environment
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
export DEBUG ?= true
# The production shape (deploy/Procfile) under honcho, with the virtualenv's programs on PATH.
# NUM_PROXIES (default 1 there: nginx) reaches both servers; set it to 2 behind a load balancer.
HONCHO = PATH="$(abspath $(VENV))/bin:$$PATH" LISTEN=$(HOST):$(PORT) $(VENV)/bin/honcho -f deploy/Procfile start

# Extra arguments for the HTTP benchmark, e.g. make bench BENCH_ARGS="--duration 5 --comments 1000000"
BENCH_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The host news site (tests/host_project) on the installed wheel, in a clean virtualenv; e.g.
#   make test-host HOST_DATABASES="sqlite postgres://postgres@127.0.0.1:5432/comments_host"
HOST_DATABASES ?=

.PHONY: run serve nginx-installed test-tools test test-host bench soak profile wrk lint migrate clean

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

# nginx comes from Debian's package; make installs it when it runs as root.
nginx-installed:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "nginx is missing: install Debian's package (sudo apt-get install nginx), or run make as root." >&2; \
	    exit 1; \
	  fi; \
	  echo "Installing Debian's nginx (it serves in front of the web and stream processes)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	fi

# Two web workers are plenty on a laptop; in production gunicorn's default is 2 per CPU.
run: export WEB_CONCURRENCY ?= 2
run: nginx-installed migrate
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	$(HONCHO)

serve: $(VENV)/.installed nginx-installed
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(HONCHO)

# The browser tests drive Debian's chromium (with fonts for Armenian and Cyrillic) and the
# deployment test starts Debian's nginx: make installs what is missing when it runs as root;
# otherwise it says what to install (outside CI those tests are then skipped, under CI=true they fail).
test-tools:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/noto ] || missing="$$missing fonts-noto-core"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's$$missing for the browser and deployment tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing for some tests:$$missing (sudo apt-get install$$missing)" >&2; \
	  fi; \
	fi

test: $(VENV)/.dev-installed test-tools
	$(PY) -m pytest

test-host: $(VENV)/.dev-installed
	PYTHON=$(PY) bash tests/host_project/run $(HOST_DATABASES)

# The load generator comes from Debian (a C program: far more load per core than a Python client).
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }

# HTTP: thread reads, counts and posting against the ceiling (benchmarks/http.py); then event streams.
bench: $(VENV)/.dev-installed wrk
	$(PY) -m benchmarks.http $(BENCH_ARGS)
	$(PY) -m benchmarks

# Five minutes of mixed load on the production shape (2 web workers, 200 open streams, writers in
# busy threads), then no 5xx, exact counts and flat memory; against DATABASE_URL / REDIS_URL when
# set (the issue's shape: PostgreSQL and Redis), else the embedded default. SOAK_ARGS="--minutes 1" to shorten.
SOAK_ARGS ?=
soak: $(VENV)/.dev-installed nginx-installed
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

# py-spy profiles of W1, W2 and W3 on the recommended deployment, into var/profiles/.
profile: $(VENV)/.dev-installed wrk
	$(PY) -m benchmarks.http --profile $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache test-db.sqlite3*
