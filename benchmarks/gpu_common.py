"""What the GPU benchmarks share: the device, the correctness check, the command line, the JSON."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import torch

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def close(name, got, want, rtol, atol):
    """Raise unless |got − want| ≤ atol + rtol·|want| everywhere (and got is finite)."""
    got, want = torch.as_tensor(got).detach().double().cpu(), torch.as_tensor(want).detach().double().cpu()
    if not torch.isfinite(got).all():
        raise AssertionError(f"{name}: not finite")
    err = float(((got - want).abs() - atol - rtol * want.abs()).max())
    if err > 0:
        raise AssertionError(f"{name}: differs from the float64 reference by more than rtol={rtol}, atol={atol}")


def arguments(doc: str, cases: str, argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--json", help="also write the results here (atomically)")
    p.add_argument("--small", action="store_true", help="small sizes (for the interpreter smoke test)")
    p.add_argument("--check-only", action="store_true", help="correctness checks only, no timing")
    p.add_argument("--cases", default=cases, help=f"comma-separated subset of: {cases}")
    args = p.parse_args(argv)
    if DEVICE != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        p.error("no GPU visible: run on a GPU, or with TRITON_INTERPRET=1 --small --check-only as a smoke test")
    if DEVICE != "cuda" and not (args.small and args.check_only):
        p.error("under the interpreter only --small --check-only makes sense (its times mean nothing)")
    args.cases = set(args.cases.split(","))
    return args


def run_cases(cases: dict, wanted: set, done) -> tuple[dict, dict]:
    """Run the wanted cases ({case: (key, thunk)}) in order: one failing must not cost the others'
    numbers (a GPU lease is short). done(case, results, failed) follows each success, so that each
    case's numbers are printed and saved as soon as they exist. Returns (results, failed)."""
    results, failed = {}, {}
    for case, (key, run) in cases.items():
        if key not in wanted:
            continue
        try:
            results[case] = run()
        except Exception as exc:  # noqa: BLE001
            failed[case] = f"{type(exc).__name__}: {exc}"
            print(f"{case}: FAILED — {failed[case]}", file=sys.stderr)
            continue
        finally:
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
        done(case, results, failed)
    return results, failed


def quick_timer():
    """time_ms(fn): on a GPU the median of ``triton.testing.do_bench`` (25 warm-up, 100 ms); elsewhere (the
    interpreter's smoke test) one rough wall-clock time, never a result."""
    if DEVICE == "cuda":
        import triton.testing
        return lambda fn: float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))
    import time

    def time_ms(fn):
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3
    return time_ms


def copy_bandwidth(time_ms, small: bool) -> float:
    """GB/s of a device-to-device copy of 1 GiB (4 KiB with ``small``), read and write counted: the bandwidth
    limit the ratios are taken against. The buffers are freed before it returns."""
    src = torch.empty(1 << (12 if small else 30), dtype=torch.uint8, device=DEVICE)
    dst = torch.empty_like(src)
    return 2 * src.numel() / time_ms(lambda: dst.copy_(src)) / 1e6


def meta() -> dict:
    """The GPU, the date and the versions, printed above the table and kept in the JSON."""
    m = {"gpu": torch.cuda.get_device_name(), "date": datetime.date.today().isoformat(),
         "torch": torch.__version__, "triton": __import__("triton").__version__,
         "python": platform.python_version()}
    print(f"{m['gpu']}, torch {m['torch']}, triton {m['triton']}, {m['date']}")
    return m


def write_json(path, data: dict) -> None:
    """Written whole to a temporary file beside it, then moved into place."""
    if not path:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, out)


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)
