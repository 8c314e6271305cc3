"""Django admin for chatbots: admin email, agents, widget origins, FAQ entries.

Agents (staff in the "Agents" group) see and edit only the chatbots they serve and may
not change who serves them; superusers manage everything.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Field, ManyToManyField, QuerySet
from django.forms import Field as FormField
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from rest_framework import serializers

from chatbots import services
from chatbots.models import Chatbot, FAQEntry
from chatbots.serializers import _validate_origin
from core.actors import agent_users

MAX_ORIGINS = 100


class OriginsField(forms.CharField):
    """A JSON list of origins edited as text, one origin per line."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value or ""

    # Its Python value is the list of origins, not the text a CharField gives.
    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = cast(str, super().to_python(value))  # empty_value is "", never None
        origins: list[str] = []
        errors: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                origin = _validate_origin(line)
            except serializers.ValidationError as exc:
                errors.extend(str(detail) for detail in exc.detail)
                continue
            if origin not in origins:
                origins.append(origin)
        if errors:
            raise forms.ValidationError(errors)
        if len(origins) > MAX_ORIGINS:
            raise forms.ValidationError(f"At most {MAX_ORIGINS} origins.")
        return origins

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True


class ChatbotAdminForm(forms.ModelForm):
    allowed_origins = OriginsField(
        required=False,
        help_text='One origin per line, e.g. "https://www.example.com"; "*" allows any origin.',
    )
    primary_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        initial="#2563eb",
        help_text='A colour like "#2563eb".',
        error_messages={"invalid": 'Enter a colour like "#2563eb".'},
    )

    class Meta:
        model = Chatbot
        fields = [
            "name",
            "admin_email",
            "is_active",
            "agents",
            "allowed_origins",
            "welcome_text",
            "primary_color",
            "human_support_enabled",
        ]


class FAQEntryInline(admin.StackedInline):
    model = FAQEntry
    extra = 0
    fields = ["question", "answer", "keywords"]


@admin.register(Chatbot)
class ChatbotAdmin(admin.ModelAdmin):
    form = ChatbotAdminForm
    list_display = ["name", "key", "admin_email", "is_active", "human_support_enabled"]
    list_filter = ["is_active", "human_support_enabled"]
    search_fields = ["name", "key", "admin_email"]
    readonly_fields = ["key", "created_at", "updated_at"]
    filter_horizontal = ["agents"]
    inlines = [FAQEntryInline]
    fieldsets = [
        (None, {"fields": ["name", "key", "admin_email", "is_active"]}),
        ("Agents", {"fields": ["agents"]}),
        (
            "Widget",
            {
                "fields": [
                    "allowed_origins",
                    "welcome_text",
                    "primary_color",
                    "human_support_enabled",
                ]
            },
        ),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(
        self, request: HttpRequest, obj: Chatbot, form: forms.ModelForm, change: bool
    ) -> None:
        """Through chatbots/services.py, as the API and `create_chatbot` do. `obj` is the
        form's instance: it must end up the saved row, because the FAQ inlines save
        against it next."""
        data = {
            name: form.cleaned_data[name]
            for name in services.CHATBOT_FIELDS | {"agents"}
            if name in form.cleaned_data
        }
        if change:
            services.chatbot_update(chatbot=obj, **data)
        else:
            obj.pk = services.chatbot_create(**data).pk
            obj.refresh_from_db()

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # Not form.save_m2m(): the agents were set by the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chatbot]:
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=Chatbot.objects.served_by(request.user).values("pk"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Chatbot | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Who serves a chatbot is the operator's decision, not the agents'.
            readonly.append("agents")
        return readonly

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Chatbot | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        if db_field.name == "agents":
            kwargs["queryset"] = get_user_model().objects.filter(agent_users())
            kwargs["help_text"] = "Staff users who answer this chatbot's support requests."
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_dbfield(
        self, db_field: Field, request: HttpRequest, **kwargs: Any
    ) -> FormField | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "agents" and formfield is not None:
            # No "add user" popup: its response page needs an inline script, which the
            # strict CSP refuses. Users are created in the Users admin.
            widget = formfield.widget
            for flag in ("can_add_related", "can_change_related", "can_view_related"):
                if hasattr(widget, flag):
                    setattr(widget, flag, False)
        return formfield
