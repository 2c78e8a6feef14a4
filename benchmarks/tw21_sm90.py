"""CPU seconds to compile, for sm_90 with no GPU, the Triton float64 kernels the third tier touches (task h-tritontw21).

    PYTHONPATH=. python3 benchmarks/tw21_sm90.py [--formulas] [--committed] [--focal] [--losses] [--f64]
                                                 [--repair[=1,2]] [--both]

Formulas through ``symnet.compile(..., "triton")`` (y − tanh x, y − e^x; ``--focal``: the registry focal loss with γ an
input, the heaviest) and the committed kernels with a widened sum (``--committed``: bce_logits, sigmoid_mse) in
float64 and float32, each in a fresh Triton cache (benchmarks/sm90_compile.py's stand-in driver: every launch a
compile), CPU seconds of this process and its children (ptxas) per kernel, registers and spill bytes from ptxas -v.
Nothing is run; wall time means nothing on a shared box. Run it on the commit before and after a change. The CPU
seconds include the report's own ``ptxas -v`` (a second ptxas of each kernel), which the line also prints apart, and
the launch's compile without it (task h-tcost25).
``--repair`` (with ``--focal``, task h-tfocal23): then the focal kernel's repair kernel (its REPAIR specialisations,
which a launch compiles only where the main kernel flagged a block: here one block is made flagged), the main kernel
already compiled: REPAIR=1 (the triple words) and REPAIR=2 (the scaled double words, task h-tsub24), ``--both`` also
REPAIR=3 (a block flagged with both). ``--losses`` (task h-tcost25): the registry's huber(x, t) and gaussian_nll(x, t,
v) through ``symnet.compile``; ``--f64``: float64 alone; with ``--repair``, the committed kernels' and these losses'
repair specialisations too (where their kernel has one).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="symnet-tw21-sm90-")  # compiles, not cache hits
import sm90_compile  # noqa: E402  (unsets TRITON_INTERPRET)
from sm90_compile_times import cpu_seconds  # noqa: E402

import torch  # noqa: E402


_KERNELS: dict = {}  # formula → its compiled kernel (the repair case launches the same module again)


def _flagging(module, repair: int):
    """The launcher finds block 0 flagged with these bits (nothing runs here: the flags stay 0)."""
    module._flagged_blocks = lambda tier, every: [(repair, torch.zeros(1, dtype=torch.int32))]


def _formula(formula: str, inputs: tuple, dtype, repair: int = 0):
    import symnet
    if formula not in _KERNELS:
        _KERNELS[formula] = symnet.compile(symnet.derive(formula), "triton")
    kernel = _KERNELS[formula]
    kernel.module._device_ok = lambda name, x: None
    if repair:
        if not hasattr(kernel.module, "_flagged_blocks"):
            raise SystemExit(f"{formula}: its kernel has no repair kernel")
        _flagging(kernel.module, repair)
    return lambda: kernel(**{n: torch.zeros(1023, dtype=dtype) for n in inputs})  # (zeros: within the domains)


def _has_repair(formula: str) -> bool:
    import symnet
    if formula not in _KERNELS:
        _KERNELS[formula] = symnet.compile(symnet.derive(formula), "triton")
    return hasattr(_KERNELS[formula].module, "_flagged_blocks")


def _committed(name: str, dtype, repair: int = 0):
    from symnet.kernels import load_kernel
    module = load_kernel(name, "triton")
    if repair:
        _flagging(module, repair)
    return lambda: getattr(module, name)(torch.empty(1023, dtype=dtype), torch.empty(1023, dtype=dtype))


def _repairs(argv) -> tuple:
    """The REPAIR specialisations asked for (doubleword.REPAIR_BITS): 1 the triple words, 2 the scaled words."""
    asked = [a.split("=", 1)[1] for a in argv if a.startswith("--repair=")]
    if not ("--repair" in argv or asked):
        return ()
    chosen = tuple(int(b) for b in asked[0].split(",")) if asked else (1, 2)
    return chosen + ((3,) if "--both" in argv else ())


def cases(argv):
    from symnet.kernels import load_kernel
    every = not any(a in argv for a in ("--formulas", "--committed", "--focal", "--losses"))
    repairs = _repairs(argv)
    dtypes = (torch.float64,) if "--f64" in argv else (torch.float64, torch.float32)
    for dtype in dtypes:
        if every or "--formulas" in argv:
            yield f"y - tanh(x) {dtype}", ("y - tanh(x)", ("x", "y"), dtype)
            yield f"y - exp(x) {dtype}", ("y - exp(x)", ("x", "y"), dtype)
        if every or "--committed" in argv:
            for name in ("bce_logits", "sigmoid_mse"):
                yield f"committed {name} {dtype}", _committed(name, dtype)
                if dtype == torch.float64 and hasattr(load_kernel(name, "triton"), "_flagged_blocks"):
                    for bits in repairs:
                        yield f"committed {name} REPAIR={bits} {dtype}", _committed(name, dtype, bits)
        if "--losses" in argv:
            for formula, inputs in (("huber(x, t)", ("x", "t")), ("gaussian_nll(x, t, v)", ("x", "t", "v"))):
                yield f"{formula} {dtype}", (formula, inputs, dtype)
                if dtype == torch.float64 and repairs and _has_repair(formula):
                    for bits in repairs:
                        yield f"{formula} REPAIR={bits} {dtype}", (formula, inputs, dtype, bits)
    if every or "--focal" in argv:
        yield "focal(z, t, 1/4, gamma) torch.float64", ("focal(z, t, 1/4, gamma)", ("z", "t", "gamma"), torch.float64)
        for bits in repairs:
            yield f"focal repair kernel REPAIR={bits} torch.float64", ("focal(z, t, 1/4, gamma)",
                                                                      ("z", "t", "gamma"), torch.float64, bits)


def _digesting():
    """sm90_compile.resources, also keeping a digest of each kernel's PTX code without its line and debug info (to
    tell an unchanged kernel: a float32 kernel's float64 branch is resolved away when compiled)."""
    import hashlib
    import re
    digests, resources = [], sm90_compile.resources

    def wrapped(ptx, name):
        code = ptx.split(".section\t.debug")[0].split(".section .debug")[0]  # the code, not its debug info
        code = re.sub(r"^\s*(\.loc|\.file|\$L__).*$", "", code, flags=re.M)
        digests.append(hashlib.sha1(code.encode()).hexdigest()[:10])
        if os.environ.get("TW21_PTX"):  # a folder to keep each PTX in, by its digest
            Path(os.environ["TW21_PTX"], digests[-1] + ".ptx").write_text(ptx)
        start = cpu_seconds()
        try:
            return resources(ptx, name)
        finally:
            REPORT[0] += cpu_seconds() - start
    sm90_compile.resources = wrapped
    return digests


REPORT = [0.0]  # CPU s of the report's own ptxas -v (a second ptxas of each kernel, not part of a launch's compile)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    digests = _digesting()
    recorder = sm90_compile.Recorder()
    recorder.install()
    for name, case in cases(argv):
        thunk = case if callable(case) else None
        if thunk is None:
            thunk = _formula(*case)  # derived and generated outside the timing
        recorder.case = name
        before, first, start, report = len(recorder.rows), len(digests), cpu_seconds(), REPORT[0]
        thunk()
        seconds = cpu_seconds() - start
        report = REPORT[0] - report
        rows = recorder.rows[before:]
        regs = ",".join(str(r["registers"]) for r in rows)
        spills = ",".join(str(r["spill_stores"]) for r in rows)
        print(f"{seconds:7.1f} s  {name:40} {len(rows)} compiles, registers {regs}, spill stores {spills} B, "
              f"PTX {','.join(digests[first:])}; the launch's compile {seconds - report:.1f} s (the report's ptxas -v "
              f"{report:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
