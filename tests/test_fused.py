"""The generated whole-step kernels (kernels/triton/mlp_train.py, elman_train.py): one launch
runs forward, loss, backprop and the SGD update. Checked against the numpy backend (the
generated NumPy kernels, step by step), against SGD written here in float64 torch with
torch.autograd, for NaN handling and for bad input. Without a GPU the kernels run under
Triton's interpreter (TRITON_INTERPRET=1, set before triton is imported): tiny sizes."""
from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import torch_and_triton

torch, triton = torch_and_triton()

import symnet  # noqa: E402
from symnet import SymnetError  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402
from symnet.training import TrainingDiverged  # noqa: E402
from symnet.training.mlp import mlp_grads  # noqa: E402
from symnet.training.rnn import bptt_grads  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
MLP = load_kernel("mlp_train", "triton")
ELMAN = load_kernel("elman_train", "triton")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interpreter's numpy overflows


def dev(a):
    return torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE)


def mlp_params(rng, sizes, scale=0.5):
    p = {}
    for n in range(1, len(sizes)):
        p[f"W{n}"] = rng.normal(0, scale, (sizes[n], sizes[n - 1])).astype(np.float32)
        p[f"b{n}"] = rng.normal(0, scale, sizes[n]).astype(np.float32)
    return p


def run_mlp(kernel, x, t, p, order, lr, batch, **kw):
    """The fused kernel on copies of p; returns (losses, the updated parameters)."""
    P = {k: dev(v.copy()) for k, v in p.items()}
    L = len(P) // 2
    losses = kernel(dev(x), dev(t), *[P[f"{w}{n}"] for n in range(1, L + 1) for w in "Wb"], dev(order), lr, batch, **kw)
    return losses.cpu().numpy(), {k: v.cpu().numpy() for k, v in P.items()}


def numpy_sgd(grads, p, order, lr, batch):
    """SGD with the numpy backend's gradient function (the generated NumPy kernels)."""
    q = {k: v.copy() for k, v in p.items()}
    losses = []
    for lo in range(0, len(order), batch):
        loss, g = grads(q, order[lo:lo + batch])
        losses.append(float(loss))
        for k in q:
            q[k] -= lr * g[k]
    return np.array(losses), q


ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


def torch_sgd(acts, loss, x, t, p, order, lr, batch):
    """The same SGD written here in float64 torch, gradients by torch.autograd."""
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    X = torch.tensor(x, dtype=torch.float64)
    losses = []
    for lo in range(0, len(order), batch):
        idx = torch.from_numpy(order[lo:lo + batch])
        a = X[idx]
        for n, act in enumerate(acts, 1):
            a = ACT[act](a @ P[f"W{n}"].T + P[f"b{n}"])
        if loss == "mse":
            J = ((torch.tensor(t, dtype=torch.float64)[idx] - a) ** 2).sum() / len(idx)
        else:
            J = torch.nn.functional.cross_entropy(a, torch.from_numpy(t)[idx])
        grads = torch.autograd.grad(J, list(P.values()))
        with torch.no_grad():
            for w, g in zip(P.values(), grads):
                w -= lr * g
        losses.append(float(J.detach()))
    return np.array(losses), {k: v.detach().numpy() for k, v in P.items()}


# ------------------------------------------------------------------ the check: 100 steps

def test_xor_fused_follows_the_numpy_backend_for_100_steps():
    fused = symnet.train("xor", "triton-fused", epochs=100, seed=3)
    ref = symnet.train("xor", "numpy", epochs=100, seed=3)
    assert len(fused.step_losses) == 100
    np.testing.assert_allclose(fused.step_losses, ref.step_losses, rtol=1e-5, atol=1e-7)
    for k in ref.params:
        np.testing.assert_allclose(fused.params[k], ref.params[k], rtol=1e-5, atol=1e-6)


def test_digits_fused_follows_the_numpy_backend_for_100_steps():
    pytest.importorskip("sklearn")
    fused = symnet.train("digits", "triton-fused", epochs=3, batch=40)  # 34 steps an epoch, one launch each
    ref = symnet.train("digits", "numpy", epochs=3, batch=40)
    assert len(fused.step_losses) == 102
    np.testing.assert_allclose(fused.step_losses, ref.step_losses, rtol=2e-5)
    for k in ref.params:
        np.testing.assert_allclose(fused.params[k], ref.params[k], rtol=1e-4, atol=2e-6)
    assert fused.metrics["test_accuracy"] == ref.metrics["test_accuracy"]


