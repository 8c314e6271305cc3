"""Settings read from the environment, checked in fresh processes as an operator starts them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.servers import BASE_DIR

ROOT = BASE_DIR

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "MAILERS": s.MAILERS,
    "DEFAULT_FROM_EMAIL": s.DEFAULT_FROM_EMAIL,
    "SERVER_EMAIL": s.SERVER_EMAIL,
    "FRONTEND_URL": s.FRONTEND_URL,
    "DATABASE_ENGINE": s.DATABASES["default"]["ENGINE"],
    "DATABASE_NAME": str(s.DATABASES["default"]["NAME"]),
    "CHANNEL_BACKEND": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "CACHE_BACKEND": s.CACHES["default"]["BACKEND"],
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
}))
"""


def clean_env(**variables: str) -> dict[str, str]:
    """Only what a bare shell has, plus `variables`: nothing leaks in from the test run."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(variables)
    return env


def production(**variables: str) -> dict[str, str]:
    defaults = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "handoff.example.com",
        "FRONTEND_URL": "https://handoff.example.com",
    }
    return clean_env(**{**defaults, **variables})


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_in(env: dict[str, str]) -> dict[str, Any]:
    done = run(["-c", PRINT_SETTINGS], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_refused_with_one_line(done: subprocess.CompletedProcess[str], name: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0]
    assert "Traceback" not in done.stderr


# --- production refuses to start without its secrets ---------------------------------------


@pytest.mark.parametrize(
    "command",
    [["manage.py", "check"], ["-c", "import django; django.setup()"]],
    ids=["manage.py check", "django.setup"],
)
def test_production_without_secret_key_refuses_to_start_naming_it(command: list[str]) -> None:
    done = run(command, clean_env(DEBUG="0", ALLOWED_HOSTS="handoff.example.com"))

    assert_refused_with_one_line(done, "SECRET_KEY")


@pytest.mark.parametrize(
    "command",
    [["manage.py", "check"], ["-c", "import django; django.setup()"]],
    ids=["manage.py check", "django.setup"],
)
def test_production_without_allowed_hosts_refuses_to_start_naming_it(command: list[str]) -> None:
    done = run(command, clean_env(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50)))

    assert_refused_with_one_line(done, "ALLOWED_HOSTS")


def test_debug_is_off_unless_asked_for() -> None:
    done = run(["manage.py", "check"], clean_env())

    assert_refused_with_one_line(done, "SECRET_KEY")


def test_production_refuses_the_development_secret() -> None:
    env = clean_env(
        DEBUG="0",
        SECRET_KEY="django-insecure-handoff-development-only",
        ALLOWED_HOSTS="handoff.example.com",
    )

    assert_refused_with_one_line(run(["manage.py", "check"], env), "SECRET_KEY")


def test_daphne_refuses_to_start_without_secret_key() -> None:
    env = clean_env(DEBUG="0", ALLOWED_HOSTS="handoff.example.com")

    done = run(["-m", "daphne", "-p", "0", "config.asgi:application"], env)

    assert_refused_with_one_line(done, "SECRET_KEY")


def test_development_starts_with_nothing_set() -> None:
    done = run(["manage.py", "check"], clean_env(DEBUG="1"))

    assert done.returncode == 0, done.stderr


# --- check --deploy, as `make check-deploy` runs it ---------------------------------------------


def test_deploy_check_passes_with_production_settings() -> None:
    done = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production(SMTP_SERVER="smtp.example.com"),
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_deploy_check_passes_with_an_esp_instead_of_smtp() -> None:
    done = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production(EMAIL_PROVIDER="postmark", ANYMAIL_POSTMARK_SERVER_TOKEN="token"),
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_deploy_check_fails_when_production_would_only_print_emails() -> None:
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production())

    assert done.returncode != 0
    assert "console.EmailBackend" in done.stderr


@pytest.mark.parametrize(
    "frontend_url", [None, "http://handoff.example.com", "https://localhost:8000"]
)
def test_deploy_check_fails_when_email_links_would_not_reach_the_console(
    frontend_url: str | None,
) -> None:
    env = production(SMTP_SERVER="smtp.example.com")
    if frontend_url is None:
        del env["FRONTEND_URL"]
    else:
        env["FRONTEND_URL"] = frontend_url

    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert done.returncode != 0
    assert "handoff.W001" in done.stderr


def test_blank_allowed_hosts_count_as_missing() -> None:
    assert_refused_with_one_line(
        run(["manage.py", "check"], production(ALLOWED_HOSTS=" , ")), "ALLOWED_HOSTS"
    )


def test_deploy_check_fails_with_a_short_secret_key() -> None:
    env = production(SMTP_SERVER="smtp.example.com", SECRET_KEY="short")

    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert done.returncode != 0
    assert "security.W009" in done.stderr


def test_production_cookies_are_secure_and_http_redirects() -> None:
    applied = settings_in(production(SMTP_SERVER="smtp.example.com"))

    assert applied["DEBUG"] is False
    assert applied["SESSION_COOKIE_SECURE"] is True
    assert applied["CSRF_COOKIE_SECURE"] is True
    assert applied["SECURE_SSL_REDIRECT"] is True
    assert applied["ALLOWED_HOSTS"] == ["handoff.example.com"]


# --- the seed's variable names -------------------------------------------------------------------


def test_seed_smtp_variables_configure_the_mailer() -> None:
    applied = settings_in(
        production(
            SMTP_SERVER="smtp.seed.example",
            SMTP_PORT="2525",
            SMTP_USER="mailer",
            SMTP_PASSWORD="s3cret",
            SMTP_USE_TLS="false",
            FROM_EMAIL="Support <support@seed.example>",
            FRONTEND_URL="https://support.seed.example/",
        )
    )

    mailer = applied["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"]["host"] == "smtp.seed.example"
    assert mailer["OPTIONS"]["port"] == 2525
    assert mailer["OPTIONS"]["username"] == "mailer"
    assert mailer["OPTIONS"]["password"] == "s3cret"
    assert mailer["OPTIONS"]["use_tls"] is False
    assert applied["DEFAULT_FROM_EMAIL"] == "Support <support@seed.example>"
    assert applied["SERVER_EMAIL"] == "Support <support@seed.example>"
    assert applied["FRONTEND_URL"] == "https://support.seed.example"


def test_smtp_defaults_to_port_587_with_tls() -> None:
    applied = settings_in(production(SMTP_SERVER="smtp.seed.example"))

    options = applied["MAILERS"]["default"]["OPTIONS"]
    assert options["port"] == 587
    assert options["use_tls"] is True


def test_without_smtp_server_development_prints_mails() -> None:
    applied = settings_in(clean_env(DEBUG="1"))

    assert applied["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }


def test_esp_name_picks_the_anymail_backend() -> None:
    applied = settings_in(production(EMAIL_PROVIDER="Mailgun", SMTP_SERVER="ignored.example"))

    backend = applied["MAILERS"]["default"]["BACKEND"]
    assert backend == "anymail.backends.mailgun.EmailBackend"


# --- databases, Redis, hosts ---------------------------------------------------------------------


def test_embedded_defaults_are_sqlite_in_memory_layer_and_local_cache() -> None:
    applied = settings_in(clean_env(DEBUG="1"))

    assert applied["DATABASE_ENGINE"] == "django.db.backends.sqlite3"
    assert applied["CHANNEL_BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert applied["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_database_url_and_redis_url_switch_to_postgresql_and_redis() -> None:
    applied = settings_in(
        clean_env(
            DEBUG="1",
            DATABASE_URL="postgres://handoff:pw@db.example:5432/handoff_prod",
            REDIS_URL="redis://cache.example:6379/0",
        )
    )

    assert applied["DATABASE_ENGINE"] == "django.db.backends.postgresql"
    assert applied["DATABASE_NAME"] == "handoff_prod"
    assert applied["CHANNEL_BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert applied["CACHE_BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_hosts_and_trusted_origins_are_comma_separated_lists() -> None:
    applied = settings_in(
        production(
            ALLOWED_HOSTS="a.example.com,b.example.com",
            CSRF_TRUSTED_ORIGINS="https://a.example.com,https://b.example.com",
        )
    )

    assert applied["ALLOWED_HOSTS"] == ["a.example.com", "b.example.com"]
    assert applied["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]


# --- encryption at rest -------------------------------------------------------------------------


def test_a_bad_encryption_key_stops_start_up_with_one_line() -> None:
    good = Fernet.generate_key().decode()
    env = production(FIELD_ENCRYPTION_KEYS=f"{good},not-a-key", FIELD_HASH_KEY="h" * 32)

    done = run(["manage.py", "check"], env)

    assert_refused_with_one_line(done, "FIELD_ENCRYPTION_KEYS: key 2")


def test_encryption_keys_without_a_hash_key_stop_start_up_naming_it() -> None:
    env = production(FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode())

    assert_refused_with_one_line(run(["manage.py", "check"], env), "FIELD_HASH_KEY")


def test_valid_encryption_keys_start() -> None:
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    env = production(FIELD_ENCRYPTION_KEYS=keys, FIELD_HASH_KEY=secrets.token_urlsafe(32))

    done = run(["manage.py", "check"], env)

    assert done.returncode == 0, done.stderr
