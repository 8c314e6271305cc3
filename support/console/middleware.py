"""The agent's chosen console language, over the browser's Accept-Language."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from support.languages import chosen_in_session

# The agent's pages and the endpoints the console's script calls; the widget's endpoints
# (/api/chatbots/...) follow the widget's Accept-Language only.
AGENT_PATHS = ("/console/", "/admin/", "/human-support/")


class AgentLanguageMiddleware:
    """After LocaleMiddleware: a logged-in agent who chose a console language gets it on
    every page and on the console script's API calls (its `detail` texts).

    Requests with an `Authorization` header are a visitor's widget or a bot server: they
    keep their Accept-Language even in a browser where an agent is logged in (the demo
    page), and their session is not loaded for nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            session is not None
            and request.path_info.startswith(AGENT_PATHS)
            and "HTTP_AUTHORIZATION" not in request.META
        ):
            chosen = chosen_in_session(session)
            if chosen:
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        # LocaleMiddleware's response half then says Content-Language: the chosen one.
        return self.get_response(request)
