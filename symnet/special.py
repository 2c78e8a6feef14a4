"""SymPy function classes that symnet adds besides σ and relu (``symnet.functions``).

``softplus`` lives here, outside ``symnet.codegen``, because the function registry
(:mod:`symnet.registry`) names it and the code generator imports the registry.
"""
from __future__ import annotations

import sympy as sp

from .functions import SymnetFunction, sigmoid

__all__ = ["softplus"]


class softplus(SymnetFunction):  # noqa: N801
    """softplus(x) = log(1 + e^x), printed as an overflow-free log-add-exp."""

    nargs = 1
    latex_name = r"\operatorname{softplus}"

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @staticmethod
    def _of(x):
        return sp.Max(x, 0) + sp.log(1 + sp.exp(-sp.Abs(x)))  # overflow-free in every printer

    @staticmethod
    def _numeric(x):
        return sp.log(1 + sp.exp(x))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return self._numeric(x)


class ndtr(SymnetFunction):  # noqa: N801
    """Φ(x) = erfc(−x/√2)/2, the standard normal CDF (``torch.special.ndtr``): GELU is x·Φ(x).

    Written as (1 + erf(x/√2))/2 it cancels for x ≪ 0 (every digit lost from x ≈ −5.5 in float32,
    −8.3 in float64), and erfc(−x/√2) alone rounds x/√2 first, which erfc amplifies 2u²-fold
    (700 ulp at x = −37); the generated code corrects that rounding (the ``_ndtr`` helpers of
    :mod:`symnet.registry`)."""

    nargs = 1
    latex_name, realness = r"\Phi", "argument"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x is sp.oo:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)

    @staticmethod
    def _of(x):
        return sp.erfc(-x / sp.sqrt(2)) / 2

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return self._of(x)

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return (1 + sp.erf(x / sp.sqrt(2))) / 2



class _ExpNegSquare(SymnetFunction):
    """e^(−c·u²) as one node of the code generator (the ``exp-square`` stability rule of
    :mod:`symnet.codegen.rewrite`): the generated code evaluates it without rounding u² (an error
    of c·u²·ε, 700 ulp at e^(−u²), u = 26, in float64). Not a parser name: formulas write exp(−u²)."""

    nargs = 1
    c = sp.S.One
    realness, positive = "argument", True

    def fdiff(self, argindex=1):
        return -2 * self.c * self.args[0] * self

    @classmethod
    def _of(cls, u):
        return sp.exp(-cls.c * u ** 2)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return self._of(u)


class nexpsq(_ExpNegSquare):  # noqa: N801
    """nexpsq(u) = e^(−u²) (erf′ and erfc′), evaluated without rounding u²."""

    c = sp.S.One


class nexpsq2(_ExpNegSquare):  # noqa: N801
    """nexpsq2(u) = e^(−u²/2) (the normal density, Φ′ = nexpsq2/√(2π)), evaluated without rounding u²."""

    c = sp.S.Half


__all__ += ["ndtr", "nexpsq", "nexpsq2"]


# GELU's tanh approximation: gelu_tanh(x) = x·S(x), S(x) = (1 + tanh(v/2))/2 = σ(v) with
# v = 2√(2/π)·(x + 0.044715·x³). e^v turns a relative error δ of v into |v|·δ (556 ulp at x = −20 in
# float64), so the generated code computes v in double-word arithmetic (the _ndtr_tanh helpers).
_K2 = 2 * sp.sqrt(2 / sp.pi)
_C = sp.Rational(44715, 1000000)


def _tanh_cdf_argument(x):
    return _K2 * (x + _C * x ** 3)


