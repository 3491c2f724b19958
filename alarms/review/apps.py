from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "alarms.review"
    label = "review"
    verbose_name = "Alarm reviews"
