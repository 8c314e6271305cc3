"""Chatbots, their visitors' sessions and the bot conversation."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.actors import is_agent
from core.encryption import EncryptedTextField

# English in the column's default; chatbots/services.py writes it in the chatbot's language.
DEFAULT_WELCOME_TEXT = gettext_noop("Hi! How can I help you today?")
OFFLINE_MESSAGE_MAX_CHARS = 1000
# The longest text of each kind a translation may hold (chatbots/languages.py checks).
CHATBOT_TRANSLATION_LIMITS = {"welcome_text": 2000, "offline_message": OFFLINE_MESSAGE_MAX_CHARS}
FAQ_TRANSLATION_LIMITS = {"question": 500, "answer": 5000, "keywords": 500}


def new_chatbot_key() -> str:
    return secrets.token_urlsafe(12)


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ChatbotQuerySet(models.QuerySet["Chatbot"]):
    def served_by(self, user: object) -> ChatbotQuerySet:
        """Chatbots whose requests `user` may see: all for superusers, listed ones for
        other agents, none for anyone else (core.actors.is_agent decides who is an agent)."""
        if not is_agent(user):
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(agents=user)


class Chatbot(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=64, unique=True, default=new_chatbot_key, editable=False)
    admin_email = models.EmailField(max_length=255)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            'Origins allowed to embed the widget, e.g. "https://www.example.com". '
            '"*" allows any origin.'
        ),
    )
    welcome_text = models.TextField(default=DEFAULT_WELCOME_TEXT, blank=True)
    # Shown when no agent is available (a later issue shows it; for now stored and served).
    offline_message = models.TextField(
        blank=True,
        default="",
        max_length=OFFLINE_MESSAGE_MAX_CHARS,
        help_text=_("Shown to visitors when no agent is available."),
    )
    # The chatbot's default language: the widget's when neither the page nor the browser
    # names a shipped one, and the language of the admin's emails.
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # The welcome text and offline message in other languages than `language`:
    # {"de": {"welcome_text": ..., "offline_message": ...}} (chatbots/languages.py,
    # docs/decisions.md says why a JSON field).
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The welcome text and offline message in other languages."),
    )
    primary_color = models.CharField(max_length=7, default="#2563eb")
    human_support_enabled = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    # Closed requests older than this many days are purged (support/upkeep/retention.py).
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "Closed requests are deleted this many days after closing. "
            "Empty: the installation's default; 0: kept forever."
        ),
    )
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="served_chatbots", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChatbotQuerySet.as_manager()

    class Meta:
        db_table = "chatbots"

    def __str__(self) -> str:
        return self.name

    def allows_origin(self, origin: str | None) -> bool:
        if not origin:
            return True
        origins = [o.rstrip("/") for o in self.allowed_origins or []]
        return "*" in origins or origin.rstrip("/") in origins


class FAQEntry(models.Model):
    chatbot = models.ForeignKey(Chatbot, on_delete=models.CASCADE, related_name="faq_entries")
    question = models.CharField(max_length=500)
    answer = models.TextField()
    keywords = models.CharField(
        max_length=500, blank=True, help_text=_("Extra words that should match this entry.")
    )
    # The entry in other languages than its chatbot's: {"de": {"question", "answer",
    # "keywords"}}; a missing text falls back to the field itself.
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The question, answer and keywords in other languages."),
    )

    class Meta:
        db_table = "faq_entries"
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")

    def __str__(self) -> str:
        return self.question


class ChatSession(models.Model):
    """One visitor's conversation with one chatbot.

    The visitor proves ownership with a bearer token that only they hold: we keep its
    SHA-256, never the token, so a database dump or an agent's screen cannot leak it.
    """

    session_id = models.CharField(max_length=255, unique=True, default=new_session_id)
    chatbot = models.ForeignKey(Chatbot, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    origin = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the token last let someone in, to the hour (chatbots/selectors.py): a token
    # unused for VISITOR_TOKEN_DAYS no longer does.
    # (A database default too: the original schema's SQL inserts sessions without it.)
    last_used_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "chat_sessions"

    def __str__(self) -> str:
        return self.session_id

    def issue_token(self) -> str:
        """Set a fresh token (128+ random bits) and return it; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token

    def token_matches(self, token: str | None) -> bool:
        if not token or not self.token_hash:
            return False
        return hmac.compare_digest(hash_token(token), self.token_hash)


class ChatMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user", _("Visitor")
        BOT = "bot", _("Bot")

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "chat_messages"
        indexes = [models.Index(fields=["session", "id"], name="chat_msg_session_id_idx")]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"
