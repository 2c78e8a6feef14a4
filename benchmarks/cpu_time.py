"""CPU time of one call, min of repeats: the measure the CPU benchmarks use on a shared box, where wall time means
little (benchmarks/harm23.py, lndtr23.py, misc23.py, quotc23.py)."""
from __future__ import annotations

import resource


def cpu() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def best(call, repeat: int) -> float:
    """The least CPU seconds of ``repeat`` calls of ``call`` (after one call that warms it)."""
    call()
    times = []
    for _ in range(repeat):
        t = cpu()
        call()
        times.append(cpu() - t)
    return min(times)
