"""Input shapes for the chatbot endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _
from rest_framework import serializers

from chatbots.models import OFFLINE_MESSAGE_MAX_CHARS, Chatbot
from core.actors import is_agent

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _validate_origin(value: str) -> str:
    if value == "*":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise serializers.ValidationError(
            _('"%(value)s" is not an origin: use scheme://host[:port] (no path), or "*".')
            % {"value": value}
        )
    if parts.query or parts.fragment or parts.username:
        raise serializers.ValidationError(_('"%(value)s" is not an origin.') % {"value": value})
    try:
        port = parts.port
    except ValueError:
        raise serializers.ValidationError(
            _('"%(value)s" has an invalid port.') % {"value": value}
        ) from None
    # Stored the way browsers send the Origin header (compared as strings): lower-case
    # host, no default port.
    netloc = parts.netloc.lower()
    if port == _DEFAULT_PORTS[parts.scheme]:
        netloc = netloc.rsplit(":", 1)[0]
    return f"{parts.scheme}://{netloc}"


class VisitorTextField(serializers.CharField):
    """Text a stranger typed. Control characters (NUL included) are the services' to strip
    (core/text.py), as they do for WebSocket input; DRF's default NUL check would
    instead refuse the whole body over one invisible character."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class ChatbotSerializer(serializers.ModelSerializer[Chatbot]):
    admin_email = serializers.EmailField(max_length=254)  # the longest SMTP carries
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=100
    )
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    offline_message = serializers.CharField(
        max_length=OFFLINE_MESSAGE_MAX_CHARS, required=False, allow_blank=True
    )
    # Checked by the services (chatbots/languages.py), which know the chatbot's language:
    # an invalid one answers 400 naming `translations`.
    translations = serializers.JSONField(required=False)
    agents = serializers.SlugRelatedField(
        slug_field="username",
        many=True,
        required=False,
        # Every user, so that a list read back (deactivated agents included) validates;
        # validate_agents refuses adding anyone who is not an active staff user.
        queryset=get_user_model().objects.all(),
    )

    class Meta:
        model = Chatbot
        fields = [
            "key",
            "name",
            "admin_email",
            "allowed_origins",
            "welcome_text",
            "language",
            "offline_message",
            "translations",
            "primary_color",
            "human_support_enabled",
            "is_active",
            "retention_days",
            "agents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["key", "created_at", "updated_at"]

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return [_validate_origin(v.strip()) for v in value]

    def validate_agents(self, value: list[Any]) -> list[Any]:
        request = self.context["request"]
        if not request.user.is_superuser:
            # An unchanged list is no change: a client may PATCH back what it read.
            unchanged = self.instance is not None and {u.pk for u in value} == set(
                self.instance.agents.values_list("pk", flat=True)
            )
            if not unchanged:
                raise serializers.ValidationError(
                    _("Only a superuser may change a chatbot's agents.")
                )
        current = (
            set()
            if self.instance is None
            else set(self.instance.agents.values_list("pk", flat=True))
        )
        refused = [u.username for u in value if u.pk not in current and not is_agent(u)]
        if refused:
            raise serializers.ValidationError(
                _("Agents must be active staff users: %(names)s.")
                % {"names": ", ".join(sorted(refused))}
            )
        return value


class BotMessageSerializer(serializers.Serializer[None]):
    message = VisitorTextField(trim_whitespace=False, allow_blank=True)
