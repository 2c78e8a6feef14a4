"""Where a test run's time went: per-file seconds from a pytest JUnit XML, slowest first.

    python3 -m pytest -q -n auto --dist loadfile --junitxml=times.xml
    python3 benchmarks/test_times.py times.xml [--top N] [--tests K] [--workers W]

Prints one row per test file (the sum of its tests' times, its number of tests, its slowest test)
and, with ``--tests K``, the K slowest single tests. Under ``--dist loadfile`` a file runs whole on one
worker, so the slowest file bounds the run's wall time from below; ``--workers W`` also prints a
greedy longest-file-first packing of the files onto W workers (what the run could take at best; an
estimate, not a measurement) and the run's length in the order xdist hands the files out (most tests first:
:func:`xdist_order`; also an estimate). Setup and teardown of fixtures count in the test that triggered them
(JUnit's ``time`` attribute includes them). Several XML files (one per file run alone) may be given:
their rows add up.

Reads only the XML (``xml.etree``); imports nothing of symnet or pytest.
"""
from __future__ import annotations

import argparse
import collections
import heapq
import sys
import xml.etree.ElementTree as ET


def file_of(case: ET.Element) -> str:
    """The test file of a JUnit ``testcase``: its ``file`` attribute where pytest wrote one, else the
    module path spelled by its ``classname`` (``tests.test_foo`` or ``tests.test_foo.TestBar``)."""
    if case.get("file"):
        return case.get("file")
    parts = case.get("classname", "?").split(".")
    while parts and not parts[-1].startswith("test_"):
        parts.pop()  # a class name, TestBar
    return "/".join(parts) + ".py" if parts else case.get("classname", "?")


def read_cases(paths):
    """(file, test name, seconds, outcome) for every ``testcase`` in the XML files ``paths``."""
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = child.tag
            yield file_of(case), case.get("name", "?"), float(case.get("time") or 0.0), outcome


def pack(seconds, workers):
    """Greedy longest-first assignment of files (their seconds) to ``workers`` queues: the largest queue."""
    queues = [0.0] * workers
    heapq.heapify(queues)
    for s in sorted(seconds, reverse=True):
        heapq.heappush(queues, heapq.heappop(queues) + s)
    return max(queues)


def xdist_order(cases, workers):
    """The run's length as xdist's ``--dist loadfile`` hands the files out (3.x, ``LoadScopeScheduling``): most
    tests first (ties by path, the order tests/ is collected in), one file to each worker at the start, then a file
    to a worker whenever two tests or fewer of its own wait; each worker runs its tests in order (the XML's seconds).
    Start-up and collection are not counted."""
    tests = collections.defaultdict(list)
    for path, _, seconds, _ in cases:
        tests[path].append(seconds)
    queue = sorted(tests, key=lambda f: (-len(tests[f]), f))
    clock, pending = [0.0] * workers, [[] for _ in range(workers)]
    for w in range(workers):
        if queue:
            pending[w] += tests[queue.pop(0)]
    while any(pending):
        w = min((i for i in range(workers) if pending[i]), key=lambda i: clock[i])
        clock[w] += pending[w].pop(0)
        if queue and len(pending[w]) <= 2:
            pending[w] += tests[queue.pop(0)]
    return max(clock)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", nargs="+", help="JUnit XML file(s) written by pytest --junitxml")
    parser.add_argument("--top", type=int, default=40, help="files to print (default 40; 0: all)")
    parser.add_argument("--tests", type=int, default=0, help="also print the K slowest tests")
    parser.add_argument("--workers", type=int, default=2, help="workers for the packing estimate")
    args = parser.parse_args(argv)

    cases = list(read_cases(args.xml))
    if not cases:
        print("no testcase elements in", ", ".join(args.xml), file=sys.stderr)
        return 1
    per_file = collections.defaultdict(lambda: [0.0, 0, 0, 0.0, ""])  # seconds, tests, failed, max, slowest
    for path, name, seconds, outcome in cases:
        row = per_file[path]
        row[0] += seconds
        row[1] += 1
        row[2] += outcome in ("failure", "error")
        if seconds > row[3]:
            row[3], row[4] = seconds, name
    rows = sorted(per_file.items(), key=lambda kv: -kv[1][0])
    total = sum(r[0] for _, r in rows)
    shown = rows if args.top <= 0 else rows[:args.top]
    print(f"{'file':44s} {'seconds':>8s} {'share':>6s} {'tests':>6s} {'failed':>6s}  slowest test (s)")
    for path, (seconds, n, failed, worst, worst_name) in shown:
        print(f"{path:44s} {seconds:8.1f} {seconds / total:6.1%} {n:6d} {failed:6d}  {worst_name[:50]} ({worst:.1f})")
    if len(shown) < len(rows):
        rest = rows[len(shown):]
        print(f"{'(' + str(len(rest)) + ' more files)':44s} {sum(r[0] for _, r in rest):8.1f}")
    print(f"{'total':44s} {total:8.1f} {'':6s} {len(cases):6d} {sum(r[2] for _, r in rows):6d}")
    print(f"slowest file {rows[0][1][0]:.1f} s; greedy packing onto {args.workers} workers "
          f"(--dist loadfile, an estimate): {pack([r[0] for _, r in rows], args.workers):.1f} s; "
          f"in xdist's own order: {xdist_order(cases, args.workers):.1f} s")
    if args.tests:
        print(f"\nthe {args.tests} slowest tests:")
        for path, name, seconds, _ in sorted(cases, key=lambda c: -c[2])[:args.tests]:
            print(f"{seconds:8.1f}  {path}::{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
