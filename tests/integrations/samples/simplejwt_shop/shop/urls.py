# Django ships no type information; mypy finds the project package from its own root only.
# mypy: disable-error-code="import-untyped,import-not-found"
"""The shop's URLs: simplejwt's token views (obtain with the shop's claims) and the orders."""

from django.urls import path
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView

from shop.views import OrdersView, ShopTokenObtainPairView

urlpatterns = [
    path("api/token/", ShopTokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"),
    path("api/orders/", OrdersView.as_view(), name="orders"),
]
