from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Alerts and incidents"

    def ready(self):
        from django.db.models.signals import pre_delete

        from alarms.models import Service
        from alarms.signals import catalog_synced
        from incidents.receivers import history_after_sync, incidents_follow_their_alarms

        catalog_synced.connect(history_after_sync, dispatch_uid="incidents.history_after_sync")
        pre_delete.connect(incidents_follow_their_alarms, sender=Service, dispatch_uid="incidents.follow_alarms")
