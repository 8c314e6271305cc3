"""/demo/: a page that embeds the demo chatbot's widget the way a customer's site would."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chatbots.selectors import DEMO_CHATBOT_NAME, demo_chatbot


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    chatbot = demo_chatbot(active_only=True)
    return render(
        request,
        "demo.html",
        {"chatbot": chatbot, "chatbot_name": DEMO_CHATBOT_NAME},
        status=200 if chatbot else 404,
    )