def delayed_recall(rng, n, T, C, delay):
    s = rng.integers(0, C, (n, T))
    r = np.zeros_like(s)
    r[:, delay:] = s[:, :-delay]
    return np.eye(C, dtype=np.float32)[s], r


def test_elman_fused_follows_the_numpy_bptt_for_100_steps_in_one_launch():
    rng = np.random.default_rng(0)
    N, T, C, H, delay, batch = 24, 5, 3, 8, 2, 6
    x, r = delayed_recall(rng, N, T, C, delay)
    p = {"Wi": rng.normal(0, .5, (H, C)).astype(np.float32), "Wh": rng.normal(0, .5, (H, H)).astype(np.float32),
         "Wo": rng.normal(0, .5, (C, H)).astype(np.float32)}
    order = np.concatenate([rng.permutation(N) for _ in range(25)])  # 25 epochs of 4 steps: 100 steps
    want, q = numpy_sgd(lambda w, idx: bptt_grads(w, x[idx], r[idx], delay), p, order, 1.0, batch)
    P = {k: dev(v.copy()) for k, v in p.items()}
    got = ELMAN.elman_sigmoid_ce(dev(x), dev(r), P["Wi"], P["Wh"], P["Wo"], dev(order), 1.0, batch, delay)
    assert got.shape == (100,)
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=2e-5)
    for k in p:
        np.testing.assert_allclose(P[k].cpu().numpy(), q[k], rtol=1e-4, atol=2e-6)
    assert want[-1] < 0.75 * want[0]  # and it learned: the check is not of a frozen network


def test_rnn_task_on_the_fused_backend_matches_numpy():
    fused = symnet.train("rnn", "triton-fused", epochs=1, batch=256)
    ref = symnet.train("rnn", "numpy", epochs=1, batch=256)
    np.testing.assert_allclose(fused.step_losses, ref.step_losses, rtol=2e-5)


# ------------------------------------------------------------------ every generated MLP against torch.autograd

@pytest.mark.parametrize("acts,loss", [(("sigmoid", "sigmoid"), "mse"), (("sigmoid", "linear"), "ce"),
                                       (("tanh", "linear"), "ce"), (("relu", "linear"), "ce")])
@pytest.mark.parametrize("batch", [7, 40])  # 7: one program, 6 steps in one launch; 40: one step split over programs
def test_each_fused_mlp_matches_sgd_by_torch_autograd(acts, loss, batch):
    rng = np.random.default_rng(len(acts[0]) + batch)
    sizes = (5, 19, 3)  # padded to 16, 32, 16
    N = 40
    x = rng.normal(0, 1.5, (N, sizes[0])).astype(np.float32)
    t = rng.uniform(0, 1, (N, sizes[2])).astype(np.float32) if loss == "mse" else rng.integers(0, sizes[2], N)
    p = mlp_params(rng, sizes)
    order = rng.permutation(N)
    kernel = getattr(MLP, f"mlp_{'_'.join(acts)}_{loss}")
    got, q = run_mlp(kernel, x, t, p, order, 0.3, batch)
    want, w = torch_sgd(acts, loss, x, t, p, order, 0.3, batch)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for k in p:
        np.testing.assert_allclose(q[k], w[k], rtol=1e-4, atol=1e-5)


def test_compile_step_makes_a_deeper_network_from_its_derivation(tmp_path, monkeypatch):
    """Not only the committed ones: three layers, relu → tanh → linear, generated and run."""
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    step = symnet.compile_step(("relu", "tanh", "linear"), "ce")
    assert "def mlp_relu_tanh_linear_ce(" in step.source and list(tmp_path.glob("triton/mlp_relu_tanh_linear_ce_*.py"))
    rng = np.random.default_rng(5)
    sizes = (6, 20, 9, 4)
    x = rng.normal(size=(30, 6)).astype(np.float32)
    t = rng.integers(0, 4, 30)
    p = mlp_params(rng, sizes)
    order = rng.permutation(30)
    got, q = run_mlp(step, x, t, p, order, 0.2, 10)
    want, w = torch_sgd(("relu", "tanh", "linear"), "ce", x, t, p, order, 0.2, 10)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for k in p:
        np.testing.assert_allclose(q[k], w[k], rtol=1e-4, atol=1e-5)
    with pytest.raises(SymnetError, match="unknown activation 'gelu2'"):
        symnet.compile_step(("gelu2", "linear"))
    with pytest.raises(SymnetError, match="unknown loss 'hinge2'"):
        symnet.compile_step(("relu", "linear"), "hinge2")


