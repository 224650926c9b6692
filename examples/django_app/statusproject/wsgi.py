"""The WSGI application, for gunicorn: ``gunicorn statusproject.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statusproject.settings")

application = get_wsgi_application()
