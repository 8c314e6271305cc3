"""Django admin of the support app: requests (status changes through the shared actions),
the email outbox and agents' preferences. Each module registers its own ModelAdmins."""

from support.admin import emails, requests  # noqa: F401
