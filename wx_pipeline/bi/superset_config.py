"""Superset's configuration under wx-pipeline (`SUPERSET_CONFIG_PATH` points here).

Superset loads this file in its own virtualenv: it imports nothing of the pipeline. The rest
comes from the environment `wx-pipeline bi serve` gives Superset: `SUPERSET_HOME` (its SQLite
metadata database lives there) and `SUPERSET_SECRET_KEY`.
"""

from typing import Any

# The browser talks to this Superset only. Superset's default policy also lets pages load
# images from Scarf (a telemetry pixel 6.1.0's front end embeds, whatever SCARF_ANALYTICS
# says at run time: it is decided when the front end is built) and map tiles from third
# parties; with this policy the browser refuses both, so no request leaves for them.
TALISMAN_CONFIG: dict[str, Any] = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,  # behind the team's TLS proxy, or on 127.0.0.1
    "session_cookie_secure": False,
}