def test_split_step_equals_the_numpy_step():
    """One step over 70 examples: three programs, atomics, the last applies the update —
    twice in a row, so the scratch buffer is proven zero again after a launch."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (70, 64)).astype(np.float32)
    t = rng.integers(0, 10, 70)
    p = mlp_params(rng, (64, 40, 10), 0.2)
    order = rng.permutation(70)
    want, q = numpy_sgd(lambda w, idx: mlp_grads(w, x[idx], t[idx], "ce"), p, np.concatenate([order, order]), 0.5, 70)
    P = {k: dev(v.copy()) for k, v in p.items()}
    got = [float(MLP.mlp_sigmoid_linear_ce(dev(x), dev(t), P["W1"], P["b1"], P["W2"], P["b2"], dev(order), 0.5, 70)[0])
           for _ in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for k in p:
        np.testing.assert_allclose(P[k].cpu().numpy(), q[k], rtol=1e-4, atol=1e-6)


def test_sigmoid_of_minus_1000_is_0_not_nan():
    x = np.array([[-1000.0, 1000.0], [0.0, 0.0]], np.float32)
    t = np.array([[0.0], [1.0]], np.float32)
    p = {"W1": np.eye(2, dtype=np.float32), "b1": np.zeros(2, np.float32),
         "W2": np.ones((1, 2), np.float32), "b2": np.zeros(1, np.float32)}
    got, q = run_mlp(MLP.mlp_sigmoid_sigmoid_mse, x, t, p, np.arange(2), 0.1, 2)
    assert np.isfinite(got).all() and all(np.isfinite(v).all() for v in q.values())


# ------------------------------------------------------------------ a NaN stops the updates

@pytest.mark.parametrize("batch", [4, 40])
def test_a_nan_loss_is_reported_and_no_step_from_it_on_is_applied(batch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    t = rng.uniform(size=(40, 2)).astype(np.float32)
    p = mlp_params(rng, (3, 4, 2))
    order = np.arange(40)
    bad = 2 * batch if batch == 4 else 5  # in step 3 (epoch mode) or the only step (split)
    x[bad, 1] = np.nan
    got, q = run_mlp(MLP.mlp_sigmoid_sigmoid_mse, x, t, p, order, 0.5, batch)
    first = bad // batch
    assert np.isfinite(got[:first]).all() and np.isnan(got[first])
    _, want = run_mlp(MLP.mlp_sigmoid_sigmoid_mse, x, t, p, order[:first * batch], 0.5, batch)
    for k in p:
        np.testing.assert_array_equal(q[k], want[k] if first else p[k])


def test_the_training_loop_reports_the_step_that_diverged(monkeypatch):
    from symnet.training.mlp import Xor
    original = Xor.prepare

    def poisoned(self, settings):
        original(self, settings)
        self.x = self.x.copy()
        self.x[2, 0] = np.nan  # the example reached in the first epoch's only step
    monkeypatch.setattr(Xor, "prepare", poisoned)
    for backend in ("triton-fused", "numpy"):
        with pytest.raises(TrainingDiverged, match="epoch 1, step 1") as caught:
            symnet.train("xor", backend, epochs=3)
        assert caught.value.result.history == []


# ------------------------------------------------------------------ bad input

def args(**change):
    rng = np.random.default_rng(0)
    a = {"x": dev(rng.normal(size=(8, 3)).astype(np.float32)), "t": dev(rng.integers(0, 2, 8)),
         "W1": dev(np.zeros((4, 3), np.float32)), "b1": dev(np.zeros(4, np.float32)),
         "W2": dev(np.zeros((2, 4), np.float32)), "b2": dev(np.zeros(2, np.float32)),
         "order": dev(np.arange(8)), "lr": 0.1, "batch": 4}
    a.update(change)
    return a


@pytest.mark.parametrize("change,error,match", [
    ({"x": dev(np.zeros((8, 3)))}, TypeError, "'x' has dtype torch.float64"),
    ({"W1": dev(np.zeros((4, 5), np.float32))}, ValueError, "'W1' has shape \\(4, 5\\), expected \\(4, 3\\)"),
    ({"b2": dev(np.zeros(3, np.float32))}, ValueError, "'b2' has shape"),
    ({"W1": dev(np.zeros((3, 4), np.float32)).T}, ValueError, "'W1' must be contiguous"),
    ({"t": dev(np.array([0, 1, 2, 0, 0, 0, 0, 0]))}, IndexError, "class in t lies outside \\[0, 2\\)"),
    ({"t": dev(np.zeros(7, np.int64))}, ValueError, "x has 8 examples but t has 7"),
    ({"order": dev(np.array([0, 9]))}, IndexError, "index outside \\[0, 8\\)"),
    ({"order": dev(np.zeros(3, np.float32))}, TypeError, "order must be a 1-D int"),
    ({"batch": 0}, ValueError, "batch must be a positive whole number"),
    ({"lr": dev(np.ones(3, np.float32))}, ValueError, "lr must be a float or a float32 tensor of 2"),
    ({"W1": dev(np.zeros((300, 3), np.float32)), "b1": dev(np.zeros(300, np.float32)),
      "W2": dev(np.zeros((2, 300), np.float32))}, ValueError, "keeps every parameter and its gradient in registers"),
])
def test_bad_input_is_named(change, error, match):
    a = args(**change)
    with pytest.raises(error, match=match):
        MLP.mlp_sigmoid_linear_ce(a["x"], a["t"], a["W1"], a["b1"], a["W2"], a["b2"], a["order"], a["lr"], a["batch"])


def test_bad_elman_input_is_named():
    x = dev(np.zeros((4, 5, 3), np.float32))
    r = dev(np.zeros((4, 5), np.int64))
    W = [dev(np.zeros(s, np.float32)) for s in ((6, 3), (6, 6), (3, 6))]
    with pytest.raises(ValueError, match="delay must be a whole number in \\[0, 5\\)"):
        ELMAN.elman_sigmoid_ce(x, r, *W, dev(np.arange(4)), 0.1, 2, 5)
    with pytest.raises(ValueError, match="r has shape \\(4, 4\\)"):
        ELMAN.elman_sigmoid_ce(x, r[:, :4].contiguous(), *W, dev(np.arange(4)), 0.1, 2, 1)
    with pytest.raises(ValueError, match="'Wh' has shape \\(6, 5\\)"):
        ELMAN.elman_sigmoid_ce(x, r, W[0], dev(np.zeros((6, 5), np.float32)), W[2], dev(np.arange(4)), 0.1, 2, 1)


def test_a_program_too_large_for_the_sm_is_a_named_error():
    """On an H100 the 128-unit Elman RNN at precision='tf32x3' needs 384 KB of shared memory (227 KB
    there): the compiler's OutOfResources becomes an error naming the network and the way out."""
    from triton.runtime.errors import OutOfResources

    class TooLarge:
        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                raise OutOfResources(393216, 232448, "shared memory")
            return launch
    with pytest.raises(ValueError, match="24576 padded parameter entries.*precision='tf32x3'.*try precision='ieee'"):
        ELMAN._launch(TooLarge(), 4, 24576, PRECISION="tf32x3")


