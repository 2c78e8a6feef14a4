"""The one safe input path: every string symnet accepts is parsed here.

SymPy's ``sympify`` evaluates its input as Python, so ``__import__('os').system(...)``
would run. Here the text is parsed by Python's ``ast`` module and only arithmetic,
numbers, names and calls of a fixed table of functions are turned into SymPy objects;
anything else is refused with a one-line :class:`~symnet.errors.ParseError`. Nothing is
ever evaluated as Python.

The command line and the Python API share this path: :func:`as_expression`,
:func:`as_symbol` and :func:`as_point` accept SymPy objects and numbers as they are and
send every string through :func:`parse_expression`, so ``derive("…")``, ``at={x: "…"}``,
``wrt=["…"]``, ``gradient_at`` and ``Program.from_assignments`` never reach ``sympify``
with text.

Limits keep parsing bounded: the text's length; the nesting depth (a chain of the same
operator, ``a + b - c + …`` or ``a*b/c*…``, counts as one level, however long); the
size of literals and of every number computed while parsing (powers are estimated
before they are computed, see :mod:`symnet.bounds`).
"""
from __future__ import annotations

import ast
import contextlib
import contextvars
import difflib
import keyword
import math
import numbers
import re
import unicodedata
import warnings
from typing import Mapping

import sympy as sp

from .bounds import MAX_DIGITS, check_magnitudes
from .errors import LimitError, ParseError, TimeLimitError
from .registry import NAMES

__all__ = ["parse_expression", "read_name", "parse_with_checks", "parse_symbols", "parse_point", "as_expression", "as_symbol",
           "as_point", "check_size", "FUNCTIONS", "RESERVED_NAMES"]

FUNCTIONS = NAMES  # name → registry entry (symnet.registry): the functions a formula may call
CONSTANTS = {"pi": sp.pi}
# Names that SymPy reads as something else (a number, a constant, a set, its own helpers
# S, N, Q, O): a variable of that name would print like the constant (``df/dx = nan``)
# and parse back as it. They are refused rather than silently given a second meaning.
RESERVED_NAMES = frozenset(
    {n for n in dir(sp) if not n.startswith("_") and isinstance(getattr(sp, n), sp.Basic)}
    | {"S", "N", "Q", "O", "inf", "Infinity", "NaN"}) - set(CONSTANTS)
_MEANINGS = {"nan": "not-a-number", "NaN": "not-a-number", "oo": "infinity", "inf": "infinity",
             "Infinity": "infinity", "zoo": "complex infinity", "I": "the imaginary unit",
             "E": "Euler's number e (write exp(1))", "S": "its singleton registry S",
             "N": "numeric evaluation N()", "Q": "its assumption queries Q",
             "O": "the order symbol O()", "true": "a truth value", "false": "a truth value"}
_NOT_FINITE = {"nan", "NaN", "oo", "inf", "Infinity", "zoo", "I"}  # as a value at a point
MAX_LENGTH = 2000
MAX_DEPTH = 60
# the limit named, as the length limit is (session 17: "nested too deeply" left a user guessing)
_TOO_DEEP = f"the formula is nested too deeply (at most {MAX_DEPTH} levels of nesting)"
MAX_EXPONENT = 1000
MAX_LITERAL_DIGITS = 100    # significant digits of a number written in a formula ...
MAX_LITERAL_EXPONENT = 400  # ... and its magnitude, within 10^±400 (float64 spans 4.9e−324 … 1.8e308)
MAX_NAME_LENGTH = 64
_NAME = re.compile(r"^[^\W\d_]\w*$")
_FLOAT_LITERAL = re.compile(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?")
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}
_BINARY = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
}
_UNDEFINED = (sp.zoo, sp.nan, sp.oo, -sp.oo)
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))


# operators a formula does not take, and what to write instead
_OPERATORS = {
    ast.MatMult: ("@", "a formula is elementwise, on numbers, so a matrix product is not part of it "
                       "(x*y multiplies elementwise)"),
    ast.FloorDiv: ("//", ""), ast.Mod: ("%", ""),  # ^ is read as ** before parsing
    ast.BitAnd: ("&", ""), ast.BitOr: ("|", ""), ast.LShift: ("<<", ""), ast.RShift: (">>", ""),
    ast.Invert: ("~", ""), ast.Not: ("not", ""),
}


def _operator(node: ast.AST) -> ParseError | None:
    """The refusal of an operator a formula does not take (``x @ y``, ``x ^ 2``), naming it and the
    operators it does take; None for any other node."""
    if not isinstance(node, (ast.BinOp, ast.UnaryOp)) or type(node.op) not in _OPERATORS:
        return None
    symbol, hint = _OPERATORS[type(node.op)]
    return ParseError(f"the operator '{symbol}' is not allowed in a formula, which takes + - * / ** "
                      f"and functions such as exp(x)" + (f": {hint}" if hint else ""))


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
        ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.IfExp: "conditional",
        ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Starred: "unpacking",
        ast.NamedExpr: "assignment", ast.JoinedStr: "f-string", ast.Set: "set",
    }
    return names.get(type(node), type(node).__name__)


# Names a formula pasted from PyTorch, NumPy or math code calls functions through (session 43, a new user:
# `torch.tanh(x)`, `F.softplus(x)`, `np.exp(x)` were answered "attribute access is not allowed; call a function by
# its name, as in exp(x)", naming neither the function nor what to write).
_MODULE_NAMES = frozenset({"torch", "nn", "functional", "F", "special", "linalg", "np", "numpy", "math", "cmath",
                           "scipy", "sp", "sympy", "mpmath", "jnp", "jax", "tl", "triton", "libdevice", "tf"})


def _bare_call(node: ast.Call, depth: int, source: str | None) -> str | None:
    """The refusal of a module's function or a method called on a variable (``torch.tanh(x)``, ``F.softplus(x)``,
    ``x.clamp(0, 1)``), naming the call to write instead, by its bare name (``tanh(x)``, ``clamp(x, 0, 1)``), and
    the parser's own refusal of that call where it has one; None where the call is not of dotted names."""
    chain, func = [], node.func
    while isinstance(func, ast.Attribute):
        chain.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or source is None:
        return None
    chain.append(func.id)
    chain.reverse()  # torch.nn.functional.softplus -> ["torch", "nn", "functional", "softplus"]
    if not all(_NAME.match(part) for part in chain):  # ().__class__, x.__dict__: not a name of ours
        return None
    written = [ast.get_source_segment(source, a) for a in node.args]
    if node.keywords or not all(written):
        written = None
    name, dotted = chain[-1], ".".join(chain[:-1])
    method = len(chain) == 2 and chain[0] not in _MODULE_NAMES  # x.clamp(0, 1): x is the first argument
    args = node.args
    if method:
        args = [ast.Name(id=chain[0], ctx=ast.Load(), lineno=node.lineno, col_offset=node.col_offset,
                         end_lineno=node.lineno, end_col_offset=node.col_offset + len(chain[0]))] + list(args)
        written = [chain[0]] + written if written is not None else None
    suggestion = f"{name}({', '.join(written)})" if written is not None else f"{name}(…)"
    what = (f"{dotted}.{name}(…) is a method call" if method else f"{dotted}.{name} is a function of {dotted}")
    try:
        _build(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=node.keywords), depth, source)
    except ParseError as exc:  # its "for a product write foo*(…)" is no reading of torch.foo(x)
        refusal = str(exc).replace(f"for a product write {_short(name)}*(…); ", "")
        return f"unsupported call: {what}; a formula calls symnet's functions by their bare name, and {refusal}"
    return f"unsupported call: {what}; a formula calls symnet's functions by their bare name: write {suggestion}"


