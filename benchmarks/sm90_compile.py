"""Compile every generated Triton kernel for a Hopper GPU (sm_90) on a machine without one.

    PYTHONPATH=. python3 benchmarks/sm90_compile.py [--json FILE] [--small]

Triton ships its own ``ptxas``, so a kernel can be compiled ahead of time with no GPU
and no driver: this script puts a stand-in driver in place that names an sm_90 target,
turns every launch into a compile, and calls each generated launcher with the shapes,
dtypes and options of ``benchmarks/gpu.py`` and ``benchmarks/gpu_fused.py`` (and of
training). It prints, per compiled kernel, the registers a thread uses, the bytes it
spills to local memory, and the shared memory of a program, from ``ptxas -v``.

What this proves: the kernels compile with this machine's Triton for Hopper, and
whether the whole-step kernels keep their parameters in registers without spilling.
What it cannot: that they run correctly or fast; only a GPU run (benchmarks/run_gpu.sh)
says that. Nothing here is timed, and no output of a launcher here is meaningful
(launches are compiled, not run).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.pop("TRITON_INTERPRET", None)  # compile for real: the kernels must not be interpreted

import torch  # noqa: E402
import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.runtime import driver  # noqa: E402
from triton.runtime.autotuner import Autotuner  # noqa: E402
from triton.runtime.jit import JITFunction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_common import write_json  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
H100_SHARED = 232448  # bytes of shared memory a program may have on an H100 (227 KB)

def ptxas() -> str:
    """The ptxas that Triton itself uses for this target."""
    from triton.backends.nvidia.compiler import get_ptxas
    return get_ptxas(TARGET.arch).path


class Sm90Driver:
    """Stands in for the CUDA driver: names the target; never loads or launches anything."""

    def get_current_device(self):
        return 0

    def get_current_stream(self, device=None):
        return 0

    def get_current_target(self):
        return TARGET

    def get_active_torch_device(self):
        return torch.device("cpu")


def resources(ptx: str, name: str) -> dict:
    """Registers, spill bytes and stack of the kernel, as ``ptxas -v`` reports them for sm_90a (what Triton emits for Hopper)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "k.ptx"
        src.write_text(ptx)
        run = subprocess.run([ptxas(), "-arch=sm_90a", "-v", str(src), "-o", str(Path(d) / "k.cubin")],
                             capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"ptxas failed for {name}: {run.stderr.strip()[:500]}")
    text = run.stderr
    num = lambda pat: int(m.group(1)) if (m := re.search(pat, text)) else 0  # noqa: E731
    return {"registers": num(r"Used (\d+) registers"), "spill_stores": num(r"(\d+) bytes spill stores"),
            "spill_loads": num(r"(\d+) bytes spill loads"), "stack": num(r"(\d+) bytes stack frame")}


