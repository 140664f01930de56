"""
``make bench``: the in-process benchmarks, as JSON lines and a Markdown table.

    python -m benchmarks.bench                       # SQLite
    python -m benchmarks.bench --database postgres://postgres@127.0.0.1:5432/drf_twostep_bench

Each line times a subject against a baseline in the same run (paired rounds; the ratio is the
median of the per-round ratios) and counts the SQL queries of one call of each. Redis on
REDIS_URL (default redis://127.0.0.1:6379/0), when it answers, backs ENFORCEMENT_CACHE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import micro  # noqa: E402
from benchmarks.harness import machine, markdown_table  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="DATABASE_URL of a server (default: SQLite)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply rounds and calls")
    parser.add_argument("--only", nargs="*", choices=micro.Scenarios.ALL, default=None)
    parser.add_argument("--output", help="directory for results.jsonl and results.md")
    args = parser.parse_args(argv)

    enforcement_cache = micro.configure(args.database)
    try:
        scenarios = micro.Scenarios(enforcement_cache, scale=args.scale)
        database = micro.database_vendor()
        results = scenarios.run(args.only or micro.Scenarios.ALL)
    finally:
        micro.teardown()
    info = {**machine(), "database": database, "enforcement_cache": enforcement_cache or ""}
    lines = [json.dumps({"machine": info}, sort_keys=True)]
    for result in results:
        result.extra["database"] = database
        lines.append(result.as_json())
    table = markdown_table(results)
    print("\n".join(lines))
    print()
    print(
        f"Database: {database}; password hasher: MD5 (fast, benchmark only); "
        f"times in µs per operation.\n"
    )
    print(table)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, f"micro-{database}.jsonl"), "w") as out:
            out.write("\n".join(lines) + "\n")
        with open(os.path.join(args.output, f"micro-{database}.md"), "w") as out:
            out.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
