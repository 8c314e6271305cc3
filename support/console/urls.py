"""/console/ (the login and logout routes are in config/urls.py)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from support.console import insights
from support.console import views as console

urlpatterns = [
    path("", console.queue, name="console-queue"),
    path("requests/", console.request_list, name="console-requests"),
    path("insights/", insights.insights, name="console-insights"),
    path("language", console.console_language, name="console-language"),
    # The console script's catalog (gettext, ngettext in static/console/console.js).
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["support"]),
        name="console-jsi18n",
    ),
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
