"""Who may call what (DESIGN.md §4, §5): every HTTP endpoint, answered for every role.

Roles: anonymous, the session's visitor, another visitor (a valid token of another session
of the same chatbot), the chatbot's agent, an agent of another chatbot, a superuser.
Agents' clients carry the CSRF token here; CSRF itself is proven at the end of the file.
The chatbot administration API (/api/chatbots...) is in tests/chatbots/test_chatbot_api.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chatbots.models import ChatMessage
from core.actors import Agent
from support import services
from support.models import RequestStatus, SupportMessage, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, FAQEntryFactory
from tests.helpers import Scene, agent_client, agent_client_with_csrf, join, visitor_client

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "visitor", "other visitor", "agent", "other agent", "superuser")


def answers(**by_role: int) -> list[Any]:
    """Parametrize (role, status) with ids such as "other agent gets 404"."""
    codes = {role.replace(" ", "_"): role for role in ROLES}
    assert set(by_role) == set(codes), "every role must be answered"
    return [
        pytest.param(codes[key], status, id=f"{codes[key]} gets {status}")
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
    }


def url(scene: Scene, action: str = "") -> str:
    base = f"/human-support/requests/{scene.support_request.request_id}"
    return f"{base}/{action}" if action else base


def state(scene: Scene) -> tuple[Any, ...]:
    row = SupportRequest.objects.get(pk=scene.support_request.pk)
    return (row.status, row.assigned_agent_id, row.resolved_at, row.closed_at, row.messages.count())


def assert_error_shape(response: Any) -> None:
    body = response.json()
    assert set(body) >= {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]


# --- widget endpoints (anyone / visitor) -------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=200, visitor=200, other_visitor=200, agent=200, other_agent=200, superuser=200
    ),
)
def test_widget_config_answers_every_role(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get(f"/api/chatbots/{scene.chatbot.key}/config")
    assert response.status_code == status
    assert response.json()["key"] == scene.chatbot.key


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=201, visitor=201, other_visitor=201, agent=201, other_agent=201, superuser=201
    ),
)
def test_session_start_answers_every_role_with_a_new_session(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].post(f"/api/chatbots/{scene.chatbot.key}/sessions")
    assert response.status_code == status
    assert response.json()["session_id"] not in (
        scene.visitor.session.session_id,
        scene.other_visitor.session.session_id,
    )
    assert len(response.json()["token"]) >= 22  # 128 bits in URL-safe base64


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=200, other_visitor=404, agent=403, other_agent=403, superuser=403
    ),
)
def test_bot_message_answers_only_the_sessions_visitor(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    FAQEntryFactory(chatbot=scene.chatbot)
    session = scene.visitor.session
    response = callers[role].post(
        f"/api/sessions/{session.session_id}/messages",
        {"message": "When are you open?"},
        format="json",
    )
    assert response.status_code == status
    stored = ChatMessage.objects.filter(session=session).count()
    if status == 200:
        assert "9:00" in response.json()["reply"]["text"]
        assert stored == 2
    else:
        assert_error_shape(response)
        assert stored == 0


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=200, other_visitor=404, agent=403, other_agent=403, superuser=403
    ),
)
def test_create_request_answers_only_the_sessions_visitor(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    # The scene's visitor already has an open request: it is returned (200), not doubled.
    response = callers[role].post(
        "/human-support/request",
        {"session_id": scene.visitor.session.session_id, "initial_message": "Hello"},
        format="json",
    )
    assert response.status_code == status
    assert SupportRequest.objects.count() == 1
    if status == 200:
        assert response.json()["request_id"] == scene.support_request.request_id
    else:
        assert_error_shape(response)


def test_create_request_answers_201_for_a_session_without_an_open_request(scene: Scene) -> None:
    newcomer = visitor_client(scene.chatbot)
    response = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id, "initial_message": "Hello"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert "transcript" not in response.json()


def test_create_request_with_an_unknown_token_answers_401(scene: Scene) -> None:
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = stranger.post(
        "/human-support/request",
        {"session_id": scene.visitor.session.session_id, "initial_message": "Hello"},
        format="json",
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


# --- queues -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=403, other_visitor=403, agent=200, other_agent=200, superuser=200
    ),
)
def test_pending_list_answers_agents_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get("/human-support/requests/pending")
    assert response.status_code == status
    if status != 200:
        assert_error_shape(response)


def test_pending_list_shows_an_agent_only_their_chatbots_requests(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    def ids(role: str) -> list[str]:
        response = callers[role].get("/human-support/requests/pending")
        return [r["request_id"] for r in response.json()["requests"]]

    assert ids("agent") == [scene.support_request.request_id]
    assert ids("other agent") == []
    assert ids("superuser") == [scene.support_request.request_id]


def test_pending_list_is_oldest_first_and_leaves_out_other_statuses(scene: Scene) -> None:
    second = visitor_client(scene.chatbot)
    second_request, _ = services.request_create(session=second.session, initial_message="Two")
    third = visitor_client(scene.chatbot)
    third_request, _ = services.request_create(session=third.session, initial_message="Three")
    services.request_join(support_request=second_request, agent=Agent(scene.agent))
    response = agent_client(scene.agent).get("/human-support/requests/pending")
    assert [r["request_id"] for r in response.json()["requests"]] == [
        scene.support_request.request_id,
        third_request.request_id,
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=403, other_visitor=403, agent=200, other_agent=200, superuser=200
    ),
)
def test_active_list_answers_agents_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    join(scene)
    response = callers[role].get("/human-support/requests/active")
    assert response.status_code == status
    if status == 200:
        expected = [] if role == "other agent" else [scene.support_request.request_id]
        assert [r["request_id"] for r in response.json()["requests"]] == expected
    else:
        assert_error_shape(response)


# --- one request --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=200, other_visitor=404, agent=200, other_agent=404, superuser=200
    ),
)
def test_request_detail_answers_the_visitor_and_the_chatbots_agents(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get(url(scene))
    assert response.status_code == status
    if status == 200:
        assert response.json()["request_id"] == scene.support_request.request_id
        assert ("transcript" in response.json()) is (role in ("agent", "superuser"))
    else:
        assert_error_shape(response)


def test_request_detail_of_an_unknown_id_is_404_like_another_chatbots_one(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    unknown = callers["agent"].get("/human-support/requests/no-such-request")
    not_theirs = callers["other agent"].get(url(scene))
    assert unknown.status_code == not_theirs.status_code == 404
    assert unknown.json() == not_theirs.json()


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=403, other_visitor=403, agent=200, other_agent=404, superuser=200
    ),
)
def test_join_answers_the_chatbots_agents_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    before = state(scene)
    response = callers[role].post(url(scene, "join"))
    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "active"
        assert state(scene)[0] == RequestStatus.ACTIVE
    else:
        assert_error_shape(response)
        assert state(scene) == before


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=200, other_visitor=404, agent=200, other_agent=404, superuser=200
    ),
)
def test_message_list_answers_the_visitor_and_the_chatbots_agents(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    response = callers[role].get(url(scene, "messages"))
    assert response.status_code == status
    if status == 200:
        assert [m["text"] for m in response.json()["messages"]] == ["My order is late"]
    else:
        assert_error_shape(response)


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=201, other_visitor=404, agent=201, other_agent=404, superuser=201
    ),
)
def test_posting_a_message_answers_the_visitor_and_the_chatbots_agents(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    join(scene)  # agents write once the request is active
    before = SupportMessage.objects.count()
    response = callers[role].post(url(scene, "messages"), {"message": "Hello"}, format="json")
    assert response.status_code == status
    if status == 201:
        expected_sender = "user" if role == "visitor" else "admin"
        assert response.json()["sender_type"] == expected_sender
        assert SupportMessage.objects.count() == before + 1
    else:
        assert_error_shape(response)
        assert SupportMessage.objects.count() == before


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=403, other_visitor=403, agent=200, other_agent=404, superuser=200
    ),
)
def test_resolve_answers_the_chatbots_agents_only(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    join(scene)
    before = state(scene)
    response = callers[role].post(url(scene, "resolve"))
    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "resolved"
    else:
        assert_error_shape(response)
        assert state(scene) == before


@pytest.mark.parametrize(
    ("role", "status"),
    answers(
        anonymous=401, visitor=200, other_visitor=404, agent=200, other_agent=404, superuser=200
    ),
)
def test_close_answers_the_visitor_and_the_chatbots_agents(
    scene: Scene, callers: dict[str, APIClient], role: str, status: int
) -> None:
    before = state(scene)
    response = callers[role].post(url(scene, "close"))
    assert response.status_code == status
    if status == 200:
        assert response.json()["status"] == "closed"
    else:
        assert_error_shape(response)
        assert state(scene) == before


def test_a_refused_transition_over_http_answers_409_with_the_error_code(
    scene: Scene, callers: dict[str, APIClient]
) -> None:
    response = callers["agent"].post(url(scene, "resolve"))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert_error_shape(response)


def test_a_logged_in_non_staff_user_gets_404_for_a_request_and_403_for_the_queues(
    scene: Scene,
) -> None:
    from tests.factories import UserFactory

    client = agent_client_with_csrf(UserFactory())
    assert client.get(url(scene)).status_code == 404
    assert client.post(url(scene, "close")).status_code == 404
    assert client.get("/human-support/requests/pending").status_code == 403
    assert client.post(url(scene, "join")).status_code == 403
    assert state(scene)[0] == RequestStatus.PENDING


def test_a_deactivated_agent_loses_access(scene: Scene) -> None:
    client = agent_client_with_csrf(scene.agent)
    scene.agent.is_active = False
    scene.agent.save(update_fields=["is_active"])
    # Django's backend no longer loads an inactive user: the session is anonymous.
    assert client.get("/human-support/requests/pending").status_code == 401
    assert client.post(url(scene, "join")).status_code == 401
    assert state(scene)[0] == RequestStatus.PENDING


def test_knowing_a_request_id_alone_grants_nothing(scene: Scene) -> None:
    # The visitor of another chatbot, with a perfectly valid token of their own.
    outsider = visitor_client(scene.other_chatbot)
    assert outsider.client.get(url(scene)).status_code == 404
    assert outsider.client.get(url(scene, "messages")).status_code == 404
    assert outsider.client.post(url(scene, "close")).status_code == 404
    assert state(scene)[0] == RequestStatus.PENDING


# --- CSRF ---------------------------------------------------------------------------------

UNSAFE_AGENT_CALLS = {
    "join": lambda c, scene: c.post(url(scene, "join")),
    "resolve": lambda c, scene: c.post(url(scene, "resolve")),
    "close": lambda c, scene: c.post(url(scene, "close")),
    "post message": lambda c, scene: c.post(
        url(scene, "messages"), {"message": "Hi"}, format="json"
    ),
}
NEEDS_ACTIVE = {"resolve", "post message"}


@pytest.mark.parametrize("call", list(UNSAFE_AGENT_CALLS))
def test_an_agents_unsafe_call_without_the_csrf_token_is_refused_and_changes_nothing(
    scene: Scene, call: str
) -> None:
    if call in NEEDS_ACTIVE:
        join(scene)
    before = state(scene)
    response = UNSAFE_AGENT_CALLS[call](agent_client(scene.agent), scene)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert state(scene) == before


def test_an_agents_safe_call_needs_no_csrf_token(scene: Scene) -> None:
    assert agent_client(scene.agent).get(url(scene)).status_code == 200


def test_a_visitor_call_from_a_browser_holding_an_agent_cookie_needs_no_csrf_token(
    scene: Scene,
) -> None:
    # Bearer auth comes first: the call is the visitor's, and a bearer header cannot be
    # forged cross-site, so CSRF does not apply.
    client = agent_client(scene.agent)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {scene.visitor.token}")
    response = client.post(url(scene, "messages"), {"message": "Hi"}, format="json")
    assert response.status_code == 201
    assert response.json()["sender_type"] == "user"


# --- query counts ---------------------------------------------------------------------------


def _fill_queue(count: int, *, join_them: bool) -> tuple[Any, list[SupportRequest]]:
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    FAQEntryFactory(chatbot=chatbot)
    made = []
    for n in range(count):
        visitor = visitor_client(chatbot)
        visitor.client.post(
            f"/api/sessions/{visitor.session.session_id}/messages",
            {"message": "When are you open?"},
            format="json",
        )
        support_request, _ = services.request_create(
            session=visitor.session, initial_message=f"Help {n}"
        )
        if join_them:
            services.request_join(support_request=support_request, agent=Agent(agent))
        made.append(support_request)
    return agent, made


@pytest.mark.parametrize("queue", ["pending", "active"])
def test_queue_lists_run_a_fixed_number_of_queries_whatever_their_length(
    queue: str, django_assert_max_num_queries: Any
) -> None:
    def queries_for(count: int) -> int:
        agent, _ = _fill_queue(count, join_them=queue == "active")
        client = agent_client(agent)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/human-support/requests/{queue}")
        assert len(response.json()["requests"]) == count
        assert all(len(r["transcript"]) == 2 for r in response.json()["requests"])
        return len(captured)

    assert queries_for(1) == queries_for(8)
    agent, _ = _fill_queue(8, join_them=queue == "active")
    client = agent_client(agent)
    # session, user, the requests with their chatbot, agent and session, the transcripts
    with django_assert_max_num_queries(4):
        client.get(f"/human-support/requests/{queue}")
