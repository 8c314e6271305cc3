"""Every text the widget shows, by a stable key: the config answer's `strings`.

The widget (static/widget/chatbot-widget.js) holds no text of its own but English
fallbacks; it asks for its catalog with its config, in the visitor's language. Keys never
change meaning: a changed text gets a new key. `{name}` is filled in by the widget.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

WIDGET_STRINGS: dict[str, Promise] = {
    # The launcher's and the panel's accessible names.
    "open_chat": _("Open chat"),
    "chat_with": _("Chat with {name}"),
    "minimize_chat": _("Minimize chat"),
    "conversation": _("Conversation"),
    # The button bar.
    "speak_to_human": _("Speak to a human"),
    "talk_to_person": _("Talk to a person"),
    "end_conversation": _("End conversation"),
    "new_conversation": _("Start a new conversation"),
    # The message box.
    "message_label": pgettext_lazy("form field", "Message"),
    "message_placeholder": _("Type a message…"),
    "send": pgettext_lazy("button", "Send"),
    "sending": _("Sending…"),
    # The "speak to a human" form.
    "form_intro": _("Leave a message and someone from our team will join this chat."),
    "name_label": pgettext_lazy("person's name", "Name"),
    "email_label": _("Email"),
    "optional": _("Optional"),
    "email_note": _("Optional: so we can write back if you leave"),
    "cancel": _("Cancel"),
    "email_invalid": _("Enter a valid email address, or leave it empty."),
    "message_required": _("Please write a message."),
    # The live conversation.
    "agent": pgettext_lazy("sender of a message", "Agent"),
    "status_pending": _("Waiting for an agent"),
    "status_active": _("An agent joined"),
    "status_active_named": _("{name} joined"),
    "status_resolved": _("Resolved. Write again if you need more help."),
    "status_closed": _("This conversation is closed."),
    "agent_typing": _("The agent is typing…"),
    "agent_typing_named": _("{name} is typing…"),
    # Notices.
    "offline": _("You are offline. Your messages will be sent when the connection is back."),
    "offline_retry": _("You seem to be offline. Please try again."),
    "session_expired": _("Your chat session has expired. Please start again."),
    "conversation_gone": _("This conversation is no longer available."),
    "error_status": _("Something went wrong ({status})."),
}


def widget_strings(language: str) -> dict[str, str]:
    """The whole catalog in `language` (a shipped code)."""
    with translation.override(language):
        return {key: str(text) for key, text in WIDGET_STRINGS.items()}
