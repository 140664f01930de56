"""
The scale benchmark's measurements: the hot paths through Django's WSGI handler (medians of
repeated in-process requests, statements counted with ``CaptureQueriesContext``), the two
maintenance commands timed once, and ``EXPLAIN`` of every statement of the hot paths.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from dataclasses import dataclass, field

from .micro import Client
from .scale_seed import MEMBER_EVERY, ORG_ID, PASSWORD, give_recovery_code, make_admin

MEMBERS = f"/api/auth/organizations/{ORG_ID}/members/"
OLD_KEY = "scale-old-encryption-key-not-secret"
NEW_KEY = "scale-new-encryption-key-not-secret"
# Tables smaller than this may be read whole: a sequential scan of them is not a finding.
SMALL_TABLE = 10_000


@dataclass
class Cost:
    """One operation at one size: median µs per call and statements of one call; for the
    maintenance commands, seconds and rows per second instead."""

    name: str
    median_us: float
    statements: int | None = None
    rows: int | None = None
    rows_per_s: float | None = None
    memory_mb: float | None = None
    sql: list[str] = field(default_factory=list, repr=False)


def _statements(func):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        func()
    return [q["sql"] for q in queries.captured_queries]


class Measurements:
    """The operations measured at one size, on the data of ``scale_seed.seed``."""

    def __init__(self, seeded, repeat):
        self.seeded = seeded
        self.repeat = repeat
        self.client = Client()
        make_admin(1)
        self.admin = self.sign_in(1)
        # Members, so that the policy's requirement is checked on every request.
        members = seeded.member_spread(10)
        self.tokens = [self.sign_in(pk) for pk in members]
        used = {1, *members}
        self._users = (pk for pk in seeded.spread(4 * repeat + 40) if pk not in used)

    def next_user(self) -> int:
        """A user no operation has used yet (the replay guard: one code per method and step)."""
        return next(self._users)

    def login(self, pk):
        body = {"username": f"user{pk}", "password": PASSWORD}
        return json.loads(self.client.ok("POST", "/api/auth/login/", body))

    def verify(self, challenge, **code):
        body = {"challenge": challenge, **code}
        return json.loads(self.client.ok("POST", "/api/auth/login/verify/", body))

    def sign_in(self, pk) -> str:
        challenge = self.login(pk)["challenge"]
        return self.verify(challenge, code=self.seeded.totp.now())["token"]

    def operations(self) -> list[tuple]:
        """The hot paths, each as ``(name, op, prepare)``: ``op(prepare())`` is timed."""
        tokens = iter(self.tokens * (self.repeat + 10))
        middle = max(1, self.seeded.members // 100)  # 50 a page: the middle page's number
        middle_member = self.seeded.members // 2 * MEMBER_EVERY  # every tenth user
        members = [
            ("members: first page", ""),
            ("members: middle page (?after=)", f"?after={middle_member}"),
            ("members: last page (?page=last)", "?page=last"),
            ("members: ?compliant=false", "?compliant=false"),
            ("members: numbered middle page (?page=)", f"?page={middle}"),
        ]
        return [
            (
                "enforced GET (token class)",
                lambda token: self.client.ok("GET", "/bench/enforced/", token=token),
                lambda: next(tokens),
            ),
            ("login/", self.login, self.next_user),
            (
                "login/verify/ (TOTP)",
                lambda challenge: self.verify(challenge, code=self.seeded.totp.now()),
                lambda: self.login(self.next_user())["challenge"],
            ),
            (
                "login/verify/ (recovery code)",
                lambda arg: self.verify(arg[0], recovery_code=arg[1]),
                self._recovery_challenge,
            ),
            *(
                (
                    name,
                    lambda _, q=query: self.client.ok("GET", MEMBERS + q, None, self.admin),
                    None,
                )
                for name, query in members
            ),
            (
                "a user's events page",
                lambda token: self.client.ok("GET", "/api/auth/two-step/events/", token=token),
                lambda: next(tokens),
            ),
        ]

    def _recovery_challenge(self):
        pk = self.next_user()
        code = give_recovery_code(pk)
        return self.login(pk)["challenge"], code

    def cleanup(self) -> Cost:
        from drf_twostep.models import LoginChallenge

        started = _now()
        expired = LoginChallenge.objects.filter(expires_at__lte=started).count()
        seconds, memory = _run_command("twostep_cleanup")
        # (Challenges made by the sign-ins above may expire while it runs: not counted.)
        assert not LoginChallenge.objects.filter(expires_at__lte=started).exists()
        return Cost("twostep_cleanup", seconds * 1e6, None, expired, expired / seconds, memory)

    def rotate_key(self) -> Cost:
        from django.test import override_settings

        from drf_twostep.models import TwoStepMethod

        from .micro import twostep_settings

        secrets = TwoStepMethod.objects.exclude(secret="").count()
        with override_settings(DRF_TWOSTEP=twostep_settings(ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY])):
            seconds, memory = _run_command("twostep_rotate_key")
        return Cost("twostep_rotate_key", seconds * 1e6, None, secrets, secrets / seconds, memory)


def use(name) -> None:
    """Point the default connection at database ``name`` (it reconnects on its next query)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def interleaved(sizes, rounds, per_round):
    """
    Time every hot path at every size in alternating rounds (``sizes`` maps each size to its
    database and ``Measurements``), so that a busy moment of the machine falls on all sizes
    alike. Returns ``(costs, ratios)``: the ``Cost`` of each operation at each size (median
    of all its calls) and each operation's median per-round ratio, largest over smallest.
    """
    order = sorted(sizes)
    operations = {}
    for size in order:
        use(sizes[size][0])
        operations[size] = sizes[size][1].operations()
    costs = {size: [] for size in order}
    ratios = {}
    for index, (name, _, _) in enumerate(operations[order[0]]):
        times = {size: [] for size in order}
        per_round_ratios = []
        for round_ in range(rounds + 1):
            medians = {}
            for size in order if round_ % 2 else reversed(order):
                use(sizes[size][0])
                _, op, prepare = operations[size][index]
                calls = []
                for _ in range(per_round):
                    arg = prepare() if prepare else None
                    start = time.perf_counter()
                    op(arg)
                    calls.append(time.perf_counter() - start)
                if round_:  # the first round warms up
                    times[size] += calls
                    medians[size] = statistics.median(calls)
            if round_:
                per_round_ratios.append(medians[order[-1]] / medians[order[0]])
        ratios[name] = statistics.median(per_round_ratios)
        for size in order:
            use(sizes[size][0])
            _, op, prepare = operations[size][index]
            arg = prepare() if prepare else None
            sql = _statements(lambda op=op, arg=arg: op(arg))
            costs[size].append(Cost(name, statistics.median(times[size]) * 1e6, len(sql), sql=sql))
    return costs, ratios


