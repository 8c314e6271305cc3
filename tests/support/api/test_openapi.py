"""The OpenAPI 3 schema at /api/schema/ matches the product: every HTTP path of DESIGN.md §5
with its methods, the same set the URL resolver serves, and the shapes real answers have."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularAPIView
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.factories import FAQEntryFactory
from tests.helpers import Scene, agent_client_with_csrf, visitor_client

# DESIGN.md §5, the HTTP rows: (path, methods).
CONTRACT = {
    "/api/chatbots/{key}/config": {"get"},
    "/api/chatbots/{key}/sessions": {"post"},
    "/api/sessions/{session_id}/messages": {"post"},
    "/api/chatbots": {"get", "post"},
    "/api/chatbots/{key}": {"get", "patch"},
    "/human-support/request": {"post"},
    "/human-support/requests/pending": {"get"},
    "/human-support/requests/active": {"get"},
    "/human-support/requests/{request_id}": {"get"},
    "/human-support/requests/{request_id}/join": {"post"},
    "/human-support/requests/{request_id}/messages": {"get", "post"},
    "/human-support/requests/{request_id}/resolve": {"post"},
    "/human-support/requests/{request_id}/close": {"post"},
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def fetch_schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def schema_operations(schema: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {method for method in operations if method in HTTP_METHODS}
        for path, operations in schema["paths"].items()
    }


def served_api_views() -> dict[str, set[str]]:
    """What the URL resolver serves with DRF views (the schema view itself aside)."""
    found: dict[str, set[str]] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is None or not issubclass(view_class, APIView):
                continue
            if issubclass(view_class, SpectacularAPIView):
                continue
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            found[path] = {m for m in HTTP_METHODS if hasattr(view_class, m)}

    walk(get_resolver().url_patterns, "")
    return found


def test_the_schema_is_an_openapi_3_document(db: None) -> None:
    schema = fetch_schema()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Handoff API"


def test_the_schema_has_every_http_path_of_the_contract_with_its_methods(db: None) -> None:
    assert schema_operations(fetch_schema()) == CONTRACT


def test_the_url_resolver_serves_exactly_the_contracts_paths_and_methods() -> None:
    assert served_api_views() == CONTRACT


def test_the_schema_documents_both_ways_to_authenticate(db: None) -> None:
    schemes = fetch_schema()["components"]["securitySchemes"]
    assert schemes["visitorToken"]["scheme"] == "bearer"
    assert schemes["cookieAuth"]["in"] == "cookie"


def test_the_schema_validates_against_the_openapi_specification_without_warnings(
    tmp_path: Path,
) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3")


# --- real answers have the documented shapes ------------------------------------------------


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable` → JSON Schema's null type; everything else as is."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class ShapeChecker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.components = _as_json_schema(copy.deepcopy(schema["components"]))

    def check(self, path: str, method: str, response: Any) -> None:
        documented = self.schema["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method.upper()} {path} answered undocumented {status}"
        body_schema = documented[status]["content"]["application/json"]["schema"]
        root = {"components": self.components, **_as_json_schema(body_schema)}
        jsonschema.validate(response.json(), root)


@pytest.fixture
def shapes(db: None) -> ShapeChecker:
    return ShapeChecker(fetch_schema())


def test_widget_answers_match_their_documented_shapes(scene: Scene, shapes: ShapeChecker) -> None:
    FAQEntryFactory(chatbot=scene.chatbot)
    key = scene.chatbot.key
    anonymous = APIClient()
    shapes.check("/api/chatbots/{key}/config", "get", anonymous.get(f"/api/chatbots/{key}/config"))
    shapes.check(
        "/api/chatbots/{key}/sessions", "post", anonymous.post(f"/api/chatbots/{key}/sessions")
    )
    visitor = scene.visitor
    reply = visitor.client.post(
        f"/api/sessions/{visitor.session.session_id}/messages",
        {"message": "When are you open?"},
        format="json",
    )
    shapes.check("/api/sessions/{session_id}/messages", "post", reply)


def test_support_answers_match_their_documented_shapes(scene: Scene, shapes: ShapeChecker) -> None:
    FAQEntryFactory(chatbot=scene.chatbot)
    newcomer = visitor_client(scene.chatbot)
    newcomer.client.post(
        f"/api/sessions/{newcomer.session.session_id}/messages", {"message": "Hi"}, format="json"
    )
    created = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id, "initial_message": "Help"},
        format="json",
    )
    shapes.check("/human-support/request", "post", created)
    request_id = created.json()["request_id"]
    base = f"/human-support/requests/{request_id}"
    agent = agent_client_with_csrf(scene.agent)

    shapes.check(
        "/human-support/requests/pending", "get", agent.get("/human-support/requests/pending")
    )
    shapes.check("/human-support/requests/{request_id}/join", "post", agent.post(f"{base}/join"))
    shapes.check(
        "/human-support/requests/active", "get", agent.get("/human-support/requests/active")
    )
    shapes.check("/human-support/requests/{request_id}", "get", agent.get(base))
    shapes.check("/human-support/requests/{request_id}", "get", newcomer.client.get(base))
    message = agent.post(f"{base}/messages", {"message": "Hello", "client_id": "a1"}, format="json")
    shapes.check("/human-support/requests/{request_id}/messages", "post", message)
    repeated = agent.post(
        f"{base}/messages", {"message": "Hello", "client_id": "a1"}, format="json"
    )
    shapes.check("/human-support/requests/{request_id}/messages", "post", repeated)
    shapes.check(
        "/human-support/requests/{request_id}/messages",
        "get",
        newcomer.client.get(f"{base}/messages"),
    )
    shapes.check(
        "/human-support/requests/{request_id}/resolve", "post", agent.post(f"{base}/resolve")
    )
    shapes.check("/human-support/requests/{request_id}/close", "post", agent.post(f"{base}/close"))


def test_chatbot_api_answers_match_their_documented_shapes(
    scene: Scene, shapes: ShapeChecker
) -> None:
    root = agent_client_with_csrf(scene.superuser)
    shapes.check("/api/chatbots", "get", root.get("/api/chatbots"))
    created = root.post(
        "/api/chatbots", {"name": "New", "admin_email": "new@example.com"}, format="json"
    )
    shapes.check("/api/chatbots", "post", created)
    key = created.json()["key"]
    shapes.check("/api/chatbots/{key}", "get", root.get(f"/api/chatbots/{key}"))
    shapes.check(
        "/api/chatbots/{key}",
        "patch",
        root.patch(f"/api/chatbots/{key}", {"name": "Renamed"}, format="json"),
    )


# --- error answers are documented too ---------------------------------------------------------


def test_every_operation_documents_its_error_answers_with_the_error_body(db: None) -> None:
    schema = fetch_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
            assert "403" in errors, (method, path)
            for status, answer in errors.items():
                body = answer["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
                assert answer["description"]
    join = schema["paths"]["/human-support/requests/{request_id}/join"]["post"]["responses"]
    assert {"401", "404", "409", "413"} <= set(join)
    create = schema["paths"]["/human-support/request"]["post"]["responses"]
    assert {"400", "401", "413", "415", "429"} <= set(create)
    config = schema["paths"]["/api/chatbots/{key}/config"]["get"]["responses"]
    assert "401" not in config  # anyone may read it


def test_error_answers_have_their_documented_status_and_shape(
    scene: Scene, shapes: ShapeChecker
) -> None:
    base = f"/human-support/requests/{scene.support_request.request_id}"
    agent = agent_client_with_csrf(scene.agent)
    shapes.check("/human-support/requests/{request_id}", "get", APIClient().get(base))
    shapes.check(
        "/human-support/requests/{request_id}", "get", agent.get("/human-support/requests/nope")
    )
    agent.post(f"{base}/join")
    shapes.check("/human-support/requests/{request_id}/join", "post", agent.post(f"{base}/join"))
    deep = scene.visitor.client.post(
        "/human-support/request", "[" * 20_000, content_type="application/json"
    )
    assert deep.status_code == 400
    shapes.check("/human-support/request", "post", deep)
    not_json = scene.visitor.client.post(
        f"{base}/messages", "message=hi", content_type="application/x-www-form-urlencoded"
    )
    assert not_json.status_code == 415
    shapes.check("/human-support/requests/{request_id}/messages", "post", not_json)
    too_large = scene.visitor.client.post(
        f"{base}/messages", {"message": "x" * 70_000}, format="json"
    )
    assert too_large.status_code == 413
    shapes.check("/human-support/requests/{request_id}/messages", "post", too_large)
