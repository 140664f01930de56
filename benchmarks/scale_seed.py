"""
The scale benchmark's data, written by PostgreSQL itself (``INSERT ... SELECT`` over
``generate_series``), never one ORM save per row.

Users ``1..n``, each with a confirmed authenticator app, one token, a profile with 2SV on,
``RECOVERY_CODES`` recovery codes and ``EVENTS`` security events. Every tenth user belongs to
one organization whose policy is required (``n / 10`` members: 10⁵ at 10⁶ users), and 1% of
those members have only a pending method, so that ``?compliant=false`` lists someone. ``n``
login challenges, all expired, wait for ``twostep_cleanup``. The password is hashed once and
the TOTP secret encrypted once (by the package's ``crypto``); every row reuses them. Digests
of codes and challenges that no benchmark presents are unique fillers made of ``md5()``.
"""

from __future__ import annotations

import pyotp

PASSWORD = "scale-password-not-secret"
EVENTS = 10
RECOVERY_CODES = 10
MEMBER_EVERY = 10  # every tenth user is a member of the organization
NONCOMPLIANT_EVERY = 100  # 1% of the members: a pending method only
ORG_ID = 1
BACKEND = "django.contrib.auth.backends.ModelBackend"
# md5() gives 32 hex digits: two of them make a 64-digit filler digest.
FILL = "md5({0}::text || '{1}') || md5({0}::text || '{1}{1}')"

STATEMENTS = [
    """INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name,
           email, is_staff, is_active, date_joined)
       SELECT i, %(password)s, false, 'user' || i, '', '', 'user' || i || '@example.com',
              false, true, now() - interval '400 days'
       FROM generate_series(1, %(n)s) AS i""",
    """INSERT INTO authtoken_token (key, user_id, created)
       SELECT left(md5(i::text || 't') || md5(i::text || 'k'), 40), i, now() - interval '1 day'
       FROM generate_series(1, %(n)s) AS i""",
    """INSERT INTO drf_twostep_twostepprofile (user_id, enabled, enabled_at, failed_attempts,
           verified_credential, last_verified_at, setup_required_from)
       SELECT i, i %% %(nonc)s <> 0, now() - interval '300 days', 0, '',
              now() - (i %% 1000) * interval '1 minute',
              CASE WHEN i %% %(nonc)s = 0 THEN now() - interval '30 days' END
       FROM generate_series(1, %(n)s) AS i""",
    """INSERT INTO drf_twostep_twostepmethod (id, user_id, kind, name, status, is_default,
           secret, destination, created_at, confirmed_at, last_used_at)
       SELECT i, i, 'authenticator_app', '', CASE WHEN i %% %(nonc)s = 0 THEN 'pending'
              ELSE 'active' END, i %% %(nonc)s <> 0, %(secret)s, '',
              now() - interval '300 days', CASE WHEN i %% %(nonc)s <> 0
              THEN now() - interval '300 days' END, now() - interval '1 day'
       FROM generate_series(1, %(n)s) AS i""",
    f"""INSERT INTO drf_twostep_recoverycode (user_id, digest, created_at)
       SELECT u, {FILL.format("(u * 100 + k)", "r")}, now() - interval '300 days'
       FROM generate_series(1, %(n)s) AS u, generate_series(1, %(codes)s) AS k""",
    """INSERT INTO drf_twostep_securityevent (user_id, kind, method_id, method_kind, ip,
           user_agent, created_at)
       SELECT u, (ARRAY['verification_succeeded', 'verification_failed', 'method_added',
              'two_step_enabled', 'recovery_codes_regenerated'])[1 + k %% 5], u,
              'authenticator_app', '127.0.0.1', 'scale-benchmark',
              now() - k * interval '1 day' - u * interval '1 second'
       FROM generate_series(1, %(n)s) AS u, generate_series(1, %(events)s) AS k""",
    "INSERT INTO auth_group (id, name) VALUES (%(org)s, 'Scale Organization')",
    """INSERT INTO drf_twostep_organizationpolicy (organization_id, required,
           grace_period_days, required_since, enforced_from, allowed_kinds, updated_at)
       VALUES (%(org)s, true, 0, now() - interval '30 days', now() - interval '30 days', '',
               now())""",
    """INSERT INTO auth_user_groups (user_id, group_id)
       SELECT i, %(org)s FROM generate_series(%(every)s, %(n)s, %(every)s) AS i""",
    f"""INSERT INTO drf_twostep_loginchallenge (digest, user_id, backend, created_at,
           expires_at, failed_attempts)
       SELECT {FILL.format("i", "c")}, 1 + i %% %(n)s, '{BACKEND}',
              now() - interval '2 days', now() - interval '2 days' + interval '5 minutes', 0
       FROM generate_series(1, %(n)s) AS i""",
]
TABLES = [
    "auth_user",
    "authtoken_token",
    "drf_twostep_twostepprofile",
    "drf_twostep_twostepmethod",
    "drf_twostep_recoverycode",
    "drf_twostep_securityevent",
    "auth_group",
    "drf_twostep_organizationpolicy",
    "auth_user_groups",
    "drf_twostep_loginchallenge",
]