def _checked_text(text, what: str = "formula") -> str:
    """``text`` stripped, if it is a string symnet will parse; else ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"expected the {what} as text, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParseError(f"the {what} is not valid text: invalid UTF-8 or a lone surrogate at "
                         f"character {exc.start + 1}") from None
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the {what} is longer than {MAX_LENGTH} characters")
    if "#" in text:
        raise ParseError(f"'#' is not allowed in a {what} (Python would read the rest as a comment)")
    if not text.strip():
        raise ParseError(f"the {what} is empty")
    return text.strip()


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SIGNS = str.maketrans({"−": "-", "·": "*", "×": "*", "÷": "/"})


def _usage(name: str, entry) -> str:
    """``focal(z, t, alpha=1/4, gamma=2)``: a function's parameters in order, with the defaults of
    its options, for a function that has options (else ""), so that an error shows their order."""
    import inspect

    fewest, most = entry.arity
    try:
        params = list(inspect.signature(entry.build).parameters.values())
    except (TypeError, ValueError):
        return ""
    if most is None or most == fewest or len(params) < most or any(p.kind is p.VAR_POSITIONAL for p in params):
        return ""
    return f"{name}({', '.join(p.name if p.default is p.empty else f'{p.name}={p.default}' for p in params[:most])})"


# What a user who passes one argument too many most likely meant (by the registry name).
_ARITY_HINTS = {"silu": "Swish with a parameter β (Ramachandran et al. 2017) is x*sigmoid(beta*x)",
                # gelu(x, 'tanh') / gelu(x, approximate='tanh'), torch's spelling (session 19's new user)
                "gelu": "torch's approximate='tanh' is its own function here: gelu_tanh(x)",
                # softplus(x, beta=2) was answered with "beta=None, threshold=None" (session 24's new user)
                # log(x, 2), SymPy's and Python's base (session 41's new user read only "takes exactly one argument")
                "log": "log(x, b) is log(x)/log(b): write log2(x) for base 2, log(x)/log(10) for base 10",
                "softplus": "no threshold unless given, where torch's default is 20: torch's "
                            "softplus(x, beta=b) is softplus(x, beta, 20) here (x where beta·x > 20)"}


# torch's and NumPy's names for functions the registry writes as formulas (session 21's new user wrote
# log_ndtr(y*z) and was asked "did you mean ndtr?"): name → (argument names, the formula, why). In the
# formula {0} is the first argument as written and [0] the same in brackets unless it is a name, a number
# or a call, so square(x - t) becomes (x - t)**2 and square(x) x**2.
_SPELLED_OUT = {
    "log_ndtr": (("x",), "log(ndtr({0}))", "symnet's log-gaussian-tail rule computes it without the "
                                            "underflow of ndtr, as torch.special.log_ndtr does"),
    "logaddexp": (("a", "b"), "log(exp({0}) + exp({1}))", "the logaddexp rule computes it without overflow"),
    # session 47's new user: lse(a, b) was answered "did you mean mse?"
    "lse": (("a", "b"), "log(exp({0}) + exp({1}))", "log-sum-exp of a few terms, written out: the logaddexp rule "
                                                   "computes it without overflow"),
    "xlogy": (("x", "y"), "[0]*log({1})", ""),
    "pow": (("x", "y"), "[0]**[1]", ""),
    "square": (("x",), "[0]**2", ""),
    "rsqrt": (("x",), "1/sqrt({0})", ""),
    "logit": (("p",), "log({0}) - log1p(-[0])", ""),
    "expit": (("x",), "sigmoid({0})", ""),
    "log10": (("x",), "log({0})/log(10)", ""),
    "hypot": (("x", "y"), "sqrt([0]**2 + [1]**2)", "the hypot rule scales it so that the squares do not overflow"),
    # the reciprocal and inverse trigonometric and hyperbolic functions the registry has no entry for (session 37, a
    # new user's ArcFace margin and sech²: sech(x) was answered "for a product write sech*(…)" and 60 names, acos(c)
    # "did you mean cos or cosh?"); the inverses in forms without the cancellation of 1 − x² or π/2 − atan near ±1
    "sech": (("x",), "1/cosh({0})", ""),
    "csch": (("x",), "1/sinh({0})", ""),
    "coth": (("x",), "1/tanh({0})", ""),
    "sec": (("x",), "1/cos({0})", ""),
    "csc": (("x",), "1/sin({0})", ""),
    "cot": (("x",), "cos({0})/sin({0})", ""),
    "asin": (("x",), "atan([0]/sqrt((1 - [0])*(1 + [0])))", "for an argument in (−1, 1)"),
    "acos": (("x",), "2*atan(sqrt((1 - [0])/(1 + [0])))",
             "for an argument in (−1, 1]; an angular margin cos(acos(c) + m) is c*cos(m) - sqrt((1 - c)*(1 + c))*sin(m)"),
    "atanh": (("x",), "(log1p([0]) - log1p(-[0]))/2", "for an argument in (−1, 1)"),
    "acosh": (("x",), "log1p([0] - 1 + sqrt([0] - 1)*sqrt([0] + 1))", "for an argument ≥ 1"),
    "arctan": (("x",), "atan({0})", ""),
    "arcsinh": (("x",), "asinh({0})", ""),
    # PReLU is leaky_relu with the slope a variable (session 38's new user was asked "did you mean relu?")
    "prelu": (("x", "a"), "leaky_relu({0}, {1})", "its slope, a variable of the formula, gets its gradient"),
    # the gated units of two halves a, b of a row (session 41's new user: glu(a, b) was asked "did you mean gelu or
    # elu?", swiglu(a, b) "did you mean silu or sign or selu?")
    "glu": (("a", "b"), "[0]*sigmoid({1})", "torch's glu of the halves a, b"),
    "swiglu": (("a", "b"), "silu({0})*[1]", ""),
    "geglu": (("a", "b"), "gelu({0})*[1]", ""),
    "reglu": (("a", "b"), "relu({0})*[1]", ""),
}
_SPELLED_OUT.update({f"arc{name[1:]}": _SPELLED_OUT[name] for name in ("asin", "acos", "atanh", "acosh")})  # NumPy's

# ------------------------------------------------------------------ user45 (session 45, h-user45: torch's loss names and
# a few NumPy names; mse_loss(p, t) and sigmoid_focal_loss(z, t) were answered with the registry's 60 names,
# np.power(x, 2) with "did you mean where?", log1mexp(x) with "did you mean log1p?")
_SPELLED_OUT.update({
    "power": (("x", "y"), "[0]**[1]", ""),
    "absolute": (("x",), "abs({0})", ""),
    "log1mexp": (("x",), "log(-expm1({0}))", "for x < 0; the log1mexp rule computes it without the cancellation of "
                                              "1 − e^x"),
    "quick_gelu": (("x",), "[0]*sigmoid(1.702*[0])", "the sigmoid approximation of GELU"),
    "mse_loss": (("x", "t"), "mse({0}, {1})", "one entry's loss: reduce its values outside"),
    "l1_loss": (("x", "t"), "l1({0}, {1})", "one entry's loss: reduce its values outside"),
    "smooth_l1_loss": (("x", "t"), "smooth_l1({0}, {1})", "one entry's loss, beta by position: smooth_l1(x, t, beta)"),
    "huber_loss": (("x", "t"), "huber({0}, {1})", "one entry's loss, delta by position: huber(x, t, delta)"),
    "binary_cross_entropy": (("p", "t"), "bce({0}, {1})", "one entry's loss: reduce its values outside"),
    "binary_cross_entropy_with_logits": (("z", "t"), "bce_logits({0}, {1})",
                                         "one entry's loss, pos_weight by position: bce_logits(z, t, pos_weight)"),
    "sigmoid_focal_loss": (("z", "t"), "focal({0}, {1})",
                           "torchvision's, one entry's loss, alpha and gamma by position: focal(z, t, alpha, gamma)"),
    "poisson_nll_loss": (("x", "t"), "poisson_nll({0}, {1})", "one entry's loss, log_input by position"),
    "gaussian_nll_loss": (("x", "t", "var"), "gaussian_nll({0}, {1}, {2})", "one entry's loss"),
})

# ------------------------------------------------------------------ user47 (session 47, h-user47: a new user's
# names for an ML formula's pieces: kl(p, q), entropy(p) and nll(p) were answered with the registry's 60 names,
# sqr(x) with "did you mean sqrt?", xlogx(p) with "did you mean log?", exp10(x) with "did you mean expm1?")
_SPELLED_OUT.update({
    "kl": (("p", "q"), "[0]*log([0]/[1])", "one entry's term of KL(p‖q), summed outside; kl_div(x, t) is torch's "
                                           "F.kl_div, its x a log-probability"),
    "entropy": (("p",), "-[0]*log({0})", "one entry's term, summed outside; its limit at 0 is 0"),
    "xlogx": (("x",), "[0]*log({0})", "its limit at 0 is 0"),
    "xlog1py": (("x", "y"), "[0]*log1p({1})", ""),
    "nll": (("p",), "-log({0})", "one entry's negative log-likelihood, reduced outside"),
    "sqr": (("x",), "[0]**2", ""),
    "exp10": (("x",), "10**[0]", ""),
    "step": (("x",), "Heaviside({0})", "its derivative is 0 wherever it exists"),
})
# user49 (session 49's new user): sinc(x) was answered "did you mean sin or sinh or sign?"
_SPELLED_OUT["sinc"] = (("x",), "sin(pi*[0])/(pi*[0])", "torch's and NumPy's normalised sinc; its value 1 and slope 0 "
                                                        "at x = 0 are taken; sin(x)/x for the unnormalised one")


# functions a user reaches for that the registry does not have, and what to write instead (session 36, a new user:
# lgamma(x) of a Student-t NLL was answered "for a product write lgamma*(…)" and a list of 60 names)
_NOT_PROVIDED = {
    **dict.fromkeys(("lgamma", "gamma", "loggamma", "digamma", "gammaln", "polygamma"),
                    "the gamma function and its logarithm are not in symnet's registry; a term of them in a constant "
                    "(log Γ((ν + 1)/2) − log Γ(ν/2) of a Student-t NLL at a fixed ν) has no gradient: leave it out"),
    **dict.fromkeys(("mean", "sum", "prod", "norm"),
                    "a formula is elementwise, on numbers: write it for one entry and reduce its values outside "
                    "(symnet.torch.from_formula(…)(…).mean()), or write the few terms out (x1**2 + x2**2)"),
    **dict.fromkeys(("floor", "ceil", "round", "trunc"),
                    "it is constant between its steps, so its derivative is 0 wherever it exists: not in the registry"),
    # session 38's new user: a von Mises NLL's log I₀(κ) was answered "for a product write i0*(…)", and the sort of a
    # Lovász hinge "did you mean sqrt?"
    **dict.fromkeys(("i0", "i1", "i0e", "i1e", "iv", "ive", "kv", "kve", "jv", "yv", "besseli", "besselj", "besselk",
                     "bessely", "log_i0"),
                    "Bessel functions are not in symnet's registry; a term of them in a constant (log I₀(κ) of a von "
                    "Mises NLL at a fixed κ) has no gradient: leave it out (a learned κ needs log I₀, which symnet "
                    "cannot differentiate)"),
    **dict.fromkeys(("sort", "sorted", "argsort", "topk", "cumsum", "cumprod", "median", "quantile"),
                    "a formula is elementwise, on numbers: sort or accumulate outside it (torch.sort(e, descending=True)"
                    " for a Lovász hinge's errors) and pass the sorted values as inputs, or write the few terms out"),
    # session 41's new user: layer_norm(x) was answered "for a product write layer_norm*(…)" and 60 names
    **dict.fromkeys(("layer_norm", "rms_norm", "batch_norm", "group_norm", "instance_norm", "normalize"),
                    "a normalisation takes the mean or the norm of a whole row, and a formula is elementwise, on "
                    "numbers: write it for a few entries, x1/sqrt((x1**2 + x2**2)/2 + eps), or normalise outside "
                    "(torch.nn.functional.layer_norm) and pass the result"),
    "softmin": "softmin(z) is softmax(−z), a whole row: symnet.torch.functional.softmax(-z, dim=-1); for a few numbers "
               "write it out, exp(-a)/(exp(-a) + exp(-b) + exp(-c)) (computed without overflow)",
}


def _spelled_out(name: str, node: ast.Call, source: str | None) -> str | None:
    """The formula for a torch/NumPy function symnet writes out (``_SPELLED_OUT``), in the call's own
    arguments where their count fits, else in the table's names; None for any other name."""
    if name not in _SPELLED_OUT:
        return None
    names, template, why = _SPELLED_OUT[name]
    written = [ast.get_source_segment(source, a) if source else None for a in node.args]
    if len(node.args) != len(names) or node.keywords or not all(written) or sum(map(len, written)) > 160:
        written, atomic = list(names), [True] * len(names)
    else:
        atomic = [isinstance(a, (ast.Name, ast.Constant, ast.Call)) for a in node.args]
    formula = template
    for k, (text, plain) in enumerate(zip(written, atomic)):
        formula = formula.replace(f"{{{k}}}", text).replace(f"[{k}]", text if plain else f"({text})")
    return f"write {formula}" + (f" ({why})" if why else "")


