"""CPU seconds to compile each case of benchmarks/sm90_compile.py for sm_90 (no GPU), slowest ten last.

    PYTHONPATH=. python3 benchmarks/sm90_compile_times.py [--full]

Every case of ``sm90_compile.cases`` (``--small`` shapes unless ``--full``: the same kernels) in one process with a
fresh Triton cache; per case, the CPU seconds of this process and its finished children (Triton's ptxas, and the
report's own ``ptxas -v``, a second run of it), since wall time means nothing on a shared box. A kernel that an
earlier case compiled is not compiled again. Session 19's run: benchmarks/results/sm90-compile-times-2026-12-03.txt.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="symnet-sm90-times-")  # compiles, not cache hits
import sm90_compile  # noqa: E402  (unsets TRITON_INTERPRET)


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None) -> int:
    full = "--full" in (argv if argv is not None else sys.argv[1:])
    recorder = sm90_compile.Recorder()
    recorder.install()
    rows = []
    for name, thunk in sm90_compile.cases(not full):
        recorder.case = name
        before, start = len(recorder.rows), cpu_seconds()
        try:
            thunk()
            failed = ""
        except Exception as exc:  # noqa: BLE001 - time every case, report the ones that fail
            failed = f"FAILED {type(exc).__name__}: {str(exc)[:200]}"
        seconds = cpu_seconds() - start
        kernels = ",".join(sorted({r["kernel"] for r in recorder.rows[before:]}))
        rows.append((seconds, name))
        print(f"{seconds:7.1f}  {name[:60]:60} {len(recorder.rows) - before} compiles {kernels[:80]} {failed}",
              flush=True)
    print("\nslowest ten:")
    for seconds, name in sorted(rows, reverse=True)[:10]:
        print(f"{seconds:7.1f}  {name}")
    print(f"total {sum(s for s, _ in rows):.1f} s CPU over {len(rows)} cases (ptxas -v of the report included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
