"""Operator commands: create_chatbot, demo, and the pieces `make run` is made of."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from chatbots.models import Chatbot, FAQEntry
from chatbots.selectors import DEMO_CHATBOT_NAME
from support.management.commands.demo import DEMO_AGENT, DEMO_FAQ
from support.permissions import AGENTS_GROUP
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, UserFactory
from tests.servers import BASE_DIR, process_env

ROOT = BASE_DIR
MANAGE = [sys.executable, "manage.py"]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- create_chatbot ------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_chatbot_prints_the_key_on_its_last_line() -> None:
    AgentFactory(username="alice")
    AgentFactory(username="bob")

    output = run(
        "create_chatbot",
        "Shop bot",
        "--admin-email",
        "help@shop.example",
        "--agent",
        "alice",
        "--agent",
        "bob",
        "--origin",
        "https://www.shop.example",
        "--origin",
        "http://localhost:8000/",
    )

    key = output.strip().splitlines()[-1]
    chatbot = Chatbot.objects.get(key=key)
    assert chatbot.name == "Shop bot"
    assert chatbot.admin_email == "help@shop.example"
    assert sorted(chatbot.agents.values_list("username", flat=True)) == ["alice", "bob"]
    assert chatbot.allowed_origins == ["https://www.shop.example", "http://localhost:8000"]
    assert chatbot.is_active
    assert len(key) >= 16


@pytest.mark.django_db
def test_create_chatbot_puts_its_agents_in_the_agents_group() -> None:
    alice = AgentFactory(username="alice")

    run("create_chatbot", "Shop bot", "--admin-email", "help@shop.example", "--agent", "alice")

    assert alice.groups.filter(name=AGENTS_GROUP).exists()


@pytest.mark.django_db
def test_create_chatbot_with_a_missing_agent_names_it_and_creates_nothing() -> None:
    AgentFactory(username="alice")

    with pytest.raises(CommandError, match="No such user: ghost"):
        run(
            "create_chatbot",
            "Shop bot",
            "--admin-email",
            "help@shop.example",
            "--agent",
            "alice",
            "--agent",
            "ghost",
        )

    assert not Chatbot.objects.exists()


@pytest.mark.django_db
def test_create_chatbot_with_an_invalid_email_is_refused() -> None:
    with pytest.raises(CommandError, match="admin_email"):
        run("create_chatbot", "Shop bot", "--admin-email", "not-an-email")

    assert not Chatbot.objects.exists()


@pytest.mark.django_db
def test_create_chatbot_without_an_admin_email_is_refused() -> None:
    with pytest.raises(CommandError, match="admin-email"):
        run("create_chatbot", "Shop bot")


@pytest.mark.django_db
def test_create_chatbot_with_an_origin_that_has_a_path_is_refused() -> None:
    with pytest.raises(CommandError, match="is not an origin"):
        run(
            "create_chatbot",
            "Shop bot",
            "--admin-email",
            "help@shop.example",
            "--origin",
            "https://shop.example/page",
        )

    assert not Chatbot.objects.exists()


@pytest.mark.django_db
def test_create_chatbot_refuses_an_agent_who_is_not_staff() -> None:
    UserFactory(username="carol")

    with pytest.raises(CommandError, match="carol"):
        run("create_chatbot", "Shop bot", "--admin-email", "help@shop.example", "--agent", "carol")

    assert not Chatbot.objects.exists()


def test_create_chatbot_in_a_subprocess_prints_the_key_last(tmp_path: Path) -> None:
    """As an operator runs it: a shell, a fresh database, the key for the embed snippet."""
    env = embedded_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )

    done = subprocess.run(
        [sys.executable, "manage.py", "create_chatbot", "Shop", "--admin-email", "a@shop.example"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    missing = subprocess.run(
        [*MANAGE, "create_chatbot", "Shop", "--admin-email", "a@b.example", "--agent", "nobody"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    key = done.stdout.strip().splitlines()[-1]
    assert " " not in key
    assert len(key) >= 16
    assert missing.returncode != 0
    assert "No such user: nobody" in missing.stderr


# --- demo ------------------------------------------------------------------------------------


@pytest.fixture
def development(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run`'s DEBUG=1 (pytest-django turns DEBUG off), no password given."""
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_AGENT_PASSWORD", raising=False)


@pytest.mark.django_db
def test_demo_prints_the_agent_login_and_password(development: None) -> None:
    output = run("demo", "--port", "8123")

    assert f"Agent login:   {DEMO_AGENT} / handoff-demo-agent" in output
    assert "http://localhost:8123/demo/" in output
    agent = get_user_model().objects.get(username=DEMO_AGENT)
    assert agent.check_password("handoff-demo-agent")
    assert agent.is_staff


