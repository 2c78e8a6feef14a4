"""The CPU time of a call, least of several runs: the measure the cost benchmarks report (``time.process_time``,
seconds; the least run is the one least disturbed by other work on a shared box)."""
import time


def best_of(call, runs=5):
    """The least CPU time in seconds of ``runs`` calls of ``call()`` (no arguments)."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times)
