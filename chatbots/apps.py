from django.apps import AppConfig


class ChatbotsConfig(AppConfig):
    name = "chatbots"
    default_auto_field = "django.db.models.AutoField"  # the seed's integer chatbots.id

    def ready(self) -> None:
        from chatbots import signals  # noqa: F401 - connects the receivers