class ndtr_tanh(SymnetFunction):  # noqa: N801
    """S(x) = (1 + tanh(√(2/π)·(x + 0.044715·x³)))/2, the tanh approximation of Φ (GELU-tanh is x·S(x));
    S(x) = σ(v), v = 2√(2/π)·(x + 0.044715·x³), without the cancellation of 1 + tanh for x ≪ 0."""

    nargs = 1
    latex_name, realness = r"S_{\tanh}", "argument"

    def fdiff(self, argindex=1):
        return ndtr_tanh_pdf(self.args[0])

    @staticmethod
    def _of(x):
        return (1 + sp.tanh(_tanh_cdf_argument(x) / 2)) / 2

    @staticmethod
    def _numeric(x):
        return 1 / (1 + sp.exp(-_tanh_cdf_argument(x)))

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return self._of(x)


class ndtr_tanh_pdf(SymnetFunction):  # noqa: N801
    """S′(x) = v′(x)·σ(v)·σ(−v) = v′(x)·S(x)·S(−x) (v odd), v′ = 2√(2/π)·(1 + 0.134145·x²): 0 where
    σ(v)σ(−v) underflows, never x²·0 = inf·0."""

    nargs = 1
    latex_name, realness = r"S_{\tanh}'", "argument"

    def fdiff(self, argindex=1):
        x = self.args[0]
        v1 = sp.diff(_tanh_cdf_argument(x), x)
        return sp.diff(v1, x) * ndtr_tanh(x) * ndtr_tanh(-x) + v1 * ndtr_tanh_pdf(x) * (ndtr_tanh(-x) - ndtr_tanh(x))

    @staticmethod
    def _of(x):
        v = _tanh_cdf_argument(x)
        return sp.diff(v, x) * (1 - sp.tanh(v / 2) ** 2) / 4

    @staticmethod
    def _numeric(x):
        v = _tanh_cdf_argument(x)
        s = 1 / (1 + sp.exp(-v))
        return sp.diff(_tanh_cdf_argument(sp.Symbol("t")), sp.Symbol("t")).subs(sp.Symbol("t"), x) * s * (1 - s)

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return self._of(x)

__all__ += ["ndtr_tanh", "ndtr_tanh_pdf"]


# e^(x + y) and σ(x + y) of two exact operands (inputs, their negations, max/min of inputs): the
# ``two-sum`` stability rule of :mod:`symnet.codegen.rewrite`. The generated code takes s = fl(x + y)
# and its rounding error e exactly (Knuth's TwoSum), then e^(s + e) = e^s·(1 + e) and
# σ(s + e) = σ(s) + σ(s)σ(−s)·e to first order in e (|e| ≤ ulp(s)/2): e^s alone turns the rounding of
# x + y into a relative error of up to |x + y|·ε/2 (256 ulp at x − y = −707 in float64).
class _TwoSumFunction(SymnetFunction):
    """f(x + y) (``_of_sum``): shown as f(x + y), evaluated at the value of x + y."""

    nargs = 2
    realness, positive = "arguments", True

    @classmethod
    def _of(cls, x, y):
        return cls._of_sum(x + y)

    @classmethod
    def _numeric(cls, s):
        return cls._of_sum(s)

    def _evalf_args(self):
        return (self.args[0] + self.args[1],)


class exp_twosum(_TwoSumFunction):  # noqa: N801
    """exp_twosum(x, y) = e^(x + y), the rounding of x + y corrected (see above)."""

    @staticmethod
    def _of_sum(s):
        return sp.exp(s)

    def fdiff(self, argindex=1):
        return self

    def _eval_rewrite_as_exp(self, x, y, **kwargs):
        return sp.exp(x + y)


class sigmoid_twosum(_TwoSumFunction):  # noqa: N801
    """sigmoid_twosum(x, y) = σ(x + y), the rounding of x + y corrected (see above)."""

    @staticmethod
    def _of_sum(s):
        return sigmoid(s)

    def fdiff(self, argindex=1):
        x, y = self.args
        return sigmoid_twosum(x, y) * sigmoid_twosum(-x, -y)

    def _eval_rewrite_as_exp(self, x, y, **kwargs):
        return 1 / (1 + sp.exp(-x - y))