def spelled_out(name: str) -> tuple[str, tuple[str, ...]] | None:
    """The formula symnet writes for a torch/NumPy function it has no entry for (``_SPELLED_OUT``), in the
    table's argument names, with those names: ``("leaky_relu(x, a)", ("x", "a"))`` for ``prelu``; None for
    any other name. For messages outside a formula (``symnet.torch.functional.activation("prelu", x)``)."""
    if name not in _SPELLED_OUT:
        return None
    names, template, _ = _SPELLED_OUT[name]
    for k, arg in enumerate(names):
        template = template.replace(f"{{{k}}}", arg).replace(f"[{k}]", arg)
    return template, names


def bare_name_hint(name: str, command: str = "derive") -> str | None:
    """What to write for a torch/NumPy function symnet writes out (``_SPELLED_OUT``) or does not provide
    (``_NOT_PROVIDED``), named bare where a derivation's name goes (``symnet derive prelu`` was answered "did you
    mean relu(x)?" (session 39): its arguments, and the formula or the reason, as the parser says of the call);
    None for any other name. ``command``: the command line's command the example names."""
    if name in _SPELLED_OUT:
        names, _, why = _SPELLED_OUT[name]
        formula, _ = spelled_out(name)
        return (f"{name}({', '.join(names)}) takes {len(names)} argument{'s' * (len(names) > 1)} and is not a "
                f"function of symnet's registry: write {formula}" + (f" ({why})" if why else "")
                + f", as in symnet {command} \"{formula}\"")
    if name in _NOT_PROVIDED:
        return _NOT_PROVIDED[name]
    return None


def _signature(name: str, entry) -> str:
    """``log_cosh(x, t)``: the arguments of a function of fixed arity, by their names (else ""),
    so that an error about their count shows them (it said only "takes 2 arguments")."""
    import inspect

    fewest, most = entry.arity
    try:
        params = list(inspect.signature(entry.build).parameters.values())
    except (TypeError, ValueError):
        params = None
    if (fewest, most) == (1, 1) and (params is None or len(params) != 1 or params[0].name == "arg"
                                     or params[0].kind is params[0].VAR_POSITIONAL):
        return f"{name}(x)"  # SymPy's own parameter name: exp(x, 2) said "exp(arg)", sqrt(x, 2) named none (session 42)
    if params is None or most != fewest or len(params) != most or any(p.kind is p.VAR_POSITIONAL for p in params):
        return ""
    return f"{name}({', '.join(p.name for p in params)})"


def _greek_names() -> dict:
    """α → alpha, θ → theta …: the names symnet's printer shows as Greek letters; σ stays
    (it is sigmoid), and ``lambda`` is spelt ``lam`` (a Python keyword)."""
    from sympy.printing.pretty.pretty_symbology import greek_unicode
    names = {letter: name for name, letter in greek_unicode.items() if isinstance(letter, str)
             and len(letter) == 1 and name.isalpha() and name.lower() != "sigma"}
    names.pop("λ", None)
    names.pop("Λ", None)
    return names


_GREEK = None


