"""h-gelub37 (issue 16): g(x/y)⁻ᵏ at the range's ends for g other than the k = 2 gelu test_gelu36 fixed.

∂y of gelu(x/y)⁻³ is 3·x⁻³·(y²/Φ³ + x·y·φ/Φ⁴), the sum of two long-product terms (each a double word taken as written
where not finite). Where x and y are near the top of the range the sum overflows while x⁻³ underflows: 0·inf = NaN, at
(1.7e308, 1.7e308) for 3.815323173992654e−308 (torch exact). The power-quotient rule now takes such a quotient, where
it is ±inf or NaN, as Σ 3·tᵢ/x³, each term a product the printers take by exponents. References: mpmath at 60 digits
and torch autograd float64 (test_gelu36's); bounds 4 ULP float64, 8 float32 where the truth is normal, the class
elsewhere, wherever torch's is.
"""
from __future__ import annotations

import numpy as np
import pytest

import test_gelu36 as T

pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64, F32 = np.float64, np.float32


def test_gelu_cubed_dy_at_the_point():
    """The failing point: ∂y 3.815323173992654e−308 (torch the same), NaN before."""
    outs = T._run("gelu", 3, F64, [1.7e308], [1.7e308])
    assert outs[2][0] == 3.815323173992654e-308


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_gelu_cubed_where_the_sum_overflows(dtype):
    """200 points with x, y near the top of the range (float64 10^[300, 308.25], float32 10^[35, 38.5]), x/y in
    ±[0.3, 3], the failing point first; f and ∂y as mpmath's wherever torch's is."""
    rng = np.random.default_rng(3701 if dtype is F64 else 3702)
    low, high = (300, 308.25) if dtype is F64 else (35, 38.5)
    ys = rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(low, high, 200)
    xs = np.clip(ys * rng.choice([-1.0, 1.0], 200) * rng.uniform(0.3, 3, 200), -np.finfo(dtype).max,
                 np.finfo(dtype).max)
    if dtype is F64:
        xs[0], ys[0] = 1.7e308, 1.7e308
    assert T._faults("gelu", 3, dtype, xs, ys, outputs=("f", "df_dy")) == []


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_gelu_cubed_dy_elsewhere(dtype):
    """∂y unchanged where the sum is finite: 200 points, x/y in ±[0.3, 3] with y = ±10^[−3, 3], and |x| tiny."""
    rng = np.random.default_rng(3703 if dtype is F64 else 3704)
    ys = rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(-3, 3, 200)
    xs = ys * rng.choice([-1.0, 1.0], 200) * rng.uniform(0.3, 3, 200)
    tiny = (-323, -300) if dtype is F64 else (-45, -37)
    xs[150:] = rng.choice([-1.0, 1.0], 50) * 10.0 ** rng.uniform(*tiny, 50)
    assert T._faults("gelu", 3, dtype, xs, ys, outputs=("df_dy",)) == []


def test_gelu_fourth_dy_where_the_sum_overflows():
    """k = 4 the same way: ∂y of gelu(x/y)⁻⁴ at (1.7e308, 1.7e308) and 50 points near the top, as mpmath's wherever
    torch's is (f: the test below)."""
    rng = np.random.default_rng(3706)
    ys = rng.choice([-1.0, 1.0], 50) * 10.0 ** rng.uniform(300, 308.25, 50)
    xs = np.clip(ys * rng.choice([-1.0, 1.0], 50) * rng.uniform(0.3, 3, 50), -1.7e308, 1.7e308)
    xs[0], ys[0] = 1.7e308, 1.7e308
    assert T._faults("gelu", 4, F64, xs, ys, outputs=("df_dy",)) == []


# found here (h-gelub37), the same on main at 4e32ef69: f = y⁴/(x⁴·Φ(x/y)⁴) rounded Φ, its powers and the quotient
# apart: past 4 ULP (torch 1–3) at 4 of 100 points with x, y = ±10^[300, 308.25], x/y in ±[0.3, 3]: 7, 6, just past 4
# and 5 ULP. Since h-gelu37 (merged with it, measured by h-mend37): 0.52, 0.42, 0.01, 0.56 ULP (torch 3.5, 1.4, 1.0,
# 3.4); 300 further points there 0 past 4 ULP
def test_gelu_fourth_f_at_negative_quotients():
    """The former strict xfail's points, within 4 ULP of mpmath's f."""
    xs = [3.0266596632847035e303, -3.3363642589492337e303, 1.8902457609859372e307, 1.1015433157783504e305]
    ys = [-2.8557843692111275e303, 3.505316034482263e303, -2.8127601816134463e307, 7.079003251767988e304]
    rng = np.random.default_rng(3707)  # and 200 points about them: x, y = ±10^[300, 308.25], x/y in ±[0.3, 3]
    more_ys = rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(300, 308.25, 200)
    more_xs = np.clip(more_ys * rng.choice([-1.0, 1.0], 200) * rng.uniform(0.3, 3, 200), -1.7e308, 1.7e308)
    assert T._faults("gelu", 4, F64, xs + list(more_xs), ys + list(more_ys), outputs=("f",)) == []


# found by h-mend37: ∂y of gelu(x/y)⁻³ near gelu′'s root with |x|, |y| large: y·W (the long-product rule's widened sum
# times y) overflowed where ∂y does not, and the fallback sum of its products cancels: 16.9, 5.5, 8.2 ULP at these
# points for k = 3 (torch 1.9, 2.5, 1.8), 9.6, 7.7, 9.5 for k = 4 (torch 1.6, 7.3, 1.5); inf on main at 10f9064b. Now
# c·(y/x)·((W/x)/x) from |x| = 2^40: 0.90, 0.48, 0.85 and 1.57, 0.31, 0.48 ULP. Still past 4 ULP where W itself
# overflows (|y| near 1e307, y/Φ³ past the range): k = 3 at (−4.2402575840566673e306, 5.1171975490216373e306) ∂y 6 ULP
# (torch 17), ∂x 7 (torch 20, as on main); the only faults among these 406 points, each better than torch's
@pytest.mark.parametrize("k", [3, 4])
def test_gelu_dy_near_the_root_where_y_times_the_sum_overflows(k):
    """The points above and 200 near x/y in [−1.2, −0.4] with |y| = 10^[100, 308]: f, ∂x, ∂y within 4 ULP of mpmath's
    wherever torch's is."""
    xs = [-5.447696992634198e224, 2.0525867242141153e252, 5.6835729192561775e153]
    ys = [7.848194129645576e224, -2.5966181537928662e252, -7.253232288811133e153]
    rng = np.random.default_rng(3708 + k)
    more_ys = rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(100, 308, 200)
    more_xs = more_ys * -rng.uniform(0.4, 1.2, 200)
    assert T._faults("gelu", k, F64, xs + list(more_xs), ys + list(more_ys)) == []
