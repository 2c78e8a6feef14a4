"""The elementwise losses of issue 15, each one entry of the function registry.

Every loss here is a *rewrite* into functions that have entries of their own (powers, ``abs``,
``max``, ``log``, ``log1p``, ``softplus``, ``sigmoid``, ``sinh``, Piecewise), so the derivative
rules, the printouts and both backends (NumPy, Triton) come from those entries. The arguments
follow torch: the prediction first, then the target, then the options as numbers
(``huber(x, t, 1)``, ``poisson_nll(x, t, 0)`` for ``log_input=False``). Each value is the loss of
one element, before any reduction (torch's ``reduction='none'``).

Where torch's formula loses accuracy, the entry writes the same function in a stable form
(named in its ``note``): BCE with logits and the focal loss never compute ``1 − σ(z)`` or
``log σ(z)`` directly but ``softplus(∓z)``, which does not overflow at ``z = ±1e4`` in float32;
log-cosh is ``log1p(2·sinh²(d/2))`` for ``|d| < 1`` (full relative accuracy near 0) and
``|d| + softplus(−2|d|) − log 2`` beyond (no overflow at 1e4). torch's own
``(1 − t)·z + (1 + (w − 1)t)·softplus(−z)`` cancels: at z = −20, t = 0 it gives 0 in float32
where the loss is 2.1e-9.

Options are numbers; one out of its range (``huber(x, t, -1)``, ``poisson_nll(x, t, 2)``)
raises :class:`~symnet.errors.ParseError` naming the option. This module registers its entries when :mod:`symnet.registry` is imported.
"""
from __future__ import annotations

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import log1p

from .errors import ParseError
from .mpfloat import exp as mp_exp
from .functions import sigmoid
from .registry import ArgumentDomain, Function, register
from .special import softplus

__all__ = ["LOSSES"]

LOSSES: tuple[str, ...] = ("mse", "l1", "smooth_l1", "huber", "bce", "bce_logits", "log_cosh", "hinge",
                           "squared_hinge", "poisson_nll", "gaussian_nll", "kl_div", "focal")

_half = sp.Rational(1, 2)


def _flag(loss: str, name: str, value) -> bool:
    """An option given as 0 or 1 (``log_input``, ``log_target``); raises ParseError otherwise."""
    value = sp.sympify(value)
    if value not in (sp.S.Zero, sp.S.One):
        raise ParseError(f"the option {name} of {loss}() must be 0 or 1, not {value}")
    return value == sp.S.One


def _positive(loss: str, name: str, value):
    """An option that must be a positive number (beta, delta, eps); raises ParseError otherwise."""
    value = sp.sympify(value)
    if not (value.is_number and value.is_positive):
        raise ParseError(f"the option {name} of {loss}() must be a positive number, not {value}")
    return value


def _loss(name, build, mp, arity, note, torch=None, domains=()):
    """Register one loss; ``torch``: (torch, *tensors) → torch's own values, default options; ``domains``: the
    ArgumentDomain of each argument whose data are refused outside it (as torch refuses them)."""
    return register(Function(name, build, arity=arity, mpmath=mp, torch=torch, family="loss",
                             note=note, argument_domains=tuple(domains)))


def _F(name):
    """torch.nn.functional.<name>(*tensors, reduction='none')."""
    return lambda t, *a, **kw: getattr(t.nn.functional, name)(*a, reduction="none", **kw)


# -------------------------------------------------------------- regression losses

_loss("mse", lambda x, t: (x - t) ** 2, lambda x, t: (x - t) ** 2, (2, 2),
      "torch.nn.functional.mse_loss(reduction='none'): (x − t)²", _F("mse_loss"))
_loss("l1", lambda x, t: sp.Abs(x - t), lambda x, t: abs(x - t), (2, 2),
      "torch.nn.functional.l1_loss(reduction='none'): |x − t|", _F("l1_loss"))