def normalise(text: str, renamed: dict | None = None) -> str:
    """What symnet prints, as text the parser reads: ``−`` → ``-``, ``·`` and ``×`` → ``*``,
    ``÷`` → ``/``, superscript powers ``x²``, ``x⁻¹`` → ``x**(2)``, ``x**(-1)``, ``√x`` and
    ``√(…)`` → ``sqrt``, ``H(x)`` → ``Heaviside(x)``, subscripts ``u₁`` → ``u_1``, and Greek
    letters printed for names (``θ₁₀`` → ``theta_10``). Pure text, linear in the length of
    ``text``, done before the (bounded) parse; at most triples the length. ``renamed``: a dict that
    receives each name NFKC changes, as written → as read (``ﬁ`` → ``fi``)."""
    global _GREEK
    text = re.sub(r"(?<![\w.])H(?=\s*\()", "Heaviside", text)  # relu' is printed H(x)
    if text.isascii():
        return text
    if _GREEK is None:
        _GREEK = _greek_names()
    text = text.translate(_SIGNS)
    # a space of another width (no-break U+00A0, thin U+2009, ideographic U+3000: pasted from a document) is a space
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    text = re.sub(r"[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "**(%s)" % m.group(0).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"√\s*(?=\()", "sqrt", text)  # √(x + 1)
    text = re.sub(r"√\s*(\w+(?:\.\d*)?)(?![\w(.])", r"sqrt(\1)", text)  # √x, √2.5; √exp(x) needs √(…)
    text = re.sub(r"(?<=\w)([₀₁₂₃₄₅₆₇₈₉]+)", lambda m: "_" + m.group(1).translate(_SUBSCRIPTS), text)
    # each name in the NFKC form Python reads it in, before the Greek names: the micro sign µ is
    # μ (mu), ϑ is θ (theta), as Python would make them, not variables named μ or θ apart
    text = _NAME_RUN.sub(lambda m: _folded(m.group(0), renamed), text)
    return "".join(_GREEK.get(c, c) for c in text) if any(c in _GREEK for c in text) else text


# the characters of a name: \w and the connector punctuation Python's names hold (Unicode category Pc), which \w leaves
# out: ＿ (fullwidth low line) is _ in NFKC form, so ｌｏｇ＿ｓｏｆｔｍａｘ is one name, log_softmax, as Python reads it
# (break41: it was folded as two, ｌｏｇ and ｓｏｆｔｍａｘ, and symnet verify measured the row-wise function's name
# as a variable, where log_softmax itself is refused)
_NAME_RUN = re.compile(r"[\w\u203f\u2040\u2054\ufe33\ufe34\ufe4d-\ufe4f\uff3f]+")


def _folded(name: str, renamed: dict | None) -> str:
    """``name`` in NFKC form; where that changes it and ``renamed`` is a dict, the change recorded there (the
    name as the parser then reads it, Greek letters spelled out: µ → mu)."""
    folded = unicodedata.normalize("NFKC", name)
    if folded != name and renamed is not None and not name.isdigit():
        renamed[name] = "".join(_GREEK.get(c, c) for c in folded)
    return folded


def _say_renamed(renamed: dict) -> None:
    """One warning a name that NFKC read as another (session 32, h-review32: ``ﬁ*x`` became the variable ``fi``
    with no word). Python reads names so (``ﬁ = 1`` binds ``fi``), and symnet keeps that, so that a formula pasted
    from Python means what it meant there; the warning says which name is meant and why."""
    for written, read in renamed.items():
        chars = ", ".join(f"{c} {unicodedata.name(c, '?')}" for c in dict.fromkeys(written)
                          if unicodedata.normalize("NFKC", c) != c)
        warnings.warn(f"symnet reads the name {written!r} as {read!r} (Unicode NFKC, as Python reads names: "
                      f"{chars})", UserWarning, stacklevel=3)


def parse_expression(text: str) -> sp.Expr:
    """``"x*exp(x**2)"`` → ``x*exp(x**2)`` with real symbols.

    Raises :class:`ParseError` for anything but arithmetic, numbers, variable names and
    the functions in ``FUNCTIONS``, and for input beyond the limits (length, nesting,
    number sizes); never evaluates Python. Reads what symnet prints (see :func:`normalise`):
    ``exp(−x)``, ``x²``, ``x·y``, ``σ(z)``, ``√x``, ``u₁``.
    """
    text = _checked_text(text)
    # x^2 means x**2 in notes; replace before parsing, since Python's ^ binds looser than +
    renamed: dict = {}
    source = normalise(text, renamed).replace("^", "**")
    if renamed:
        _say_renamed(renamed)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"cannot parse {_short(text)!r}: {_syntax_reason(source, exc, text)}") from None
    except (RecursionError, MemoryError):
        raise ParseError(_TOO_DEEP) from None
    try:
        return _refuse_look_alikes(_build(tree.body, 0, source))
    except RecursionError:
        raise ParseError(_TOO_DEEP) from None
    except TimeLimitError:  # a time limit ran out while parsing: the clock's, not the formula's
        raise
    except LimitError as exc:  # a number in the formula itself is beyond the limits
        raise ParseError(str(exc)) from None


# Cyrillic letters drawn as Latin ones (after NFKC, which already makes ｘ and 𝐱 an x; Greek letters become their
# names, ο omicron): x + х read as two variables that print alike, df/dx twice in the derivation
# and (session 23) Latin ɑ ɡ ı, Armenian օ ս հ ց, Greek ϳ ϲ, which NFKC keeps and the Greek names do not take
_LOOK_ALIKES = str.maketrans("аеорсухіјѕԁԛԝһӏАВЕКМНОРСТХІЈЅУɑɡıօսհցϳϲ", "aeopcyxijsdqwhlABEKMHOPCTXIJSYagiouhgjc")


def _refuse_look_alikes(expr: sp.Expr) -> sp.Expr:
    """``expr``, unless two of its variables' names differ only by letters drawn alike (Latin x, Cyrillic х):
    a ParseError naming both and the letters, since every printout would show one name twice."""
    seen: dict[str, str] = {}
    for name in sorted(str(v) for v in getattr(expr, "free_symbols", ())):
        other = seen.setdefault(name.translate(_LOOK_ALIKES), name)
        if other != name:
            differ = sorted({f"{a} ({unicodedata.name(a, '?')})" for a, b in zip(name + other, other + name) if a != b})
            raise ParseError(f"the variables {other!r} and {name!r} look alike but differ in {', '.join(differ)}: "
                             "give them names that read differently")
    return expr


_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}  # Unicode categories of characters that print as nothing


def _written_column(text: str, column: int) -> int:
    """The column of ``text`` (as the user wrote it) at which the parsed source's ``column`` (1-based) lies:
    normalise() and ``^`` → ``**`` change lengths (``x²`` is ``x**(2)``), so a column of the source named the
    wrong character of the formula (``x**½``: '⁄' at column 5, session 31). The shortest prefix of ``text``
    whose source reaches ``column``, by bisection (the source's length grows with the prefix's)."""
    if text.isascii() and "^" not in text:
        return column
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(normalise(text[:mid]).replace("^", "**")) >= column:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _written_char(text: str, c: str, column: int) -> tuple[str, int]:
    """``c``, a character of the parsed source at ``column``, as the user wrote it: itself where the
    formula holds it, else the character whose NFKC form holds it (``½`` for the fraction slash of
    ``1⁄2``), with the column in the formula as written."""
    if c in text:
        return c, text.index(c) + 1
    written = next((i for i, w in enumerate(text) if c in unicodedata.normalize("NFKC", w)), None)
    return (text[written], written + 1) if written is not None else (c, _written_column(text, column))


def _syntax_reason(source: str, exc: SyntaxError, text: str | None = None) -> str:
    """Why Python's parser refused ``source``, in the words of a formula: a keyword used as a name
    (``lambda*x``), a bracket never closed or never opened, two operands side by side (``beta x``,
    ``2x``: no implicit product), a formula ending in an operator; else "invalid syntax" and where.
    Columns and characters are those of ``text``, the formula as written, where it is given."""
    text = source if text is None else text
    where = f" at column {_written_column(text, exc.offset)}" if exc.offset else ""
    message = str(exc.msg)
    if "too many nested" in message:
        return f"too deeply nested{where}"
    hidden = next((i for i, c in enumerate(source) if unicodedata.category(c) in _HIDDEN and c != "\t"), None)
    if hidden is not None:  # a zero-width space, a byte-order mark, a direction override, a line break
        c, column = _written_char(text, source[hidden], hidden + 1)
        return (f"an invisible character U+{ord(c):04X} ({unicodedata.name(c, 'a control character')}) at column "
                f"{column}: delete it (text pasted from a document or a web page can carry one)")
    names = re.findall(r"[^\W\d]\w*", source)
    keywords = [n for n in names if keyword.iskeyword(n)]
    if keywords:  # lambda, in, is, for, class ...: Python's parser reads them as syntax, not names
        word = keywords[0]
        hint = {"lambda": "call it lam or λ", "if": "a choice is where(x > 0, a, b)",
                "else": "a choice is where(x > 0, a, b)"}.get(word, f"call it {word}_")
        return f"{word!r} is a Python keyword, not a variable name: {hint}"
    if "was never closed" in message or "unmatched" in message or "does not match" in message:
        return f"{message}{where}"
    if "decimal literal" in message or "forgot a comma" in message or re.search(r"[\w.)]\s+[\w(]", source):
        return (f"two operands side by side{where}: write * between them (a product is never implied, "
                "as in 2*x or beta*x)")
    if re.search(r"(\*\*|[-+*/])\s*$", source):
        return "the formula ends with an operator"
    # a character no formula can hold (an Arabic-Indic digit ٣, ½, an emoji, a combining mark alone): named, not
    # "invalid syntax at column 3" (session 23)
    odd = next((i for i, c in enumerate(source) if not c.isascii() and not c.isidentifier() and not (
        ("a" + c).isidentifier() and i and ("a" + source[i - 1]).isidentifier())), None)  # ٣ alone; x٣ is a name
    if odd is not None:
        c, column = _written_char(text, source[odd], odd + 1)
        fraction = unicodedata.normalize("NFKC", c).replace("\u2044", "/")  # ½ is 1⁄2: write 1/2
        hint = f" (write ({fraction}))" if fraction != c and re.fullmatch(r"\d*/\d+", fraction) else ""
        return (f"the character {c!r} (U+{ord(c):04X} {unicodedata.name(c, '?')}) at column {column} is not part "
                f"of a formula: names are letters, digits and _, numbers the digits 0-9{hint}")
    return f"invalid syntax{where}"


