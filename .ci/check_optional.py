"""The `base` tox env: fail unless the optional dependencies are really absent.

The suite then runs without them, which proves they are optional: their tests skip and
nothing else imports them.
"""

import importlib.util
import sys

OPTIONAL = {
    "redis": "the Redis cache client",
    "psycopg": "the PostgreSQL driver",
    "MySQLdb": "the MySQL/MariaDB driver (mysqlclient)",
    "rest_framework_simplejwt": "drf-twostep[jwt]",
    "knox": "drf-twostep[knox]",
    "webauthn": "drf-twostep[passkeys]",
    "drf_spectacular_sidecar": "the example project's Swagger UI files",
}

present = [f"{name} ({what})" for name, what in OPTIONAL.items() if importlib.util.find_spec(name)]
if present:
    sys.exit("installed, but this env must not have them: " + ", ".join(present))
print("absent, as expected:", ", ".join(OPTIONAL))