def _smooth_l1(x, t, beta=1):
    beta = _positive("smooth_l1", "beta", beta)
    d = x - t
    return sp.Piecewise((d ** 2 / (2 * beta), sp.Abs(d) < beta), (sp.Abs(d) - beta / 2, True))


def _mp_smooth_l1(x, t, beta=1):
    d = abs(x - t)
    return d ** 2 / (2 * beta) if d < beta else d - mpmath.mpf(beta) / 2


_loss("smooth_l1", _smooth_l1, _mp_smooth_l1, (2, 3),
      "torch.nn.functional.smooth_l1_loss(beta): d²/(2β) where |d| < β, else |d| − β/2, d = x − t "
      "(Girshick, Fast R-CNN, 2015); β > 0", _F("smooth_l1_loss"))


def _huber(x, t, delta=1):
    delta = _positive("huber", "delta", delta)
    d = x - t
    return sp.Piecewise((d ** 2 / 2, sp.Abs(d) < delta), (delta * (sp.Abs(d) - delta / 2), True))


def _mp_huber(x, t, delta=1):
    d = abs(x - t)
    return d ** 2 / 2 if d < delta else delta * (d - mpmath.mpf(delta) / 2)


_loss("huber", _huber, _mp_huber, (2, 3),
      "torch.nn.functional.huber_loss(delta): d²/2 where |d| < δ, else δ(|d| − δ/2), d = x − t "
      "(Huber, 1964)", _F("huber_loss"))


def _log_cosh(x, t):
    d = x - t
    a = sp.Abs(d)
    return sp.Piecewise((log1p(2 * sp.sinh(d / 2) ** 2), a < 1), (a + softplus(-2 * a) - sp.log(2), True))


_loss("log_cosh", _log_cosh, lambda x, t: mpmath.log(mpmath.cosh(x - t)), (2, 2),
      "log cosh(x − t) (no torch function; e.g. Chen et al., log-cosh VAE, 2019), written "
      "log1p(2·sinh²(d/2)) for |d| < 1 (accurate near 0) and |d| + softplus(−2|d|) − log 2 beyond "
      "(no overflow)", lambda t, x, y: t.log(t.cosh(x - y)))

# -------------------------------------------------------------- classification losses


def _bce(p, t):
    return -(t * sp.Max(sp.log(p), -100) + (1 - t) * sp.Max(log1p(-p), -100))


def _mp_bce(p, t):
    return -(t * max(mpmath.log(p), -100) + (1 - t) * max(mpmath.log(1 - p), -100))


_loss("bce", _bce, _mp_bce, (2, 2),
      "torch.nn.functional.binary_cross_entropy(reduction='none'): −(t·log p + (1 − t)·log(1 − p)), each log "
      "clamped at −100 as torch does (log(1 − p) computed as log1p(−p)); p in [0, 1]. The gradient is the "
      "derivative of this clamped value, the same clamp applied consistently: −t/p + (1 − t)/(1 − p), each "
      "term 0 where its log is clamped (so finite at p = 0 and 1: 1 − t at p = 0, −t at p = 1; the "
      "heaviside-gate rule). torch's gradient divides by max(p(1 − p), 1e-12) instead (−1e12·t at p = 0), "
      "which differs only where a log is clamped. p and t outside [0, 1] are refused, as torch refuses them",
      _F("binary_cross_entropy"), domains=(ArgumentDomain(0, "p", 0, 1), ArgumentDomain(1, "t", 0, 1)))


def _bce_logits(z, t, pos_weight=1):
    return pos_weight * t * softplus(-z) + (1 - t) * softplus(z)


def _mp_bce_logits(z, t, pos_weight=1):
    s = 1 / (1 + mp_exp(-z))
    return -(pos_weight * t * mpmath.log(s) + (1 - t) * mpmath.log(1 / (1 + mp_exp(z))))


_loss("bce_logits", _bce_logits, _mp_bce_logits, (2, 3),
      "torch.nn.functional.binary_cross_entropy_with_logits(pos_weight): −(w·t·log σ(z) + (1 − t)·log(1 − σ(z))), "
      "written w·t·softplus(−z) + (1 − t)·softplus(z): torch's (1 − t)z + (1 + (w − 1)t)·softplus(−z) "
      "rearranged without cancellation",
      _F("binary_cross_entropy_with_logits"))


