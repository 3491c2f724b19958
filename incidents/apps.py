from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Alerts and incidents"

    def ready(self):
        from alarms.signals import catalog_synced
        from incidents.receivers import history_after_sync

        catalog_synced.connect(history_after_sync, dispatch_uid="incidents.history_after_sync")