def _now():
    from django.utils import timezone

    return timezone.now()


def _run_command(name, *args):
    """Seconds the management command took, and how much its run raised the process's peak
    resident memory (MB)."""
    import io

    from django.core.management import call_command

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    call_command(name, *args, stdout=io.StringIO())
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return seconds, (after - before) / 1024


# -- EXPLAIN -------------------------------------------------------------------------------


def explain(costs) -> list[dict]:
    """The plan of every statement of every hot path: the indexes it uses, and the big
    tables (``SMALL_TABLE`` rows or more) it reads whole."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
        sizes = dict(cursor.fetchall())
        findings = []
        for cost in costs:
            for sql in cost.sql:
                verb = sql.lstrip().split(None, 1)[0].upper()
                if verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                    continue
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                nodes = list(_nodes(plan[0]["Plan"]))
                findings.append(
                    {
                        "operation": cost.name,
                        "sql": sql,
                        "indexes": sorted({n["Index Name"] for n in nodes if "Index Name" in n}),
                        "seq_scans": sorted(
                            {
                                n["Relation Name"]
                                for n in nodes
                                if n["Node Type"] == "Seq Scan"
                                and sizes.get(n["Relation Name"], 0) >= SMALL_TABLE
                            }
                        ),
                    }
                )
    return findings


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)