__all__ += ["exp_twosum", "sigmoid_twosum"]


# e^(x − m) for m = max(…, x, …): the ``infinite-shift`` stability rule of :mod:`symnet.codegen.rewrite`.
# A max-shifted sum Σ e^(a_i − m) has e^0 = 1 for the largest term; where m is ±inf, a_k − m is
# inf − inf = NaN (log(e^a + e^b + e^c) at a = inf, or every a_i = −inf). exp_shift is 1 where x = m,
# whatever m is, and e^(x − m) with the rounding of x − m corrected (as exp_twosum) elsewhere.
class exp_shift(SymnetFunction):  # noqa: N801
    """exp_shift(x, m) = e^(x − m), 1 where x = m (also where x = m = ±inf: the max's own term)."""

    nargs = 2
    realness, positive = "arguments", True

    def fdiff(self, argindex=1):
        return self if argindex == 1 else -self

    @staticmethod
    def _of(x, m):
        return sp.exp(x - m)

    @staticmethod
    def _numeric(s):
        return sp.exp(s)

    def _evalf_args(self):
        return (self.args[0] - self.args[1],)

    def _eval_rewrite_as_exp(self, x, m, **kwargs):
        return self._of(x, m)

__all__ += ["exp_shift"]


class ndtr_tanh_slope(SymnetFunction):  # noqa: N801
    """S(x) + x·S′(x), GELU-tanh′ (GELU-tanh = x·S(x), S = σ(v)): the ``gelu-tanh-slope`` rule's node.
    For x < −1/4 the generated code computes it as e^v·((1 + x·v′) + e^v)/(1 + e^v)² with x·v′ and
    1 + x·v′ in double-word arithmetic (each of the dozen roundings of S + x·S′ otherwise adds up:
    5.4 ULP in float64 at x = −3.92), as written elsewhere (the helpers of :mod:`symnet.registry`)."""

    nargs = 1
    bracketed, realness = True, "argument"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return 2 * ndtr_tanh_pdf(x) + x * ndtr_tanh_pdf(x).fdiff()

    @staticmethod
    def _of(x):
        return ndtr_tanh._of(x) + x * ndtr_tanh_pdf._of(x)

    @staticmethod
    def _shown(x):
        return ndtr_tanh(x) + x * ndtr_tanh_pdf(x)

    _numeric = _shown

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return self._of(x)

__all__ += ["ndtr_tanh_slope"]


# a·b·c of three inputs with the factor of middle magnitude multiplied last (the product-order rule of
# symnet.codegen.rewrite): (a·b)·c overflows or underflows in the middle where the product does not
# (float32: a = −9.2e−4, b = −3.4e38, c = 2.96: a·b·c = 9.3e35, but b·c = inf). With s, m, l the factors by
# magnitude, s·l overflows only where |m| ≥ |s| ≥ 1 (the product overflows too) and underflows only where
# |m| ≤ |l| ≤ 1 (the product is below the normal range too). NumPy: (a·b)·c as written, redone so only where
# a·b leaves the normal range; Triton: the select everywhere (ALU work beside the loads).
class ordered_product(SymnetFunction):  # noqa: N801
    """ordered_product(a, b, c) = a·b·c, the factor of middle magnitude multiplied last."""

    nargs = 3
    realness = "arguments"

    def fdiff(self, argindex=1):
        others = [a for i, a in enumerate(self.args, start=1) if i != argindex]
        return others[0] * others[1]

    @staticmethod
    def _of(a, b, c):
        return sp.Mul(a, b, c)

    @staticmethod
    def _numeric(product):
        return product

    def _evalf_args(self):  # the product evaluated as a whole: a·b·c of symbols too (evalf of 2·x·y is 2.0·x·y)
        return (sp.Mul(*self.args),)

    def _eval_rewrite_as_Mul(self, a, b, c, **kwargs):
        return a * b * c

    _eval_rewrite_as_exp = _eval_rewrite_as_Mul  # the elementary form the exactness checks compare