_FOCAL_FAR = 1000  # σ(−1000) = 5e−435: 0 in every dtype (float64's smallest subnormal is 4.9e−324)


def _focal(z, t, alpha=sp.Rational(1, 4), gamma=2):
    ce = t * softplus(-z) + (1 - t) * softplus(z)
    alpha = sp.sympify(alpha)
    no_alpha = alpha.is_number and alpha.is_negative
    weight = sp.S.One if no_alpha else (alpha * t + (1 - alpha) * (1 - t))
    one_minus_pt = t * sigmoid(-z) + (1 - t) * sigmoid(z)  # 1 − p_t without 1 − σ(z)
    # beyond |z| = 1000, 1 − p_t is 1 − t (z > 0) or t (z < 0) to far below any dtype's rounding: the
    # general form's gradient multiplies CE ≈ |z| by σ(−|z|) = 0, which is ∞·0 = NaN where CE·2
    # overflows (z = ±3e38 in float32, ±1.8e308 in float64). With γ an input, not at t = 1 (z > 0) or t = 0
    # (z < 0): there 1 − p_t is σ(∓z), not 0, and (1 − p_t)^γ = e^(−γ·|z|) is normal for γ < 0.7 (the general
    # form's mixture-power rule computes it; 0^(γ − 1)·CE was ∞·0 = NaN in ∂t). With γ a number (the
    # registry's 2, or 0) the far branch takes t ∈ {0, 1} too: the general form's ∂t is ∞·0 at z = −1e308, t = 0
    gamma = sp.sympify(gamma)
    far_up, far_down = z > _FOCAL_FAR, z < -_FOCAL_FAR
    if not gamma.is_integer:  # γ an input, or a fractional number (0.75: e^(−0.75·|z|) is normal up to |z| = 944)
        far_up, far_down = far_up & (t < 1), far_down & (t > 0)
    # α_t = a + b·p in p = 1 − t (z > 1000: α + (1 − 2α)·p) and p = t (z < −1000: (1 − α) + (2α − 1)·p)
    up = (1, 0) if no_alpha else (alpha, 1 - 2 * alpha)
    down = (1, 0) if no_alpha else (1 - alpha, 2 * alpha - 1)
    if gamma.is_integer:  # t^γ·w·CE as before: the power-product rule computes t·(t·w·CE), normal where the loss
        # is at tiny t (t² alone is 0 at t = 2.9e−207; p^γ·(a·p·CE + b·p²·CE) rounded p^γ first: ∂t
        # 8.1e15 ULP at z = −9.7e123, tests/test_loss_accuracy6.py)
        far_above, far_below = weight * ce * (1 - t) ** gamma, weight * ce * t ** gamma
    else:
        far_above, far_below = _far_form(*up, 1 - t, softplus(z), gamma), _far_form(*down, t, softplus(-z), gamma)
    return sp.Piecewise((far_above, far_up), (far_below, far_down), (weight * ce * one_minus_pt ** gamma, True))


def _far_form(a, b, p, ce, gamma):
    """α_t·p^γ·CE = p^γ·(a·p·softplus(±z) + b·p²·softplus(±z)) (α_t = a + b·p), the far branch: p = 1 − t beyond
    z = 1000 and t below −1000, ``ce`` softplus(z) or softplus(−z). There CE = p·softplus(±z) and 1 − p_t = p to below
    any dtype's rounding (the other term of each is e^(−|z|)·(…) < 1e−434, 0 in every dtype). p^γ of γ itself (p^(γ + 1)
    rounds γ + 1 first, which e^((γ + 1)·log p) turns into |log p| times its rounding: 35 ULP in float64 at
    t = 1 − 2⁻⁵³, γ = 0.001), and p·softplus(±z) before p^γ (t = 1e−300, z = −1e308: p^γ·p underflows where f is
    7.5e−143). The engine expands ∂t into one product per term, softplus(±z) in each, which the softplus-factor rule
    takes out again (as the products, ∂t was ∞ − ∞ = NaN at z = −inf, t = 1 and ∞ at z = −1.797e308,
    t = 1 − 2⁻⁵³ for −4.49e307); ∂γ = p^γ·log p·(…) is 0 where log p is 0 and softplus(±z) infinite (t = 0,
    z = +inf: ∞·0 = NaN before)."""
    return p ** gamma * (a * p * ce + b * p ** 2 * ce)


