"""The shop's URLs: the token views and the API router."""

from django.urls import include, path
from orders.views import HealthView, OrderViewSet, UserViewSet
from rest_framework import routers

from jwtauth.integrations.drf import token_urls

router = routers.DefaultRouter()
router.register("users", UserViewSet)
router.register("orders", OrderViewSet)

urlpatterns = [
    path("api/token/", include(token_urls())),
    path("api/health/", HealthView.as_view()),
    path("api/", include(router.urls)),
]
