"""Settings of the stand-in app, read from the environment the deployment renders
(render/appenv.ts: non-secret values in the env file, secrets as podman secrets in env vars).
URLs never carry the Redis password; it is combined here, as the real app does. The Celery URLs
come as SENEX_CELERY_BROKER_URL / SENEX_CELERY_RESULT_BACKEND: Celery itself reads
CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the environment before this configuration, so the
deployment never sets those."""
import os
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"environment variable {name} is not set")
    return value


def env_bool(name, default):
    return env(name, default).strip().lower() in ("1", "true", "yes")


def with_password(url, password):
    """redis://h:p/db → redis://:password@h:p/db (sentinel:// likewise)."""
    if not password:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))


BASE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET_KEY = env("SECRET_KEY")
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", "False")
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
_proxy_header = env("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header.split(",", 1)) if _proxy_header else None

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "channels",
    "trading",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "senextrader.urls"
ASGI_APPLICATION = "senextrader.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", "/srv/static")
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", "/srv/media")
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env("DB_HOST"),
        "PORT": env("DB_PORT", "5432"),
        "NAME": env("DB_NAME"),
        "USER": env("DB_USER"),
        "PASSWORD": env("DB_PASSWORD"),
        "CONN_MAX_AGE": int(env("DB_CONN_MAX_AGE", "60")),
        "DISABLE_SERVER_SIDE_CURSORS": env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", "False"),
        "OPTIONS": {"sslmode": env("DB_SSLMODE", "require"), "connect_timeout": 5},
    }
}

REDIS_PASSWORD = env("REDIS_PASSWORD", "")
REDIS_MODE = env("REDIS_MODE", "direct")
if REDIS_MODE == "direct":
    _cache_location = with_password(env("REDIS_CACHE_URL"), REDIS_PASSWORD)
    _channel_hosts = [with_password(env("CHANNELS_REDIS_URL"), REDIS_PASSWORD)]
    CELERY_BROKER_URL = with_password(env("SENEX_CELERY_BROKER_URL"), REDIS_PASSWORD)
    CELERY_RESULT_BACKEND = with_password(env("SENEX_CELERY_RESULT_BACKEND"), REDIS_PASSWORD)
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
elif REDIS_MODE == "sentinel":
    _sentinels = [(h, int(p)) for h, p in (s.rsplit(":", 1) for s in env("REDIS_SENTINELS").split(","))]
    _sentinel_kwargs = {"password": REDIS_PASSWORD} if REDIS_PASSWORD else {}
    # Django's Redis cache has no Sentinel support: ask Sentinel for the cache master at start.
    from redis.sentinel import Sentinel

    _cache_host, _cache_port = Sentinel(_sentinels, sentinel_kwargs=_sentinel_kwargs, socket_timeout=2).discover_master(
        env("REDIS_CACHE_MASTER")
    )
    _cache_location = with_password(f"redis://{_cache_host}:{_cache_port}/{env('REDIS_CACHE_DB', '0')}", REDIS_PASSWORD)
    _channel_hosts = [{
        "sentinels": _sentinels,
        "master_name": env("REDIS_BROKER_MASTER"),
        "db": int(env("CHANNELS_REDIS_DB", "1")),
        "password": REDIS_PASSWORD or None,
        "sentinel_kwargs": _sentinel_kwargs,
    }]
    CELERY_BROKER_URL = ";".join(with_password(u, REDIS_PASSWORD) for u in env("SENEX_CELERY_BROKER_URL").split(";"))
    CELERY_RESULT_BACKEND = ";".join(with_password(u, REDIS_PASSWORD) for u in env("SENEX_CELERY_RESULT_BACKEND").split(";"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {"master_name": env("CELERY_BROKER_MASTER_NAME"), "sentinel_kwargs": _sentinel_kwargs}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
else:
    raise ImproperlyConfigured(f"REDIS_MODE must be direct or sentinel, not {REDIS_MODE!r}")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_location}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": _channel_hosts}}}

# Celery: the broker must never lose an order task; workers ack late so a killed worker's task
# is redelivered. Beat's interval is short so tests see it fire.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "trading.tasks.record_heartbeat", "schedule": float(env("BEAT_INTERVAL_SECONDS", "10"))},
}

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
