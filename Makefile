# Handoff: `make run` serves the demo, `make test` runs everything CI runs.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format bench chromium venv demo migrate check-deploy

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

migrate: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=1 $(BIN)/python manage.py demo --port $(PORT)

run: demo
	DEBUG=1 PORT=$(PORT) $(BIN)/python scripts/run.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-deploy: venv
	DEBUG=0 SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-production-secret-value-xyz \
	  ALLOWED_HOSTS=handoff.example.com FRONTEND_URL=https://handoff.example.com \
	  SMTP_SERVER=smtp.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

test: venv chromium lint check-deploy
	bash scripts/test.sh

bench: venv
	$(BIN)/python bench/ws_chat.py
	$(BIN)/python bench/ws_chat.py --targets b1,h --pairs 1 --rate 5 --seconds 20
	$(BIN)/python bench/ws_chat.py --targets h --pairs 100 --seconds 15 --console-readers 4
	$(BIN)/python bench/ws_chat.py --ramp
	$(BIN)/python bench/ws_chat.py --ramp --layer pubsub
	$(BIN)/python bench/ws_idle.py
	$(BIN)/python bench/http_post.py
