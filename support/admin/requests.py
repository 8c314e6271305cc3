"""Django admin for support requests (status changes only through services.py actions).

Every field is read-only: the admin reads requests and, through its actions, calls the
same services as the HTTP API (join, resolve, close), so each change writes its system
message and publishes its events. A refused move is shown with message_user and changes
nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation, helpers
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from chatbots.models import Chatbot
from core.actors import Agent
from core.errors import DomainError
from support.actions import REQUEST_ACTIONS, RequestAction
from support.admin.readonly import ReadOnlyAdminMixin
from support.admin.search import EncryptedSearchMixin
from support.models import SupportMessage, SupportRequest
from support.privacy.addresses import InvalidAddress, normalised_address
from support.privacy.erasure import erasure_preview, visitor_erase
from support.privacy.export import visitor_export

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

NO_VISITOR_ADDRESS = _("The selected requests carry no valid email address: there is no visitor.")
SEVERAL_VISITORS = _(
    "Select the requests of one visitor: the selected requests carry several email addresses."
)


def _visitor_address(
    modeladmin: SupportRequestAdmin, request: HttpRequest, queryset: QuerySet[SupportRequest]
) -> str | None:
    """The one visitor address of the selected requests, or None (and a message saying why)."""
    addresses = set()
    for stored in queryset.exclude(user_email=None).values_list("user_email", flat=True):
        try:
            addresses.add(normalised_address(stored or ""))
        except InvalidAddress:
            continue
    if len(addresses) == 1:
        return addresses.pop()
    modeladmin.message_user(
        request, NO_VISITOR_ADDRESS if not addresses else SEVERAL_VISITORS, level=messages.ERROR
    )
    return None


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
    actions = [
        "join_requests",
        "resolve_requests",
        "close_requests",
        "export_visitor_data",
        "erase_visitor_data",
    ]
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

    # --- a visitor's data (support/privacy/) ---------------------------------------------

    def has_visitor_data_permission(self, request: HttpRequest) -> bool:
        """Superusers only: a visitor's data spans every chatbot they wrote to, and an
        erasure cannot be undone (docs/decisions.md)."""
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.action(
        description=_("Export the visitor's data"),
        permissions=["visitor_data"],
        location=BOTH_PAGES,
    )
    def export_visitor_data(
        self, request: HttpRequest, queryset: QuerySet[SupportRequest]
    ) -> HttpResponse | None:
        address = _visitor_address(self, request, queryset)
        if address is None:
            return None
        body = json.dumps(visitor_export(address=address), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="visitor-data.json"'
        return response

    @admin.action(
        description=_("Erase the visitor's data"),
        permissions=["visitor_data"],
        location=BOTH_PAGES,
    )
    def erase_visitor_data(
        self, request: HttpRequest, queryset: QuerySet[SupportRequest]
    ) -> TemplateResponse | None:
        """A confirmation page first (like Django's delete), then the erasure."""
        address = _visitor_address(self, request, queryset)
        if address is None:
            return None
        if request.POST.get("post") == "yes":
            counts = visitor_erase(address=address, operator=request.user.get_username())
            self.message_user(
                request,
                ngettext(
                    "The visitor's data was erased (%(count)d request anonymised).",
                    "The visitor's data was erased (%(count)d requests anonymised).",
                    counts.requests,
                )
                % {"count": counts.requests},
                level=messages.SUCCESS,
            )
            return None
        # The form posts back to the page it came from: the list, or the request's own
        # page, whose action field carries a prefix.
        on_change_form = f"{ActionLocation.CHANGE_FORM.value}-action" in request.POST
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase the visitor's data"),
            "subtitle": None,
            "opts": self.opts,
            "address": address,
            "counts": erasure_preview(address=address),
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_field": f"{ActionLocation.CHANGE_FORM.value}-action"
            if on_change_form
            else "action",
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/support/supportrequest/erase_visitor_confirmation.html", context
        )
