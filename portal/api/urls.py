"""The v1 API: each app contributes its routes to one router."""

from rest_framework.routers import DefaultRouter

from alarms.api.urls import register as register_alarms
from alarms.api.urls import urlpatterns as alarm_urls
from alarms.review.api import register as register_reviews
from alarms.review.report_api import urlpatterns as report_urls
from alarms.review.tuning_api import urlpatterns as tuning_urls
from incidents.api.urls import register as register_incidents
from incidents.api.urls import urlpatterns as incident_urls

router = DefaultRouter()
register_alarms(router)
register_incidents(router)
register_reviews(router)

urlpatterns = alarm_urls + incident_urls + tuning_urls + report_urls + router.urls
