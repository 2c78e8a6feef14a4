"""NumPy elementwise kernels against their peers, timed side by side in one run.

    python3 benchmarks/numpy_kernels.py [--size N] [--repeat R] [--baseline REF] [--only a,b] [--json FILE]
    python3 benchmarks/numpy_kernels.py --profile [--only a,b]   # where each kernel's time goes

Cases, on N float32 values (default 10M; z ~ N(0, 3): half the signs negative, at random):

* ``sigmoid_mse_grad``: dL/dz of L = (y − σ(z))² from ``symnet.compile(…, value=False)``
  (the case of benchmarks/cpu.py);
* ``sigmoid_mse``: L and dL/dz, the generated kernels/numpy/sigmoid_mse.py;
* ``bce_logits``: C = −y log σ(z) − (1 − y) log(1 − σ(z)) and dC/dz, kernels/numpy/bce_logits.py;
* ``sigmoid``: σ(z) and σ′(z), kernels/numpy/sigmoid.py.

Peers on the same data: ``sympy.lambdify`` of the plain formula and its ``sympy.diff``,
hand-written NumPy (textbook, and in place where the case has one), torch CPU autograd where
torch is installed. ``--baseline REF`` adds the kernels of the git revision REF (``symnet @REF``:
the committed kernels/numpy modules from ``git show``, sigmoid_mse_grad from REF's generator). Each
implementation is checked against the generated one first (loosely: the peers lose digits
the generated code keeps). Prints the median milliseconds and each one's time over the
generated kernel's (> 1: the generated code is faster). Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import math
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import symnet  # noqa: E402
from cpu import hand_inplace, hand_naive, medians_ms  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402

CASES = ("sigmoid_mse_grad", "sigmoid_mse", "bce_logits", "sigmoid")


def committed(ref: str, module: str):
    """The module kernels/numpy/<module>.py as committed at the git revision ``ref``."""
    source = subprocess.run(["git", "show", f"{ref}:kernels/numpy/{module}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    namespace: dict = {}
    exec(compile(source, f"{ref}:kernels/numpy/{module}.py", "exec"), namespace)  # noqa: S102 - our own file
    return namespace[module]


GRAD_SOURCE = """
import sympy as sp, symnet
z, y = sp.symbols("z y", real=True)
print(symnet.compile(symnet.derive((y - symnet.sigmoid(z)) ** 2, [z]), value=False).source)
"""


def generated_at(ref: str):
    """sigmoid_mse_grad as the generator of the git revision ``ref`` emits it (its symnet package,
    extracted to a temporary folder, run in a child process)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", ref, "symnet"], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        source = subprocess.run([sys.executable, "-c", GRAD_SOURCE], cwd=folder, check=True, capture_output=True,
                                text=True, env={**os.environ, "PYTHONPATH": folder}).stdout
    namespace: dict = {}
    exec(compile(source, f"{ref}:sigmoid_mse_grad", "exec"), namespace)  # noqa: S102 - our own generator's
    return namespace["kernel"]


def hand_sigmoid_mse(z, y):
    """Reference: L and dL/dz with σ computed once, in place where it can."""
    s = np.negative(z)
    np.exp(s, out=s)
    s += 1
    np.reciprocal(s, out=s)  # σ(z)
    d = np.subtract(y, s)
    loss = np.square(d)
    d *= s
    np.subtract(1, s, out=s)
    d *= s
    d *= -2
    return loss, d


def hand_bce(z, y):
    """Reference: C = softplus(z) − y·z (np.logaddexp) and dC/dz = σ(z) − y."""
    loss = np.logaddexp(0, z)
    loss -= y * z
    g = np.negative(z)
    np.exp(g, out=g)
    g += 1
    np.reciprocal(g, out=g)
    g -= y
    return loss, g


def hand_sigmoid(z):
    """Reference: σ(z) and σ(z)(1 − σ(z))."""
    s = 1 / (1 + np.exp(-z))
    return s, s * (1 - s)


