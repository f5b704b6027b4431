# mypy: disable-error-code="import-untyped,misc"
# (Django and DRF ship no type information.)
"""The host's own API (deny by default), the auth API and the simplejwt-shaped token views."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from jwtauth.integrations.django_app.auth_api import jwtauth_urls
from jwtauth.integrations.drf import public, token_urls

__all__ = ["urlpatterns"]


class OrdersView(APIView):
    def get(self, request: Any) -> Response:
        return Response(["o-1"])


@public
class ReadyView(APIView):
    def get(self, request: Any) -> Response:
        return Response({"ready": True})


urlpatterns = [
    path("orders", OrdersView.as_view()),
    path("ready", ReadyView.as_view()),
    path("", include(jwtauth_urls)),
    path("api/token/", include(token_urls())),  # simplejwt's shapes, the same service
]