class Seeded:
    """What the measurements need to know about the seeded data."""

    def __init__(self, n, totp):
        self.n = n
        self.totp = totp
        self.members = n // MEMBER_EVERY

    def is_compliant(self, pk) -> bool:
        return pk % (NONCOMPLIANT_EVERY * MEMBER_EVERY) != 0

    def spread(self, count):
        """``count`` users spread over the whole range, none of them non-compliant."""
        step = max(1, self.n // (count + 1))
        pks = [1 + step * (i + 1) for i in range(count)]
        return [pk if self.is_compliant(pk) else pk + 1 for pk in pks]

    def member_spread(self, count):
        """``count`` compliant members spread over the whole organization."""
        step = max(1, self.members // (count + 1))
        pks = [MEMBER_EVERY * step * (i + 1) for i in range(count)]
        return [pk if self.is_compliant(pk) else pk + MEMBER_EVERY for pk in pks]


def empty() -> None:
    """Delete every row of the benchmark's tables (and of those that point at them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


def seed(n: int, *, log=print) -> Seeded:
    """Empty the tables, then write the data for ``n`` users (see the module's docstring),
    reset the sequences and ANALYZE."""
    import time

    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from drf_twostep import crypto
    from drf_twostep.methods.totp import build_otpauth_uri

    empty()
    secret = pyotp.random_base32(length=32)
    params = {
        "n": n,
        "password": make_password(PASSWORD),  # hashed once, for every user
        "secret": crypto.encrypt(build_otpauth_uri(secret, "scale", "Scale")),  # once, too
        "nonc": NONCOMPLIANT_EVERY * MEMBER_EVERY,
        "codes": RECOVERY_CODES,
        "events": EVENTS,
        "org": ORG_ID,
        "every": MEMBER_EVERY,
    }
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        # No foreign key checks (the data is consistent by construction) and the indexes
        # built once at the end, not row by row.
        cursor.execute("SET session_replication_role = replica")
        dropped = _drop_indexes(cursor)
        for sql, table in zip(STATEMENTS, TABLES, strict=True):
            start = time.perf_counter()
            cursor.execute(sql, params)
            log(f"  {table}: {cursor.rowcount:,} rows in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        for statement in dropped:
            cursor.execute(statement)
        cursor.execute("SET session_replication_role = DEFAULT")
        log(f"  {len(dropped)} indexes built in {time.perf_counter() - start:.1f} s")
        for table in ("auth_user", "drf_twostep_twostepmethod", "auth_group"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        start = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        # Written out now, so that the measurements do not share the disk with a checkpoint.
        cursor.execute("CHECKPOINT")
        log(f"  VACUUM ANALYZE and CHECKPOINT in {time.perf_counter() - start:.1f} s")
    return Seeded(n, pyotp.TOTP(secret))


def _drop_indexes(cursor) -> list[str]:
    """Drop the unique constraints and indexes (not the primary keys) of the seeded tables;
    returns the statements that make them again."""
    cursor.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
           FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)""",
        [TABLES],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)
           AND indexname NOT IN (SELECT conname FROM pg_constraint)""",
        [TABLES],
    )
    indexes = cursor.fetchall()
    for table, name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [
        *(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for table, name, d in constraints),
        *(definition for _, definition in indexes),
    ]


def give_recovery_code(pk: int) -> str:
    """A fresh plain recovery code for user ``pk`` (replacing one of the filler digests)."""
    from drf_twostep.crypto import keyed_digest
    from drf_twostep.methods.recovery import new_code, normalize
    from drf_twostep.models import RecoveryCode

    code = new_code()
    first = RecoveryCode.objects.filter(user_id=pk).order_by("pk").values_list("pk")[:1]
    RecoveryCode.objects.filter(pk__in=first).update(digest=keyed_digest(normalize(code)))
    return code


def make_admin(pk: int) -> None:
    """User ``pk`` as a superuser: an admin of every organization."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=pk).update(is_superuser=True, is_staff=True)