def case_peers(case: str, z, y, torch, baseline: str | None) -> tuple[dict, object]:
    """The implementations of ``case`` (name → no-argument callable) and the generated one's
    outputs on a sample, for the checks."""
    zs, ys = sp.symbols("z y", real=True)
    sig = 1 / (1 + sp.exp(-zs))
    if case == "sigmoid_mse_grad":
        generated = symnet.compile(symnet.derive((ys - symnet.sigmoid(zs)) ** 2, [zs]), value=False)
        plain = sp.lambdify((zs, ys), sp.diff((ys - sig) ** 2, zs), "numpy")
        cases = {"generated (symnet)": lambda: generated(z=z, y=y)}
        checks = {}
        if baseline:
            old = generated_at(baseline)
            cases[f"symnet @{baseline}"] = lambda: old(y, z)
            checks[f"symnet @{baseline}"] = lambda a, b: old(b, a)
        cases |= {"sympy.lambdify(diff)": lambda: plain(z, y),
                  "hand NumPy, naive": lambda: hand_naive(z, y), "hand NumPy, in-place": lambda: hand_inplace(z, y)}
        checks |= {"sympy.lambdify(diff)": lambda a, b: (plain(a, b),), "hand NumPy, naive": lambda a, b: (hand_naive(a, b),),
                   "hand NumPy, in-place": lambda a, b: (hand_inplace(a, b),)}
        want = lambda a, b: generated(z=a, y=b)  # noqa: E731
        if torch:
            tz, ty = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(y)

            def torch_grad():
                return torch.autograd.grad(((ty - torch.sigmoid(tz)) ** 2).sum(), tz)[0]
            cases["torch CPU autograd"] = torch_grad
        return cases, (want, checks)
    if case in ("sigmoid_mse", "bce_logits"):
        fn = load_kernel(case).__dict__[case]
        if case == "sigmoid_mse":
            f = (ys - sig) ** 2
            hand, tloss = hand_sigmoid_mse, (lambda t, u, v: (v - t.sigmoid(u)) ** 2)
        else:
            f = -ys * sp.log(sig) - (1 - ys) * sp.log(1 - sig)
            hand = hand_bce
            tloss = (lambda t, u, v: t.nn.functional.binary_cross_entropy_with_logits(u, v, reduction="none"))
        plain = sp.lambdify((zs, ys), [f, sp.diff(f, zs)], "numpy")
        cases = {"generated (symnet)": lambda: fn(z, y)}
        if baseline:
            old = committed(baseline, case)
            cases[f"symnet @{baseline}"] = lambda: old(z, y)
        cases |= {"sympy.lambdify(f, diff)": lambda: plain(z, y), "hand NumPy": lambda: hand(z, y)}
        checks = {"sympy.lambdify(f, diff)": plain, "hand NumPy": hand}
        if baseline:
            checks[f"symnet @{baseline}"] = old
        if torch:
            tz, ty = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(y)

            def torch_both():
                loss = tloss(torch, tz, ty)
                return loss, torch.autograd.grad(loss.sum(), tz)[0]
            cases["torch CPU autograd"] = torch_both
        return cases, (fn, checks)
    if case == "sigmoid":
        fn = load_kernel("sigmoid").sigmoid
        plain = sp.lambdify((zs,), [sig, sp.diff(sig, zs)], "numpy")
        cases = {"generated (symnet)": lambda: fn(z)}
        checks = {"sympy.lambdify(f, diff)": lambda a, b: plain(a), "hand NumPy": lambda a, b: hand_sigmoid(a)}
        if baseline:
            old = committed(baseline, "sigmoid")
            cases[f"symnet @{baseline}"] = lambda: old(z)
            checks[f"symnet @{baseline}"] = lambda a, b: old(a)
        cases |= {"sympy.lambdify(f, diff)": lambda: plain(z), "hand NumPy": lambda: hand_sigmoid(z)}
        if torch:
            tz = torch.from_numpy(z).requires_grad_(True)

            def torch_sig():
                s = torch.sigmoid(tz)
                return s, torch.autograd.grad(s.sum(), tz)[0]
            cases["torch CPU autograd"] = torch_sig
        return cases, (lambda a, b: fn(a), checks)
    raise ValueError(case)


