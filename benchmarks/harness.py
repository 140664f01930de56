"""
Timing and reporting for the benchmarks: paired rounds, medians, same-run ratios.

The machine the benchmarks run on is shared and noisy, so no absolute time is compared with
anything: each benchmark times a subject and its baseline in alternating rounds, and the ratio
is the median of the per-round ratios. Times are per operation, in microseconds.
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Result:
    """One benchmark line: a subject against its baseline, timed in the same run."""

    group: str
    name: str
    baseline: str
    median_us: float
    baseline_median_us: float
    ratio: float
    queries: int | None = None
    baseline_queries: int | None = None
    rounds: int = 0
    per_round: int = 0
    target: str = ""
    ok: bool | None = None
    extra: dict = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _time_batch(op, prepare, n) -> float:
    """Mean seconds per call of ``op`` over ``n`` calls; ``prepare()`` runs untimed before
    each call and its result is passed to ``op``."""
    total = 0.0
    perf = time.perf_counter
    for _ in range(n):
        arg = prepare() if prepare is not None else None
        start = perf()
        op(arg)
        total += perf() - start
    return total / n


def compare(subject, baseline, *, rounds, per_round, warmup=3):
    """
    Time ``subject`` and ``baseline`` (each a pair ``(op, prepare)``) in ``rounds`` paired
    rounds of ``per_round`` calls, alternating which goes first. Returns
    ``(subject_median_s, baseline_median_s, median_ratio)``.
    """
    for op, prepare in (subject, baseline):
        _time_batch(op, prepare, warmup)
    subject_times, baseline_times, ratios = [], [], []
    for index in range(rounds):
        gc.collect()
        pair = [subject, baseline] if index % 2 == 0 else [baseline, subject]
        times = {}
        for which in pair:
            times[id(which)] = _time_batch(which[0], which[1], per_round)
        subject_times.append(times[id(subject)])
        baseline_times.append(times[id(baseline)])
        ratios.append(times[id(subject)] / times[id(baseline)])
    return (
        statistics.median(subject_times),
        statistics.median(baseline_times),
        statistics.median(ratios),
    )


def machine() -> dict:
    """Where the figures come from."""
    import django
    import rest_framework

    cpu = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        cpu = platform.processor()
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = ""
    return {
        "nproc": nproc,
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "drf": rest_framework.__version__,
        "platform": platform.platform(),
    }


def markdown_table(results: list[Result]) -> str:
    """The results as a Markdown table (times in microseconds per operation)."""
    lines = [
        "| benchmark | baseline | median µs | baseline µs | ratio | queries | baseline queries "
        "| target | met |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        met = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(
            f"| {r.group}: {r.name} | {r.baseline} | {r.median_us:,.0f} | "
            f"{r.baseline_median_us:,.0f} | {r.ratio:.2f} | {_n(r.queries)} | "
            f"{_n(r.baseline_queries)} | {r.target} | {met} |"
        )
    return "\n".join(lines)


def _n(value) -> str:
    return "" if value is None else str(value)
