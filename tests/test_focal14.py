"""Issue 16, sessions 14-15: the focal loss's argument domains (γ ≥ 0, t in [0, 1], Lin et al. 2017).

γ < 0 and t outside [0, 1] are refused in one line (a DomainError), in a formula's numbers, in a compiled formula's
data and by symnet.torch's loss op; torchvision's sigmoid_focal_loss refuses neither.
"""
from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("formula, message", [
    ("focal(z, t, 1/4, -1.8e308)", r"^focal: gamma has a negative entry \(-inf\); gamma must be ≥ 0$"),
    ("focal(z, t, 1/4, -1)", r"^focal: gamma has a negative entry \(-1\); gamma must be ≥ 0$"),
    ("focal(z, 2, 1/4, 2)", r"^focal: t has an entry outside \[0, 1\] \(2\); t must be in \[0, 1\]$"),
])
def test_a_number_outside_is_refused_in_one_line(formula, message):
    import symnet
    from symnet.errors import DomainError

    with pytest.raises(DomainError, match=message):
        symnet.parse(formula)


def test_a_compiled_formula_refuses_data_outside():
    from conftest import compiled
    from symnet.errors import DomainError

    k = compiled("focal(z, t, 1/4, gamma)", "numpy")
    ok = dict(gamma=np.array([0.0, 2.0, np.nan]), t=np.array([0.0, 1.0, 0.5]), z=np.array([1.0, -2.0, 3.0]))
    assert np.isfinite(k(**ok)[0][:2]).all()  # γ = 0, t at either end, and NaN (it propagates) pass
    with pytest.raises(DomainError, match=r"^focal: gamma = γ has a negative entry \(-inf\); gamma must be ≥ 0$"):
        k(**{**ok, "gamma": np.array([1.0, -1.8e308, 2.0])})  # (−1.8e308 is −inf in float64)
    with pytest.raises(DomainError, match=r"^focal: t has an entry outside \[0, 1\] \(1\.5\); t must be in \[0, 1\]$"):
        k(**{**ok, "t": np.array([0.5, 1.5, -0.5])})


def test_the_torch_loss_refuses_outside():
    torch = pytest.importorskip("torch")
    import symnet.torch as st
    from symnet.errors import DomainError

    z = torch.tensor([0.5, -1.0], dtype=torch.float64)
    with pytest.raises(DomainError, match=r"^focal: gamma has a negative entry \(-1\); gamma must be ≥ 0$"):
        st.functional.loss("focal", z, torch.tensor([0.0, 1.0], dtype=torch.float64), 0.25, -1)
    with pytest.raises(DomainError, match=r"^focal: t has an entry outside \[0, 1\] \(-0\.5\); t must be in \[0, 1\]$"):
        st.functional.loss("focal", z, torch.tensor([-0.5, 1.0], dtype=torch.float64))