__all__ += ["ordered_product"]


# sign(b)·(h − |b|)²/h, h = √((x + y)² + b²): ∂/∂b of the pseudo-Huber loss b²(√(1 + ((x + y)/b)²) − 1) = |b|(h − |b|)
# (the hypot-slope rule of symnet.codegen.rewrite). Its scaled form α⁴/(h(h + β)²) (α = |x + y|, β = |b|) takes
# r = min(α, β)/max(α, β) rounded to the third power and x + y rounded to the fourth (8.3 ULP in float64 at
# b = 1.06e7, x = 1, y = −0.3); the generated code corrects both to first order (Dekker's product for the
# remainder of r, Knuth's TwoSum for x + y), the helpers of symnet/registry.py.
class hypot_gap_slope(SymnetFunction):  # noqa: N801
    """hypot_gap_slope(x, y, b) = sign(b)·(h − |b|)²/h with h = √((x + y)² + b²)."""

    nargs = 3
    bracketed, realness = True, "arguments"

    @staticmethod
    def _of(x, y, b):
        h = sp.sqrt((x + y) ** 2 + b ** 2)
        return sp.sign(b) * (h - sp.Abs(b)) ** 2 / h

    @staticmethod
    def _numeric(x, y, b):
        alpha, beta = abs(x + y), abs(b)
        h = sp.sqrt(alpha ** 2 + beta ** 2)
        return sp.sign(b) * alpha ** 4 / (h * (h + beta) ** 2)  # no cancellation

    def fdiff(self, argindex=1):
        slots = sp.symbols("x y b", real=True, cls=sp.Dummy)
        return sp.diff(self._of(*slots), slots[argindex - 1]).subs(dict(zip(slots, self.args)))

    def _eval_rewrite_as_exp(self, x, y, b, **kwargs):
        return self._of(x, y, b)

__all__ += ["hypot_gap_slope"]


# m·n·σ(a·b)·σ(−a·b), a, b, m, n inputs: ∂β of the learnable-β swish x·σ(β·x) is x²·σ(βx)·σ(−βx) (the product-pair
# rule of symnet.codegen.rewrite). Written as E/(1 + E)² (E = e^−|a·b|), x·(x·…) and the products, it rounds some
# six times (3.3 ULP in float64 on a·b in [−3, 1], torch autograd 2.5 there); the generated code forms a·b, m·n,
# the numerator and the square of 1 + E by Dekker's products and divides once in double-word (the helpers of
# symnet/registry.py): e^'s own error and one rounding are what is left.
class sigmoid_pair_product(SymnetFunction):  # noqa: N801
    """sigmoid_pair_product(a, b, m, n) = m·n·σ(a·b)·σ(−a·b) = m·n·σ′(a·b)."""

    nargs = 4
    bracketed, realness = True, "arguments"

    @staticmethod
    def _of(a, b, m, n):
        return m * n * sigmoid(a * b) * sigmoid(-a * b)

    @staticmethod
    def _numeric(a, b, m, n):
        E = sp.exp(-sp.Abs(a * b))
        return m * n * E / (1 + E) ** 2  # no overflow, no cancellation

    def fdiff(self, argindex=1):
        slots = sp.symbols("a b m n", real=True, cls=sp.Dummy)
        return sp.diff(self._of(*slots), slots[argindex - 1]).subs(dict(zip(slots, self.args)))

    def _eval_rewrite_as_exp(self, a, b, m, n, **kwargs):
        return m * n * sp.exp(-a * b) / (1 + sp.exp(-a * b)) ** 2

__all__ += ["sigmoid_pair_product"]