def _number(node: ast.Constant, source: str) -> sp.Rational:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(f"unsupported constant {value!r}: only numbers are allowed")
    if isinstance(value, int):
        number = sp.Integer(value)
        # as written (0x…, 1_000 …): str() of a long int would be "the number the number has …"
        literal = ast.get_source_segment(source, node) or (
            str(value) if abs(value) < 10 ** (MAX_LITERAL_DIGITS + 1) else "written")
    else:
        # the literal as written, exactly: 0.1 is 1/10, 1e-400 is not 0 and 1e400 is not inf
        literal = ast.get_source_segment(source, node) or repr(value)
        # 1e99999999999999999999: SymPy would build that integer (unbounded time and memory);
        # a nonzero literal with an exponent beyond what its own length can offset is too long
        # (0e99999999999999999999 too, so a zero is read from its digits alone)
        written = _FLOAT_LITERAL.fullmatch(literal.replace("_", ""))
        significant = (written.group(1) + written.group(2)).strip("0") if written else ""
        if written and not significant:
            number = sp.Integer(0)
        elif len(significant) > MAX_LITERAL_DIGITS:
            raise ParseError(f"the number {_short(literal)} has more than {MAX_LITERAL_DIGITS} significant "
                             "digits (the limit for a number written in a formula)")
        elif written and written.group(3) and abs(int(written.group(3))) > MAX_LITERAL_EXPONENT + MAX_LENGTH:
            raise _out_of_range(literal)
        else:
            try:
                number = sp.Rational(literal.replace("_", ""))
            except (TypeError, ValueError):
                raise ParseError(f"cannot read the number {literal!r}") from None
            if not sp.Rational(1, 10 ** MAX_LITERAL_EXPONENT) < abs(number) < 10 ** MAX_LITERAL_EXPONENT:
                raise _out_of_range(literal)
        return number
    if max(abs(number.p), number.q) > 10 ** MAX_LITERAL_DIGITS:
        raise ParseError(f"the number {_short(literal)} has more than {MAX_LITERAL_DIGITS} digits (the limit "
                         "for a number written in a formula)")
    return number


def _out_of_range(literal: str) -> ParseError:
    return ParseError(f"the number {_short(literal)} is out of range: a number written in a formula lies "
                      f"strictly within 10^±{MAX_LITERAL_EXPONENT} (float64 spans 4.9e-324 to 1.8e308); write "
                      "larger ones as powers, like 10**500")


def _undefined_words(value: sp.Expr) -> str:
    """What an undefined ``value`` is, in words rather than SymPy's names (session 47's new user read
    "log(0)*x is undefined (it would be zoo)": zoo is SymPy's complex infinity, a division by zero)."""
    if value.has(sp.nan):
        return "it has no value (0/0, ∞ − ∞ or 0·∞)"
    if value.has(sp.zoo):
        return "it divides by zero or takes the log of 0 (an infinity without a sign)"
    return "it is infinite"


def _bounded(value: sp.Expr, node: ast.AST, source: str) -> sp.Expr:
    """``value`` (just built for ``node``), unless it is undefined or its numbers too long."""
    if value.has(*_UNDEFINED):
        text = ast.get_source_segment(source, node) or "the formula"
        raise ParseError(f"{text} is undefined: {_undefined_words(value)}")
    if (value.has(sp.I) or (not value.free_symbols and value.is_extended_real is False)
            or (isinstance(value, sp.Pow) and value.base.is_negative and value.exp.is_integer is not True)):
        text = ast.get_source_segment(source, node) or "the formula"  # sqrt(-1), log(-2), (-8)**(1/3), (-2)**x
        raise ParseError(f"{text} is not real (SymPy reads it as {value}); a formula is real-valued")
    for r in value.atoms(sp.Rational):
        if max(abs(r.p), r.q) > 10 ** MAX_DIGITS:
            raise ParseError(f"a number in the formula is too large (more than {MAX_DIGITS} digits)")
    return value


def _exact_power_fits(base: sp.Expr, exponent: sp.Expr) -> bool:
    """Is base**exponent a rational number to an integer power whose exact value has at most MAX_DIGITS digits?
    Such a power is taken whatever the exponent's size: 2**-1074, float64's least subnormal, was refused as
    "exponent -1074 is too large (at most 1000 in size)" in a formula and at --at (session 35), though its value,
    4.9e-324, is one float64 holds. A larger power of a rational, (1 + 10**-300)**(10**6), would have millions of
    digits: refused by the exponent's size, as before."""
    if not (base.is_Rational and exponent.is_Integer) or base == 0:
        return False
    size = max(abs(base.p), base.q)
    return size == 1 or abs(int(exponent)) * math.log10(size) <= MAX_DIGITS


