from django.urls import path

from support.api import views as api

urlpatterns = [
    path("request", api.CreateRequestView.as_view(), name="support-request-create"),
    path("requests/pending", api.PendingRequestsView.as_view(), name="support-pending"),
    path("requests/active", api.ActiveRequestsView.as_view(), name="support-active"),
    path("requests/<str:request_id>", api.RequestDetailView.as_view(), name="support-detail"),
    path("requests/<str:request_id>/join", api.JoinView.as_view(), name="support-join"),
    path("requests/<str:request_id>/messages", api.MessagesView.as_view(), name="support-messages"),
    path("requests/<str:request_id>/resolve", api.ResolveView.as_view(), name="support-resolve"),
    path("requests/<str:request_id>/close", api.CloseView.as_view(), name="support-close"),
]
