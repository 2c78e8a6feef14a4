"""Session 40 (h-speed40): the generated functions of widened sums (registry.GENERATED_HELPERS) and compile time.

A widened sum's generated function is named by a digest of its body and kept by that name for every module of the
process that calls it (the first text kept stayed). Its text depends on the printer too: Triton's step, layer and
row-wise printers print sums as written (EXACT_SUMS False), the elementwise ones compensated (``_exact_sum``). So the
same body printed by both had one name and two texts: log_cosh's widened |a − y| + softplus(−2|a − y|) − log 2, printed
by Triton's elementwise printer, then by the step printer, gave the step module the elementwise text, which calls
``_exact_sum``, ``_exact_step`` and ``_dw_two_sum`` that the step module's helpers did not hold (a NameError when the
kernel compiles); in the other order the elementwise module got the sum as written. Now the printer's state is part of
the name (ConditionalPrinting.generated_state), a text met under a name that holds another is kept under a name of its
own, and the table is bounded (doubleword.GENERATED_MAX_BYTES, least recently printed first).
"""
from __future__ import annotations

import os

import pytest
import sympy as sp

from symnet.codegen import doubleword
from symnet.codegen.backends.triton.printer import TRITON_HELPERS, TritonPrinter
from symnet.codegen.backends.triton.step import _StepPrinter
from symnet.codegen.rewrite import widen
from symnet.special import softplus
from symnet.registry import GENERATED_HELPERS

a, y = sp.symbols("a y", real=True)
LOG_COSH = widen(sp.Abs(a - y) + softplus(-2 * sp.Abs(a - y)) - sp.log(2))  # log_cosh's widened body (its step's)


def _printed(kind: str) -> tuple[str, list[str], set]:
    """The call a Triton printer of ``kind`` prints for LOG_COSH, the generated texts its module takes
    (doubleword.generated_last) and the helpers it names."""
    helpers: set = set()
    printer = TritonPrinter({}, helpers) if kind == "elementwise" else _StepPrinter({}, {}, helpers)
    call = printer.doprint(LOG_COSH)
    texts = [t for t in doubleword.generated_last(TRITON_HELPERS, helpers, "triton")
             if t.startswith("@triton.jit\ndef " + doubleword.GENERATED_PREFIX)]
    return call, texts, helpers


@pytest.fixture
def fresh_table(monkeypatch):
    """An empty table of generated Triton functions, as a new process has."""
    monkeypatch.setitem(GENERATED_HELPERS, "triton", {})


def test_the_step_and_elementwise_printers_print_log_cosh_differently(fresh_table):
    _, (elementwise,), _ = _printed("elementwise")
    _, (step,), _ = _printed("step")
    assert "_exact_sum(" in elementwise and "_exact_sum(" not in step  # the state the name now holds


@pytest.mark.parametrize("first", ["elementwise", "step"])
def test_a_module_gets_the_text_its_own_printer_printed_whatever_was_printed_first(monkeypatch, first):
    alone = {}
    for kind in ("elementwise", "step"):
        monkeypatch.setitem(GENERATED_HELPERS, "triton", {})
        alone[kind] = _printed(kind)
    monkeypatch.setitem(GENERATED_HELPERS, "triton", {})
    second = "step" if first == "elementwise" else "elementwise"
    together = {first: _printed(first)}
    together[second] = _printed(second)
    for kind in ("elementwise", "step"):
        call, texts, helpers = together[kind]
        assert (call, texts) == alone[kind][:2], kind
        # every helper a text calls is one the module defines: the step module's did not define _exact_sum
        called = {h for h in ("_exact_sum", "_exact_step", "_dw_two_sum") if f"{h}(" in "".join(texts)}
        assert called <= helpers, (kind, called - helpers)
    assert together["elementwise"][0] != together["step"][0]  # two names, each its own text


def test_a_second_text_under_one_name_is_kept_under_a_name_of_its_own(fresh_table):
    name = doubleword.GENERATED_PREFIX + "0123456789"
    one = doubleword.WidenedFunction(name, f"def {name}(x):\n    return {name}_scaled(x)\n", set())
    other = one._replace(code=f"def {name}(x):\n    return x\n")
    assert doubleword.keep_generated("triton", one) == one
    renamed = doubleword.keep_generated("triton", other)
    assert renamed.name.startswith(name + "_") and renamed.name != name
    assert renamed.code == f"def {renamed.name}(x):\n    return x\n"
    assert GENERATED_HELPERS["triton"] == {name: one.code, renamed.name: renamed.code}
    assert doubleword.keep_generated("triton", other) == renamed  # the same text again: the same name
    assert doubleword.keep_generated("triton", one) == one


