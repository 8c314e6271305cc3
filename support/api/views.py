"""HTTP endpoints of human support (DESIGN.md §5). Parse, authorise, call a service, render."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from chatbots.origins import ensure_origin_allowed
from chatbots.serializers import VisitorTextField
from chatbots.visitors import Actor, Visitor, require_visitor, visitor_of
from core.errors import NOT_AUTHENTICATED, NotFound
from core.http_auth import agent_of, require_agent
from core.ratelimit import shared_budget
from core.throttles import per_ip, per_session
from core.workpool import in_flight
from support import selectors, services
from support.api.schema import MessageListOut, MessageOut, RequestListOut, RequestOut
from support.languages import shipped
from support.models import SupportRequest
from support.presenters import message_json, request_json

NO_SUCH_SESSION = _("No such session for this token.")


def visitor_request_language(request: Request) -> str | None:
    """The language the visitor asked in: LocaleMiddleware's pick from the widget's
    Accept-Language. None when the widget sent none (the chatbot's language applies)."""
    if not request.headers.get("Accept-Language"):
        return None
    return shipped(translation.get_language())


class CreateRequestSerializer(serializers.Serializer[None]):
    session_id = serializers.CharField(max_length=255)
    user_name = VisitorTextField(required=False, allow_blank=True, allow_null=True, max_length=255)
    # 254: the longest address SMTP carries (RFC 5321 §4.5.3.1.3).
    user_email = serializers.EmailField(
        required=False, allow_blank=True, allow_null=True, max_length=254
    )
    initial_message = VisitorTextField(trim_whitespace=False, allow_blank=True)


class PostMessageSerializer(serializers.Serializer[None]):
    message = VisitorTextField(trim_whitespace=False, allow_blank=True)
    # Its length and characters are checked by services.validated_client_id.
    client_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)


def _request_for_actor(request: Request, request_id: str) -> tuple[Actor, SupportRequest]:
    """The caller (visitor or agent) and the request, or 401/403/404 as the contract says."""
    visitor = visitor_of(request)
    if visitor is not None:
        support_request = selectors.request_for_visitor(
            session=visitor.session, request_id=request_id
        )
        ensure_origin_allowed(request, support_request.chatbot)
        return visitor, support_request
    agent = agent_of(request)
    if agent is not None:
        return agent, selectors.request_for_agent(user=agent.user, request_id=request_id)
    if request.user.is_authenticated:
        raise NotFound()
    raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)


def _render_request(actor: Actor, support_request: SupportRequest) -> dict[str, object]:
    if isinstance(actor, Visitor):
        return request_json(support_request)
    return request_json(
        support_request, transcript=selectors.bot_transcript(support_request=support_request)
    )


class CreateRequestView(APIView):
    throttle_classes = [per_ip("request_create"), per_session("request_create")]

    @extend_schema(
        request=CreateRequestSerializer,
        responses={201: RequestOut, 200: RequestOut},
        summary="Ask for a human (returns the open request of the session if there is one)",
    )
    def post(self, request: Request) -> Response:
        visitor = require_visitor(request)
        body = CreateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["session_id"] != visitor.session.session_id:
            raise NotFound(NO_SUCH_SESSION)
        ensure_origin_allowed(request, visitor.session.chatbot)
        support_request, created = services.request_create(
            session=visitor.session,
            user_name=data.get("user_name"),
            user_email=data.get("user_email"),
            initial_message=data["initial_message"],
            language=visitor_request_language(request),
        )
        return Response(
            request_json(support_request),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class _QueueView(APIView):
    def queue(self, request: Request) -> QuerySet[SupportRequest]:
        raise NotImplementedError

    @extend_schema(responses=RequestListOut)
    def get(self, request: Request) -> Response:
        queryset = selectors.with_recent_transcripts(self.queue(request))
        return Response(
            {
                "requests": [
                    request_json(r, transcript=selectors.recent_transcript(r)) for r in queryset
                ]
            }
        )


class PendingRequestsView(_QueueView):
    def queue(self, request: Request) -> QuerySet[SupportRequest]:
        return selectors.pending_requests_for_agent(user=require_agent(request).user)


class ActiveRequestsView(_QueueView):
    def queue(self, request: Request) -> QuerySet[SupportRequest]:
        return selectors.active_requests_for_agent(user=require_agent(request).user)


class RequestDetailView(APIView):
    @extend_schema(responses=RequestOut, summary="A request (agents also get the bot transcript)")
    def get(self, request: Request, request_id: str) -> Response:
        actor, support_request = _request_for_actor(request, request_id)
        return Response(_render_request(actor, support_request))


class JoinView(APIView):
    @extend_schema(request=None, responses=RequestOut, summary="Agent joins: pending → active")
    def post(self, request: Request, request_id: str) -> Response:
        agent = require_agent(request)
        support_request = selectors.request_for_agent(user=agent.user, request_id=request_id)
        support_request = services.request_join(support_request=support_request, agent=agent)
        return Response(_render_request(agent, support_request))


class ResolveView(APIView):
    @extend_schema(request=None, responses=RequestOut, summary="Agent resolves: active → resolved")
    def post(self, request: Request, request_id: str) -> Response:
        agent = require_agent(request)
        support_request = selectors.request_for_agent(user=agent.user, request_id=request_id)
        support_request = services.request_resolve(support_request=support_request, agent=agent)
        return Response(_render_request(agent, support_request))


class CloseView(APIView):
    @extend_schema(request=None, responses=RequestOut, summary="Visitor or agent closes")
    def post(self, request: Request, request_id: str) -> Response:
        actor, support_request = _request_for_actor(request, request_id)
        support_request = services.request_close(support_request=support_request, actor=actor)
        return Response(_render_request(actor, support_request))


class MessagesView(APIView):
    # The same per-session and per-IP budget as a visitor's socket (core/ratelimit.py).
    throttle_classes = [shared_budget("visitor_message")]

    def get_throttles(self) -> list[BaseThrottle]:
        # Only visitors' writes are limited here; reads and agents are not strangers' calls.
        if self.request.method != "POST" or visitor_of(self.request) is None:
            return []
        return super().get_throttles()

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="Only messages with a larger id")],
        responses=MessageListOut,
        summary="Messages in order, after a cursor",
    )
    def get(self, request: Request, request_id: str) -> Response:
        _, support_request = _request_for_actor(request, request_id)
        after = selectors.parse_cursor(request.query_params.get("after"))
        messages = selectors.messages_after(support_request=support_request, after_id=after)
        return Response(
            {
                "messages": [
                    message_json(m, visitor_name=support_request.user_name) for m in messages
                ]
            }
        )

    @extend_schema(
        request=PostMessageSerializer,
        responses={201: MessageOut, 200: MessageOut},
        summary="Post a message; the same client_id twice stores one message (200 the second time)",
    )
    def post(self, request: Request, request_id: str) -> Response:
        actor, support_request = _request_for_actor(request, request_id)
        body = PostMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The live path's bound on work in flight (core/workpool.py): past it, 503 with
        # Retry-After and nothing stored.
        with in_flight().slot():
            result = services.message_post(
                support_request=support_request,
                actor=actor,
                text=body.validated_data["message"],
                client_id=body.validated_data.get("client_id"),
            )
        return Response(
            message_json(result.message, visitor_name=support_request.user_name),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
