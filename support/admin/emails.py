"""Django admin for the email outbox: what was sent, what failed and why.

Rows are read-only here; the one action (resend failed) goes through outbox.py.
An agent sees the emails of the chatbots they serve, a superuser all of them. Agents also
keep their own "email me new requests" preference here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from chatbots.models import Chatbot
from support import languages
from support.admin.readonly import ReadOnlyAdminMixin
from support.admin.search import EncryptedSearchMixin
from support.email import outbox
from support.models import AgentPreference, EmailNotification, EmailStatus

if TYPE_CHECKING:
    from django.contrib.admin.options import Action

EMAIL_FIELDS = (
    "kind",
    "recipient",
    "request_link",
    "status",
    "attempts",
    "last_error",
    "provider_message_id",
    "created_at",
    "sent_at",
    "tracked_at",
    "locked_until",
    "updated_at",
)


def _serves_any_chatbot(request: HttpRequest) -> bool:
    return Chatbot.objects.served_by(request.user).exists()


@admin.register(EmailNotification)
class EmailNotificationAdmin(EncryptedSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "recipient",
        "request_link",
        "status",
        "attempts",
        "short_error",
        "provider_message_id",
        "sent_at",
    ]
    list_filter = [
        "status",
        "kind",
        ("support_request__chatbot", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["recipient", "=provider_message_id", "=support_request__request_id"]
    list_select_related = ["support_request", "support_request__chatbot"]
    fields = EMAIL_FIELDS
    readonly_fields = EMAIL_FIELDS
    actions = ["resend_failed"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmailNotification]:
        served = Chatbot.objects.served_by(request.user).values("id")
        return super().get_queryset(request).filter(support_request__chatbot__in=served)

    # Agents see their chatbots' emails without a model permission of their own: the
    # queryset above is the access rule, as for requests.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _serves_any_chatbot(request)

    def has_view_permission(
        self, request: HttpRequest, obj: EmailNotification | None = None
    ) -> bool:
        return _serves_any_chatbot(request)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return _serves_any_chatbot(request)

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Action | None]:
        found = super().get_actions(request, action_location=action_location)
        found.pop("delete_selected", None)
        return found

    @admin.display(description=_("request"), ordering="support_request__created_at")
    def request_link(self, obj: EmailNotification) -> str:
        url = reverse("admin:support_supportrequest_change", args=[obj.support_request_id])
        return format_html('<a href="{}">{}</a>', url, obj.support_request.request_id)

    @admin.display(description=_("last error"))
    def short_error(self, obj: EmailNotification) -> str:
        error = obj.last_error
        return error if len(error) <= 80 else error[:79] + "…"

    @admin.action(description=_("Resend selected failed emails"), permissions=["resend"])
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[EmailNotification]) -> None:
        failed = queryset.filter(status=EmailStatus.FAILED)
        count = outbox.requeue_failed(list(failed.values_list("pk", flat=True)))
        skipped = queryset.count() - count
        # The English text says "email(s)" either way (as it always has); ngettext still
        # gives other languages their plural forms.
        queued_again = ngettext(
            "%(count)d email(s) queued again.", "%(count)d email(s) queued again.", count
        ) % {"count": count}
        self.message_user(request, queued_again, level=messages.SUCCESS)
        if skipped:
            not_failed = ngettext(
                "%(count)d selected email had not failed.",
                "%(count)d selected emails had not failed.",
                skipped,
            ) % {"count": skipped}
            self.message_user(request, not_failed, level=messages.WARNING)


@admin.register(AgentPreference)
class AgentPreferenceAdmin(admin.ModelAdmin):
    """Each agent sees and changes only their own preference; superusers see all."""

    list_display = ["user", "email_on_new_request", "console_language"]

    def get_fields(
        self, request: HttpRequest, obj: AgentPreference | None = None
    ) -> tuple[str, ...]:
        if request.user.is_superuser:
            return ("user", "email_on_new_request", "console_language")
        return ("email_on_new_request", "console_language")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentPreference]:
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def _is_agent(self, request: HttpRequest) -> bool:
        return _serves_any_chatbot(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_agent(request)

    def has_view_permission(self, request: HttpRequest, obj: AgentPreference | None = None) -> bool:
        return self._is_agent(request) and (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    def has_change_permission(
        self, request: HttpRequest, obj: AgentPreference | None = None
    ) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return True
        # The admin site lets in logged-in staff only: the user is not anonymous here.
        own = AgentPreference.objects.filter(user=cast(User, request.user)).exists()
        return self._is_agent(request) and not own

    def has_delete_permission(
        self, request: HttpRequest, obj: AgentPreference | None = None
    ) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: AgentPreference, form: ModelForm, change: bool
    ) -> None:
        user = obj.user if request.user.is_superuser else cast(User, request.user)
        outbox.set_agent_preference(user=user, email_on_new_request=obj.email_on_new_request)
        saved = languages.set_console_language(user=user, language=obj.console_language)
        if user.pk == request.user.pk:
            # Their console follows at once (the language rides in the login session).
            languages.remember_in_session(request.session, saved.console_language)
        obj.pk, obj.user = saved.pk, saved.user
