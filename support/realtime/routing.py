"""WebSocket routes (DESIGN.md §5). The session cookie is read for agents; visitors bring
`?token=` and are recognised by the consumer."""

from channels.routing import URLRouter
from channels.sessions import SessionMiddlewareStack
from django.urls import path

from support.realtime.admission import SessionUserMiddleware
from support.realtime.consumers import AgentQueueConsumer, RequestConsumer

# The ignores: django-stubs' path() takes Django views, not ASGI apps, and types-channels'
# URLRouter wants its own (type-check-only) pattern type; Channels documents this use.
websocket_urlpatterns = [
    # Before the request route: "agent" would otherwise be taken for a request id.
    path("human-support/ws/agent", AgentQueueConsumer.as_asgi()),  # type: ignore[arg-type]
    path("human-support/ws/<str:request_id>", RequestConsumer.as_asgi()),  # type: ignore[arg-type]
]
# Channels' AuthMiddlewareStack, with Django's own session check (admission.py).
websocket_application = SessionMiddlewareStack(
    SessionUserMiddleware(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
)