def _build(node: ast.AST, depth: int, source: str) -> sp.Expr:
    if depth > MAX_DEPTH:
        raise ParseError(_TOO_DEEP)
    if isinstance(node, ast.Constant):
        return _number(node, source)
    if isinstance(node, ast.Name):
        return _symbol(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _build(node.operand, depth + 1, source)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _CHAINS:
        # a + b - c + … is nested left-deep by Python's parser; it is one level here
        family, chain, first = _CHAINS[type(node.op)], [], node
        while isinstance(first, ast.BinOp) and _CHAINS.get(type(first.op)) == family:
            chain.append(first)
            first = first.left
        value = _build(first, depth + 1, source)
        for link in reversed(chain):
            right = _build(link.right, depth + 1, source)
            if isinstance(link.op, ast.Div) and right == 0:
                raise ParseError("division by zero in the formula")
            value = _bounded(_BINARY[type(link.op)](value, right), link, source)
        return value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        left, right = _build(node.left, depth + 1, source), _build(node.right, depth + 1, source)
        if right.is_Number and abs(right) > MAX_EXPONENT and not _exact_power_fits(left, right):
            shown = str(right) if len(str(right)) <= 20 else str(sp.N(right, 4))  # 1e308 written out: 309 digits
            raise ParseError(f"exponent {shown} is too large (at most {MAX_EXPONENT} in size)")
        if left.is_number and right.is_number:
            # ((10**100)**1000)**1000: each exponent is small, the number is not
            try:
                check_magnitudes(sp.Pow(left, right, evaluate=False))
            except TimeLimitError:  # not "a number … too large"
                raise
            except LimitError:
                raise ParseError(f"a number in the formula is too large (more than {MAX_DIGITS} "
                                 "digits)") from None
        return _bounded(left ** right, node, source)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Call)):  # (x+1) (x-1), 2(x)
                raise ParseError("a bracket right after a value reads as a call, and a product is never implied: "
                                 "write * between them, as in (x + 1)*(x - 1)")
            bare = _bare_call(node, depth, source)
            if bare:
                raise ParseError(bare)
            raise ParseError(f"unsupported call: {_describe(node.func)} is not allowed; "
                             "call a function by its name, as in exp(x)")
        name = node.func.id
        if name not in FUNCTIONS:
            from .rowwise_registry import ROW_REGISTRY  # only on this error path

            spelled = _spelled_out(name, node, source)
            if spelled:
                raise ParseError(f"unknown function '{name}'; {spelled}")
            if name in _NOT_PROVIDED:
                raise ParseError(f"unknown function '{name}': {_NOT_PROVIDED[name]}")

            if name in ROW_REGISTRY:  # "softmax(x)" was answered "did you mean max?"
                written = [ast.get_source_segment(source, a) if source else None for a in node.args]
                few = ""
                if len(written) > 1 and all(written) and sum(map(len, written)) <= 160:
                    # an energy over a few terms, logsumexp(e1, e2, e3), is a formula once written out (session 38);
                    # so are softmax(a, b, c)'s and log_softmax's first entries (session 41)
                    total = " + ".join(f"exp({w})" for w in written)
                    first = written[0] if isinstance(node.args[0], (ast.Name, ast.Constant, ast.Call)) \
                        else f"({written[0]})"
                    few = {"logsumexp": f"log({total}) (the logaddexp rule computes it without overflow)",
                           "softmax": f"exp({written[0]})/({total}) for its first entry (computed without overflow)",
                           "log_softmax": f"{first} - log({total}) for its first entry (computed without "
                                          "overflow)"}.get(name)
                    few = f"; for a few numbers write it out, {few}" if few else ""
                raise ParseError(f"{name} works on a whole row of values, not on one number, so it is "
                                 f"not part of a formula: 'symnet derive {name}' prints its derivation "
                                 f"(symnet.torch.functional has the PyTorch ops){few}")
            # EXP(x), Tanh(x): difflib compares case, so these were answered with the whole list and
            # "for a product write EXP*(…)" (session 17, a new user)
            same_letters = list(dict.fromkeys(getattr(e, "name", n) for n, e in FUNCTIONS.items()
                                              if n.lower() == name.lower()))  # ABS: abs, not "abs or Abs"
            close = same_letters or difflib.get_close_matches(name, FUNCTIONS, n=3)
            # the names themselves, not where Python finds them: a command-line user has no symnet.parsing
            hint = f"did you mean {' or '.join(close)}?" if close else \
                f"known: {', '.join(n for n, e in FUNCTIONS.items() if getattr(e, 'name', n) == n)}"
            if not close and len(node.args) == 1 and not node.keywords and _NAME.match(name):
                # w(x + 1) meant as a product; not __import__(…), which is no variable name either
                hint = f"for a product write {_short(name)}*(…); {hint}"
            raise ParseError(f"unknown function '{_short(name)}'; {hint}")
        entry = FUNCTIONS[name]
        fewest, most = entry.arity
        if node.keywords or len(node.args) < fewest or (most is not None and len(node.args) > most):
            usage = _usage(name, entry) or _signature(name, entry)
            hint = _ARITY_HINTS.get(getattr(entry, "name", name), "")
            if node.keywords and usage:  # focal(z, t, gamma=3) was answered "focal() takes 2 to 4 arguments"
                raise ParseError(f"{name}() takes its arguments by position, not by name "
                                 f"({node.keywords[0].arg or '**'}=…): {usage}" + (f"; {hint}" if hint else ""))
            count = "exactly one argument" if (fewest, most) == (1, 1) else (
                f"{fewest} to {most} arguments" if most != fewest else f"{fewest} arguments")
            raise ParseError((f"{name}() takes {count}" if most is not None else
                              f"{name}() takes at least {fewest} arguments") + (f": {usage}" if usage else "")
                             + (f"; {hint}" if hint else ""))
        if name == "where":  # where(condition, value if true, value otherwise)
            args = [_condition(node.args[0], depth + 1, source)] + [_build(a, depth + 1, source)
                                                                     for a in node.args[1:]]
        else:
            args = [_build(a, depth + 1, source) for a in node.args]
        if getattr(entry, "argument_domains", ()):  # gaussian_nll(x, t, -1): a number outside, refused here
            from .registry import check_argument_domains
            check_argument_domains(entry, [float(a) if getattr(a, "is_number", False) and a.is_real else None
                                           for a in args])
        if all(getattr(a, "is_number", False) for a in args):
            with sp.evaluate(False):  # exp(10**50): estimated before SymPy computes it
                unevaluated = entry(*args)
            check_magnitudes(unevaluated)
        try:
            return _bounded(noted_checks(entry(*args)), node, source)  # gaussian_nll(x, t, v): v checked
        except (TypeError, ValueError) as exc:
            raise ParseError(f"{name}() cannot take these arguments: {exc}") from None
    if isinstance(node, ast.IfExp):  # a if c else b: the formula's way to choose is where()
        raise ParseError("unsupported syntax: conditional (a if c else b) is not allowed in a formula; "
                         "write where(c, a, b), as in where(x > 0, x, 0)")
    if isinstance(node, (ast.Tuple, ast.List)) and depth == 0:  # "x*y, sin(x)": two outputs (session 18's new
        # user); "[x*y, sin(x)]" too, which was answered "list is not allowed" alone (session 21)
        # the user's own outputs in the hint (session 19: it showed ['x*y', 'sin(x)'] whatever was written)
        parts = [ast.get_source_segment(source, e) for e in node.elts]
        listed = repr(parts) if all(parts) and sum(map(len, parts)) <= 160 else "['x*y', 'sin(x)']"
        kind = "tuple" if isinstance(node, ast.Tuple) else "list"
        raise ParseError(f"unsupported syntax: a formula has one output, and this is a {kind} of "
                         f"{len(node.elts)}; for a vector function pass a list from Python, "
                         f"symnet.derive({listed}) (its Jacobian), or derive each")
    raise _operator(node) or ParseError(f"unsupported syntax: {_describe(node)} is not allowed in a formula")


_CHECKS: contextvars.ContextVar = contextvars.ContextVar("symnet_argument_checks", default=None)


def noted_checks(expr: sp.Expr) -> sp.Expr:
    """``expr`` without the marks of the registry calls that built it (:class:`symnet.registry.DomainChecked`:
    gaussian_nll(x, t, v) marked "v ≥ 0"), their checks noted for :func:`parse_with_checks` and
    :func:`collected_checks` (the generated code checks them)."""
    from .registry import take_domain_checks

    bare, checks = take_domain_checks(expr)
    found = _CHECKS.get()
    if found is not None:
        found.extend(c for c in checks if c not in found)
    return bare


def parse_with_checks(text: str) -> tuple[sp.Expr, tuple]:
    """:func:`parse_expression`, and the :class:`~symnet.derivation.ArgumentCheck` of each argument of a
    registry function that the formula passes and whose data the generated code must check (gaussian_nll's
    var ≥ 0, bce's p and t in [0, 1]): the parser writes these functions out, so their domains are known here
    only. Raises what :func:`parse_expression` raises."""
    with collected_checks() as found:
        expr = parse_expression(text)
    return expr, tuple(found)


@contextlib.contextmanager
def collected_checks():
    """The list into which every formula parsed inside the ``with`` block puts its argument checks
    (:func:`parse_with_checks`)."""
    token = _CHECKS.set([])
    try:
        yield _CHECKS.get()
    finally:
        _CHECKS.reset(token)


_COMPARE = {ast.Gt: sp.StrictGreaterThan, ast.Lt: sp.StrictLessThan, ast.GtE: sp.GreaterThan,
            ast.LtE: sp.LessThan, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}


