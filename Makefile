# Two commands do everything: `make demo` and `make test` (see README.md). `make help` lists the rest.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := chromium libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils
BENCH_PACKAGES := wrk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
# Production-like environment for `check --deploy` (throw-away values, generated on each run).
DEPLOY_ENV = DJANGO_SETTINGS_MODULE=espace_sante.settings.base ALLOWED_HOSTS=monespacesante.example \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DATA_ENCRYPTION_KEYS=k1:$$($(BIN)/python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())') \
	CODE_HASH_KEY=$$($(BIN)/python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())') \
	OIDC_RSA_PRIVATE_KEY="$$($(BIN)/python -c 'from espace_sante.settings._fixed_keys import throwaway_rsa_key; print(throwaway_rsa_key())')"

.PHONY: help demo test quality pytest system-deps services bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/pip.lock requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements/pip.lock
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock
	touch $@

# The independent FHIR R4 validator the tests run every API response through (HL7's R4 JSON schema, npm).
FHIR_VALIDATOR := tests/fhir_validator
$(FHIR_VALIDATOR)/node_modules/.installed: $(FHIR_VALIDATOR)/package-lock.json
	npm ci --prefix $(FHIR_VALIDATOR) --no-audit --no-fund --silent
	touch $@

venv: $(VENV)/.installed  ## Virtual environment with the locked dependencies

system-deps:  ## Debian packages: Chromium (browser tests), Pango/HarfBuzz subset and fonts (PDFs)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi

demo: $(VENV)/.installed  ## Portal with demo personas on http://127.0.0.1:8000 (SQLite, in-process tasks, mails in var/mails/)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py demo_seed
	$(BIN)/python manage.py runserver 127.0.0.1:8000

services:  ## Check that PostgreSQL and Redis answer on 127.0.0.1 (needed by the tests)
	@$(BIN)/python -c "import psycopg, os; psycopg.connect(os.environ.get('DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/postgres'), connect_timeout=5).close()" \
		|| { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (see README: docker compose -f deploy/services.compose.yml up -d)"; exit 1; }
	@$(BIN)/python -c "import redis, os; redis.Redis.from_url(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')).ping()" \
		|| { echo "Redis is not reachable on 127.0.0.1:6379 (see README: docker compose -f deploy/services.compose.yml up -d)"; exit 1; }

quality: $(VENV)/.installed  ## Lint, format, missing migrations, deployment checks under production settings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run -v1
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

pytest: $(VENV)/.installed $(FHIR_VALIDATOR)/node_modules/.installed  ## The pytest suite only (PostgreSQL + Redis + Chromium)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: $(VENV)/.installed system-deps services quality pytest  ## Whole suite: quality checks, then pytest on PostgreSQL, Redis and Chromium

bench: $(VENV)/.installed services  ## Benchmarks (not part of the tests): see bench/README.md (web ones: python -m bench web)
	@missing=""; for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	$(BIN)/python -m bench

clean:  ## Remove the virtual environment and local data
	rm -rf $(VENV) var staticfiles
