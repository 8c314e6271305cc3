"""The operators' chatbot API: GET/POST /api/chatbots, GET/PATCH /api/chatbots/{key}.

Staff only. A superuser lists and creates every chatbot; an agent lists, reads and
changes only the chatbots they serve, and may neither create one nor change its agents.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chatbots.models import Chatbot
from tests.factories import AgentFactory, UserFactory
from tests.helpers import Scene, agent_client, agent_client_with_csrf, assert_error

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "visitor", "other visitor", "agent", "other agent", "superuser", "non-staff")


def answers(**by_role: int) -> list[Any]:
    names = {role.replace(" ", "_").replace("-", "_"): role for role in ROLES}
    assert set(by_role) == set(names), "every role must be answered"
    return [
        pytest.param(names[key], status, id=f"{names[key]} gets {status}")
        for key, status in by_role.items()
    ]


@pytest.fixture
def callers(scene: Scene) -> dict[str, APIClient]:
    return {
        "anonymous": APIClient(),
        "visitor": scene.visitor.client,
        "other visitor": scene.other_visitor.client,
        "agent": agent_client_with_csrf(scene.agent),
        "other agent": agent_client_with_csrf(scene.other_agent),
        "superuser": agent_client_with_csrf(scene.superuser),
        "non-staff": agent_client_with_csrf(UserFactory()),
    }


def new_chatbot(**extra: Any) -> dict[str, Any]:
    return {"name": "Shop bot", "admin_email": "owner@shop.example", **extra}


def detail(scene: Scene) -> str:
    return f"/api/chatbots/{scene.chatbot.key}"


def fresh(chatbot: Chatbot) -> Chatbot:
    return Chatbot.objects.get(pk=chatbot.pk)


# --- list -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401,
        visitor=403,
        other_visitor=403,
        agent=200,
        other_agent=200,
        superuser=200,
        non_staff=403,
    ),
)
def test_chatbot_list_answers_staff_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get("/api/chatbots")
    assert response.status_code == status
    if status != 200:
        assert response.json()["detail"]


def test_chatbot_list_shows_an_agent_only_the_chatbots_they_serve(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    def keys(role: str) -> list[str]:
        return [c["key"] for c in callers[role].get("/api/chatbots").json()["chatbots"]]

    assert keys("agent") == [scene.chatbot.key]
    assert keys("other agent") == [scene.other_chatbot.key]
    assert keys("superuser") == [scene.chatbot.key, scene.other_chatbot.key]


def test_chatbot_list_shows_the_fields_operators_need(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    (shown,) = callers["agent"].get("/api/chatbots").json()["chatbots"]
    assert shown["admin_email"] == scene.chatbot.admin_email
    assert shown["agents"] == [scene.agent.username]
    assert shown["allowed_origins"] == ["https://customer.example"]


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401,
        visitor=403,
        other_visitor=403,
        agent=403,
        other_agent=403,
        superuser=201,
        non_staff=403,
    ),
)
def test_chatbot_create_answers_superusers_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    before = Chatbot.objects.count()
    response = callers[role].post("/api/chatbots", new_chatbot(), format="json")
    assert response.status_code == status
    if status == 201:
        created = Chatbot.objects.get(key=response.json()["key"])
        assert (created.name, created.admin_email) == ("Shop bot", "owner@shop.example")
        assert Chatbot.objects.count() == before + 1
    else:
        assert response.json()["detail"]
        assert Chatbot.objects.count() == before


def test_chatbot_create_generates_an_unguessable_key_and_ignores_a_given_one(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["superuser"].post(
        "/api/chatbots", new_chatbot(key="chosen-key"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["key"] != "chosen-key"
    assert len(response.json()["key"]) >= 16


def test_chatbot_create_without_admin_email_is_400_naming_the_field(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["superuser"].post("/api/chatbots", {"name": "No email"}, format="json")
    assert response.status_code == 400
    assert "admin_email" in response.json()["errors"]
    assert not Chatbot.objects.filter(name="No email").exists()


@pytest.mark.parametrize("bad", ["", "not-an-email", "a@b", None, "x" * 250 + "@example.com"])
def test_chatbot_create_with_an_invalid_admin_email_is_400(
    scene: Scene, callers: dict[str, APIClient], bad: Any
) -> None:
    response = callers["superuser"].post(
        "/api/chatbots", new_chatbot(admin_email=bad), format="json"
    )
    assert response.status_code == 400
    assert "admin_email" in response.json()["errors"]


def test_superuser_creates_a_chatbot_with_agents_and_origins(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["superuser"].post(
        "/api/chatbots",
        new_chatbot(agents=[scene.agent.username], allowed_origins=["https://shop.example/"]),
        format="json",
    )
    assert response.status_code == 201
    created = Chatbot.objects.get(key=response.json()["key"])
    assert list(created.agents.all()) == [scene.agent]
    assert created.allowed_origins == ["https://shop.example"]


def test_chatbot_agents_must_be_staff_users(scene: Scene, callers: dict[str, APIClient]) -> None:
    plain = UserFactory()
    response = callers["superuser"].post(
        "/api/chatbots", new_chatbot(agents=[plain.username]), format="json"
    )
    assert response.status_code == 400
    assert "agents" in response.json()["errors"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://shop.example/", "https://shop.example"),
        ("HTTPS://Shop.Example", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("*", "*"),
    ],
)
def test_chatbot_origins_are_stored_as_browsers_send_them(
    scene: Scene, callers: dict[str, APIClient], given: str, stored: str
) -> None:
    response = callers["agent"].patch(detail(scene), {"allowed_origins": [given]}, format="json")
    assert response.status_code == 200
    assert fresh(scene.chatbot).allowed_origins == [stored]


@pytest.mark.parametrize(
    "bad",
    [
        "shop.example",
        "https://shop.example/path",
        "ftp://x.example",
        "https://shop.example:99999",
        "https://user@shop.example",
        "https://shop.example/?q=1",
    ],
)
def test_chatbot_origins_must_be_origins(
    scene: Scene, callers: dict[str, APIClient], bad: str
) -> None:
    response = callers["superuser"].post(
        "/api/chatbots", new_chatbot(allowed_origins=[bad]), format="json"
    )
    assert response.status_code == 400
    assert "allowed_origins" in response.json()["errors"]


# --- read -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401,
        visitor=403,
        other_visitor=403,
        agent=200,
        other_agent=404,
        superuser=200,
        non_staff=403,
    ),
)
def test_chatbot_detail_answers_the_staff_who_serve_it(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get(detail(scene))
    assert response.status_code == status
    if status == 200:
        assert response.json()["key"] == scene.chatbot.key
        assert response.json()["admin_email"] == scene.chatbot.admin_email


def test_chatbot_detail_of_an_unknown_key_is_404(callers: dict[str, APIClient]) -> None:
    assert callers["superuser"].get("/api/chatbots/no-such-key").status_code == 404


# --- change -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401,
        visitor=403,
        other_visitor=403,
        agent=200,
        other_agent=404,
        superuser=200,
        non_staff=403,
    ),
)
def test_chatbot_patch_answers_the_staff_who_serve_it(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].patch(detail(scene), {"name": "Renamed"}, format="json")
    assert response.status_code == status
    expected = "Renamed" if status == 200 else scene.chatbot.name
    assert fresh(scene.chatbot).name == expected


def test_agent_changes_admin_email_welcome_and_origins_of_their_chatbot(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["agent"].patch(
        detail(scene),
        {
            "admin_email": "new-owner@shop.example",
            "welcome_text": "Hello!",
            "allowed_origins": ["https://www.shop.example"],
        },
        format="json",
    )
    assert response.status_code == 200
    row = fresh(scene.chatbot)
    assert row.admin_email == "new-owner@shop.example"
    assert row.welcome_text == "Hello!"
    assert row.allowed_origins == ["https://www.shop.example"]


def test_agent_cannot_change_the_agents_of_their_chatbot(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    newcomer = AgentFactory()
    response = callers["agent"].patch(
        detail(scene), {"agents": [scene.agent.username, newcomer.username]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["agents"] == [
        "Only a superuser may change a chatbot's agents."
    ]
    assert list(fresh(scene.chatbot).agents.all()) == [scene.agent]


def test_agent_cannot_remove_themselves_from_their_chatbot_either(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["agent"].patch(detail(scene), {"agents": []}, format="json")
    assert response.status_code == 400
    assert list(fresh(scene.chatbot).agents.all()) == [scene.agent]


def test_agent_may_patch_back_the_chatbot_as_read_including_its_unchanged_agents(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    as_read = callers["agent"].get(detail(scene)).json()
    as_read["welcome_text"] = "Changed"
    response = callers["agent"].patch(detail(scene), as_read, format="json")
    assert response.status_code == 200
    assert fresh(scene.chatbot).welcome_text == "Changed"
    assert list(fresh(scene.chatbot).agents.all()) == [scene.agent]


@pytest.mark.parametrize("caller", ["agent", "superuser"])
def test_a_chatbot_read_with_a_deactivated_agent_can_be_patched_back(
    scene: Scene, callers: dict[str, APIClient], caller: str
) -> None:
    retired = AgentFactory(is_active=False)
    scene.chatbot.agents.add(retired)
    as_read = callers[caller].get(detail(scene)).json()
    assert retired.username in as_read["agents"]
    as_read["welcome_text"] = "Changed"

    response = callers[caller].patch(detail(scene), as_read, format="json")

    assert response.status_code == 200, response.json()
    assert fresh(scene.chatbot).welcome_text == "Changed"
    assert set(fresh(scene.chatbot).agents.all()) == {scene.agent, retired}


@pytest.mark.parametrize("user", ["deactivated", "not staff"])
def test_a_superuser_cannot_add_a_deactivated_or_non_staff_agent(
    scene: Scene, callers: dict[str, APIClient], user: str
) -> None:
    refused = AgentFactory(is_active=False) if user == "deactivated" else UserFactory()
    response = callers["superuser"].patch(
        detail(scene), {"agents": [scene.agent.username, refused.username]}, format="json"
    )
    assert response.status_code == 400
    assert refused.username in response.json()["errors"]["agents"][0]
    assert list(fresh(scene.chatbot).agents.all()) == [scene.agent]


def test_superuser_changes_the_agents_of_a_chatbot(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    newcomer = AgentFactory()
    response = callers["superuser"].patch(
        detail(scene), {"agents": [newcomer.username]}, format="json"
    )
    assert response.status_code == 200
    assert list(fresh(scene.chatbot).agents.all()) == [newcomer]
    assert response.json()["agents"] == [newcomer.username]


@pytest.mark.parametrize("bad", ["", "not-an-email", None])
def test_chatbot_patch_validates_admin_email(
    scene: Scene, callers: dict[str, APIClient], bad: Any
) -> None:
    response = callers["agent"].patch(detail(scene), {"admin_email": bad}, format="json")
    assert response.status_code == 400
    assert "admin_email" in response.json()["errors"]
    assert fresh(scene.chatbot).admin_email == scene.chatbot.admin_email


def test_chatbot_patch_cannot_change_the_key(scene: Scene, callers: dict[str, APIClient]) -> None:
    callers["superuser"].patch(detail(scene), {"key": "mine"}, format="json")
    assert fresh(scene.chatbot).key == scene.chatbot.key


def test_chatbot_writes_without_the_csrf_token_are_refused(scene: Scene) -> None:
    root = agent_client(scene.superuser)
    created = root.post("/api/chatbots", new_chatbot(), format="json")
    patched = root.patch(detail(scene), {"name": "Renamed"}, format="json")
    assert (created.status_code, patched.status_code) == (403, 403)
    assert "CSRF" in created.json()["detail"]
    assert not Chatbot.objects.filter(name="Shop bot").exists()
    assert fresh(scene.chatbot).name == scene.chatbot.name


def test_a_chatbots_retention_days_is_set_and_cleared_through_patch(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["agent"].patch(detail(scene), {"retention_days": 90}, format="json")
    assert response.status_code == 200
    assert response.json()["retention_days"] == 90
    assert fresh(scene.chatbot).retention_days == 90

    callers["agent"].patch(detail(scene), {"retention_days": None}, format="json")
    assert fresh(scene.chatbot).retention_days is None


def test_a_negative_retention_days_answers_400(scene: Scene, callers: dict[str, APIClient]) -> None:
    response = callers["agent"].patch(detail(scene), {"retention_days": -1}, format="json")

    assert_error(response, 400, "retention_days")
