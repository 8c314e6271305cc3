"""Fixtures of the whole suite (helpers are in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.db import connections
from django.utils import translation

from core import workpool
from support import services
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory
from tests.helpers import Scene, VisitorClient, visitor_client


@pytest.fixture(scope="session", autouse=True)
def _pooled_connections_closed(django_db_setup: None) -> Iterator[None]:
    """The live path's threads keep a connection each, and on PostgreSQL connections come
    from a psycopg pool: close them before the test database is dropped, which PostgreSQL
    refuses while sessions are open on it."""
    yield
    workpool.close_connections()
    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _source_language() -> Iterator[None]:
    # The test client runs views in the test's thread: the language a page activated
    # (an agent's German console) would otherwise stay active in the tests after it.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def scene(db: None) -> Scene:
    agent = AgentFactory(first_name="Alice")
    other_agent = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(agents=[agent])
    other_chatbot = ChatbotFactory(agents=[other_agent])
    visitor = visitor_client(chatbot)
    other_visitor = visitor_client(chatbot)
    support_request, _ = services.request_create(
        session=visitor.session, user_name="Vera", initial_message="My order is late"
    )
    return Scene(
        chatbot=chatbot,
        other_chatbot=other_chatbot,
        agent=agent,
        other_agent=other_agent,
        superuser=SuperuserFactory(),
        visitor=visitor,
        other_visitor=other_visitor,
        support_request=support_request,
    )


@pytest.fixture
def newcomer(scene: Scene) -> VisitorClient:
    """A visitor of the scene's chatbot with no request yet."""
    return visitor_client(scene.chatbot)


@pytest.fixture
def field_encryption(settings: Any) -> list[str]:
    """Encryption at rest on (one fresh key, a hash key); the keys, first one encrypting."""
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.FIELD_HASH_KEY = "test-hash-key-" + "h" * 32
    return list(settings.FIELD_ENCRYPTION_KEYS)