@pytest.mark.django_db
def test_demo_is_idempotent(development: None) -> None:
    first = run("demo", "--port", "8000")
    second = run("demo", "--port", "8000")

    chatbot = Chatbot.objects.get()
    assert chatbot.name == DEMO_CHATBOT_NAME
    assert get_user_model().objects.filter(username=DEMO_AGENT).count() == 1
    assert get_user_model().objects.count() == 1
    assert FAQEntry.objects.filter(chatbot=chatbot).count() == len(DEMO_FAQ)
    assert list(chatbot.agents.values_list("username", flat=True)) == [DEMO_AGENT]
    assert sorted(chatbot.allowed_origins) == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert first.splitlines()[-1] == second.splitlines()[-1] == f"Chatbot key:   {chatbot.key}"


@pytest.mark.django_db
def test_demo_agent_can_use_the_admin_for_the_demo_chatbot(development: None) -> None:
    run("demo")

    agent = get_user_model().objects.get(username=DEMO_AGENT)
    assert agent.groups.filter(name=AGENTS_GROUP).exists()
    assert agent.has_perm("support.view_supportrequest")
    assert list(Chatbot.objects.served_by(agent)) == [Chatbot.objects.get()]


@pytest.mark.django_db
def test_demo_with_debug_off_refuses_the_public_default_password(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = False
    monkeypatch.delenv("DEMO_AGENT_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="DEMO_AGENT_PASSWORD"):
        run("demo")

    assert not get_user_model().objects.exists()
    assert not Chatbot.objects.exists()


@pytest.mark.django_db
def test_demo_uses_the_password_it_is_given(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DEBUG = False
    monkeypatch.setenv("DEMO_AGENT_PASSWORD", "a-private-demo-password")

    output = run("demo")

    assert f"Agent login:   {DEMO_AGENT} / a-private-demo-password" in output
    assert (
        get_user_model().objects.get(username=DEMO_AGENT).check_password("a-private-demo-password")
    )


@pytest.mark.django_db
def test_demo_takes_the_oldest_chatbot_of_its_name_when_another_has_it_too(
    development: None,
) -> None:
    run("demo")
    demo = Chatbot.objects.get()
    ChatbotFactory(name=DEMO_CHATBOT_NAME)  # an operator's chatbot of the same name

    output = run("demo")

    assert output.splitlines()[-1] == f"Chatbot key:   {demo.key}"
    assert Chatbot.objects.count() == 2


@pytest.mark.django_db
def test_demo_reactivates_its_agent_so_that_the_printed_login_works(development: None) -> None:
    run("demo")
    get_user_model().objects.filter(username=DEMO_AGENT).update(is_active=False)

    run("demo")

    agent = get_user_model().objects.get(username=DEMO_AGENT)
    assert agent.is_active
    assert Client().login(username=DEMO_AGENT, password="handoff-demo-agent")


@pytest.mark.django_db
def test_demo_refuses_to_reset_a_superuser_named_like_its_agent(development: None) -> None:
    SuperuserFactory(username=DEMO_AGENT, password="the-owners-own")

    with pytest.raises(CommandError, match="superuser"):
        run("demo")

    assert get_user_model().objects.get(username=DEMO_AGENT).check_password("the-owners-own")
    assert not Chatbot.objects.exists()


# --- make run's pieces -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """`make run`'s environment: DEBUG on, an SQLite file, no Redis."""
    return process_env(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra)


def wait_for_http(url: str, deadline: float) -> requests.Response:
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_makefile_run_target_migrates_seeds_and_starts_scripts_run() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8765"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert (ROOT / "scripts" / "run.py").is_file()
    assert "manage.py migrate" in dry
    assert "manage.py demo --port 8765" in dry
    assert "PORT=8765" in dry
    assert "scripts/run.py" in dry
    assert "PORT ?= 8000" in makefile


def test_run_script_serves_the_demo_and_stops_daphne_the_worker_and_the_scheduler_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = embedded_env(tmp_path, PORT=str(port))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    seeded = subprocess.run(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    demo_key = seeded.stdout.strip().splitlines()[-1].split()[-1]
    log = (tmp_path / "run.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 60)
        config = requests.get(f"http://127.0.0.1:{port}/api/chatbots/{demo_key}/config", timeout=5)
        children = psutil.Process(runner.pid).children()
        commands = [" ".join(child.cmdline()) for child in children]

        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()

    assert health.status_code == 200
    assert config.status_code == 200
    assert config.json()["name"] == DEMO_CHATBOT_NAME
    assert any("daphne" in c and str(port) in c for c in commands), commands
    assert any("db_worker" in c for c in commands), commands
    assert any("run_scheduler" in c for c in commands), commands
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], (tmp_path / "run.log").read_text()
    assert runner.returncode == 0, (tmp_path / "run.log").read_text()


def test_procfile_runs_the_scheduler_as_its_own_process_type() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()

    assert "scheduler: python manage.py run_scheduler" in lines


# --- resend_failed_emails --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-1", "soon"])
def test_resend_failed_emails_refuses_a_bad_age_with_a_usage_error(bad: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "resend_failed_emails", "--stale", "--older-than", bad],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=process_env(DEBUG="1"),
    )
    assert done.returncode == 2
    assert "--older-than" in done.stderr
    assert "Traceback" not in done.stderr
