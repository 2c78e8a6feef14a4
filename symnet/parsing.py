"""A safe parser for formulas typed by a person (command line, notebooks).

SymPy's ``sympify`` evaluates its input as Python, so ``__import__('os').system(...)``
would run. Here the text is parsed by Python's ``ast`` module and only arithmetic,
numbers, names and calls of a fixed table of functions are turned into SymPy objects;
anything else is refused with a one-line :class:`~symnet.errors.ParseError`. Nothing is
ever evaluated as Python.
"""
from __future__ import annotations

import ast
import keyword
import re

import sympy as sp

from .errors import ParseError
from .registry import NAMES

__all__ = ["parse_expression", "parse_symbols", "parse_point", "FUNCTIONS"]

FUNCTIONS = NAMES  # name → registry entry (symnet.registry): the functions a formula may call
CONSTANTS = {"pi": sp.pi}
MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_EXPONENT = 1000
_NAME = re.compile(r"^[^\W\d]\w*$")

_BINARY = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
    ast.Pow: None,
}


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
        ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.IfExp: "conditional",
        ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Starred: "unpacking",
        ast.NamedExpr: "assignment", ast.JoinedStr: "f-string", ast.Set: "set",
    }
    return names.get(type(node), type(node).__name__)


def parse_expression(text: str) -> sp.Expr:
    """``"x*exp(x**2)"`` → ``x*exp(x**2)`` with real symbols; raises ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"expected the formula as text, got {type(text).__name__}")
    if not text.strip():
        raise ParseError("the formula is empty")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula is longer than {MAX_LENGTH} characters")
    # x^2 means x**2 in notes; replace before parsing, since Python's ^ binds looser than +
    try:
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ParseError(f"cannot parse {text!r}: invalid syntax{where}") from None
    return _build(tree.body, 0)


def _build(node: ast.AST, depth: int) -> sp.Expr:
    if depth > MAX_DEPTH:
        raise ParseError("the formula is nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ParseError(f"unsupported constant {node.value!r}: only numbers are allowed")
        if isinstance(node.value, int) and abs(node.value) > 10 ** 100:
            raise ParseError("number too large")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.nsimplify(node.value, rational=True)
    if isinstance(node, ast.Name):
        return _symbol(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _build(node.operand, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _build(node.left, depth + 1), _build(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            if right.is_Number and abs(right) > MAX_EXPONENT:
                raise ParseError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
            return left ** right
        if isinstance(node.op, ast.Div) and right == 0:
            raise ParseError("division by zero in the formula")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"unsupported call: {_describe(node.func)} is not allowed; "
                             f"call one of {', '.join(sorted(FUNCTIONS))}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ParseError(f"unknown function '{name}'; known: {', '.join(sorted(FUNCTIONS))}")
        entry = FUNCTIONS[name]
        fewest, most = entry.arity
        if node.keywords or len(node.args) < fewest or (most is not None and len(node.args) > most):
            count = "exactly one argument" if (fewest, most) == (1, 1) else (
                f"{fewest} to {most} arguments" if most != fewest else f"{fewest} arguments")
            raise ParseError(f"{name}() takes {count}" if most is not None else
                             f"{name}() takes at least {fewest} arguments")
        if name == "where":  # where(condition, value if true, value otherwise)
            args = [_condition(node.args[0], depth + 1)] + [_build(a, depth + 1) for a in node.args[1:]]
        else:
            args = [_build(a, depth + 1) for a in node.args]
        try:
            return entry(*args)
        except (TypeError, ValueError) as exc:
            raise ParseError(f"{name}() cannot take these arguments: {exc}") from None
    raise ParseError(f"unsupported syntax: {_describe(node)} is not allowed in a formula")


_COMPARE = {ast.Gt: sp.StrictGreaterThan, ast.Lt: sp.StrictLessThan, ast.GtE: sp.GreaterThan,
            ast.LtE: sp.LessThan, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}


def _condition(node: ast.AST, depth: int):
    """The condition of ``where``: comparisons (chains too), joined by and/or/not."""
    if depth > MAX_DEPTH:
        raise ParseError("the formula is nested too deeply")
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        sides = [_build(node.left, depth + 1)] + [_build(c, depth + 1) for c in node.comparators]
        return sp.And(*[_COMPARE[type(op)](a, b) for op, a, b in zip(node.ops, sides, sides[1:])])
    if isinstance(node, ast.BoolOp):
        parts = [_condition(v, depth + 1) for v in node.values]
        return sp.And(*parts) if isinstance(node.op, ast.And) else sp.Or(*parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return sp.Not(_condition(node.operand, depth + 1))
    raise ParseError("the first argument of where() must be a comparison, such as x > 0")


def _symbol(name: str) -> sp.Expr:
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in FUNCTIONS:
        raise ParseError(f"'{name}' is a function: write {name}(…)")
    if name.startswith("_") or keyword.iskeyword(name) or not _NAME.match(name):
        raise ParseError(f"'{name}' is not allowed as a variable name")
    return sp.Symbol(name, real=True)


def parse_symbols(text: str) -> list[sp.Symbol]:
    """``"x, y"`` or ``"x y"`` → the real symbols x and y."""
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    if not names:
        raise ParseError("no variable names given")
    out = []
    for n in names:
        s = _symbol(n)
        if not isinstance(s, sp.Symbol):
            raise ParseError(f"'{n}' is a constant, not a variable")
        out.append(s)
    return out


def parse_point(text: str) -> dict:
    """``"x=1, y=-0.5"`` → {x: 1, y: -1/2}."""
    point = {}
    for part in [p for p in re.split(r"[,\s]+", text.strip()) if p]:
        if "=" not in part:
            raise ParseError(f"expected name=value in the point, got {part!r}")
        name, value = part.split("=", 1)
        sym = _symbol(name.strip())
        number = parse_expression(value)
        if not number.is_number:
            raise ParseError(f"the value of {name} must be a number, got {value!r}")
        point[sym] = number
    if not point:
        raise ParseError("the point is empty")
    return point
