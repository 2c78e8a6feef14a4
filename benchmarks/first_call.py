"""The first call of symnet.torch ops in a fresh process: cold (nothing on disk) against warm
(the kernel descriptions and derivations an earlier process kept, symnet/codegen/stored.py).

    python3 benchmarks/first_call.py [gelu mish focal silu]

Runs, each in a fresh process with an empty cache folder of its own: ``SYMNET_NO_DISK_CACHE=1``
(cold, as before the disk cache), then twice with one cache folder (the first fills it, the
second reads it), and prints the seconds of ``import symnet.torch.functional`` and of each op's
first and second call, and the cold/warm ratio of the first calls. Without a GPU the kernels run
in Triton's interpreter (TRITON_INTERPRET=1). Measured, not asserted.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CHILD = r"""
import sys, time
t0 = time.perf_counter()
import torch
import symnet.torch.functional as F
print("import", time.perf_counter() - t0)
x = torch.randn(64, dtype=torch.float32, device="cuda" if torch.cuda.is_available() else "cpu")
t = torch.rand_like(x)
calls = {"gelu": lambda: F.gelu(x), "mish": lambda: F.mish(x), "silu": lambda: F.silu(x),
         "focal": lambda: F.loss("focal", x, t), "log_cosh": lambda: F.loss("log_cosh", x, t)}
for name in sys.argv[1:]:
    a = time.perf_counter(); calls[name](); b = time.perf_counter(); calls[name](); c = time.perf_counter()
    print(name, b - a, c - b)
"""


def run(ops: list[str], cache: str, disk: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE), "SYMNET_CACHE": cache}
    env.pop("SYMNET_NO_DISK_CACHE", None)
    if not disk:
        env["SYMNET_NO_DISK_CACHE"] = "1"
    try:
        import torch
        if not torch.cuda.is_available():
            env["TRITON_INTERPRET"] = "1"
    except ImportError:
        sys.exit("needs torch and triton")
    out = subprocess.run([sys.executable, "-c", CHILD, *ops], env=env, capture_output=True, text=True, check=True)
    rows = {}
    for line in out.stdout.splitlines():
        name, *values = line.split()
        rows[name] = [float(v) for v in values]
    return rows


def main() -> None:
    ops = sys.argv[1:] or ["gelu", "mish", "focal", "silu"]
    with tempfile.TemporaryDirectory() as cold_dir, tempfile.TemporaryDirectory() as warm_dir:
        cold = run(ops, cold_dir, disk=False)
        run(ops, warm_dir, disk=True)  # fills the cache
        warm = run(ops, warm_dir, disk=True)
    print(f"import symnet.torch.functional: cold {cold['import'][0]:.1f} s, warm {warm['import'][0]:.1f} s")
    print(f"{'op':>10} {'cold first s':>13} {'warm first s':>13} {'ratio':>6} {'second call s':>14}")
    for op in ops:
        print(f"{op:>10} {cold[op][0]:>13.2f} {warm[op][0]:>13.2f} {cold[op][0] / warm[op][0]:>6.1f} "
              f"{warm[op][1]:>14.3f}")


if __name__ == "__main__":
    main()
