"""Reads that check access. "Not yours" and "does not exist" raise the same NotFound."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from chatbots.ids import can_exist
from chatbots.models import Chatbot, ChatMessage, ChatSession
from core.encryption import encryption_enabled
from core.errors import InvalidInput, NotFound
from support.models import RequestStatus, SupportMessage, SupportRequest, email_hash


def _requests() -> QuerySet[SupportRequest]:
    return SupportRequest.objects.select_related("chatbot", "assigned_agent")


def requests_for_agent(*, user: AbstractBaseUser) -> QuerySet[SupportRequest]:
    return _requests().filter(chatbot__in=Chatbot.objects.served_by(user).values("id"))


def request_for_agent(*, user: AbstractBaseUser, request_id: str) -> SupportRequest:
    if not can_exist(request_id):
        raise NotFound()
    support_request = requests_for_agent(user=user).filter(request_id=request_id).first()
    if support_request is None:
        raise NotFound()
    return support_request


def request_for_visitor(*, session: ChatSession, request_id: str) -> SupportRequest:
    if not can_exist(request_id):
        raise NotFound()
    support_request = _requests().filter(request_id=request_id, session=session).first()
    if support_request is None:
        raise NotFound()
    return support_request


def requests_of_visitor(*, email: str) -> QuerySet[SupportRequest]:
    """Every request whose visitor gave `email` (any case), for operators' commands (no
    access check: the caller is the operator). While encryption is on, by the keyed hash
    (support.models.email_hash): rows written before the keys were set have none until
    `rotate_encryption_keys` fills it."""
    address = email.strip().lower()
    if not address:
        return SupportRequest.objects.none()
    if encryption_enabled():
        return _requests().filter(user_email_hash=email_hash(address)).order_by("created_at", "id")
    return _requests().filter(user_email__iexact=address).order_by("created_at", "id")


def pending_requests_for_agent(*, user: AbstractBaseUser) -> QuerySet[SupportRequest]:
    return (
        requests_for_agent(user=user)
        .filter(status=RequestStatus.PENDING)
        .order_by("created_at", "id")
    )


def active_requests_for_agent(*, user: AbstractBaseUser) -> QuerySet[SupportRequest]:
    return (
        requests_for_agent(user=user)
        .filter(status=RequestStatus.ACTIVE)
        .order_by("created_at", "id")
    )


MAX_CURSOR = 2**63 - 1  # the largest id a BIGINT column can hold
INVALID_CURSOR = "A non-negative integer is required."


def parse_cursor(value: str | None) -> int:
    """The `after` cursor as a URL gives it (HTTP query, socket query): absent or empty
    is 0, else ASCII digits only, at most 19 of them; one beyond every possible id is the
    largest id (nothing follows it). Anything else is InvalidInput naming `after`.

    ASCII only: str.isdigit() also accepts "²", which int() refuses, and int() refuses
    more than 4300 digits.
    """
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_CURSOR)):
        raise InvalidInput("after", INVALID_CURSOR)
    return min(int(value), MAX_CURSOR)


def messages_after(
    *, support_request: SupportRequest, after_id: int = 0, limit: int | None = None
) -> list[SupportMessage]:
    """One page: at most `limit` (default MESSAGE_PAGE_SIZE) messages after `after_id`."""
    return list(
        SupportMessage.objects.select_related("sender")
        .filter(support_request=support_request, id__gt=after_id)
        .order_by("id")[: limit or settings.MESSAGE_PAGE_SIZE]
    )


def bot_transcript(*, support_request: SupportRequest) -> list[ChatMessage]:
    """The visitor's conversation with the bot before (and around) the handoff, oldest
    first: all of it, up to its last TRANSCRIPT_MAX_MESSAGES messages.

    A stranger decides how long it gets (30 bot messages a minute, for as long as they
    like): the cap keeps one page from carrying megabytes, far above a real conversation.
    """
    newest = ChatMessage.objects.filter(session__session_id=support_request.session_id).order_by(
        "-id"
    )[: settings.TRANSCRIPT_MAX_MESSAGES]
    return list(reversed(newest))


def with_recent_transcripts(queryset: QuerySet[SupportRequest]) -> QuerySet[SupportRequest]:
    """The queue lists: each request with the last TRANSCRIPT_LIST_MESSAGES messages of its
    bot conversation, in one query for all (a sliced prefetch: a window function)."""
    newest = ChatMessage.objects.order_by("-id")[: settings.TRANSCRIPT_LIST_MESSAGES]
    return queryset.select_related("session").prefetch_related(
        Prefetch("session__messages", queryset=newest, to_attr="newest_messages")
    )


def recent_transcript(support_request: SupportRequest) -> list[ChatMessage]:
    """What with_recent_transcripts fetched for this request, oldest first."""
    return list(reversed(support_request.session.newest_messages))  # type: ignore[attr-defined]
