from django.urls import path

from alarms.review import views

urlpatterns = [
    path("reviews/", views.review_list, name="review-list"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/items/<int:item>/decision/", views.review_item_decide, name="review-item-decide"),
    path("reviews/<int:pk>/sign-off/", views.review_sign_off_view, name="review-sign-off"),
]
