"""Django admin for support requests (status changes only through services.py actions).

Every field is read-only: the admin reads requests and, through its actions, calls the
same services as the HTTP API (join, resolve, close), so each change writes its system
message and publishes its events. A refused move is shown with message_user and changes
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from chatbots.models import Chatbot
from core.actors import Agent
from core.errors import DomainError
from support.actions import REQUEST_ACTIONS, RequestAction
from support.admin.readonly import ReadOnlyAdminMixin
from support.admin.search import EncryptedSearchMixin
from support.models import SupportMessage, SupportRequest

if TYPE_CHECKING:
    from django.contrib.admin.options import Action

REQUEST_FIELDS = (
    "request_id",
    "chatbot",
    "session",
    "status",
    "user_name",
    "user_email",
    "language",
    "initial_message_isolated",
    "assigned_agent",
    "created_at",
    "admin_joined_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "reopened_count",
    "updated_at",
)


def isolated(text: str | None) -> SafeString:
    """A stranger's text, escaped and isolated: its bidirectional controls ("\u202egnp.exe"
    would show as "exe.png") cannot reorder anything around it."""
    return format_html('<bdi dir="auto">{}</bdi>', text or "")


class SupportMessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SupportMessage
    fields = ("id", "created_at", "sender_type", "sender", "message_isolated", "client_id")
    readonly_fields = fields

    @admin.display(description=_("message"))
    def message_isolated(self, obj: SupportMessage) -> SafeString:
        return isolated(obj.message)

    ordering = ["id"]
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupportMessage]:
        return super().get_queryset(request).select_related("sender")


# On the list (several at once) and on a request's own page (that one).
BOTH_PAGES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


def _run_for_each(
    modeladmin: SupportRequestAdmin,
    request: HttpRequest,
    queryset: QuerySet[SupportRequest],
    action: RequestAction,
) -> None:
    """Run the action once per selected request; each succeeds or is refused on its own."""
    agent = Agent(cast(User, request.user))  # the admin site lets in logged-in staff only
    changed = 0
    for support_request in queryset.order_by("id"):
        try:
            action.run(support_request, agent)
        except DomainError as exc:
            modeladmin.message_user(
                request, f"{support_request.request_id}: {exc.detail}", level=messages.ERROR
            )
        else:
            changed += 1
    if changed:
        modeladmin.message_user(
            request, str(action.done % {"count": changed}), level=messages.SUCCESS
        )


@admin.register(SupportRequest)
class SupportRequestAdmin(EncryptedSearchMixin, admin.ModelAdmin):
    list_display = [
        "request_id",
        "chatbot",
        "status",
        "user_name",
        "user_email",
        "assigned_agent",
        "created_at",
    ]
    list_filter = ["status", ("chatbot", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user_name", "user_email", "=request_id"]
    list_select_related = ["chatbot", "assigned_agent"]
    ordering = ["-created_at", "-id"]
    fields = REQUEST_FIELDS
    readonly_fields = REQUEST_FIELDS
    inlines = [SupportMessageInline]
    actions = ["join_requests", "resolve_requests", "close_requests"]
    list_per_page = 50

    @admin.display(description=_("initial message"))
    def initial_message_isolated(self, obj: SupportRequest) -> SafeString:
        return isolated(obj.initial_message)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupportRequest]:
        served = Chatbot.objects.served_by(request.user).values("id")
        return super().get_queryset(request).filter(chatbot__in=served)

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Action | None]:
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)
        return found

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: SupportRequest | None = None
    ) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: SupportRequest | None = None
    ) -> bool:
        # The change page is read-only (no Save that would write the row); the model
        # permission still gates the status actions of the list.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.action(
        description=REQUEST_ACTIONS["join"].label,
        description_plural=_("Join selected requests"),
        permissions=["change"],
        location=BOTH_PAGES,
    )
    def join_requests(self, request: HttpRequest, queryset: QuerySet[SupportRequest]) -> None:
        _run_for_each(self, request, queryset, REQUEST_ACTIONS["join"])

    @admin.action(
        description=REQUEST_ACTIONS["resolve"].label,
        description_plural=_("Resolve selected requests"),
        permissions=["change"],
        location=BOTH_PAGES,
    )
    def resolve_requests(self, request: HttpRequest, queryset: QuerySet[SupportRequest]) -> None:
        _run_for_each(self, request, queryset, REQUEST_ACTIONS["resolve"])

    @admin.action(
        description=REQUEST_ACTIONS["close"].label,
        description_plural=_("Close selected requests"),
        permissions=["change"],
        location=BOTH_PAGES,
    )
    def close_requests(self, request: HttpRequest, queryset: QuerySet[SupportRequest]) -> None:
        _run_for_each(self, request, queryset, REQUEST_ACTIONS["close"])
