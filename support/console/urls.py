"""/console/ (the login and logout routes are in config/urls.py)."""

from django.urls import path

from support.console import views as console

urlpatterns = [
    path("", console.queue, name="console-queue"),
    path("requests/", console.request_list, name="console-requests"),
    # This exact URL is written in notification emails.
    path("requests/<str:request_id>/", console.request_detail, name="console-request"),
    path(
        "requests/<str:request_id>/messages",
        console.request_message,
        name="console-request-message",
    ),
    path(
        "requests/<str:request_id>/<str:action>",
        console.request_action,
        name="console-request-action",
    ),
]
