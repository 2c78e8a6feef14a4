"""GPU benchmark: the generated Triton kernels against their peers, side by side in one run.

    PYTHONPATH=. python3 benchmarks/gpu.py [--json FILE] [--cases a,b,...]
    PYTHONPATH=. TRITON_INTERPRET=1 python3 benchmarks/gpu.py --small --check-only   # CPU smoke test

Correctness first (every implementation against a float64 reference), then medians with
``triton.testing.do_bench``, all on the same GPU in one run. Peers: PyTorch eager (the
formula, and autograd), ``torch.compile`` of the same functions, Liger-Kernel's
cross-entropy where it is installed, and a device-to-device copy of 1 GiB as the
bandwidth limit. Prints a table of time, GB/s or TFLOP/s and ratios; writes JSON too.

| case | minimal bytes | goal |
|---|---|---|
| sigmoid+MSE dL/dz, 64M float32 | read z, y; write dz | ≥ 0.95 × copy; ≥ 2.4× torch.compile(autograd) |
| softmax-CE fwd+bwd 8192×32000 float32 | read logits, write grad | ≥ 0.75 × copy |
| softmax-CE fwd+bwd 8192×32000 bfloat16 | same | ≥ 0.75 × copy |
| softmax-CE fwd+bwd 4096×128256 bfloat16 | same | ≥ 0.75 × copy |
| dense σ(x Wᵀ + b) fwd 8192×4096×4096 bf16 | — | ≥ 1.05 × torch.compile |

The peers here are references for timing only; nothing of them is generated.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_common import DEVICE, arguments, close, meta, run_cases, write_json  # noqa: E402 (beside this file)
from symnet.kernels import load_kernel  # noqa: E402


def timer():
    if DEVICE == "cuda":
        import triton.testing
        return lambda fn: float(triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median"))
    import time

    def cpu_median(fn):  # the interpreter smoke test: a rough time, never a result
        fn()
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        return sorted(times)[1]
    return cpu_median


def compiled(fn):
    try:
        return torch.compile(fn) if DEVICE == "cuda" else None
    except Exception as exc:  # noqa: BLE001 - a missing peer is reported, not fatal
        print(f"note: torch.compile unavailable: {exc}", file=sys.stderr)
        return None




# ------------------------------------------------------------------------------ cases

def case_sigmoid_mse(n: int, check_only: bool, time_ms):
    SMSE = load_kernel("sigmoid_mse", "triton")
    g = torch.Generator(device=DEVICE).manual_seed(0)
    z = torch.randn(n, device=DEVICE, generator=g) * 3
    y = torch.rand(n, device=DEVICE, generator=g)

    def ours():
        return SMSE.sigmoid_mse(z, y, reduction="sum")[1]  # dL/dz, and Σ L without a second pass

    def formula():
        s = torch.sigmoid(z)
        return -2 * (y - s) * s * (1 - s)

    leaf = z.detach().requires_grad_(True)

    def autograd():
        (grad,) = torch.autograd.grad(((y - torch.sigmoid(leaf)) ** 2).sum(), leaf)
        return grad

    ref = formula().double()
    total = SMSE.sigmoid_mse(z, y, reduction="sum")[0]  # the sum, finished on the device by the last program
    close("symnet (sum of L)", total.reshape(1), ((y.double() - torch.sigmoid(z.double())) ** 2).sum().reshape(1),
          1e-5, 0)
    peers = {"symnet (generated Triton)": ours, "eager formula": formula, "eager autograd": autograd}
    for name, fn in (("torch.compile(autograd)", autograd), ("torch.compile(formula)", formula)):
        c = compiled(fn)
        if c is not None:
            peers[name] = c
    for name, fn in peers.items():
        close(name, fn(), ref, 1e-5, 1e-6)
    if check_only:
        return {"checked": list(peers)}
    bytes_moved = 3 * n * 4
    return {name: {"ms": time_ms(fn), "bytes": bytes_moved} for name, fn in peers.items()}


def case_cross_entropy(N: int, V: int, dtype, check_only: bool, time_ms):
    CE = load_kernel("softmax_cross_entropy", "triton")
    g = torch.Generator(device=DEVICE).manual_seed(1)
    z = (torch.randn(N, V, device=DEVICE, generator=g) * 2).to(dtype)
    r = torch.randint(0, V, (N,), device=DEVICE, generator=g)

    def ours():
        return CE.softmax_cross_entropy_grad(z, r, check=False)

    leaf = z.detach().requires_grad_(True)

    def autograd():
        loss = torch.nn.functional.cross_entropy(leaf, r)
        (grad,) = torch.autograd.grad(loss, leaf)
        return loss, grad

    peers = {"symnet (generated Triton)": ours, "eager autograd": autograd}
    c = compiled(autograd)
    if c is not None:
        peers["torch.compile(autograd)"] = c
    try:
        from liger_kernel.transformers.functional import liger_cross_entropy

        def liger():
            loss = liger_cross_entropy(leaf, r)
            (grad,) = torch.autograd.grad(loss, leaf)
            return loss, grad
        peers["Liger-Kernel cross-entropy"] = liger
    except ImportError:
        pass
    zz = z.double().requires_grad_(True)
    ref_loss = torch.nn.functional.cross_entropy(zz, r)
    (ref_grad,) = torch.autograd.grad(ref_loss, zz)
    for name, fn in peers.items():
        # ours to bfloat16's rounding; the peers' bfloat16 gradients go through bfloat16
        # log-probabilities (a few % off), so they are only checked loosely
        tol = 1e-5 if dtype == torch.float32 else 2 ** -7 if name.startswith("symnet") else 0.1
        loss, grad = fn()
        close(f"{name} (loss)", loss.reshape(()), ref_loss, tol, tol)
        close(f"{name} (grad)", grad, ref_grad, tol, tol / V)
    if check_only:
        return {"checked": list(peers)}
    bytes_moved = 2 * N * V * z.element_size()
    return {name: {"ms": time_ms(fn), "bytes": bytes_moved} for name, fn in peers.items()}


def case_dense(M: int, N: int, K: int, check_only: bool, time_ms):
    D = load_kernel("dense", "triton")
    g = torch.Generator(device=DEVICE).manual_seed(2)
    dtype = torch.bfloat16
    x = (torch.randn(M, K, device=DEVICE, generator=g) / 4).to(dtype)
    W = (torch.randn(N, K, device=DEVICE, generator=g) / K ** 0.5).to(dtype)
    b = torch.randn(N, device=DEVICE, generator=g).to(dtype)

    def ours():
        return D.dense_sigmoid(x, W, b)

    def eager():
        return torch.sigmoid(x @ W.T + b)

    def matmul():
        return x @ W.T

    peers = {"symnet (generated Triton)": ours}
    ours()  # on Hopper the launcher autotunes and times its two kernels here, and keeps the faster
    for (key, which), exc in D._FAILED.items():
        print(f"note: the {which} kernel could not run for {key}: {exc}", flush=True)
    for key, times in D._FASTER.items():  # what the launcher measured, and the tiles each kernel chose
        tiles = {k.strip("_") or "tiled": str(getattr(getattr(D, f"_dense_sigmoid{k}_kernel"), "best_config", None))
                 for k in ("", "_tma")}
        print(f"note: {key[:4]}: the launcher measured {times} (ms); tiles: {tiles}", flush=True)
    if D._tma_ok(x, W) and not D._FAILED:  # both kernels shown
        def only(which):
            def run():
                measured, D._faster = D._faster, lambda key, launches: launches[which]()
                try:
                    return D.dense_sigmoid(x, W, b)
                finally:
                    D._faster = measured
            return run
        peers["symnet, tiled kernel"] = only("tiled")
        peers["symnet, persistent TMA kernel"] = only("tma")
    peers["eager"] = eager
    c = compiled(eager)
    if c is not None:
        peers["torch.compile"] = c
    peers["bare cuBLAS matmul (no bias, no σ)"] = matmul
    ref = torch.sigmoid(x.double() @ W.double().T + b.double())
    for name, fn in peers.items():
        if "bare" not in name:
            close(name, fn(), ref, 2 ** -7, 2 ** -8)
    if check_only:
        return {"checked": list(peers)}
    flops = 2 * M * N * K
    return {name: {"ms": time_ms(fn), "flops": flops} for name, fn in peers.items()}


def copy_bandwidth(time_ms, size: int = 1 << 30) -> dict:
    src = torch.empty(size, dtype=torch.uint8, device=DEVICE)
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src))
    return {"ms": ms, "GB/s": 2 * size / ms / 1e6}


# ------------------------------------------------------------------------------ report

GOALS = {
    "sigmoid_mse": [("≥ 0.95 × copy bandwidth", "copy", 0.95), ("≥ 2.4× torch.compile(autograd)", "torch.compile(autograd)", 2.4)],
    "ce_f32_8192x32000": [("≥ 0.75 × copy bandwidth", "copy", 0.75)],
    "ce_bf16_8192x32000": [("≥ 0.75 × copy bandwidth", "copy", 0.75)],
    "ce_bf16_4096x128256": [("≥ 0.75 × copy bandwidth", "copy", 0.75)],
    "dense_bf16_8192x4096x4096": [("≥ 1.05 × torch.compile", "torch.compile", 1.05)],
}


def report(results: dict, copy: dict) -> list[str]:
    lines = [f"copy (device to device, 1 GiB): {copy['GB/s']:.0f} GB/s", ""]
    verdicts = []
    for case, timings in results.items():
        lines.append(case)
        ours = timings["symnet (generated Triton)"]
        for name, t in timings.items():
            rate = (f"{t['bytes'] / t['ms'] / 1e6:8.0f} GB/s ({t['bytes'] / t['ms'] / 1e6 / copy['GB/s']:.2f} × copy)"
                    if "bytes" in t else f"{t['flops'] / t['ms'] / 1e9:8.0f} TFLOP/s")
            lines.append(f"  {name:<36}{t['ms']:>9.3f} ms  {rate}  symnet speed-up {t['ms'] / ours['ms']:.2f}×")
        for goal, peer, target in GOALS.get(case, []):
            if peer == "copy":
                value = ours["bytes"] / ours["ms"] / 1e6 / copy["GB/s"]
            elif peer in timings:
                value = timings[peer]["ms"] / ours["ms"]
            else:
                verdicts.append((case, goal, None, "peer missing"))
                continue
            verdicts.append((case, goal, value, "met" if value >= target else "NOT met"))
        lines.append("")
    lines.append("goals:")
    for case, goal, value, verdict in verdicts:
        lines.append(f"  {verdict:<8} {case}: {goal}" + ("" if value is None else f" (measured {value:.2f})"))
    return lines


def main(argv=None) -> int:
    args = arguments(__doc__, "sigmoid_mse,ce,dense", argv)
    wanted = args.cases
    time_ms = timer()
    s, c = args.small, args.check_only
    cases = {"sigmoid_mse": ("sigmoid_mse", lambda: case_sigmoid_mse(3000 if s else 64 * 2 ** 20, c, time_ms))}
    for key, (N, V, dtype) in {"ce_f32_8192x32000": (8192, 32000, torch.float32),
                               "ce_bf16_8192x32000": (8192, 32000, torch.bfloat16),
                               "ce_bf16_4096x128256": (4096, 128256, torch.bfloat16)}.items():
        cases[key] = ("ce", lambda N=N, V=V, dtype=dtype: case_cross_entropy(*((6, 1500) if s else (N, V)), dtype, c,
                                                                             time_ms))
    cases["dense_bf16_8192x4096x4096"] = ("dense", lambda: case_dense(*((40, 24, 48) if s else (8192, 4096, 4096)),
                                                                      c, time_ms))
    m = copy = None
    if not c:  # the bandwidth limit first: every case's verdict is measured against it
        m, copy = meta(), copy_bandwidth(time_ms)

    def done(case, results, failed):
        if c:
            print(f"{case}: correct — {', '.join(results[case]['checked'])}")
        else:  # each case's numbers as soon as they exist: a lease can end mid-run
            print("\n".join(report({case: results[case]}, copy)[2:]), flush=True)
            write_json(args.json, {"meta": m, "copy": copy, "cases": results, "failed": failed,
                                   "table": report(results, copy)})
    results, failed = run_cases(cases, wanted, done)
    if c:
        return 1 if failed else 0
    lines = report(results, copy)
    print("\n".join(lines))
    write_json(args.json, {"meta": m, "copy": copy, "cases": results, "failed": failed, "table": lines})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
