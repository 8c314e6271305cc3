"""Settings of the test process: the product's own (config.settings), except for the two
things only tests need. Processes the tests start (daphne, workers, commands) run on
config.settings itself (tests/servers.py, `process_env`)."""

from config.settings import *  # noqa: F403
from config.settings import CHANNEL_LAYERS as CONFIGURED_CHANNEL_LAYERS

# The layer the settings chose (in-memory, or Redis when REDIS_URL is set), recording what
# is published so that tests can assert events and their groups (tests.helpers.capture_events).
_RECORDING = {
    "channels.layers.InMemoryChannelLayer": "tests.layers.RecordingInMemoryChannelLayer",
    "channels_redis.core.RedisChannelLayer": "tests.layers.RecordingRedisChannelLayer",
}
CHANNEL_LAYERS = {
    alias: {**layer, "BACKEND": _RECORDING[str(layer["BACKEND"])]}
    for alias, layer in CONFIGURED_CHANNEL_LAYERS.items()
}

# Tests make many users: one PBKDF2 iteration instead of a million (tests/hashers.py).
PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]

# `Client.login` authenticates without a request, which django-axes refuses
# (tests/backends.py); logins through the views are protected as in production.
AUTHENTICATION_BACKENDS = [
    "tests.backends.AxesBackendAllowingClientLogin",
    "django.contrib.auth.backends.ModelBackend",
]

# The test process opens and closes a connection per use instead of pooling: pytest-django's
# database set-up and the suite's many short-lived threads (Channels' per-test loops,
# asyncio.to_thread) do not hand pooled connections back reliably, and persistent ones
# (one per thread ever used) outgrew PostgreSQL's 100 as the suite grew. The daphne
# processes the tests start run the product's settings, pool included.
if "pool" in DATABASES["default"].get("OPTIONS", {}):  # noqa: F405
    DATABASES["default"]["OPTIONS"].pop("pool")  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
