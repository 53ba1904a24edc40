import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from portal.db import ensure_embedded_postgres  # noqa: E402

ensure_embedded_postgres()
application = get_wsgi_application()
