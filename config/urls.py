from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from core.health import healthz, readyz
from support.metrics.views import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path(
        "console/login/",
        auth_views.LoginView.as_view(
            template_name="admin/login.html", extra_context={"site_header": _("Handoff console")}
        ),
        name="login",
    ),
    path("console/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", include("support.console.urls")),
    path("", include("chatbots.urls")),
    path("human-support/", include("support.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # ESP tracking webhooks (/anymail/{esp}/tracking/), behind mandatory basic auth.
    path("anymail/", include("support.email.webhooks")),
]

if settings.DEMO_PAGE:
    from chatbots.demo import demo_page

    urlpatterns.append(path("demo/", demo_page, name="demo"))
