"""lead41: checks the lead added while merging session 41's branches.

Two helpers of session 41 each appended a rule to symnet/codegen/rewrite.py whose helper reused a module-level name
(h-worseb41's ``_monomial``, caught by test_stability_rules; h-loss41's ``_plain``, which replaced the hypot-slope
rule's ``_plain`` for every caller: pyflakes' "redefinition of unused '_plain'", caught by neither branch's tests).
A Python module's second ``def`` of a name silently wins, so no module may define a top-level name twice.
"""
from __future__ import annotations

import ast
import collections
import pathlib

import symnet


def test_no_module_defines_a_top_level_function_or_class_twice():
    root = pathlib.Path(symnet.__file__).parent
    twice = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = collections.Counter(n.name for n in tree.body
                                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
        again = sorted(n for n, k in names.items() if k > 1)
        if again:
            twice[str(path.relative_to(root))] = again
    assert not twice, f"defined twice (the later one replaces the earlier for every caller): {twice}"
