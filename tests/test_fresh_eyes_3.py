"""Faults found by reading only the README as a new user (third round), each with its test."""
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
os.environ.setdefault("TRITON_INTERPRET", "1")

import symnet.torch as st  # noqa: E402


@pytest.mark.parametrize("target, ignore_index", [([0, 1, 7, 2], -100), ([0, 1, -100, 2], 2),
                                                  ([0, 1, -1, 2], -100)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_refuses_a_class_out_of_range_as_torch_does(target, ignore_index, reduction):
    """Was: symnet.torch's cross_entropy returned a NaN loss silently (torch raises IndexError)."""
    z, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor(target)
    with pytest.raises(IndexError):
        torch.nn.functional.cross_entropy(z, y, ignore_index=ignore_index, reduction=reduction)
    with pytest.raises(IndexError, match="in target is outside \\[0, 3\\)"):
        st.functional.cross_entropy(z, y, ignore_index=ignore_index, reduction=reduction)
    with pytest.raises(IndexError):
        st.nn.CrossEntropyLoss(ignore_index=ignore_index, reduction=reduction)(z, y)


def test_cross_entropy_with_good_classes_still_matches_torch():
    z = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0, -100, 3], [2, 1, 0]])
    got = st.functional.cross_entropy(z, y)
    (g,) = torch.autograd.grad(got, z)
    want = torch.nn.functional.cross_entropy(z, y)
    (gw,) = torch.autograd.grad(want, z)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(g, gw)
