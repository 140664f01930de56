"""
``make bench``: the costs of the hot paths and of the maintenance commands at 10⁴, 10⁵ and 10⁶
users, on PostgreSQL.

    python -m benchmarks.scale                                   # 10⁴, 10⁵ and 10⁶ users
    python -m benchmarks.scale --sizes 10000,100000 --database postgres://postgres@host/tw_scale

The database the URL names is created (dropped first if it exists), seeded at each size by
``scale_seed`` and dropped at the end. The hot paths must cost the same at every size (at most
1.2 times the smallest size's cost at the largest); ``twostep_cleanup`` and
``twostep_rotate_key`` grow with the rows they handle, at the rate printed. At the largest
size every statement of the hot paths is EXPLAINed: none may read a big table whole.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import micro  # noqa: E402
from benchmarks.harness import machine  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/tw_scale"
FLAT = 1.2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="users, comma-separated")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL URL")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per operation")
    parser.add_argument("--per-round", type=int, default=5, help="calls per size and round")
    parser.add_argument("--output", help="directory for scale.json and scale.md")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    template = urlsplit(args.database).path.lstrip("/")
    micro.configure(
        args.database,
        enforcement_cache=None,
        database_name=template,
        settings=micro.twostep_settings(ENCRYPTION_KEYS=[_old_key()]),
    )
    from django.db import connection

    from benchmarks import scale_measure, scale_seed

    if connection.vendor != "postgresql":
        raise SystemExit("The scale benchmark runs on PostgreSQL (--database postgres://...).")
    databases = {size: f"{template}_{size}" for size in sizes}
    calls = (args.rounds + 1) * args.per_round + 1
    try:
        measured = {}
        for size in sizes:
            print(f"{size:,} users: seeding {databases[size]}", flush=True)
            start = time.perf_counter()
            _create(databases[size], template)
            seeded = scale_seed.seed(size)
            print(f"  seeded in {time.perf_counter() - start:.0f} s", flush=True)
            measured[size] = (databases[size], scale_measure.Measurements(seeded, calls))
        print("measuring the hot paths, every size in each round", flush=True)
        results, ratios = scale_measure.interleaved(measured, args.rounds, args.per_round)
        scale_measure.use(databases[sizes[-1]])
        findings = scale_measure.explain(results[sizes[-1]])
        for size in sizes:
            scale_measure.use(databases[size])
            results[size] += [measured[size][1].cleanup(), measured[size][1].rotate_key()]
            for cost in results[size][-2:]:
                print(f"  {size:,} users, {cost.name}: {_cell(cost)}", flush=True)
    finally:
        scale_measure.use(template)
        for name in databases.values():
            _drop(name)
        micro.teardown()
    table = markdown(results, ratios)
    notes = explain_notes(findings)
    print()
    print(table)
    print()
    print(notes)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "scale.json"), "w") as out:
            body = {
                "machine": machine(),
                "ratios": ratios,
                "sizes": {
                    size: [{k: v for k, v in vars(c).items() if k != "sql"} for c in costs]
                    for size, costs in results.items()
                },
                "explain": findings,
            }
            json.dump(body, out, indent=1, default=str)
        with open(os.path.join(args.output, "scale.md"), "w") as out:
            out.write(table + "\n\n" + notes + "\n")
    return 0


def _create(name, template) -> None:
    """Database ``name``, a copy of the migrated ``template`` (dropped first if it exists)."""
    from django.db import connection

    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connection.settings_dict["NAME"] = name


def _drop(name) -> None:
    from django.db import connection

    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _old_key() -> str:
    from benchmarks.scale_measure import OLD_KEY

    return OLD_KEY


def _cell(cost) -> str:
    if cost.rows is not None:
        return (
            f"{cost.median_us / 1e6:.1f} s, {cost.rows:,} rows, {cost.rows_per_s:,.0f} rows/s, "
            f"+{cost.memory_mb:.0f} MB"
        )
    return f"{cost.median_us:,.0f} µs, {cost.statements} statements"


def markdown(results, ratios) -> str:
    """Each operation's cost at each size, and the largest size's cost over the smallest's
    (for the hot paths, the median of the per-round ratios)."""
    sizes = sorted(results)
    head = " | ".join(f"{size:,} users" for size in sizes)
    lines = [
        f"| operation | statements | {head} | {sizes[-1]:,} / {sizes[0]:,} | flat |",
        "|---|---:|" + "---:|" * len(sizes) + "---:|---|",
    ]
    for index, first in enumerate(results[sizes[0]]):
        row = [results[size][index] for size in sizes]
        ratio = ratios.get(first.name, row[-1].median_us / first.median_us)
        if first.rows is not None:
            rates = [f"{c.median_us / 1e6:.1f} s ({c.rows_per_s:,.0f} rows/s)" for c in row]
            lines.append(
                f"| {first.name} | | {' | '.join(rates)} | {ratio:.1f} | linear: "
                f"{row[-1].rows / first.rows:.0f}× the rows |"
            )
            continue
        statements = "/".join(sorted({str(c.statements) for c in row}))
        times = " | ".join(f"{c.median_us:,.0f} µs" for c in row)
        lines.append(
            f"| {first.name} | {statements} | {times} | {ratio:.2f} | "
            f"{'yes' if ratio <= FLAT else '**no**'} |"
        )
    return "\n".join(lines)


def explain_notes(findings) -> str:
    """One line per hot path: the indexes its statements use, and any big table read whole."""
    lines = []
    for operation in dict.fromkeys(f["operation"] for f in findings):
        mine = [f for f in findings if f["operation"] == operation]
        indexes = sorted({i for f in mine for i in f["indexes"]})
        scans = sorted({t for f in mine for t in f["seq_scans"]})
        lines.append(
            f"- {operation}: {len(mine)} statements planned; indexes {', '.join(indexes) or '—'}; "
            f"{'Seq Scan on ' + ', '.join(scans) if scans else 'no Seq Scan on a big table'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
