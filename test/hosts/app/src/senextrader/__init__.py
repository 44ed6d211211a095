# Loads Celery with Django so @shared_task uses this app's configuration.
from .celery import app as celery_app

__all__ = ("celery_app",)
