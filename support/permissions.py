"""Model permissions that let a staff agent use the Django admin for their chatbots."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

AGENTS_GROUP = "Agents"
AGENT_PERMISSIONS = [
    ("chatbots", "view_chatbot"),
    ("chatbots", "change_chatbot"),
    ("chatbots", "view_faqentry"),
    ("chatbots", "add_faqentry"),
    ("chatbots", "change_faqentry"),
    ("chatbots", "delete_faqentry"),
    ("support", "view_supportrequest"),
    ("support", "change_supportrequest"),
    ("support", "view_supportmessage"),
]


def agents_group() -> Group:
    group, _ = Group.objects.get_or_create(name=AGENTS_GROUP)
    wanted = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in AGENT_PERMISSIONS
    ]
    group.permissions.add(*wanted)
    return group


def grant_agent_permissions(user: object) -> None:
    user.groups.add(agents_group())  # type: ignore[attr-defined]


def agents_added(*, instance: Any, reverse: bool, pk_set: set[int] | None) -> None:
    """Whoever is made an agent of a chatbot (admin, API, command, shell) can use the admin.

    Removal keeps the group: the admin scopes every row by Chatbot.objects.served_by, so
    an agent without chatbots sees nothing.
    """
    if not pk_set:
        return
    users = [instance] if reverse else get_user_model().objects.filter(pk__in=pk_set)
    group = agents_group()
    for user in users:
        user.groups.add(group)
