"""A digits MLP made of symnet's generated Triton ops (dense σ layer, linear layer, softmax
cross-entropy, each a torch custom op with its generated backward) trains with
torch.optim.Adam like the same MLP made of torch.nn: same initial weights, same data, same
order of mini-batches; the test accuracies agree within 0.5 %. Under Triton's interpreter
without a GPU: one epoch of small batches only."""
from __future__ import annotations

import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()
datasets = pytest.importorskip("sklearn.datasets")

from symnet.kernels import load_kernel  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# 1 epoch of 44 mini-batches of 32 at a learning rate of 0.03: torch.nn reaches 0.894 test accuracy from 0.106. The
# interpreter's time grows with the rows seen (the cross-entropy runs one program a row: half the test's CPU), not
# with the steps: 2 epochs of 11 batches of 128 at 0.07 reached 0.879 with twice the rows (66 s of CPU here, 50 s in
# CI; 1 epoch of 128 at 0.07 only 0.678); 3 epochs at 0.03: 0.899, 46 s in CI; 4 took 122 s under the interpreter
HIDDEN, EPOCHS, BATCH, LR = 32, 1, 32, 0.03


class SymnetMLP(torch.nn.Module):
    """σ(W1 x + b1), then W2 · + b2: symnet's dense_sigmoid_layer and linear_layer ops."""

    def __init__(self, reference: torch.nn.Sequential):
        super().__init__()
        first, _, last = reference
        self.W1 = torch.nn.Parameter(first.weight.detach().clone())
        self.b1 = torch.nn.Parameter(first.bias.detach().clone())
        self.W2 = torch.nn.Parameter(last.weight.detach().clone())
        self.b2 = torch.nn.Parameter(last.bias.detach().clone())
        self.dense = load_kernel("dense", "triton")

    def forward(self, x):
        return self.dense.linear_layer(self.dense.dense_sigmoid_layer(x, self.W1, self.b1), self.W2, self.b2)


def _digits():
    X, y = datasets.load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32, device=DEVICE)
    y = torch.tensor(y, dtype=torch.int64, device=DEVICE)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0)).to(DEVICE)
    train, test = order[:1400], order[1400:]
    return X[train], y[train], X[test], y[test]


def _train(model, loss_fn, X, y):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    g = torch.Generator().manual_seed(1)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(y), generator=g).to(DEVICE)
        for k in range(0, len(y), BATCH):
            rows = perm[k:k + BATCH]
            opt.zero_grad()
            loss_fn(model(X[rows]), y[rows]).backward()
            opt.step()


def _accuracy(model, X, y) -> float:
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def test_digits_mlp_of_symnet_ops_trains_with_adam_like_torch_nn():
    Xtr, ytr, Xte, yte = _digits()
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.Sigmoid(), torch.nn.Linear(HIDDEN, 10))
    reference.to(DEVICE)
    ours = SymnetMLP(reference)
    before = _accuracy(reference, Xte, yte)
    _train(reference, torch.nn.functional.cross_entropy, Xtr, ytr)
    _train(ours, load_kernel("softmax_cross_entropy", "triton").softmax_cross_entropy_loss, Xtr, ytr)
    theirs, mine = _accuracy(reference, Xte, yte), _accuracy(ours, Xte, yte)
    assert theirs > max(0.85, before + 0.5), f"the reference did not learn: {before:.3f} → {theirs:.3f}"
    assert abs(mine - theirs) <= 0.005, f"symnet ops {mine:.4f}, torch.nn {theirs:.4f}"
    # the weights themselves stay close: the same computation up to float32 rounding
    drift = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), reference.parameters()))
    assert drift < 1e-3, f"the weights drifted apart by {drift:.3g}"
    print(f"accuracy: symnet ops {mine:.4f}, torch.nn {theirs:.4f} (from {before:.4f}); weights max abs diff {drift:.3g}")
