"""Django admin for chatbots: admin email, agents, widget origins, FAQ entries.

Agents (staff in the "Agents" group) see and edit only the chatbots they serve and may
not change who serves them; superusers manage everything.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Field, ManyToManyField, QuerySet
from django.forms import Field as FormField
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chatbots import services
from chatbots.languages import shipped_languages
from chatbots.models import (
    CHATBOT_TRANSLATION_LIMITS,
    FAQ_TRANSLATION_LIMITS,
    Chatbot,
    FAQEntry,
)
from chatbots.serializers import _validate_origin
from core.actors import agent_users
from core.errors import InvalidInput

MAX_ORIGINS = 100


# --- texts per language ----------------------------------------------------------------------
#
# A model's `translations` JSON ({"de": {"welcome_text": ...}}) is edited as one plain text
# field per language and text ("Welcome text (German)"), so admins never write JSON.


def translation_field_name(field: str, code: str) -> str:
    return f"{field}__{code.replace('-', '_')}"


# The per-language fields' labels: "Welcome text (German)".
TEXT_LABELS = {
    "welcome_text": _("Welcome text"),
    "offline_message": _("Offline message"),
    "question": _("Question"),
    "answer": _("Answer"),
    "keywords": _("Keywords"),
}


def _translation_form_fields(limits: dict[str, int]) -> dict[str, forms.Field]:
    names = dict(settings.LANGUAGES)
    return {
        translation_field_name(field, code): forms.CharField(
            required=False,
            max_length=limit,
            label=format_lazy(
                _("{text} ({language})"), text=TEXT_LABELS[field], language=names[code]
            ),
            widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        )
        for code in shipped_languages()
        for field, limit in limits.items()
    }


def translation_fieldnames(limits: dict[str, int]) -> list[str]:
    return [translation_field_name(field, code) for code in shipped_languages() for field in limits]


class TranslationsForm(forms.ModelForm):
    """Fills the per-language fields from `instance.translations` and gathers them back
    into `cleaned_data["translations"]`, checked by the services' rule."""

    translation_limits: dict[str, int] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.translations or {}
        for code in shipped_languages():
            for field in self.translation_limits:
                name = translation_field_name(field, code)
                if name in self.fields:
                    self.initial.setdefault(name, (stored.get(code) or {}).get(field, ""))

    def gathered_translations(self) -> dict[str, dict[str, str]]:
        gathered: dict[str, dict[str, str]] = {}
        for code in shipped_languages():
            for field in self.translation_limits:
                text = self.cleaned_data.get(translation_field_name(field, code)) or ""
                if text.strip():
                    gathered.setdefault(code, {})[field] = text
        return gathered


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
            raise forms.ValidationError(_("At most %(count)d origins.") % {"count": MAX_ORIGINS})
        return origins

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True


class ChatbotAdminFormBase(TranslationsForm):
    translation_limits = CHATBOT_TRANSLATION_LIMITS

    # Not required: a form posted without it (a script, an older page) keeps the current
    # language; the page itself always sends one.
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        label=_("Language"),
        help_text=_(
            "The widget's language when neither the page nor the browser asks for a "
            "shipped one, and the language of the welcome text and offline message."
        ),
    )
    allowed_origins = OriginsField(
        required=False,
        label=_("Allowed origins"),
        help_text=_('One origin per line, e.g. "https://www.example.com"; "*" allows any origin.'),
    )
    primary_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        initial="#2563eb",
        label=_("Primary colour"),
        help_text=_('A colour like "#2563eb".'),
        error_messages={"invalid": _('Enter a colour like "#2563eb".')},
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
            "language",
            "offline_message",
            "primary_color",
            "human_support_enabled",
            "retention_days",
        ]

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.instance.language

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            cleaned["translations"] = services.validated_chatbot_translations(
                self.gathered_translations(),
                default_language=cleaned.get("language") or self.instance.language,
            )
        except InvalidInput as exc:
            self.add_error(None, exc.detail)
        return cleaned


ChatbotAdminForm = type(
    "ChatbotAdminForm",
    (ChatbotAdminFormBase,),
    {"__module__": __name__, **_translation_form_fields(CHATBOT_TRANSLATION_LIMITS)},
)


class FAQEntryFormBase(TranslationsForm):
    translation_limits = FAQ_TRANSLATION_LIMITS

    class Meta:
        model = FAQEntry
        fields = ["question", "answer", "keywords"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            self.instance.translations = services.validated_faq_translations(
                self.gathered_translations()
            )
        except InvalidInput as exc:
            self.add_error(None, exc.detail)
        return cleaned


FAQEntryForm = type(
    "FAQEntryForm",
    (FAQEntryFormBase,),
    {"__module__": __name__, **_translation_form_fields(FAQ_TRANSLATION_LIMITS)},
)


class FAQEntryInline(admin.StackedInline):
    model = FAQEntry
    form = FAQEntryForm
    extra = 0
    fieldsets = [
        (None, {"fields": ["question", "answer", "keywords"]}),
        (
            _("In other languages (empty: the text above is used)"),
            {"classes": ["collapse"], "fields": [*translation_fieldnames(FAQ_TRANSLATION_LIMITS)]},
        ),
    ]


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
        (_("Agents"), {"fields": ["agents"]}),
        (_("Retention"), {"fields": ["retention_days"]}),
        (
            _("Widget"),
            {
                "fields": [
                    "allowed_origins",
                    "welcome_text",
                    "primary_color",
                    "human_support_enabled",
                ]
            },
        ),
        (_("Languages"), {"fields": ["language", "offline_message"]}),
        (
            _("Welcome text and offline message in other languages"),
            {
                "classes": ["collapse"],
                "description": _(
                    "Empty: the visitor sees the text in the chatbot's language. "
                    "The chatbot's own language is the fields above, not these."
                ),
                "fields": [*translation_fieldnames(CHATBOT_TRANSLATION_LIMITS)],
            },
        ),
        (_("Timestamps"), {"fields": ["created_at", "updated_at"]}),
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
            kwargs["help_text"] = _("Staff users who answer this chatbot's support requests.")
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