class Recorder:
    """Every launch becomes a compile (every config of an autotuned kernel); the results are kept."""

    def __init__(self):
        self.rows, self.case = [], ""
        self._run = JITFunction.run

    def install(self):
        recorder = self

        def run(fn, *args, grid, warmup, **kwargs):
            kernel = recorder._run(fn, *args, grid=grid, warmup=True, **kwargs)
            md = kernel.metadata
            row = {"case": recorder.case, "kernel": fn.fn.__name__, "warps": md.num_warps,
                   "stages": md.num_stages, "shared": md.shared,
                   "constexprs": {k: v for k, v in kwargs.items() if k.isupper()}}
            row.update(resources(kernel.asm["ptx"], row["kernel"]))
            ptx = kernel.asm["ptx"]  # tensor-core and TMA instructions, as written in the PTX
            row.update(wgmma=ptx.count("wgmma.mma_async"), tma=ptx.count("cp.async.bulk.tensor"))
            if row not in recorder.rows:
                recorder.rows.append(row)
            return kernel

        def autotuned(tuner, *args, **kwargs):
            grid = kwargs.pop("grid")
            kwargs.pop("warmup", None)
            configs = tuner.configs
            if tuner.early_config_prune:  # what the autotuner would try on a GPU
                configs = tuner.early_config_prune(configs, dict(zip(tuner.arg_names, args)), **kwargs)
            for config in configs:
                if config.pre_hook:  # e.g. the boxes of a TMA kernel's descriptors
                    config.pre_hook({**dict(zip(tuner.arg_names, args)), **kwargs, **config.all_kwargs()})
                tuner.fn.run(*args, grid=grid, warmup=True, **kwargs, **config.all_kwargs())

        JITFunction.run = run
        Autotuner.run = autotuned
        driver.set_active(Sm90Driver())
        from symnet.kernels import load_kernel
        for path in sorted((ROOT / "kernels" / "triton").glob("[a-z]*.py")):
            module = load_kernel(path.stem, "triton")  # decorated (and cached) as compiled kernels, not interpreted
            # the launchers accept CPU tensors here (nothing runs); TRITON_INTERPRET stays unset, so
            # every launcher picks what it picks on a GPU (tiles, and e.g. no float32 upcast for the
            # interpreter's 16-bit dot)
            module._device_ok = lambda name, x: None
            if hasattr(module, "_faster"):  # a dense module: compile both forward kernels, as on an H100
                module._has_tma = lambda device: True
                module._programs = lambda device: 132
                module._faster = lambda key, launches: [launch() for launch in launches.values()]


