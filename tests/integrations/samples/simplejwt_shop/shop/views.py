# simplejwt ships no type information.
# mypy: disable-error-code="import-untyped,misc"
"""The obtain view adding the user's name to the tokens (simplejwt's "customizing token
claims"), and the orders of the authenticated user (DRF's default permission)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView


class ShopTokenObtainPairSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user: Any) -> Any:
        token = super().get_token(user)
        token["name"] = user.get_full_name()
        return token


class ShopTokenObtainPairView(TokenObtainPairView):
    serializer_class = ShopTokenObtainPairSerializer


class OrdersView(APIView):
    def get(self, request: Request) -> Response:
        return Response(
            {"user": request.user.get_username(), "name": request.auth["name"], "orders": ["o-1"]}
        )
