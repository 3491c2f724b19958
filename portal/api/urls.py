"""The v1 API: each app contributes its routes to one router."""

from rest_framework.routers import DefaultRouter

from alarms.api.urls import register as register_alarms

router = DefaultRouter()
register_alarms(router)

urlpatterns = router.urls
