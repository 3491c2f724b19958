"""The web server's entry point (gunicorn portal.wsgi).

It marks this process as the web server before the settings load, so that its database connections carry
the web statement timeout (OKAMI_WEB_STATEMENT_TIMEOUT_MS); workers, beat and migrations never import this.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ["OKAMI_PROCESS_ROLE"] = "web"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