def profile(source: str, name: str, args: tuple, calls: int = 3) -> list[tuple[float, str]]:
    """Milliseconds per call each statement of the block loop of function ``name`` in the
    generated ``source`` takes, summed over the blocks: the loop's statements timed one by one
    (``time.perf_counter`` around each, inserted into a copy of the source)."""
    tree = ast.parse(source)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    loop = next(n for n in ast.walk(function) if isinstance(n, ast.For))
    labels, body = [], []
    for k, statement in enumerate(loop.body):
        labels.append(ast.unparse(statement))
        body += ast.parse("_t0 = _clock()").body + [statement] + ast.parse(f"_spent[{k}] += _clock() - _t0").body
    loop.body = body
    ast.fix_missing_locations(tree)
    spent = [0.0] * len(labels)
    namespace = {"_clock": time.perf_counter, "_spent": spent}
    exec(compile(tree, f"<profiled {name}>", "exec"), namespace)  # noqa: S102 - a generated kernel
    with np.errstate(all="ignore"):
        namespace[name](*args)  # warm up
        spent[:] = [0.0] * len(labels)
        for _ in range(calls):
            namespace[name](*args)
    return [(t / calls * 1e3, label) for t, label in zip(spent, labels)]


def print_profile(case: str, z, y) -> None:
    if case == "sigmoid_mse_grad":
        zs, ys = sp.symbols("z y", real=True)
        compiled = symnet.compile(symnet.derive((ys - symnet.sigmoid(zs)) ** 2, [zs]), value=False)
        source, name, args = compiled.source, compiled.kernel.name, (y, z)
    else:
        source, name = (ROOT / "kernels" / "numpy" / f"{case}.py").read_text(), case
        args = (z,) if case == "sigmoid" else (z, y)
    rows = profile(source, name, args)
    print(f"\n{case}: each statement of the block loop, ms per call summed over the blocks "
          f"({sum(t for t, _ in rows):.1f} in all)")
    for t, label in rows:
        print(f"{t:9.1f}  {label if len(label) <= 110 else label[:107] + '...'}")


def check(case: str, want, checks: dict, z, y) -> None:
    """Every peer agrees with the generated kernel on the first 10,000 values (loosely)."""
    a, b = z[:10_000], y[:10_000]
    expected = want(a, b)
    for name, peer in checks.items():
        for k, (got, ref) in enumerate(zip(peer(a, b), expected)):
            np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(ref, np.float64), rtol=1e-3, atol=1e-6,
                                       err_msg=f"{case}: {name}, output {k}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", help="also time the kernels committed at this git revision")
    p.add_argument("--only", help=f"comma-separated cases of: {', '.join(CASES)}")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--profile", action="store_true",
                   help="instead of the peers: the time of each statement of the generated kernels' block loops")
    args = p.parse_args(argv)
    if args.size <= 0 or args.repeat <= 0 or args.rounds <= 0:
        p.error("--size, --repeat and --rounds must be positive")
    only = args.only.split(",") if args.only else list(CASES)
    unknown = [c for c in only if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    try:
        import torch
    except ImportError:
        torch = None

    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, args.size).astype(np.float32)
    y = rng.uniform(0, 1, args.size).astype(np.float32)
    print(f"NumPy elementwise kernels, {args.size:,} float32 values, "
          + ("per statement, mean of 3 calls " if args.profile else f"median of {args.rounds}×{args.repeat} ")
          + f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"
          + (f", torch {torch.__version__}, {torch.get_num_threads()} threads" if torch else "") + ")")
    if args.profile:
        for case in only:
            print_profile(case, z, y)
        return 0
    results = {}
    for case in only:
        cases, (want, checks) = case_peers(case, z, y, torch, args.baseline)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            check(case, want, checks, z, y)
            times = medians_ms(cases, args.repeat, args.rounds)
        base = times["generated (symnet)"]
        print(f"\n{case}")
        print(f"{'implementation':<28}{'median ms':>11}{'time / generated':>18}")
        for name, ms in times.items():
            print(f"{name:<28}{ms:>11.1f}{ms / base:>17.2f}×")
        results[case] = times
    if args.json:
        out = Path(args.json)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps({"size": args.size, "dtype": "float32", "repeat": args.repeat, "rounds": args.rounds,
                                   "median_ms": results, "numpy": np.__version__,
                                   "torch": torch.__version__ if torch else None, "machine": platform.machine(),
                                   "cores": os.cpu_count(), "baseline": args.baseline},
                                  indent=2, ensure_ascii=False) + "\n")
        tmp.replace(out)
    return 0 if all(math.isfinite(ms) for t in results.values() for ms in t.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
