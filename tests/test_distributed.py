"""Past one process: a small network made of symnet's generated Triton ops (dense σ layer,
linear layer, softmax cross-entropy; their gradients from the generated backward kernels) and
symnet.torch's modules (nn.Linear with GELU, nn.Tanh, nn.CrossEntropyLoss with label smoothing)
trained with torch.distributed on gloo, 2 processes on localhost — DistributedDataParallel
and FSDP2 (``torch.distributed.fsdp.fully_shard``). After 3 steps of SGD with momentum the weights equal those of
one process that took the whole batch (≤ 1e-6 in float32; ≤ 1e-12 in float64). Without a GPU the kernels run under
Triton's interpreter.

One run is this file as a script (``python tests/test_distributed.py ddp,fsdp RENDEZVOUS OUT``), which
spawns its two workers with torch.multiprocessing; they train with DDP, then with FSDP2, in one process group
(each process imports torch and symnet once: the imports were a third of a run). The workers meet through a file
(``init_method="file://RENDEZVOUS"``, a fresh path in the test's tmp_path), not a TCP port: a
port found free and released before the workers bind it can be taken meanwhile by another
process (test suites run side by side), failing with EADDRINUSE, or another run's rank could
join this run's store."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

if __name__ != "__main__":
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    pytest.importorskip("triton")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)
else:
    import torch

ROOT = Path(__file__).resolve().parents[1]
WORLD = 2
STEPS = 3  # momentum counts from the second step on
LR, MOMENTUM = 0.5, 0.9


DTYPES = {"float64": 1e-12, "float32": 1e-6}  # the largest difference allowed from the one-process run


def _network(dtype: str):
    """symnet ops of both kinds: the committed kernels' own ops (a dense σ layer, a linear layer,
    softmax cross-entropy) and symnet.torch's modules between them (``nn.Linear`` with a fused GELU,
    ``nn.Tanh``), with symnet.torch's cross-entropy with label smoothing added to the loss."""
    import symnet.torch as st
    from symnet.kernels import load_kernel

    dense = load_kernel("dense", "triton")
    ce = load_kernel("softmax_cross_entropy", "triton")
    smoothed = st.nn.CrossEntropyLoss(label_smoothing=0.1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.W1 = torch.nn.Parameter(torch.randn(6, 4, generator=g, dtype=getattr(torch, dtype)) * 0.5)
            self.b1 = torch.nn.Parameter(torch.randn(6, generator=g, dtype=getattr(torch, dtype)) * 0.1)
            self.W2 = torch.nn.Parameter(torch.randn(3, 6, generator=g, dtype=getattr(torch, dtype)) * 0.5)
            self.b2 = torch.nn.Parameter(torch.randn(3, generator=g, dtype=getattr(torch, dtype)) * 0.1)
            self.hidden = st.nn.Linear(6, 6, activation="gelu", dtype=getattr(torch, dtype))
            self.act = st.nn.Tanh()
            with torch.no_grad():  # the same start in every process (not torch's global generator)
                self.hidden.weight.copy_(torch.randn(6, 6, generator=g, dtype=getattr(torch, dtype)) * 0.5)
                self.hidden.bias.copy_(torch.randn(6, generator=g, dtype=getattr(torch, dtype)) * 0.1)

        def forward(self, x):
            h = self.act(self.hidden(dense.dense_sigmoid_layer(x, self.W1, self.b1)))
            return dense.linear_layer(h, self.W2, self.b2)

    def loss(z, t):
        return ce.softmax_cross_entropy_loss(z, t) + smoothed(z, t)

    return Net(), loss


ROWS = 8  # 4 a rank: each cross-entropy runs one program a row under the interpreter (16 rows took twice the time)


def _data(dtype: str):
    g = torch.Generator().manual_seed(1)
    return torch.randn(ROWS, 4, generator=g, dtype=getattr(torch, dtype)), torch.randint(0, 3, (ROWS,), generator=g)


def _train(net, loss_fn, x, t, steps=STEPS):
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(net(x), t).backward()
        opt.step()


def _worker(rank: int, kinds: str, rendezvous: str, out: str) -> None:
    """Train with each of ``kinds`` ("ddp", "fsdp", comma-separated) in turn; rank 0 saves
    {kind: {dtype: {"weights": {name: tensor}, "kinds": [parameter type names]}}} to ``out``."""
    import torch.distributed as dist

    from conftest import _interpreter_patches_the_language_once

    _interpreter_patches_the_language_once()  # as in the test process (importing conftest did it; this says why)

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        result = {}
        for kind in kinds.split(","):
            result[kind] = {}
            for dtype in DTYPES:
                net, loss_fn = _network(dtype)
                if kind == "ddp":
                    model = torch.nn.parallel.DistributedDataParallel(net)
                else:
                    from torch.distributed.fsdp import fully_shard
                    model = fully_shard(net)  # each rank holds half of every parameter (a DTensor shard)
                x, t = _data(dtype)
                _train(model, loss_fn, x[rank::WORLD], t[rank::WORLD])  # each rank its half of every batch
                weights = {}
                for name, p in net.named_parameters():
                    full = p.full_tensor() if hasattr(p, "full_tensor") else p  # FSDP2: gather the shards
                    weights[name] = full.detach().clone()
                result[kind][dtype] = {"weights": weights, "kinds": [type(p).__name__ for p in net.parameters()]}
                del model, net  # the DDP reducer / FSDP state go while the process group is alive
        if rank == 0:
            torch.save(result, out)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _fsdp2_missing() -> str | None:
    """Why FSDP2 cannot run here, or None."""
    try:
        from torch.distributed import fsdp
    except ImportError as e:
        return f"torch.distributed.fsdp does not import: {e}"
    return None if hasattr(fsdp, "fully_shard") else "this torch has no FSDP2 (torch.distributed.fsdp.fully_shard)"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """{kind: {dtype: ...}} of one run of this file as a script, DDP then (where torch has it) FSDP2."""
    kinds = "ddp" if _fsdp2_missing() else "ddp,fsdp"
    tmp_path = tmp_path_factory.mktemp("distributed")
    out = tmp_path / "trained.pt"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if not torch.cuda.is_available():
        env["TRITON_INTERPRET"] = "1"
    rendezvous = tmp_path / "rendezvous"  # a path of this run's own, not yet a file
    # ~45 s of CPU (3 processes, both kinds); a run beside other test processes on a loaded 2-core box takes
    # several times its CPU in wall time: a hang still fails, later
    done = subprocess.run([sys.executable, __file__, kinds, str(rendezvous), str(out)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out)


@functools.lru_cache(maxsize=None)
def _one_process(dtype: str):
    """(weights after training on the whole batch in one process, weights of one rank training alone on its
    half, the weights it started from), shared by both tests."""
    net, loss_fn = _network(dtype)
    start = {k: v.detach().clone() for k, v in net.named_parameters()}
    x, t = _data(dtype)
    _train(net, loss_fn, x, t)
    alone, loss_fn = _network(dtype)
    _train(alone, loss_fn, x[0::WORLD], t[0::WORLD])
    return ({k: v.detach() for k, v in net.named_parameters()}, {k: v.detach() for k, v in alone.named_parameters()},
            start)


def test_ddp_on_gloo_equals_one_process(trained):
    _check(trained["ddp"], "Parameter")


def test_fsdp2_on_gloo_equals_one_process(trained):
    if _fsdp2_missing():
        pytest.skip(_fsdp2_missing())
    _check(trained["fsdp"], "DTensor")


def _check(results: dict, kind: str) -> None:
    for dtype, tolerance in DTYPES.items():
        result = results[dtype]
        assert set(result["kinds"]) == {kind}
        reference, alone, start = _one_process(dtype)
        for name, w in reference.items():
            got = result["weights"][name]
            assert got.dtype == w.dtype
            err = (got - w).abs().max().item()
            assert err <= tolerance, f"{dtype} {name}: max |Δ| {err:.3g} from the one-process run"
            assert (w - start[name]).abs().max() > 1e-2, f"{name} did not move"
        # the check can tell: one rank training alone on its half of the batch ends elsewhere
        assert max((a - reference[n]).abs().max().item() for n, a in alone.items()) > 1e-3


if __name__ == "__main__":
    import torch.multiprocessing as mp

    kinds, rendezvous, out = sys.argv[1], sys.argv[2], sys.argv[3]
    mp.spawn(_worker, args=(kinds, rendezvous, out), nprocs=WORLD)
