"""Every signal receiver of the support app, in one style (`@receiver` with a
`dispatch_uid`), connected when the app is ready (support/apps.py). Each receiver only
unpacks the signal and calls the function of the concern it serves."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from chatbots.models import Chatbot
from support import languages, permissions, services
from support.email import outbox, webhooks
from support.metrics import recording
from support.models import SupportMessage, SupportRequest
from support.realtime import revocation

User = get_user_model()


@receiver(m2m_changed, sender=Chatbot.agents.through, dispatch_uid="support.agents_changed")
def chatbot_agents_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action == "post_add":
        # New agents can use the Django admin for their chatbots.
        permissions.agents_added(instance=instance, reverse=reverse, pk_set=pk_set)
    # Removed agents' sockets close; added agents' queue sockets hear the chatbot.
    revocation.agents_changed(instance=instance, action=action, reverse=reverse, pk_set=pk_set)


@receiver(post_save, sender=Chatbot, dispatch_uid="support.chatbot_saved")
def chatbot_saved(sender: Any, instance: Chatbot, created: bool, **kwargs: Any) -> None:
    revocation.chatbot_saved(instance=instance, created=created)


@receiver(post_save, sender=User, dispatch_uid="support.user_saved")
def user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    revocation.user_saved(
        instance=instance,
        created=created,
        update_fields=frozenset(update_fields) if update_fields is not None else None,
    )


@receiver(post_delete, sender=User, dispatch_uid="support.user_deleted")
def user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    revocation.user_deleted(instance=instance)


@receiver(user_logged_out, dispatch_uid="support.logged_out")
def logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    revocation.logged_out(request=request, user=user)


@receiver(services.request_created, dispatch_uid="support.request_created")
def request_created(sender: Any, support_request: SupportRequest, **kwargs: Any) -> None:
    outbox.queue_for_new_request(support_request)


@receiver(services.request_changed, dispatch_uid="support.request_changed")
def request_changed(
    sender: Any, support_request: SupportRequest, action: str, **kwargs: Any
) -> None:
    recording.request_changed(support_request=support_request, action=action)


@receiver(services.message_stored, dispatch_uid="support.message_stored")
def message_stored(
    sender: Any, support_request: SupportRequest, message: SupportMessage, **kwargs: Any
) -> None:
    recording.message_stored(support_request=support_request, message=message)


@receiver(tracking, dispatch_uid="support.email_tracking")
def email_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    webhooks.record_tracking_event(event=event, esp_name=esp_name)


@receiver(user_logged_in, dispatch_uid="support.console_language_at_login")
def console_language_at_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    # The console language rides in the session (support/console/middleware.py): read
    # the agent's preference once, here, rather than on every page.
    if request is not None and hasattr(request, "session"):
        languages.remember_in_session(request.session, languages.agent_console_language(user))
