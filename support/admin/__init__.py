"""Django admin of the support app: requests (status changes through the shared actions),
the email outbox, agents' preferences and the erasure audit. Each module registers its
own ModelAdmins."""

from support.admin import emails, erasures, requests  # noqa: F401
