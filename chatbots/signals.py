from __future__ import annotations

from typing import Any

from corsheaders.signals import check_request_enabled
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from chatbots.models import Chatbot
from chatbots.origins import any_chatbot_allows, forget_allowed_origins, is_widget_path


@receiver(check_request_enabled)
def allow_chatbot_origins(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    # django-cors-headers enables CORS on ANY path a receiver says yes to: check the path too.
    origin = request.headers.get("Origin")
    return bool(origin and is_widget_path(request.path_info) and any_chatbot_allows(origin))


@receiver(post_save, sender=Chatbot)
@receiver(post_delete, sender=Chatbot)
def chatbot_changed(sender: Any, **kwargs: Any) -> None:
    forget_allowed_origins()
