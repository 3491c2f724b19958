# The two commands: `make run` (the portal with a demo estate) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The three local targets may fall back to the embedded database, broker and cache, and serve plain HTTP;
# nothing else may (see README "Production settings").
LOCAL := OKAMI_EMBEDDED=1 DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-0}

.PHONY: run test lint format bench install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Web + Celery worker + beat + embedded local AWS with a demo estate. Ctrl-C stops everything.
run: $(STAMP)
	$(LOCAL) DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py run_demo --host $(HOST) --port $(PORT)

## The whole suite: embedded defaults, or PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set.
test: $(STAMP)
	$(LOCAL) DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-not-secret} OKAMI_VAR_DIR=$${OKAMI_VAR_DIR:-$(CURDIR)/var/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(LOCAL) DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-bench-only-not-secret} $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf var staticfiles