def cases(small: bool):
    """(name, thunk) for every launch of the benchmarks and of training, at their shapes."""
    from symnet.kernels import load_kernel
    K = lambda name: load_kernel(name, "triton")  # noqa: E731
    e = lambda *shape, dtype=torch.float32: torch.empty(*shape, dtype=dtype)  # noqa: E731
    big = 1 << 12 if small else 1 << 26

    yield "sigmoid+MSE 64M f32 (sum)", lambda: K("sigmoid_mse").sigmoid_mse(e(big), e(big), reduction="sum")
    for name, fn in (("sigmoid", "sigmoid"), ("softplus", "softplus"), ("log_sigmoid", "log_sigmoid")):
        for dt in (torch.float32, torch.bfloat16, torch.float64):
            yield f"{name} {dt}", lambda n=name, f=fn, dt=dt: getattr(K(n), f)(e(1823, 781, dtype=dt), reduction="mean")
    for name in ("mse", "sigmoid_mse", "bce_logits"):
        for dt in (torch.float32, torch.bfloat16, torch.float64):
            yield f"{name} {dt}", lambda n=name, dt=dt: getattr(K(n), n)(e(1023, dtype=dt), e(1023, dtype=dt))
    for N, V, dt in ((8192, 32000, torch.float32), (8192, 32000, torch.bfloat16), (4096, 128256, torch.bfloat16),
                     (7, 1023, torch.float16), (3, 5, torch.float64)):
        if small:
            N = min(N, 4)
        r = torch.zeros(N, dtype=torch.int64)
        for red in ("mean", "none"):
            yield (f"softmax-CE fwd+bwd {N}x{V} {dt} {red}",
                   lambda N=N, V=V, dt=dt, r=r, red=red: K("softmax_cross_entropy").softmax_cross_entropy_grad(
                       e(N, V, dtype=dt), r, red, check=False))
    for name in ("softmax", "log_softmax"):
        yield f"{name} fwd+bwd 64x1000", lambda n=name: (getattr(K(n), n)(e(64, 1000)),
                                                          getattr(K(n), f"{n}_grad")(e(64, 1000), e(64, 1000)))
    # the registry's cross-entropy of float32 logits (no label smoothing, no softcap: computed in float32) and the
    # log-sum-exp, in one tile and in tiles
    for V in (1000, 32000, 40000):
        cls4 = torch.zeros(4, dtype=torch.int64)
        yield (f"cross_entropy fwd+bwd 4x{V} f32", lambda V=V, c=cls4: (
            K("cross_entropy").cross_entropy(e(4, V), c, check=False),
            K("cross_entropy").cross_entropy_grad(e(4, V), c, check=False)))
        yield (f"logsumexp fwd+bwd 4x{V} f32", lambda V=V: (K("logsumexp").logsumexp(e(4, V)),
                                                           K("logsumexp").logsumexp_grad(e(4, V))))
    # the row registry's gradients in double-word (float64 logits: RowKernel.double_word), in one tile and, past
    # 16,384 float64 columns, in tiles (the online double-word sums)
    f64, classes = torch.float64, torch.zeros(4, dtype=torch.int64)
    for V in (1000, 40000):
        for name in ("softmax", "log_softmax"):
            yield (f"{name} bwd 4x{V} f64", lambda n=name, V=V: getattr(K(n), f"{n}_grad")(e(4, V, dtype=f64),
                                                                                              e(4, V, dtype=f64)))
        yield (f"cross_entropy bwd 4x{V} f64 weight ε=0.1", lambda V=V: K("cross_entropy").cross_entropy_grad(
            e(4, V, dtype=f64), classes, e(V, dtype=f64), label_smoothing=0.1, check=False))
        yield (f"cross_entropy_soft bwd 4x{V} f64", lambda V=V: K("cross_entropy").cross_entropy_soft_grad(
            e(4, V, dtype=f64), e(4, V, dtype=f64)))
        # the weighted mean in double-word (_weigh_rows_kernel, _sum_dw_when_last) and the z-loss folded into Σ_k a_k
        yield (f"nll_loss fwd+bwd 4x{V} f64 weight mean", lambda V=V: K("nll_loss").nll_loss_grad(
            e(4, V, dtype=f64), classes, e(V, dtype=f64), reduction="mean", check=False))
        yield (f"cross_entropy_soft bwd 4x{V} f64 z-loss mean", lambda V=V: K("cross_entropy").cross_entropy_soft_grad(
            e(4, V, dtype=f64), e(4, V, dtype=f64), reduction="mean", z_loss_scale=1e-4))
    M, N, Kd = (64, 64, 64) if small else (8192, 4096, 4096)
    yield f"dense σ(xWᵀ+b) fwd {M}x{N}x{Kd} bf16", lambda: K("dense").dense_sigmoid(
        e(M, Kd, dtype=torch.bfloat16), e(N, Kd, dtype=torch.bfloat16), e(N, dtype=torch.bfloat16))
    yield "dense backward 256x128x64 f32", lambda: K("dense").dense_sigmoid_backward(e(256, 64), e(128, 64),
                                                                                     e(256, 128), e(256, 128))
    yield "linear fwd+bwd 256x128x64 f32", lambda: (K("dense").linear(e(256, 64), e(128, 64), e(128)),
                                                    K("dense").linear_backward(e(256, 64), e(128, 64), e(256, 128)))
    f64 = torch.float64
    yield "dense fwd+bwd 6x4x5 f64 (gradcheck)", lambda: (
        K("dense").dense_sigmoid(e(6, 5, dtype=f64), e(4, 5, dtype=f64), e(4, dtype=f64)),
        K("dense").dense_sigmoid_backward(e(6, 5, dtype=f64), e(4, 5, dtype=f64), e(6, 4, dtype=f64), e(6, 4, dtype=f64)))
    yield "rnn step fwd+bwd 64x32x128", lambda: (K("rnn_step").rnn_step(e(64, 32), e(64, 128), e(128, 32), e(128, 128)),
                                                K("rnn_step").rnn_step_backward(e(64, 32), e(64, 128), e(128, 32),
                                                                                e(128, 128), e(64, 128), e(64, 128)))

    MLP, ELMAN = K("mlp_train"), K("elman_train")
    mlps = {"mlp_sigmoid_sigmoid_mse": [("xor step", 2, 2, 1, 4, 4, 1)],
            "mlp_sigmoid_linear_ce": [("digits step", 64, 64, 10, 256, 1797, 1),
                                      ("digits epoch", 64, 64, 10, 64, 1797, 29)],
            "mlp_tanh_linear_ce": [("digits step", 64, 64, 10, 256, 1797, 1)],
            "mlp_relu_linear_ce": [("digits step", 64, 64, 10, 256, 1797, 1)]}
    mlps["mlp_sigmoid_sigmoid_mse"].append(("xor epoch", 2, 2, 1, 4, 4, 1000))
    for fn, runs in mlps.items():
        for label, d0, d1, d2, batch, n, steps in runs:
            ce = "ce" in fn
            x, t = e(n, d0), torch.zeros(n, dtype=torch.int64) if ce else e(n, d2)
            params = [e(d1, d0), e(d1), e(d2, d1), e(d2)]
            order = torch.arange(min(n, batch * steps))
            for precision in ("ieee", "tf32x3", "tf32"):
                yield (f"fused {fn} {label} {precision}",
                       lambda fn=fn, x=x, t=t, p=params, o=order, b=batch, pr=precision:
                       getattr(MLP, fn)(x, t, *p, o, 0.5, b, check=False, precision=pr))
    for label, T, B, D, H, C, steps in (("benchmark step T=32 B=64 D=32 H=128 C=32", 32, 64, 32, 128, 32, 1),
                                        ("benchmark epoch", 32, 64, 32, 128, 32, 8),
                                        ("recall training step", 12, 32, 8, 32, 8, 1)):
        x, r = e(B * steps, T, D), torch.zeros(B * steps, T, dtype=torch.int64)
        order = torch.arange(B * steps)
        for precision in ("ieee", "tf32x3", "tf32"):
            yield (f"fused elman {label} {precision}",
                   lambda x=x, r=r, o=order, B=B, D=D, H=H, C=C, pr=precision:
                   ELMAN.elman_sigmoid_ce(x, r, e(H, D), e(H, H), e(C, H), o, 0.5, B, 2, check=False, precision=pr))


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="also write the report here (atomically)")
    p.add_argument("--small", action="store_true", help="small element-wise sizes (compiles the same kernels)")
    p.add_argument("--cases", default="", help="comma-separated words: only the cases whose name holds one")
    args = p.parse_args(argv)
    rec = Recorder()
    rec.install()
    failed = {}
    words = [w for w in args.cases.split(",") if w]
    for name, thunk in cases(args.small):
        if words and not any(w in name for w in words):
            continue
        rec.case = name
        try:
            thunk()
        except Exception as exc:  # noqa: BLE001 - report every kernel that fails, not just the first
            failed[name] = f"{type(exc).__name__}: {str(exc)[:400]}"
            print(f"{name}: FAILED — {failed[name]}", file=sys.stderr)
    head = f"sm_90 compile report: triton {triton.__version__}, torch {torch.__version__}"
    lines = [head, "", f"{'case':58} {'kernel':34} {'warps':>5} {'regs':>5} {'spill st/ld':>12} {'shared':>7} "
                       f"{'wgmma':>5} {'TMA':>4}"]
    for r in rec.rows:
        lines.append(f"{r['case'][:58]:58} {r['kernel'][:34]:34} {r['warps']:5} {r['registers']:5} "
                     f"{r['spill_stores']:>5}/{r['spill_loads']:<6} {r['shared']:7} {r['wgmma']:5} {r['tma']:4}")
    over = [r for r in rec.rows if r["shared"] > H100_SHARED]
    lines.append(f"\n{len(rec.rows)} compiles, {len(failed)} cases failed; {len(over)} kernels want more shared "
                 f"memory than an H100 SM has ({H100_SHARED} bytes): the autotuner skips such configs, "
                 f"a fused launcher refuses them by name")
    print("\n".join(lines))
    write_json(args.json, {"triton": triton.__version__, "torch": torch.__version__, "target": "sm_90",
                           "kernels": rec.rows, "failed": failed})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
