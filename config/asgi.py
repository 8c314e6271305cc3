"""ASGI entry point: HTTP through Django, WebSocket through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from support.events import bind_publisher  # noqa: E402
from support.realtime.routing import websocket_application  # noqa: E402

# Events committed while serving HTTP or a socket are sent from daphne's event loop.
application = bind_publisher(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": websocket_application,
        }
    )
)