def _condition(node: ast.AST, depth: int, source: str):
    """The condition of ``where``: comparisons (chains too), joined by and/or/not."""
    if depth > MAX_DEPTH:
        raise ParseError(_TOO_DEEP)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        sides = [_build(node.left, depth + 1, source)] + [_build(c, depth + 1, source) for c in node.comparators]
        return sp.And(*[_COMPARE[type(op)](a, b) for op, a, b in zip(node.ops, sides, sides[1:])])
    if isinstance(node, ast.BoolOp):
        parts = [_condition(v, depth + 1, source) for v in node.values]
        return sp.And(*parts) if isinstance(node.op, ast.And) else sp.Or(*parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return sp.Not(_condition(node.operand, depth + 1, source))
    raise ParseError("the first argument of where() must be a comparison, such as x > 0")


def read_name(name: str) -> str:
    """A name as a formula reads it: NFKC, subscripts and Greek letters as normalise() makes them (θ₁ → theta_1)."""
    return unicodedata.normalize("NFKC", normalise(name) if not name.isascii() else name)


def _symbol(name: str, label: bool = False) -> sp.Expr:
    """The variable ``name``; ``label``: a name for a result (σ may name sigmoid's output)."""
    # Python reads identifiers in a formula in NFKC form (ｘ is x); names given on their own
    # (targets, wrt, points) are read the same way, or 'ｃ' and the formula's c would differ; and as
    # normalise() reads a formula's names (θ₁ → theta_1), or wrt=["θ"] was refused beside the formula's
    # θ ("'θ' does not appear in the formula (its inputs: theta, x)": session 29, h-hostile29)
    name = read_name(name)
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in FUNCTIONS and not label:
        raise ParseError(f"'{name}' is a function: write {name}(…)")
    if name in RESERVED_NAMES:
        meaning = _MEANINGS.get(name, "a constant")
        raise ParseError(f"'{name}' means {meaning} in SymPy; choose another name for a variable")
    if (keyword.iskeyword(name) or not _NAME.match(name) or len(name) > MAX_NAME_LENGTH):
        # the name cut at 60 characters: a name of 1,990 letters was repeated whole (a 2,100-character line)
        shown = repr(name) if len(name) <= MAX_NAME_LENGTH else f"{name[:60]!r}… ({len(name)} characters)"
        mark = next((c for c in name if unicodedata.category(c).startswith("M")), None)
        why = f": it holds the combining mark U+{ord(mark):04X} ({unicodedata.name(mark, '?')})" if mark else ""
        raise ParseError(f"{shown} is not allowed as a variable name{why} (letters, digits and _, "
                         f"starting with a letter, at most {MAX_NAME_LENGTH} characters)")
    return sp.Symbol(name, real=True)


def parse_symbols(text: str) -> list[sp.Symbol]:
    """``"x, y"`` or ``"x y"`` → the real symbols x and y; raises :class:`ParseError`. An empty name between
    commas (``x,,y``, ``,x``) is refused, as the point's empty pair is (one trailing comma is allowed, as there)."""
    pieces = _checked_text(text, "list of variables").split(",")
    if len(pieces) > 1 and not pieces[-1].strip() and pieces[-2].strip():  # x,y, as Python allows
        pieces.pop()
    if any(p.strip() for p in pieces) and not all(p.strip() for p in pieces):  # x,,y took x and y silently (session 33)
        where = "at the start" if not pieces[0].strip() else "at the end" if not pieces[-1].strip() else "between commas"
        raise ParseError(f"the list of variables {_short(text)!r} has an empty name {where}: write names separated "
                         "by single commas (x,y)")
    names = [n for p in pieces for n in p.split() if n]
    if not names:
        raise ParseError("no variable names given")
    return [_variable(n) for n in names]


def _variable(name: str, label: bool = False) -> sp.Symbol:
    s = _symbol(name, label)
    if not isinstance(s, sp.Symbol):
        raise ParseError(f"'{name}' is a constant, not a variable")
    return s


def _not_finite(value: str) -> bool:
    """Whether the text ``value`` of a point names a value that is not a finite real number (inf, -nan, oo, …), in the
    NFKC form the parser reads it in: ``x=ｉｎｆ`` was refused as "'inf' means infinity in SymPy; choose another name
    for a variable" (break41), where ``x=inf`` is "the value of x must be a finite real number". A sign is ASCII's or
    the minus sign U+2212, which the parser reads as minus (``x=−1`` is −1; ``x=−inf`` was refused as a name, review41)."""
    return unicodedata.normalize("NFKC", value).strip().lstrip("+-\u2212") in _NOT_FINITE


def parse_point(text: str) -> dict:
    """``"x=1, y=-0.5"`` → {x: 1, y: -1/2}; raises :class:`ParseError`. Pairs are separated by commas or spaces;
    spaces around ``=`` and inside a value are allowed (``x = 1, y = exp(1 + 2)``, ``y=max(1, 2)``)."""
    point = {}
    for part in _point_parts(_checked_text(text, "point")):
        if "=" not in part:
            raise ParseError(f"expected name=value in the point, got {part!r}")
        name, value = part.split("=", 1)
        variable = _variable(name.strip())
        if not value.strip():
            raise ParseError(f"no value given for {name.strip()} in the point (write {name.strip()}=1)")
        if _not_finite(value):
            # 'inf' is a value here, not a variable's name: say what is wrong with it
            raise ParseError(f"the value of {name.strip()} must be a finite real number, got {value.strip()!r}")
        if ";" in value:  # x=1;y=2 was "cannot parse '1;y=2': invalid syntax at column 2" (session 18)
            raise ParseError(f"cannot read the point {_short(text)!r}: separate name=value pairs with commas, "
                             "not semicolons (x=1,y=0.5)")
        try:
            parsed = parse_expression(value)
        except ParseError as exc:  # sqrt(-1): the point's own message, not the formula's
            if "is not real" not in str(exc):
                raise
            raise ParseError(f"the value of {name.strip()} must be a finite real number, got {value.strip()!r}") from None
        if variable in point:  # x=1,x=2 took the last value silently
            raise ParseError(f"{variable} is given twice in the point ({_short(point[variable])} and "
                             f"{value.strip()[:60]}): give each variable once")
        point[variable] = _real_number(parsed, name.strip())
    if not point:
        raise ParseError("the point is empty")
    return point


def _point_parts(text: str) -> list[str]:
    """``"x = 1, y=max(1, 2) z=3"`` → ["x=1", "y=max(1, 2)", "z=3"]: split at commas outside brackets and at spaces
    before a ``name=``; a value keeps its inner spaces and commas. Before, every comma and space split, so
    ``--at "x = 1, y = 2"`` said "expected name=value in the point, got 'x'" and ``x=max(1, 2)`` broke in two."""
    text = re.sub(r"\s*=\s*", "=", text)
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if c == "," and depth <= 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    if len(pieces) > 1 and not pieces[-1].strip() and pieces[-2].strip():  # one trailing comma, as Python allows
        pieces.pop()  # (x=1 y=2, is the point (1, 2): tests/test_breakage17.py)
    if len(pieces) > 1 and not all(p.strip() for p in pieces):  # x=1,,y=2 skipped the empty pair silently (session 32)
        where = "at the start" if not pieces[0].strip() else "at the end" if not pieces[-1].strip() else "between commas"
        raise ParseError(f"the point {_short(text)!r} has an empty pair {where}: write name=value pairs separated by "
                         "single commas (x=1,y=2)")
    return [p.strip() for piece in pieces for p in re.split(r"\s+(?=[^\W\d]\w*=)", piece.strip()) if p.strip()]


def _real_number(value: sp.Expr, name) -> sp.Expr:
    if not value.is_number:
        # quoted, as the point's other messages quote it ("got 'nan'"): "got abc" ran into the next words
        raise ParseError(f"the value of {name} must be a number, got {_short(value)!r}")
    if value.has(*_UNDEFINED) or value.is_extended_real is False:
        raise ParseError(f"the value of {name} must be a finite real number, got {_short(value)!r}")
    return value


def _short(value, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# A SymPy expression built in Python skips the parser's limits: sin nested 300 deep ran 25 s into SymPy's
# recursion and raised a bare RecursionError (120 levels, twice the text's limit, derive and compile in 11 s),
# and a sum of 10,000 exponentials derived for over 4 minutes. A formula of MAX_LENGTH characters has fewer
# distinct subexpressions than characters, so what the text parser takes passes these limits too.
MAX_EXPRESSION_DEPTH = 2 * MAX_DEPTH
MAX_EXPRESSION_NODES = MAX_LENGTH
# A program's assignments each within MAX_EXPRESSION_NODES and together within MAX_PROGRAM_NODES: a 4-layer
# per-unit MLP of 16 units written as assignments is about 3,400 (refused when the program shared one formula's
# limit, session 32's review); 5,000 assignments x·i, 15,000, are refused
MAX_PROGRAM_NODES = 5 * MAX_EXPRESSION_NODES


def check_size(value: sp.Basic, what: str = "formula", depth_of=None, nodes: int = 0) -> tuple[int, int]:
    """Refuse an expression deeper than :data:`MAX_EXPRESSION_DEPTH` or of more than
    :data:`MAX_EXPRESSION_NODES` distinct subexpressions, walked without recursion (a shared
    subexpression again only where met deeper, so sin(e) + cos(e) nested n deep is not 2^n steps).

    ``depth_of`` maps the targets of earlier assignments of a program to their depth once substituted, and
    ``nodes`` counts the program's subexpressions so far. Returns the expression's depth and the new count.
    """
    depth_of = depth_of or {}
    stack, deepest, total = [(value, 1)], {}, 0
    while stack:
        node, depth = stack.pop()
        depth += depth_of.get(node, 1) - 1
        if depth > MAX_EXPRESSION_DEPTH:
            raise ParseError(f"the {what} is nested too deeply (at most {MAX_EXPRESSION_DEPTH} levels of "
                             f"nesting in a SymPy expression or program)")
        if deepest.get(node, 0) >= depth:
            continue
        if node not in deepest:
            nodes += 1
            if nodes > MAX_EXPRESSION_NODES:
                raise ParseError(f"the {what} is too large (more than {MAX_EXPRESSION_NODES} distinct "
                                 f"subexpressions in a SymPy expression or program)")
        deepest[node] = depth
        total = max(total, depth)
        stack.extend((a, depth + 1) for a in node.args)
    return total, nodes


def as_expression(value, what: str = "formula") -> sp.Expr:
    """A SymPy expression from what a caller of the Python API passed.

    SymPy expressions are taken as they are (the marks of registry calls with argument domains taken off
    and their checks noted: :func:`noted_checks`); ints, floats and other real numbers become
    exact SymPy numbers; strings are parsed by :func:`parse_expression` (never by
    ``sympify``). Anything else raises :class:`ParseError`.
    """
    if isinstance(value, str):
        return parse_expression(value)
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise ParseError(f"the {what} must be an expression, not {type(value).__name__}")
        check_size(value, what)  # first: atoms() below walks the tree, 2^n nodes for a shared one n deep
        # Integer(10)**5000 is built by the caller, but printing it fails (Python's 4300-digit
        # limit) and computing with it is unbounded: the parser's limit holds here too
        if any(max(abs(r.p), r.q).bit_length() > _MAX_BITS for r in value.atoms(sp.Rational)):
            raise ParseError(f"a number in the {what} is too large (more than {MAX_DIGITS} digits)")
        return noted_checks(value)  # REGISTRY["gaussian_nll"](x, t, v): its "v ≥ 0" noted, as for the text
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParseError(f"expected the {what} as a SymPy expression, a real number or text, "
                         f"got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        number = sp.Integer(int(value))
    elif isinstance(value, float):
        number = sp.nsimplify(value) if value == value and abs(value) != float("inf") else sp.nan
        if number.is_Rational and float(number) != value:  # nsimplify(1e-300) is 0: the decimal Python prints
            number = sp.Rational(repr(value))
    else:  # Fraction, Decimal, NumPy scalars: SymPy converts these without evaluating text
        number = sp.sympify(value, strict=True)
    if number.has(*_UNDEFINED):
        raise ParseError(f"the {what} must be a finite number, got {value!r}")
    if isinstance(number, sp.Rational) and max(abs(number.p), number.q) > 10 ** MAX_DIGITS:
        raise ParseError(f"the {what} is too large (more than {MAX_DIGITS} digits)")
    return number


def as_symbol(value, what: str = "variable", known=(), label: bool = False) -> sp.Symbol:
    """A SymPy symbol: a ``Symbol`` as it is, or a name checked by the parser's rules.

    A name, or a symbol not among ``known`` (e.g. the formula's inputs), is the symbol of
    that name among ``known`` whatever their assumptions (a name spelled as one of them first:
    ``"ℓ"`` is the formula's ℓ, not its l; then the one whose name Python reads the same, NFKC:
    ``"ｘ"`` is x; a name that could mean two of them is refused) (text makes real symbols, so
    ``derive("x**2", wrt=[Symbol("x")])`` still means that x), else a new real symbol;
    ``label`` allows the name of a function (an output may be called σ). Raises
    :class:`ParseError`.
    """
    symbols = [k for k in known if isinstance(k, sp.Symbol)]
    if isinstance(value, sp.Symbol):
        symbol = value
    elif isinstance(value, str):
        exact = [k for k in symbols if k.name == value.strip()]  # ℓ means the formula's ℓ, not its l
        if exact:
            return exact[0]
        symbol = _variable(_checked_text(value, f"{what} name"), label)
    else:
        raise ParseError(f"expected a {what} as a SymPy Symbol or a name, got {type(value).__name__}")
    if symbol in known:
        return symbol
    same = [k for k in symbols if k.name == symbol.name] or \
        [k for k in symbols if unicodedata.normalize("NFKC", k.name) == symbol.name]  # ｘ is x, as Python reads it
    if len({k.name for k in same}) > 1:  # ｌ: the formula's ℓ and l are both l to Python
        raise ParseError(f"the {what} {_short(str(value))!r} could name any of "
                         f"{', '.join(repr(k.name) for k in sorted(same, key=lambda k: k.name))}, which Python reads "
                         f"as one name {symbol.name!r}: give that variable's own spelling or its Symbol")
    return same[0] if same else symbol


def as_point(values, what: str = "point", known=()) -> dict:
    """``{symbol or name: number or text}`` → ``{Symbol: exact real number}``.

    Names and values given as strings go through the parser (a name is resolved among
    ``known`` as in :func:`as_symbol`); raises :class:`ParseError`.
    """
    if not isinstance(values, Mapping):
        raise ParseError(f"expected the {what} as a mapping from variables to numbers, "
                         f"got {type(values).__name__}")
    point = {}
    for key, value in values.items():
        symbol = as_symbol(key, known=known)
        if isinstance(value, str) and _not_finite(value):
            raise ParseError(f"the value of {symbol} must be a finite real number, got {value.strip()!r}")
        number = _real_number(as_expression(value, f"value of {symbol}"), symbol)
        if symbol in point:  # {"x": 1, Symbol("x"): 5}, or x and its full-width ｘ: the last one won silently
            raise ParseError(f"{symbol} is given twice in the {what} ({_short(point[symbol])} and {_short(number)}): "
                             "give each variable once")
        point[symbol] = number
    return point


# ------------------------------------------------------------------ user46 (session 46, h-user46: a new user's own
# losses and activations; pinball(p, t, 0.9) and snake(x, a) were answered with the registry's 60 names,
# quantile(p, t, 0.9) with "sort outside it", poisson_nll(z, t, 1, 1) (torch's full=True) with its count alone)
_SPELLED_OUT.update({
    **dict.fromkeys(("pinball", "pinball_loss", "quantile_loss"),
                    (("x", "t", "q"), "max([2]*({1} - [0]), ([2] - 1)*({1} - [0]))",
                     "the quantile (pinball) loss at level q, one entry's")),
    "snake": (("x", "a"), "[0] + sin([1]*[0])**2/[1]", "the Snake activation; a, a variable, gets its gradient"),
})
_NOT_PROVIDED["quantile"] += ("; a quantile (pinball) loss of a prediction p and target t at level q is "
                              "max(q*(t - p), (q - 1)*(t - p))")
_ARITY_HINTS["poisson_nll"] = ("torch's full=True adds the Stirling term, written out: "
                               "poisson_nll(x, t) + where(t > 1, t*log(t) - t + log(2*pi*t)/2, 0)")


# ------------------------------------------------------------------ user48 (session 48, h-user48: a new user's names
# for the pieces of a margin or transform; atan2(y, x) was answered "did you mean atan or tan or tanh?", cbrt(x) and
# reciprocal(x) "for a product write cbrt*(…)" and the registry's 60 names, besseli0(k) the same, erfinv(x) "did you
# mean erf or erfc?")
_SPELLED_OUT.update({
    **dict.fromkeys(("atan2", "arctan2"), (("y", "x"), "2*atan([0]/(sqrt([1]**2 + [0]**2) + [1]))",
                                           "the angle of (x, y) in (−π, π), half-angle form; near the negative x "
                                           "axis, where it cancels, 2*atan((sqrt(x**2 + y**2) - x)/y); atan(y/x) "
                                           "for x > 0")),
    "cbrt": (("x",), "sign({0})*abs({0})**(1/3)", "the real cube root; x**(1/3) is NaN for x < 0"),
    "reciprocal": (("x",), "1/[0]", ""),
})
_NOT_PROVIDED.update(dict.fromkeys(("besseli0", "besseli1", "bessel_i0", "bessel_i1"), _NOT_PROVIDED["i0"]))
_NOT_PROVIDED.update(dict.fromkeys(("erfinv", "ndtri"), "the inverse error function is not in symnet's registry (a "
                                                        "probit link's ndtri(p)): pass its values as an input, "
                                                        "computed outside"))
