from django.urls import path

from alarms.review import report_views, tuning_views, views

urlpatterns = [
    path("alarms/<int:pk>/tuning/", tuning_views.alarm_tuning_page, name="alarm-tuning-page"),
    path("reviews/", views.review_list, name="review-list"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/items/<int:item>/decision/", views.review_item_decide, name="review-item-decide"),
    path("reviews/<int:pk>/sign-off/", views.review_sign_off_view, name="review-sign-off"),
    path("reports/", report_views.report_page, name="report"),
    path("reports/<slug:table>.csv", report_views.report_table_csv, name="report-csv"),
]
