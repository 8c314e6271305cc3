from django.urls import path

from chatbots import api

urlpatterns = [
    path("api/chatbots", api.ChatbotListView.as_view(), name="chatbot-list"),
    path("api/chatbots/<str:key>", api.ChatbotDetailView.as_view(), name="chatbot-detail"),
    path("api/chatbots/<str:key>/config", api.WidgetConfigView.as_view(), name="widget-config"),
    path("api/chatbots/<str:key>/sessions", api.SessionStartView.as_view(), name="session-start"),
    path(
        "api/sessions/<str:session_id>/messages",
        api.BotMessageView.as_view(),
        name="bot-message",
    ),
]
