# mypy: disable-error-code="import-untyped,misc,untyped-decorator"
# (Django and DRF ship no type information.)
"""The test project's URLconf: the contract's three routes, the token views (obtain with a
``claims_for``), a viewset."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import include, path
from rest_framework import routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwtauth.integrations.drf import ObtainView, public, require_scopes, token_urls
from tests.integrations.contract import PROTECTED, PUBLIC, REQUIRED_SCOPE, SCOPED

__all__ = ["urlpatterns"]


class ClaimsView(APIView):
    def get(self, request: Request) -> Response:
        return Response(dict(request.auth))


class ScopedView(APIView):
    permission_classes = (require_scopes(REQUIRED_SCOPE),)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


@public
class PublicView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True, "user": str(request.user.pk)})


class MeView(APIView):
    def get(self, request: Request) -> Response:
        return Response(
            {"username": request.user.get_username(), "type": type(request.user).__name__}
        )


class AllowAnyView(APIView):
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ("id", "username")


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = get_user_model().objects.order_by("id")
    serializer_class = UserSerializer

    @public
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response({"count": self.get_queryset().count()})

    @action(detail=False, permission_classes=[require_scopes("users:admin")])
    def admin(self, request: Request) -> Response:
        return Response({"ok": True})


class ScopedObtainView(ObtainView):
    """The project's claims hook: asked at obtain and at every refresh."""

    def claims_for(self, user: Any) -> dict[str, Any]:
        return {"scope": REQUIRED_SCOPE, "name": user.get_username()}


router = routers.SimpleRouter()
router.register("users", UserViewSet)

urlpatterns = [
    path(PROTECTED.lstrip("/"), ClaimsView.as_view()),
    path(SCOPED.lstrip("/"), ScopedView.as_view()),
    path(PUBLIC.lstrip("/"), PublicView.as_view()),
    path("me", MeView.as_view()),
    path("open", AllowAnyView.as_view()),
    path("token/obtain/", ScopedObtainView.as_view()),  # before token_urls(): this one answers
    path("token/", include(token_urls())),
    *router.urls,
]