def test_the_table_of_generated_functions_is_bounded(fresh_table, monkeypatch):
    names = [f"{doubleword.GENERATED_PREFIX}{k:010d}" for k in range(40)]
    for name in names:
        doubleword.keep_generated("triton", doubleword.WidenedFunction(name, f"def {name}():\n" + "#" * 1000 + "\n",
                                                                       set()))
    doubleword.keep_generated("triton", doubleword.WidenedFunction(names[0], GENERATED_HELPERS["triton"][names[0]],
                                                                   set()))  # printed again: the most recent
    doubleword.forget_generated("triton", 10_000)
    assert len(GENERATED_HELPERS["triton"]) == 40  # the module being printed keeps its own (pinned), whatever the bound
    doubleword.generated_last({}, set(names), "triton")  # emitted: released
    doubleword.forget_generated("triton", 10_000)
    kept = GENERATED_HELPERS["triton"]
    assert sum(map(len, kept.values())) <= 10_000
    assert list(kept) == names[-(len(kept) - 1):] + [names[0]]  # the least recently printed went first
    # a module's printing reads its texts before the table is trimmed to GENERATED_MAX_BYTES; each text kept trims it
    # to twice that, the texts of the module being printed kept (the root searches' probes are emitted as modules are)
    monkeypatch.setattr(doubleword, "GENERATED_MAX_BYTES", 2_500)
    doubleword.keep_generated("triton", doubleword.WidenedFunction(names[1], "#" * 1000, set()))
    kept = GENERATED_HELPERS["triton"]
    assert sum(map(len, kept.values())) <= 5_000 and list(kept) == [*names[-(len(kept) - 2):], names[0], names[1]]
    doubleword.generated_last({}, {names[1]}, "triton")
    assert list(GENERATED_HELPERS["triton"]) == [names[0], names[1]]  # (trimmed to 2 500 bytes once emitted)


# ---------------------------------------------------------------- the on-disk cache of kernel descriptions

FORMULA = "softplus(x/y)**-2"  # (its description 0.4 CPU s, stored in 3.3 kB)


@pytest.fixture
def disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    return tmp_path / "cache" / "kernels"


def test_a_second_process_reads_the_description_and_prints_the_same_modules(disk_cache, monkeypatch):
    """A stored kernel description is used by a later compile (ir.describe is not called: a new process's), and the
    modules printed from it are byte for byte those printed from a fresh description."""
    import symnet
    from symnet.codegen import ir, stored
    from symnet.codegen.backends.numpy.elementwise import emit_module
    from symnet.codegen.backends.triton.elementwise import emit_triton_module

    d = symnet.derive(FORMULA)
    fresh = stored.described(d)
    assert len(list(disk_cache.glob("*.kernel"))) == 1

    def refused(*args, **kwargs):
        raise AssertionError("described again")
    monkeypatch.setattr(ir, "describe", refused)
    again = stored.described(symnet.derive(FORMULA))
    for emit in (lambda k: emit_module([k], "a test", "-"),
                 lambda k: emit_triton_module([k], "a test", "-", op_namespace="symnet_user")):
        assert emit(again) == emit(fresh)


def test_the_kernel_descriptions_are_bounded_by_bytes_not_by_the_copies_count(disk_cache, monkeypatch):
    """kernels/ keeps more than MAX_FILES (256) descriptions while they are within MAX_BYTES, and at most
    MAX_DATA_FILES; beyond MAX_BYTES the least recently used go."""
    from symnet import cache

    monkeypatch.setattr(cache, "MAX_FILES", 3)  # the triton/ copies' bound: not the data folders'
    names = [f"{k:032x}-{cache.cache_key()}.kernel" for k in range(8)]
    for name in names:
        cache.save(name, b"k" * 100, "kernels", (".kernel", ".derivation"))
    assert sorted(p.name for p in disk_cache.iterdir()) == names
    monkeypatch.setattr(cache, "MAX_DATA_FILES", 5)
    for k, name in enumerate(names):
        os.utime(disk_cache / name, (1000 + k, 1000 + k))
    cache.save(names[0], b"k" * 100, "kernels", (".kernel", ".derivation"))  # used again: the newest
    assert sorted(p.name for p in disk_cache.iterdir()) == sorted([names[0], *names[4:]])
    monkeypatch.setattr(cache, "MAX_BYTES", 250)
    cache.save(names[1], b"k" * 100, "kernels", (".kernel", ".derivation"))
    assert sorted(p.name for p in disk_cache.iterdir()) == sorted([names[0], names[1]])
