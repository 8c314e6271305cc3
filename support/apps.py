from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "support"
    default_auto_field = "django.db.models.AutoField"  # the seed's SERIAL ids
    verbose_name = _("Human support")

    def ready(self) -> None:
        # Receivers (support/signals.py) and the deploy checks register on import.
        from support import (
            checks,  # noqa: F401
            signals,  # noqa: F401
        )
        from support.metrics import instrumentation  # noqa: F401 - times database statements
