"""The WSGI entry point gunicorn serves: `gunicorn config.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving HTTP, a query that waits on the database longer than gunicorn's 30 s request
# timeout is abandoned, freeing the thread. Only here: `manage.py migrate` (the release
# command) must never cut off a long ALTER TABLE.
os.environ.setdefault("DATABASE_READ_TIMEOUT", "30")

application = get_wsgi_application()
