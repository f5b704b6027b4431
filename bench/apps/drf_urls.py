# mypy: disable-error-code="import-untyped,misc"
"""The URLconf of ``bench.apps.drf_project``: ``GET /`` (bare) or ``GET /claims``."""

from typing import Any

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.apps.peers import CLAIMS_SHAPE

__all__ = ["urlpatterns"]


class Bare(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request: Any) -> Response:
        return Response(CLAIMS_SHAPE)


class Claims(APIView):
    # Authentication and permission: the project's defaults (simplejwt's or jwtauth's).

    def get(self, request: Any) -> Response:
        claims = getattr(request.auth, "payload", request.auth)  # simplejwt: a token object
        return Response(dict(claims))


urlpatterns = [path("", Bare.as_view()), path("claims", Claims.as_view())]
