"""The ASGI entry point; like portal.wsgi, it marks the process as the web server before the settings load,
so that its database connections carry the web statement timeout."""

import os

from django.core.asgi import get_asgi_application

os.environ["OKAMI_PROCESS_ROLE"] = "web"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_asgi_application()
