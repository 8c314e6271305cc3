from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    default_auto_field = "django.db.models.AutoField"  # the seed's SERIAL ids
    verbose_name = "Human support"

    def ready(self) -> None:
        # Receivers (support/signals.py) and the deploy checks register on import.
        from support import (
            checks,  # noqa: F401
            signals,  # noqa: F401
        )
        from support.metrics import instrumentation  # noqa: F401 - times database statements
