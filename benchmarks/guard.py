"""
``make bench-guard``: a regression guard for CI, on SQLite in a few tens of seconds.

It compares only what noise cannot move: exact SQL query counts, and same-run ratios with
generous limits (several times the targets of ``make bench``), so that a shared, busy machine
does not fail it while a regression of the hot path (a query per request, a recovery-code
check that grows with the number of codes) does. Needs Redis on REDIS_URL when
DRF_TWOSTEP_REQUIRE_SERVICES=1 (as in CI); otherwise the cached case uses a per-process cache.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import micro  # noqa: E402
from benchmarks.harness import markdown_table  # noqa: E402

# login/verify/'s statements for the guard's user: a member of an organization with a policy,
# a token already issued (BEGIN and COMMIT included).
TOTP_VERIFY = 10
RECOVERY_VERIFY = 12

# name -> (exact queries or None, exact baseline queries or None, largest ratio)
LIMITS = {
    # 1.2-1.35 on a quiet machine, 1.65 once with another test suite running beside it.
    "GET, TwoStepTokenAuthentication, no cache": (1, 1, 2.0),
    "GET, TwoStepTokenAuthentication, ENFORCEMENT_CACHE on": (1, 1, 1.8),
    "TOTP code check (generator kept on the handler, compare the window of 3 steps)": (0, 0, 2.5),
    # The second step's exact statements (tests/test_enforcement.py lists them one by one);
    # the ratio to a password-only sign-in, generous: about 3x on the peers' harness.
    "login/verify/ with a TOTP code": (TOTP_VERIFY, 2, 12.0),
    "login/verify/ with a recovery code (user holds 1)": (RECOVERY_VERIFY, 2, 15.0),
    "login/verify/ with a recovery code (user holds 10)": (RECOVERY_VERIFY, RECOVERY_VERIFY, 1.6),
    "login/verify/ with a recovery code (user holds 100)": (RECOVERY_VERIFY, RECOVERY_VERIFY, 1.6),
}


def main() -> int:
    required = os.environ.get("DRF_TWOSTEP_REQUIRE_SERVICES") == "1"
    if required and not micro.redis_reachable():
        print(f"bench-guard: Redis is required and does not answer on {micro.REDIS_URL}")
        return 1
    # Without Redis, a per-process cache still shows that a warm request costs no query.
    backend = "redis" if micro.redis_reachable() else "locmem"
    enforcement_cache = micro.configure(None, enforcement_cache=backend)
    try:
        scenarios = micro.Scenarios(enforcement_cache, scale=0.4)
        results = scenarios.run(("enforced_get", "code_check", "verify_totp", "verify_recovery"))
    finally:
        micro.teardown()
    print(markdown_table(results))
    failures = []
    seen = set()
    for result in results:
        # The longest name that the result's name starts with.
        name = max((name for name in LIMITS if result.name.startswith(name)), key=len, default=None)
        if name is None:
            continue
        seen.add(name)
        limit = LIMITS[name]
        queries, baseline_queries, ratio = limit
        if queries is not None and result.queries != queries:
            failures.append(f"{result.name}: {result.queries} queries, expected {queries}")
        if baseline_queries is not None and result.baseline_queries != baseline_queries:
            failures.append(
                f"{result.name}: baseline {result.baseline_queries} queries, "
                f"expected {baseline_queries}"
            )
        if result.baseline.startswith("the same") and result.queries != result.baseline_queries:
            failures.append(f"{result.name}: query count depends on the number of codes")
        if result.ratio > ratio:
            failures.append(f"{result.name}: ratio {result.ratio:.2f} > {ratio}")
    missing = set(LIMITS) - seen
    if missing:
        failures.append(f"not measured: {sorted(missing)}")
    for failure in failures:
        print("bench-guard FAILED:", failure)
    if not failures:
        print("bench-guard: query counts and same-run ratios within limits")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
