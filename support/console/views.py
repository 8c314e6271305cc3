"""The agents' console: Django admin's look, server-rendered pages, live updates in JS.

Pages parse, authorise (staff agents; each sees their chatbots only), call one service and
render. The JavaScript (static/console/) adds the live parts over WebSocket and sends
through the HTTP API with the CSRF token; the plain forms here work without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chatbots.models import Chatbot
from core.actors import Agent, AgentRequest, is_agent
from core.encryption import encryption_enabled
from core.errors import DomainError, NotFound
from support import selectors, services
from support.actions import REQUEST_ACTIONS
from support.languages import chosen_in_session, remember_in_session, set_console_language
from support.models import RequestStatus, SupportRequest
from support.presenters import agent_display_name

PAGE_SIZE = 25
NOT_AN_AGENT = _("Only staff agents may use the console.")
CONSOLE_TITLE = _("Handoff console")

View = Callable[..., HttpResponse]


def agent_required(view: View) -> View:
    """Anonymous → the console login; a logged-in non-agent → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("login"))
        if not is_agent(user):
            return HttpResponseForbidden(str(NOT_AN_AGENT))
        return view(request, *args, **kwargs)

    return wrapper


def _context(request: AgentRequest, **extra: Any) -> dict[str, Any]:
    """What admin/base_site.html needs for its header and user tools.

    Not admin.site.each_context(): that builds the app list for the sidebar, a permission
    query per model admin, which the console does not show.
    """
    context: dict[str, Any] = {
        "site_header": CONSOLE_TITLE,
        "site_title": CONSOLE_TITLE,
        "site_url": None,  # no public site to link to
        "has_permission": True,
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        "available_apps": [],
        "agent_name": agent_display_name(request.user),
        # Limits the page's script must agree on with the server (data-* attributes).
        "message_page_size": settings.MESSAGE_PAGE_SIZE,
        "max_message_chars": settings.MAX_MESSAGE_CHARS,
        # The language picker: "" (the browser's) or the agent's choice.
        "console_language": chosen_in_session(request.session) or "",
        "language_form_next": request.get_full_path(),
    }
    context.update(extra)
    return context


def _request_or_404(request: AgentRequest, request_id: str) -> SupportRequest:
    try:
        return selectors.request_for_agent(user=request.user, request_id=request_id)
    except NotFound:
        raise Http404(NotFound().detail) from None


@require_GET
@agent_required
def queue(request: AgentRequest) -> HttpResponse:
    pending = list(selectors.pending_requests_for_agent(user=request.user))
    active = list(selectors.active_requests_for_agent(user=request.user))
    return render(
        request,
        "console/queue.html",
        _context(request, title=_("Requests waiting"), pending=pending, active=active),
    )


def _filtered(request: AgentRequest, chatbots: Iterable[Chatbot]) -> QuerySet[SupportRequest]:
    queryset = selectors.requests_for_agent(user=request.user).order_by("-created_at", "-id")
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        queryset = queryset.filter(status=status)
    chatbot = request.GET.get("chatbot", "")
    if chatbot.isdigit() and any(c.id == int(chatbot) for c in chatbots):
        queryset = queryset.filter(chatbot_id=int(chatbot))
    query = request.GET.get("q", "").replace("\x00", "").strip()  # PostgreSQL refuses NUL
    if query and encryption_enabled():
        # The text columns hold ciphertext: only the request id can be compared.
        queryset = queryset.filter(request_id=query)
    elif query:
        queryset = queryset.filter(
            Q(user_name__icontains=query)
            | Q(user_email__icontains=query)
            | Q(initial_message__icontains=query)
            | Q(request_id=query)
        )
    return queryset


@require_GET
@agent_required
def request_list(request: AgentRequest) -> HttpResponse:
    chatbots = list(Chatbot.objects.served_by(request.user).order_by("name"))
    page = Paginator(_filtered(request, chatbots), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "console/request_list.html",
        _context(
            request,
            title=_("All requests"),
            page=page,
            chatbots=chatbots,
            statuses=RequestStatus.choices,
            current_status=request.GET.get("status", ""),
            current_chatbot=request.GET.get("chatbot", ""),
            query=request.GET.get("q", ""),
            text_search=not encryption_enabled(),
            page_query=params.urlencode(),
        ),
    )


@require_GET
@agent_required
def request_detail(request: AgentRequest, request_id: str) -> HttpResponse:
    support_request = _request_or_404(request, request_id)
    thread = selectors.messages_after(support_request=support_request)
    return render(
        request,
        "console/request_detail.html",
        _context(
            request,
            title=conversation_title(support_request),
            support_request=support_request,
            transcript=selectors.bot_transcript(support_request=support_request),
            thread=thread,
            last_id=thread[-1].id if thread else 0,
            holder_name=agent_display_name(support_request.assigned_agent),
            status_line=status_line(support_request, viewer=request.user),
        ),
    )


def conversation_title(support_request: SupportRequest) -> str:
    if support_request.user_name:
        return _("Conversation with {name}").format(name=support_request.user_name)
    return _("Conversation with a visitor")


def status_line(support_request: SupportRequest, *, viewer: Any) -> str:
    """What the agent reads above the buttons (static/console/console.js says the same)."""
    status = support_request.status
    if status == RequestStatus.PENDING:
        return _("Waiting for an agent")
    if status == RequestStatus.ACTIVE:
        if support_request.assigned_agent_id == viewer.pk:
            return _("You joined")
        holder = agent_display_name(support_request.assigned_agent)
        if holder is None:
            return _("An agent has it")
        return _("{name} has it").format(name=holder)
    if status == RequestStatus.RESOLVED:
        return _("Resolved")
    return _("Closed")


@require_POST
@agent_required
def request_action(request: AgentRequest, request_id: str, action: str) -> HttpResponse:
    """Join / Resolve / Close as plain form posts; a refusal is shown as a message."""
    if action not in REQUEST_ACTIONS:
        raise Http404
    support_request = _request_or_404(request, request_id)
    try:
        REQUEST_ACTIONS[action].run(support_request, Agent(user=request.user))
    except DomainError as error:
        messages.error(request, str(error.detail))
    return redirect("console-request", request_id=request_id)


@require_POST
@agent_required
def request_message(request: AgentRequest, request_id: str) -> HttpResponse:
    """The message form without JavaScript (the page's script posts to the API instead)."""
    support_request = _request_or_404(request, request_id)
    try:
        services.message_post(
            support_request=support_request,
            actor=Agent(user=request.user),
            text=request.POST.get("message", ""),
            client_id=request.POST.get("client_id") or None,
        )
    except DomainError as error:
        messages.error(request, str(error.detail))
    return redirect("console-request", request_id=request_id)


@require_POST
@agent_required
def console_language(request: AgentRequest) -> HttpResponse:
    """The language picker: stored on the agent's preference ("" follows the browser) and
    in their session, which the console's middleware reads on every page."""
    try:
        preference = set_console_language(
            user=request.user, language=request.POST.get("language", "")
        )
    except DomainError as error:
        messages.error(request, str(error.detail))
    else:
        remember_in_session(request.session, preference.console_language)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("console-queue")
    return redirect(target)