def _mp_focal(z, t, alpha=mpmath.mpf("0.25"), gamma=2):
    p = 1 / (1 + mp_exp(-z))
    ce = -(t * mpmath.log(p) + (1 - t) * mpmath.log(1 / (1 + mp_exp(z))))
    pt = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - pt) ** gamma
    return loss if alpha < 0 else (alpha * t + (1 - alpha) * (1 - t)) * loss


_loss("focal", _focal, _mp_focal, (2, 4),
      "torchvision.ops.sigmoid_focal_loss(alpha=0.25, gamma=2, reduction='none') (Lin et al., Focal Loss for "
      "Dense Object Detection, 2017): α_t·(1 − p_t)^γ·CE(z, t), p = σ(z), p_t = p·t + (1 − p)(1 − t), "
      "α_t = α·t + (1 − α)(1 − t) (no α_t for α < 0); CE and 1 − p_t written with softplus and σ(∓z); "
      "beyond |z| = 1000 (σ(−|z|) < 1e−434, 0 in every dtype) 1 − p_t is written 1 − t (z > 0) or t (z < 0), so "
      "that no gradient multiplies CE ≈ |z| by σ(−|z|) = 0 (∞·0 = NaN at z = ±3e38 in float32); with γ an input "
      "not at t = 1 (z > 0) or t = 0 (z < 0), where 1 − p_t = σ(∓z) and (1 − p_t)^γ = e^(−γ|z|) need not be 0 "
      "(the mixture-power rule computes it). A target t "
      "outside [0, 1] and γ < 0 are refused (the paper's γ ≥ 0 and targets in [0, 1]; at γ < 0 the factor "
      "(1 − p_t)^γ grows without bound as p_t → 1, and at t > 1 the loss is negative and unbounded below); "
      "torchvision's sigmoid_focal_loss refuses neither",
      lambda t, z, y: _torchvision_focal(t, z, y),
      domains=(ArgumentDomain(1, "t", 0, 1), ArgumentDomain(3, "gamma", 0)))


def _hinge(x, t, margin=1):
    return sp.Max(margin - t * x, 0)


_loss("hinge", _hinge, lambda x, t, margin=1: max(margin - t * x, 0), (2, 3),
      "the SVM hinge max(0, m − t·x), t in {−1, +1}, margin m = 1 (torch.nn.MultiMarginLoss with two classes "
      "differs by its 1/C factor). A target outside {−1, +1} is not refused: max(0, m − t·x) is the hinge of a "
      "soft label t in [−1, 1] too, and torch's own ±1-target losses (soft_margin_loss, hinge_embedding_loss) "
      "do not check theirs", lambda t, x, y: t.clamp_min(1 - y * x, 0))
_loss("squared_hinge", lambda x, t, margin=1: sp.Max(margin - t * x, 0) ** 2,
      lambda x, t, margin=1: max(margin - t * x, 0) ** 2, (2, 3),
      "the squared hinge max(0, m − t·x)², t in {−1, +1} (L2-SVM, e.g. Keras squared_hinge); a target outside "
      "{−1, +1} is not refused, as for hinge",
      lambda t, x, y: t.clamp_min(1 - y * x, 0) ** 2)

# -------------------------------------------------------------- likelihood losses

