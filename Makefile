# Handoff: `make run` serves the demo, `make test` runs everything CI runs.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format bench chromium venv demo migrate check-deploy messages compilemessages check-translations

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
	$(BIN)/python scripts/check_translations.py

# Translations (docs/languages.md). The shipped languages other than English, the source
# language; the lists live in scripts/check_translations.py (LOCALES) too.
LOCALES := de fr es pt_BR ar
MESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=bench --ignore=node_modules \
	--ignore=staticfiles --ignore=locale

# Every marked string into locale/<lang>/LC_MESSAGES/django.po (Python, templates) and
# djangojs.po (static/console/console.js); then translate the new entries.
messages: venv
	DEBUG=1 $(BIN)/python manage.py makemessages $(addprefix -l ,$(LOCALES)) \
	  $(MESSAGES_IGNORE) --add-location=file --no-obsolete
	DEBUG=1 $(BIN)/python manage.py makemessages -d djangojs $(addprefix -l ,$(LOCALES)) \
	  $(MESSAGES_IGNORE) --ignore=static/widget --add-location=file --no-obsolete

# The .mo files are committed (so `make run` needs no gettext); `make lint` fails on a
# stale one.
compilemessages: venv
	DEBUG=1 $(BIN)/python manage.py compilemessages $(addprefix -l ,$(LOCALES)) \
	  --ignore=.venv --ignore=node_modules

check-translations: venv
	$(BIN)/python scripts/check_translations.py

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