# erfc(x)·e^(x²), the scaled complementary error function (torch.special.erfcx, scipy.special.erfcx): written out it
# is 0·inf from x ≈ 27 in float64 (the scaled-erfc stability rule of symnet.codegen.rewrite writes it as erfcx);
# the generated helpers are symnet/scaled_erfc.py's. Nodes of the code generator, no parser names.
class erfcx(SymnetFunction):  # noqa: N801
    """erfcx(x) = e^(x²)·erfc(x), in (0, ∞): 1 at 0, ≈ 1/(x√π) for x ≫ 1, 2e^(x²) for x ≪ 0 (it overflows
    below x ≈ −26.6 in float64, −9.4 in float32)."""

    nargs = 1
    latex_name, realness, positive = r"\operatorname{erfcx}", "argument", True

    def fdiff(self, argindex=1):
        return erfcx_slope(self.args[0])

    @staticmethod
    def _of(x):
        return sp.exp(x ** 2) * sp.erfc(x)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return self._of(x)

    _eval_rewrite_as_exp = _eval_rewrite_as_erfc


class erfcx_slope(SymnetFunction):  # noqa: N801
    """erfcx′(x) = 2x·erfcx(x) − 2/√π, computed without that subtraction (it cancels to −1/(x²√π) for x ≫ 1:
    2x² of the digits lost)."""

    nargs = 1
    latex_name, realness = r"\operatorname{erfcx}'", "argument"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return 2 * erfcx(x) + 2 * x * erfcx_slope(x)

    @staticmethod
    def _of(x):
        return 2 * x * sp.exp(x ** 2) * sp.erfc(x) - 2 / sp.sqrt(sp.pi)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return self._of(x)

    _eval_rewrite_as_exp = _eval_rewrite_as_erfc


class erfcx_slope_tail(SymnetFunction):  # noqa: N801
    """erfcx′(x) + 1/(√π·x²), erfcx′ less its leading asymptotic term −1/(√π·x²), computed whole (written out it
    cancels to 3/(2√π·x⁴) for x ≫ 1; the derivative of erfcx(x) − 1/(√π·x)); it crosses 0 at x ≈ −0.4517."""

    nargs = 1
    latex_name, realness = r"\operatorname{erfcx}'_{2}", "argument"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return 2 * erfcx(x) + 2 * x * erfcx_slope(x) - 2 / (sp.sqrt(sp.pi) * x ** 3)

    @staticmethod
    def _of(x):
        return 2 * x * sp.exp(x ** 2) * sp.erfc(x) - 2 / sp.sqrt(sp.pi) + 1 / (sp.sqrt(sp.pi) * x ** 2)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return self._of(x)

    _eval_rewrite_as_exp = _eval_rewrite_as_erfc


__all__ += ["erfcx", "erfcx_slope", "erfcx_slope_tail"]


# 1/(the largest power of two ≤ |m|) (the homogeneous-quotient rule of symnet.codegen.rewrite): a quotient of
# homogeneous polynomials R(x, y) of degree d is R(r·x, r·y)/r^d for any r > 0, and with r =
# binade_reciprocal(max(|x|, |y|)) every r·x is exact (a power of two) and the largest within [1, 2): R's squares and
# products of the scaled inputs neither overflow nor underflow where R does not ((p − t)²/(p² + t²) at p = 1e154,
# t = 3e154 was inf/inf = NaN for 0.4)
class binade_reciprocal(SymnetFunction):  # noqa: N801
    """binade_reciprocal(m) = 2^(1 − e) for m = f·2ᵉ, f in [1/2, 1) (frexp): 1 over the largest power of two ≤ |m|,
    at most the dtype's largest power of two (2¹²⁷, 2¹⁰²³: where |m| is subnormal); 2 at 0, ±inf and NaN (e = 0)."""

    nargs = 1
    realness, positive = "argument", True

    def fdiff(self, argindex=1):
        return sp.S.Zero  # a step function: constant between powers of two

    @staticmethod
    def _of(m):
        return sp.Integer(2) ** -sp.floor(sp.log(sp.Abs(m), 2))


__all__ += ["binade_reciprocal"]