_POISSON_EPS = sp.Float("1e-8", 40)  # a Float: SymPy's log1p_opt would turn log(x + 1/10⁸) into log1p(10⁸x) − 8·log 10, which cancels;
# to 40 digits, the reference's 10⁻⁸ (torch's eps is float64's 1e-8, 2⁻⁵⁴ of it off): the shifted-argument rule's
# double-word sum x + eps takes it to 106 bits


def _poisson_nll(x, t, log_input=1):
    if _flag("poisson_nll", "log_input", log_input):
        return sp.exp(x) - t * x
    return x - t * sp.log(x + _POISSON_EPS)


def _mp_poisson_nll(x, t, log_input=1):
    return mp_exp(x) - t * x if log_input else x - t * mpmath.log(x + mpmath.mpf("1e-8"))


_loss("poisson_nll", _poisson_nll, _mp_poisson_nll, (2, 3),
      "torch.nn.functional.poisson_nll_loss(log_input, full=False, eps=1e-8, reduction='none'): "
      "e^x − t·x (log_input = 1) or x − t·log(x + eps) (log_input = 0). With log_input = 0, x is the rate, and "
      "a negative rate is refused (torch gives NaN below −eps, a number between −eps and 0)",
      _F("poisson_nll_loss"), domains=(ArgumentDomain(0, "x", 0, option=(2, 0)),))

_GAUSS_EPS = sp.Rational(1, 10 ** 6)


def _gaussian_nll(x, t, var, eps=_GAUSS_EPS):
    eps = _positive("gaussian_nll", "eps", eps)
    v = sp.Max(var, eps)
    return (sp.log(v) + (x - t) ** 2 / v) / 2


def _mp_gaussian_nll(x, t, var, eps=mpmath.mpf("1e-6")):
    v = max(var, eps)
    return (mpmath.log(v) + (x - t) ** 2 / v) / 2


_loss("gaussian_nll", _gaussian_nll, _mp_gaussian_nll, (3, 4),
      "torch.nn.functional.gaussian_nll_loss(full=False, eps=1e-6, reduction='none'): "
      "(log max(var, eps) + (x − t)²/max(var, eps))/2. torch clamps var without a gradient (its gradient "
      "is taken as if unclamped, at the clamped value); here max(var, eps) has gradient 0 in var below eps, the "
      "derivative of the value computed (a select, 0 and not 0·∞ where (x − t)² is huge: the heaviside-gate "
      "rule). A negative var is refused, as torch refuses it (max(var, eps) would make it a number)",
      _F("gaussian_nll_loss"), domains=(ArgumentDomain(2, "var", 0),))


def _kl_div(x, t, log_target=0):
    if _flag("kl_div", "log_target", log_target):
        return sp.exp(t) * (t - x)
    return sp.Piecewise((t * (sp.log(t) - x), t > 0), (0, True))


def _mp_kl_div(x, t, log_target=0):
    if log_target:
        return mp_exp(t) * (t - x)
    return t * (mpmath.log(t) - x) if t > 0 else mpmath.mpf(0)


_loss("kl_div", _kl_div, _mp_kl_div, (2, 3),
      "torch.nn.functional.kl_div(reduction='none'), x a log-probability: t·(log t − x), 0 where t = 0 "
      "(log_target = 0), or e^t·(t − x) (log_target = 1). With log_target = 0 a negative target t is refused: "
      "torch gives NaN there (xlogy(t, t)), the Piecewise's 0 branch would give 0",
      _F("kl_div"), domains=(ArgumentDomain(1, "t", 0, option=(2, 0)),))


def _torchvision_focal(torch, z, t, alpha=0.25, gamma=2):
    """torchvision.ops.sigmoid_focal_loss(reduction='none'), where torchvision is installed; else its
    formula as torchvision writes it (torchvision/ops/focal_loss.py)."""
    try:
        from torchvision.ops import sigmoid_focal_loss
    except ImportError:
        p = torch.sigmoid(z)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        loss = ce * ((1 - p_t) ** gamma)
        return loss if alpha < 0 else (alpha * t + (1 - alpha) * (1 - t)) * loss
    return sigmoid_focal_loss(z, t, alpha, gamma, reduction="none")
