from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    default_auto_field = "django.db.models.AutoField"  # the seed's SERIAL ids
    verbose_name = "Human support"

    def ready(self) -> None:
        from support.access import connect_signals

        connect_signals()  # an agent's sockets close when their access ends
        from support import permissions

        permissions.connect_signals()  # a chatbot's new agents join the "Agents" group
        # Connects the ESP tracking-signal receiver (email delivery status).
        # Registers the deploy checks (FRONTEND_URL).
        from support import (
            checks,  # noqa: F401
            webhooks,  # noqa: F401
        )