def test_fused_backend_is_offered_only_where_there_is_a_kernel():
    with pytest.raises(SymnetError, match="the miles task runs on numpy, torch, not on 'triton-fused'"):
        symnet.train("miles", backend="triton-fused")


def test_elman_split_step_equals_the_numpy_step():
    """One BPTT step over 40 sequences: three programs add their gradients, the last updates."""
    rng = np.random.default_rng(4)
    N, T, C, H, delay = 40, 4, 3, 5, 1
    x, r = delayed_recall(rng, N, T, C, delay)
    p = {"Wi": rng.normal(0, .5, (H, C)).astype(np.float32), "Wh": rng.normal(0, .5, (H, H)).astype(np.float32),
         "Wo": rng.normal(0, .5, (C, H)).astype(np.float32)}
    order = rng.permutation(N)
    want, q = numpy_sgd(lambda w, idx: bptt_grads(w, x[idx], r[idx], delay), p, np.concatenate([order, order]), 0.7, N)
    P = {k: dev(v.copy()) for k, v in p.items()}
    got = [float(ELMAN.elman_sigmoid_ce(dev(x), dev(r), P["Wi"], P["Wh"], P["Wo"], dev(order), 0.7, N, delay)[0])
           for _ in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for k in p:
        np.testing.assert_allclose(P[k].cpu().numpy(), q[k], rtol=1e-4, atol=1e-6)


def test_the_fused_gpu_benchmark_checks_correctness_at_small_sizes():
    """benchmarks/gpu_fused.py stays runnable: its correctness stage at small sizes (no timing), under
    the interpreter where there is no GPU."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    if DEVICE == "cpu":
        env["TRITON_INTERPRET"] = "1"
    run = subprocess.run([sys.executable, str(root / "benchmarks" / "gpu_fused.py"), "--small", "--check-only"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    for case in ("xor_step", "digits_step", "rnn_step", "digits_epoch"):
        assert f"{case}: correct" in run.stdout
