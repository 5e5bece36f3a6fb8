# The README names these targets. PYTHON must be Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DEV_ENV := DJANGO_DEBUG=1

.PHONY: run setup test lint format migrations-check worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-dev: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed-dev  ## install, migrate, load demo data (embedded SQLite, in-process tasks)
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py load_demo

run: setup  ## the quick start: set up, then serve on http://127.0.0.1:8000
	@echo ""
	@echo "  Unity is starting on http://127.0.0.1:8000/"
	@echo "  Sign in: open http://127.0.0.1:8000/demo-login/ and pick demo-expert (or demo-admin for /admin/)."
	@echo ""
	$(DEV_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

# axe-core for the browser tests' accessibility checks (test-only; the app has no npm runtime dependency).
# Without npm the suite still runs; the accessibility checks then skip (and fail in CI).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: browser accessibility checks will be skipped"; fi

test: $(VENV)/.installed-dev node_modules/.installed  ## run the test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: $(VENV)/.installed-dev
	$(DEV_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

worker: $(VENV)/.installed-dev  ## a Celery worker on every queue (needs REDIS_URL)
	$(BIN)/celery -A unity worker -Q default,media,ranking,learning --loglevel=INFO

clean:
	rm -rf $(VENV) var staticfiles
