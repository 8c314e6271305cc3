"""Widget-facing endpoints (config, sessions, bot chat) and the operators' chatbot API."""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbots import services
from chatbots.ids import can_exist
from chatbots.languages import request_language, text_direction, translated
from chatbots.models import Chatbot
from chatbots.origins import ensure_origin_allowed
from chatbots.selectors import chatbot_by_key
from chatbots.serializers import BotMessageSerializer, ChatbotSerializer
from chatbots.visitors import require_visitor
from chatbots.widget_strings import widget_strings
from core.errors import CHATBOT_INACTIVE, Forbidden, NotFound
from core.http_auth import require_agent
from core.throttles import per_ip, per_session
from core.times import iso

_ConfigSerializer = inline_serializer(
    "WidgetConfig",
    {
        "key": serializers.CharField(),
        "name": serializers.CharField(),
        "welcome_text": serializers.CharField(),
        "primary_color": serializers.CharField(),
        "human_support_enabled": serializers.BooleanField(),
        "message_page_size": serializers.IntegerField(),
        "max_message_chars": serializers.IntegerField(),
        "language": serializers.CharField(),
        "dir": serializers.ChoiceField(choices=["ltr", "rtl"]),
        "strings": serializers.DictField(child=serializers.CharField()),
        "offline_message": serializers.CharField(),
    },
)
_SessionSerializer = inline_serializer(
    "VisitorSession", {"session_id": serializers.CharField(), "token": serializers.CharField()}
)
_BotReplySerializer = inline_serializer(
    "BotReply",
    {
        "reply": inline_serializer(
            "BotReplyMessage",
            {
                "role": serializers.CharField(),
                "text": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
        ),
        "handoff_suggested": serializers.BooleanField(),
    },
)


def visitor_language(request: Request, chatbot: Chatbot) -> str:
    """The language of a widget call (chatbots/languages.py has the rule): `?lang=` on the
    config, then Accept-Language, which the widget sets to the language its config chose."""
    return request_language(
        query=request.query_params.get("lang"),
        accept_language=request.headers.get("Accept-Language"),
        default=chatbot.language,
    )


def _active_chatbot(key: str) -> Chatbot:
    chatbot = chatbot_by_key(key)
    if chatbot is None:
        raise NotFound(gettext("No chatbot with this key."))
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    return chatbot


class WidgetConfigView(APIView):
    authentication_classes: list[type] = []

    @extend_schema(
        responses=_ConfigSerializer,
        summary="Public widget configuration",
        parameters=[
            OpenApiParameter(
                "lang",
                str,
                description="The visitor's languages, best first, comma-separated "
                '(e.g. "de-AT,de,en"); without it, Accept-Language.',
            )
        ],
    )
    def get(self, request: Request, key: str) -> Response:
        chatbot = _active_chatbot(key)
        ensure_origin_allowed(request, chatbot)
        language = visitor_language(request, chatbot)

        def text(field: str) -> str:
            return translated(chatbot, field, language, default_language=chatbot.language)

        response = Response(
            {
                "key": chatbot.key,
                "name": chatbot.name,
                "welcome_text": text("welcome_text"),
                "primary_color": chatbot.primary_color,
                "human_support_enabled": chatbot.human_support_enabled,
                # Limits the widget must agree on with the server, sent rather than copied.
                "message_page_size": settings.MESSAGE_PAGE_SIZE,
                "max_message_chars": settings.MAX_MESSAGE_CHARS,
                "language": language,
                "dir": text_direction(language),
                "strings": widget_strings(language),
                "offline_message": text("offline_message"),
            }
        )
        # The answer differs by the visitor's languages when `lang` is not in the URL.
        patch_vary_headers(response, ["Accept-Language"])
        return response


class SessionStartView(APIView):
    authentication_classes: list[type] = []
    throttle_classes = [per_ip("session_create")]

    @extend_schema(
        request=None, responses={201: _SessionSerializer}, summary="Start a visitor session"
    )
    def post(self, request: Request, key: str) -> Response:
        chatbot = _active_chatbot(key)
        ensure_origin_allowed(request, chatbot)
        session, token = services.session_start(
            chatbot=chatbot, origin=request.headers.get("Origin", "")
        )
        return Response(
            {"session_id": session.session_id, "token": token}, status=status.HTTP_201_CREATED
        )


class BotMessageView(APIView):
    throttle_classes = [per_ip("bot_message"), per_session("bot_message")]

    @extend_schema(
        request=BotMessageSerializer, responses=_BotReplySerializer, summary="Message to the bot"
    )
    def post(self, request: Request, session_id: str) -> Response:
        visitor = require_visitor(request)
        if visitor.session.session_id != session_id:
            raise NotFound()
        ensure_origin_allowed(request, visitor.session.chatbot)
        body = BotMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reply, handoff = services.bot_message(
            session=visitor.session,
            text=body.validated_data["message"],
            language=visitor_language(request, visitor.session.chatbot),
        )
        return Response(
            {
                "reply": {
                    "role": reply.role,
                    "text": reply.text,
                    "created_at": iso(reply.created_at),
                },
                "handoff_suggested": handoff,
            }
        )


class ChatbotListView(APIView):
    @extend_schema(
        responses=inline_serializer("ChatbotList", {"chatbots": ChatbotSerializer(many=True)}),
        operation_id="api_chatbots_list",
        summary="Chatbots you serve",
    )
    def get(self, request: Request) -> Response:
        agent = require_agent(request)
        chatbots = Chatbot.objects.served_by(agent.user).prefetch_related("agents").order_by("id")
        data = ChatbotSerializer(chatbots, many=True, context={"request": request}).data
        return Response({"chatbots": data})

    @extend_schema(
        request=ChatbotSerializer, responses={201: ChatbotSerializer}, summary="Create a chatbot"
    )
    def post(self, request: Request) -> Response:
        agent = require_agent(request)
        if not agent.user.is_superuser:
            raise exceptions.PermissionDenied(gettext("Only a superuser may create chatbots."))
        serializer = ChatbotSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        chatbot = services.chatbot_create(**serializer.validated_data)
        return Response(
            ChatbotSerializer(chatbot, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ChatbotDetailView(APIView):
    def _chatbot(self, request: Request, key: str) -> Chatbot:
        agent = require_agent(request)
        served = Chatbot.objects.served_by(agent.user)
        chatbot = served.filter(key=key).first() if can_exist(key) else None
        if chatbot is None:
            raise NotFound()
        return chatbot

    @extend_schema(responses=ChatbotSerializer, summary="A chatbot you serve")
    def get(self, request: Request, key: str) -> Response:
        chatbot = self._chatbot(request, key)
        return Response(ChatbotSerializer(chatbot, context={"request": request}).data)

    @extend_schema(
        request=ChatbotSerializer, responses=ChatbotSerializer, summary="Change a chatbot"
    )
    def patch(self, request: Request, key: str) -> Response:
        chatbot = self._chatbot(request, key)
        serializer = ChatbotSerializer(
            chatbot, data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        chatbot = services.chatbot_update(chatbot=chatbot, **serializer.validated_data)
        return Response(ChatbotSerializer(chatbot, context={"request": request}).data)
