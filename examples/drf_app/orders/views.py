"""The shop's API: users, orders and a health check."""

import os

from django.contrib.auth import get_user_model
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from jwtauth.integrations.drf import public

from .models import Order


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ("id", "username")


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ("id", "item", "quantity")


@public
class HealthView(APIView):
    """Reachable without a token, on purpose and said so."""

    def get(self, request):
        return Response({"status": "ok"})


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Protected by the default: no permission_classes needed."""

    queryset = get_user_model().objects.order_by("id")
    serializer_class = UserSerializer


class OrderViewSet(viewsets.ModelViewSet):
    serializer_class = OrderSerializer
    queryset = Order.objects.all()

    # SHOP_DEMO_OPEN_VIEWSET=1 leaves it open ON PURPOSE, so that the audit has something to
    # catch: a tutorial's IsAuthenticatedOrReadOnly lets anyone list and read every order.
    # `manage.py check` (error jwtauth.E003, so migrate and runserver stop too) and
    # `manage.py jwtauth_audit` then report GET /api/orders/ and GET /api/orders/<pk>/.
    # Without the flag the default applies: a token is required.
    if os.environ.get("SHOP_DEMO_OPEN_VIEWSET") == "1":
        permission_classes = [IsAuthenticatedOrReadOnly]  # the open viewset

    def get_queryset(self):
        if self.request.user.is_authenticated:
            return Order.objects.filter(owner=self.request.user)
        return Order.objects.all()

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
