"""The ``symnet`` command line.

    symnet derive --list
    symnet derive NAME [--format text|ascii|latex|markdown|json]
    symnet derive "x*exp(x**2)" --wrt x [--at x=1] [--mode reverse|forward|both]
    symnet graph NAME -o graph.svg
    symnet docs [--check]
    symnet verify "log(exp(a) + exp(b))" [--wrt a] [--dtype float32,float64] [--backend numpy,triton] [--max-ulp N] [--timeout S]
    symnet train xor|digits|rnn|miles|perceptron [--backend numpy|torch|triton|triton-fused] [--epochs N] ...

Bad input (unknown name, unparseable formula, unknown variable, a point where the
derivative does not exist or a value is not a finite real number, a value beyond the size
limits) prints one line to stderr and exits with status 2. Where stdout cannot encode
Unicode (``PYTHONIOENCODING=ascii``), characters it lacks are written as ``\\uXXXX``
escapes instead of failing.
"""
from __future__ import annotations

import argparse
import codecs
import functools
import os
import re
import sys
import warnings
from pathlib import Path

from . import __version__
from .errors import SymnetError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a program stopped by Ctrl-C
TIME_LIMIT = 60.0  # seconds for a user's formula: derive, check and render it
_NAME_LIKE = re.compile(r"^[^\W\d_][\w-]*$")  # a letter first, any script's (ѕoftsign with a Cyrillic ѕ)


def _name_like(text: str) -> bool:
    """Whether ``text`` reads as one name (a derivation's, a variable's), also once the parser has read the
    signs printouts use: ``x²`` matched _NAME_LIKE (² is a \\w character) and was refused as an unknown
    derivation, though the parser reads it as x**2 (session 33)."""
    from .parsing import normalise

    return bool(_NAME_LIKE.match(text)) and bool(_NAME_LIKE.match(normalise(text)))


def _listed(text: str, what: str | None = None) -> tuple:
    """The names in ``text``, split at commas and white space (``--wrt x,y``, ``--dtype "float32 float64"``), empty
    ones dropped; with ``what``, an option that must name something: "--``what`` names nothing" where it names none."""
    items = tuple(t for t in re.split(r"[,\s]+", text) if t)
    if not items and what is not None:
        raise SymnetError(f"--{what} names nothing")
    return items


def _folded_name(text: str) -> str:
    """A name-like ``text`` (a derivation's or a function's name, given bare) in Unicode NFKC form, with the parser's
    one-line warning where that changes it: ``symnet derive ｓｉｇｍｏｉｄ`` (fullwidth letters, pasted) was "unknown
    derivation" and ``ｐｒｅｌｕ`` missed session 39's bare-name hint, where a formula's ``ｘ`` is read as x
    (break40). Only where the parser reads ``text`` as that name too (x² is x**2 to it, NFKC's x2 a variable); any
    other text as it is: the parser folds a formula's names itself."""
    import unicodedata

    from .parsing import _say_renamed, normalise

    folded = unicodedata.normalize("NFKC", text)
    if folded == text or normalise(text) != folded or not (folded.isascii() and _NAME_LIKE.match(folded)):
        return text
    _say_renamed({text: folded})
    return folded


def main(argv: list[str] | None = None) -> int:
    _escape_what_stdout_cannot_encode()
    parser = _parser()
    argv, formulas = _formulas_as_positionals(sys.argv[1:] if argv is None else list(argv))
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:  # one line, not argparse's usage block (see 'symnet COMMAND --help' for that)
        message = str(exc)
        for spaced, formula in formulas.items():  # the formula as typed, without the space added for argparse
            message = message.replace(spaced, formula)
        print(f"{_command_help(argv, message)}{_dash_hint(argv, message)}", file=sys.stderr)
        return EXIT_USAGE
    for key, value in vars(args).items():  # the formula as typed, without the space added below
        if isinstance(value, str) and value in formulas:
            setattr(args, key, formulas[value])
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    if args.run in (_derive, _graph) and not args.target and not getattr(args, "list", False) and _dash_hint(argv):
        print(f"symnet: error: name a derivation or give a formula (see 'symnet derive --list'){_dash_hint(argv)}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        formatwarning = warnings.formatwarning
        warnings.formatwarning = _one_line_warning({}, formatwarning)
        try:
            return args.run(args)
        finally:
            warnings.formatwarning = formatwarning
    except SymnetError as exc:
        print(f"symnet: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `symnet derive backprop | head`
        return 0
    except KeyboardInterrupt:  # Ctrl-C in a long verify, derive, codegen or docs (train says more itself)
        print("symnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, MemoryError):
        print("symnet: error: the input needs more memory or recursion than is available",
              file=sys.stderr)
        return EXIT_USAGE


def _formulas_as_positionals(argv: list[str]) -> tuple[list[str], dict]:
    """`symnet derive "-x*y"`: argparse takes an argument starting with '-' for an option
    ("unrecognized arguments: -x*y"). After derive, graph or verify, one that is not an option
    (-h, -o…, --…) is a formula: given to argparse with a leading space, which it takes as a
    positional; the space is removed again after parsing."""
    if not argv or argv[0] not in ("derive", "graph", "verify"):
        return argv, {}
    out, formulas = argv[:1], {}
    for i, a in enumerate(argv[1:], 1):
        if "--" in argv[1:i]:  # after `--` every argument is positional already
            out.append(a)
        elif a.startswith("-") and len(a) > 1 and a[1] != "-" and (any(c in a for c in "()*/+^ ") or not _an_option(argv[0], a)):
            formulas[" " + a] = a
            out.append(" " + a)
        elif a.startswith("--") and a != "--" and not _a_long_option(argv[0], a) \
                and not _a_misspelt_option(argv[0], a):  # "--x" is −(−x), "--(x)" too
            formulas[" " + a] = a
            out.append(" " + a)
        else:
            out.append(a)
    return out, formulas


@functools.lru_cache(maxsize=None)
def _long_options(command: str) -> dict[str, bool]:
    """The long options ``command``'s parser takes (--help, --wrt, …; symnet's own --version too), each with
    whether it takes a value."""
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {o: action.nargs != 0 for action in sub.choices[command]._actions for o in action.option_strings
               if o.startswith("--")}
    return {**options, "--version": False}


def _a_long_option(command: str, argument: str) -> bool:
    """Whether ``argument`` (starting '--') is one of ``command``'s long options, or an abbreviation argparse
    takes for one (--form for --format), with or without '=VALUE'. "--x" and "--x*y" are not: formulas
    (−(−x)), where argparse said "unrecognized arguments: --x" (session 32's new user)."""
    name = argument.split("=", 1)[0]
    return bool(re.fullmatch(r"--[A-Za-z][\w-]*", name)) and any(o.startswith(name) for o in _long_options(command))


def _a_misspelt_option(command: str, argument: str) -> str | None:
    """The option of ``command`` that ``argument`` ("--stabel", "--wrtt=x") is a near miss of, else None: such an
    argument stays an option, which argparse refuses as unrecognized (a formula −(−stabel) would be a surprise).
    None for an option itself or an abbreviation argparse takes: `symnet docs --check extra` said "--check is not an
    option of symnet docs: did you mean --check?" (break41; derive's --wrt likewise), where extra was refused."""
    import difflib

    name = argument.split("=", 1)[0]
    if not re.fullmatch(r"--[A-Za-z][A-Za-z-]*", name) or _a_long_option(command, name):
        return None
    close = difflib.get_close_matches(name, [o for o in _long_options(command) if o != "--version"], n=1, cutoff=0.75)
    return close[0] if close else None


# options a user who brings their own model reaches for, which symnet train has none of
_MODEL_OPTIONS = {"--activation", "--act", "--loss", "--hidden", "--layers", "--sizes", "--optimizer", "--optim",
                  "--formula", "--model"}


def _command_help(argv: list[str], message: str) -> str:
    """argparse's "unrecognized arguments" comes from the top-level parser even where a command's option is meant,
    so it said "(see 'symnet --help')", whose help lists no command's options (session 37's new user, `symnet train
    digits --activation selu`): name the command's help instead, and a close option where there is one (train's
    --epoch for --epochs; derive, graph and verify name theirs in _dash_hint)."""
    if not argv or "unrecognized arguments" not in message or not message.startswith("symnet: error:"):
        return message
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    if argv[0] not in sub.choices:
        return message
    message = message.replace("(see 'symnet --help')", f"(see 'symnet {argv[0]} --help')")
    given = {a.split("=", 1)[0] for a in argv[1:] if a.startswith("--")}
    if argv[0] == "train" and given & _MODEL_OPTIONS:
        # `symnet train xor --activation tanh` was told only to see the help (session 38's new user)
        return (f"{message}; symnet train's networks are the lecture's, fixed: to train your own activation, loss "
                "or layers use symnet.torch (from_formula, st.nn) in a PyTorch loop, or symnet.torch.optim.FusedStep "
                "(README: 'Training on the generated kernels')")
    if argv[0] not in ("derive", "graph", "verify"):
        for a in argv[1:]:
            close = a.startswith("--") and _a_misspelt_option(argv[0], a)
            if close:
                return f"{message}; {a.split('=', 1)[0]} is not an option of symnet {argv[0]}: did you mean {close}?"
    return message


def _dash_hint(argv: list[str], message: str | None = None) -> str:
    """How to give as a formula an argument of derive, graph or verify that was read as an option: one of the
    options with a value named in argparse's ``message`` ("argument --wrt: expected one argument": `symnet
    derive --wrt`), or, with no message (no formula was given), a flag (`symnet derive --s` is --stable).
    "" where there is none."""
    if not argv or argv[0] not in ("derive", "graph", "verify") or "--" in argv:
        return ""
    options = _long_options(argv[0])
    for a in argv[1:]:
        if message and "unrecognized arguments" in message and a.startswith("--") and _a_misspelt_option(argv[0], a):
            return (f"; {a.split('=', 1)[0]} is not an option of symnet {argv[0]} (did you mean "
                    f"{_a_misspelt_option(argv[0], a)}?); for the formula {a}, write symnet {argv[0]} -- {a}")
        if not a.startswith("--") or "=" in a or not _a_long_option(argv[0], a):
            continue
        option = next(o for o in options if o.startswith(a))
        if option in ("--help", "--version"):
            continue
        if (f"{option}: expected one argument" in message) if message else not options[option]:
            return (f"; {a} was read as the option {option}: for the formula {a}, write symnet {argv[0]} -- {a}, "
                    f"or ' {a}' with a space first")
    return ""


class _UsageError(Exception):
    """argparse's complaint about a command line, as one line (:class:`_Parser`)."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line ("symnet derive: error: argument --wrt: expected one
    argument (see 'symnet derive --help')") instead of its usage block and then the error."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _an_option(command: str, argument: str) -> bool:
    """Whether ``argument`` (one '-' then no operator) is an option of ``command``: -h, and graph's -o and
    -oFILE. "-hx" and derive's or verify's "-ox" are formulas (−hx, −ox): argparse refused them before."""
    return argument == "-h" or (command == "graph" and argument.startswith("-o"))


def _one_line_warning(seen: dict, other):
    """A ``warnings.formatwarning`` for the command line: each distinct warning of symnet's own
    (every one starts "symnet ...") once, as one ``symnet: warning: ...`` line, not Python's
    file:line and source-line format; any other library's through ``other``. Only the format
    is replaced, so ``pytest.warns`` and ``-W error`` still see every warning."""
    def format_(message, category, filename, lineno, line=None):
        text = str(message)
        if not text.startswith("symnet "):
            return other(message, category, filename, lineno, line)
        if text in seen:
            return ""
        seen[text] = True
        return f"symnet: warning: {text}\n"
    return format_


def _escape_what_stdout_cannot_encode() -> None:
    """Write ``\\u2202`` rather than fail with UnicodeEncodeError on a non-UTF stdout."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        utf = codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        utf = False
    if not utf and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")


def _write(text: str) -> None:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        print(f"symnet: note: stdout's encoding ({encoding}) lacks some of the symbols; they are "
              "written as \\u escapes (set PYTHONIOENCODING=utf-8 to see them)", file=sys.stderr)
    sys.stdout.write(text)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="symnet", description="Neural-network gradients derived "
                                "symbolically and printed step by step.")
    p.add_argument("--version", action="version", version=f"symnet {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    d = sub.add_parser("derive", help="print a derivation step by step",
                       description="Print a named curriculum derivation, or derive your own formula.")
    d.add_argument("target", nargs="?", metavar="NAME|FORMULA",
                   help="a name from --list, or a formula such as 'x*exp(x**2)' (one starting with '-' too, "
                        "'-x*y', '--x'; after -- where it would read as an option: symnet derive -- --s)")
    d.add_argument("--list", action="store_true", help="list the named derivations")
    d.add_argument("--wrt", help="variables to differentiate with respect to, e.g. 'x,y' (default: all)")
    d.add_argument("--at", help="a point, e.g. 'x=1,y=0.5': show every value there")
    d.add_argument("--mode", choices=("reverse", "forward", "both"), default="reverse",
                   help="reverse mode (backprop, default), forward mode, or both side by side")
    d.add_argument("--format", choices=("text", "ascii", "latex", "markdown", "json"), default="text",
                   help="text (default, unicode for a terminal), ascii (the same in plain ASCII: a text-only LMS, "
                        "an email), latex (a fragment for a document "
                        "with amsmath and amssymb), markdown (notes: $$ math), json (SymPy-parsable)")
    d.add_argument("--stable", action="store_true",
                   help="add the numerically stable forms the code generator uses, and which rule fired; "
                        "for your own formula also measure the generated code's hazards against mpmath "
                        "(tens of seconds)")
    d.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                   help=f"give up on your own formula after this long (default {TIME_LIMIT:g}; 0: no limit); "
                        "--stable's hazard measurement has as long again, counted in CPU seconds of this process "
                        "(not the wall clock, so a loaded machine does not cut it short), and is left out with "
                        "a warning when it runs out")
    d.set_defaults(run=_derive)

    g = sub.add_parser("graph", help="draw a derivation's computational graph",
                       description="Write the computational graph (values on nodes, local "
                       "partials on edges) as DOT, or as SVG/PNG where Graphviz is installed.")
    g.add_argument("target", metavar="NAME|FORMULA",
                   help="a name from 'symnet derive --list', or a formula such as 'x*exp(x**2)'")
    g.add_argument("-o", "--output", help="file to write (.dot, .svg, .png); default: DOT to stdout")
    g.add_argument("--wrt", help="variables to differentiate with respect to, e.g. 'x,y' (default: all)")
    g.add_argument("--at", help="a point, e.g. 'x=1,y=0.5': values on the nodes, partials on the edges")
    g.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                   help=f"give up on your own formula after this long (default {TIME_LIMIT:g}; 0: no limit)")
    g.set_defaults(run=_graph)

    k = sub.add_parser("codegen", help="regenerate the committed kernels under kernels/",
                       description="Emit the generated kernel modules from their derivations.")
    k.add_argument("--backend", choices=("numpy", "triton"), default="numpy", help="numpy (default) or triton")
    k.add_argument("--out", default="kernels", help="folder (default: kernels)")
    k.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    k.set_defaults(run=_codegen)

    v = sub.add_parser("verify", help="measure a formula's accuracy in ULPs, or check every generated kernel",
                       description="With a FORMULA: the worst error in ULPs of its generated value and "
                       "gradients against mpmath at 50 digits (random and extreme points), per dtype and "
                       "backend, beside torch autograd of the formula as written and torch's built-in; exit "
                       "status 1 past the bound. Without: every committed kernel against its formula in "
                       "mpmath (float64 and float32), and every gradient against finite differences and "
                       "torch.autograd (if installed).")
    v.add_argument("formula", nargs="?", metavar="FORMULA", help="a formula such as 'log(exp(a) + exp(b))'")
    v.add_argument("--wrt", help="with FORMULA: the variables of the gradients (default: all)")
    v.add_argument("--dtype", default=None, help="with FORMULA: dtypes (default float32,float64)")
    v.add_argument("--backend", default=None,
                   help="numpy (default) or triton; with FORMULA a list, e.g. numpy,triton, and the NumPy code is "
                   "measured whatever is listed (triton adds its column). triton: on a GPU, or "
                   "under TRITON_INTERPRET=1 (set for you where no GPU is visible; its figures are then shown, "
                   "not held to the bound)")
    v.add_argument("--max-ulp", type=float, metavar="N",
                   help="with FORMULA: the bound in ULPs (default 4 for float64, 8 for float32)")
    v.add_argument("--points", type=int, default=None, metavar="N", help="with FORMULA: random points besides the "
                   "extremes (default 60)")
    v.add_argument("--kernels", default=None, help="folder of the committed kernels (default: kernels, else "
                   "the copy installed with symnet, which load_kernel runs; where there is neither, freshly "
                   "generated ones are checked)")
    v.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="with FORMULA: stop after this many seconds of the wall clock (not CPU time: a machine "
                   "busy with other work gets less measured in them), naming what was being measured (default "
                   "120; 0: no limit)")
    v.set_defaults(run=_verify)

    t = sub.add_parser("train", help="train one of the lecture's networks on the generated kernels",
                       description="Train one of the lecture's networks. The numpy backend (default) "
                       "runs only kernels symnet generated from its derivations, triton the generated "
                       "Triton kernels (a GPU, or TRITON_INTERPRET=1), triton-fused the generated "
                       "whole-step kernels (one launch an epoch: xor, digits, rnn); torch is plain PyTorch autograd on "
                       "the same model, the reference. Unset hyper-parameters take the task's defaults "
                       "(shown by --list).")
    t.add_argument("task", nargs="?", metavar="TASK", help="miles, perceptron, xor, digits or rnn")
    t.add_argument("--list", action="store_true", help="list the tasks with their defaults")
    t.add_argument("--backend", default="numpy", help="numpy (default), torch, triton (per-layer kernels) or triton-fused (one launch an epoch)")
    t.add_argument("--epochs", type=int, help="passes over the training data")
    t.add_argument("--lr", type=float, help="learning rate α in w ← w − α·∂J/∂w")
    t.add_argument("--batch", type=int, help="examples per mini-batch")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights and the batches (default 0)")
    t.add_argument("--plot", metavar="FILE.png", help="write the loss curve and the task's figure")
    t.add_argument("--checkpoint", metavar="FILE", help="save the run here as it trains (atomically and durably; "
                   "the per-epoch history goes to FILE.history.jsonl beside it)")
    t.add_argument("--save-every", type=float, default=1.0, metavar="SECONDS",
                   help="with --checkpoint: save at most this often (default 1; 0: after every epoch); "
                   "the last epoch, and the last good one when training stops early, are always saved")
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint up to --epochs")
    t.add_argument("--json", action="store_true", help="print the final metrics as JSON only")
    t.add_argument("--compare", action="store_true",
                   help="digits: also train scikit-learn's MLPClassifier and the torch backend; side by side")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=_train)

    c = sub.add_parser("docs", help="write the derivation pages under docs/derivations",
                       description="Regenerate one Markdown page per derivation.")
    c.add_argument("--out", default="docs/derivations", help="folder (default: docs/derivations)")
    c.add_argument("--check", action="store_true", help="only report stale pages (exit 1 if any)")
    c.set_defaults(run=_docs)
    return p


PROGRESS_AFTER_S = 1.0  # a task that takes longer shows a progress line on a terminal


def _progress(label: str, stream=None, after: float = PROGRESS_AFTER_S, every: float = 0.5,
              cpu_limit: float | None = None):
    """``symnet: LABEL … N s`` on stderr while a block runs longer than ``after`` seconds, only
    where stderr is a terminal (:func:`symnet.progress.progress`, shared with the Python API)."""
    from .progress import progress

    return progress(label, None, stream, after, every, cpu_limit)


def _limited(args, message: str | None = None, cpu: bool = False):
    """A time limit for deriving and printing a user's formula (named derivations are ours): of the wall
    clock, which bounds how long a hostile formula holds the command (tests/test_bounded.py); ``cpu``: in
    CPU seconds of this process (:class:`symnet.bounds.cpu_alarm`), for the hazard measurement, whose work
    is bounded and which a wall-clock limit cut short on a loaded machine (60 s were 6.5 CPU s at a load
    of 9, so whether the table was printed depended on what else the machine ran)."""
    from . import curriculum
    from .bounds import time_limit

    if args.target in curriculum.names() or not args.time_limit:
        return time_limit(None)
    if not args.time_limit >= 0:  # negative, or nan
        raise SymnetError("--time-limit must be a number of seconds, or 0 for none")
    # the formula named as written (session 38: from_formula's line named its parsed Piecewise, this one nothing)
    return time_limit(args.time_limit, message or f"the formula {_short(args.target, 60)} took longer than "
                      f"{args.time_limit:g} s (wall clock) "
                      f"to derive and print (raise it with --time-limit {2 * args.time_limit:g}, or 0 for no limit)",
                      cpu=cpu)


def _with_hazards(args, d):
    """``d`` with the measured hazards of its generated code (``--stable`` on a user's formula), under
    a time limit of its own: the measurement takes tens of seconds (more on a loaded machine), and
    used to share the limit with deriving, so a formula derived in a second failed as a whole
    ("took longer than 60 s to derive and print"). Run out, the table is left out with a warning.
    The limit counts the process's CPU time, not the wall clock: on a machine loaded by other work a
    wall-clock 60 s ran out after 6.5 CPU s of measuring (session 22), so the table came and went with
    the load."""
    import dataclasses
    import shlex

    from .derivation import Section
    from .errors import LimitError
    from .verify.hazard import hazard_section

    title = "Measured hazards of the generated code"
    message = (f"measuring the hazards took longer than {args.time_limit:g} s of CPU time (its limit is "
               f"--time-limit's, counted in CPU seconds: raise it with --time-limit {2 * args.time_limit:g}, or 0 "
               f"for no limit; or measure with symnet verify {shlex.quote(args.target)})")
    try:
        with _limited(args, message, cpu=True), _progress(f"measuring the hazards of {_short(args.target)}",
                                                                cpu_limit=args.time_limit):
            section = hazard_section(d)
    except LimitError as e:
        if str(e) != message:  # another limit (a value at a point): not the clock's
            raise
        print(f"symnet: warning: {message}; the hazard table is left out", file=sys.stderr)
        section = Section(title, (), f"Not measured: {message}.")
    return dataclasses.replace(d, sections=d.sections + (section,))


def _short(text: str | None, limit: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + "…"


def _applied(name: str) -> str:
    """The registry function ``name`` applied to its arguments, options left at their defaults (an
    option goes by position, never by name): ``mish(x)``, ``huber(x, t)``, ``max(a, b)``."""
    import inspect

    from .parsing import FUNCTIONS

    fewest = max(FUNCTIONS[name].arity[0], 1)
    try:
        params = [p.name for p in inspect.signature(FUNCTIONS[name].build).parameters.values()
                  if p.default is p.empty and p.kind is not p.VAR_POSITIONAL]
    except (TypeError, ValueError):
        params = []
    params = params[:fewest] if len(params) >= fewest else ["x", "y", "z", "w"][:fewest] if fewest > 1 else ["x"]
    params = ["x" if p == "arg" else p for p in params]  # tanh(x), not SymPy's tanh(arg)
    if name in ("max", "min") or len(params) < fewest:
        params = ["a", "b", "c"][:fewest]
    if name == "where":  # its first argument is a comparison
        params = ["x > 0", "a", "b"]
    return f"{name}({', '.join(params)})"


def _close_function(name: str) -> str:
    """" (did you mean softsign(x)?)" where ``name`` is a near miss of a registry function written bare
    (``softsighn``; ``SOFTSIGN`` and ``ѕoftsign`` with a Cyrillic ѕ too: compared in lower case, NFKC, the
    Cyrillic letters drawn as Latin ones read as those), else ""."""
    import difflib
    import unicodedata

    from .parsing import _LOOK_ALIKES, FUNCTIONS

    folded = unicodedata.normalize("NFKC", name).translate(_LOOK_ALIKES).lower()
    lower = {n.lower(): n for n in reversed(list(FUNCTIONS))}  # ABS: abs, the registry's first spelling
    close = [lower[folded]] if folded in lower else \
        [lower[c] for c in difflib.get_close_matches(folded, list(lower), n=2, cutoff=0.75)]
    return f" (did you mean {' or '.join(_applied(c) for c in close)}?)" if close else ""


def _lone_name_hint(target: str, wrt: str | None, at: str | None, command: str) -> str | None:
    """The line for a formula that is one name, written where a function was meant, while ``--wrt`` or ``--at``
    name other variables (``symnet verify prelu --wrt x``, ``symnet derive sigmod --wrt x``): the bare-name
    hint that the name alone gets, or the close registry function; None where the name is itself among those
    variables (``--wrt prelu`` measures the variable on purpose) or nothing is to be said. Before (session 40):
    "'x' does not appear in the formula (its inputs: prelu)", the hint left out."""
    from .parsing import FUNCTIONS, bare_name_hint, parse_point, parse_symbols

    if not _name_like(target) or "-" in target or target in FUNCTIONS or not (wrt or at):  # mish: "write mish(…)"
        return None
    try:
        named = [s.name for s in parse_symbols(wrt)] if wrt else []
        named += [s.name for s in parse_point(at)] if at else []
    except SymnetError:  # a bad --wrt or --at: its own error comes next
        return None
    if not named or target in named:
        return None
    written = bare_name_hint(target, command) or _close_function(target).strip(" ()")
    if not written:
        return None
    option = "--wrt" if wrt else "--at"
    return f"'{target}' is one variable, not a formula, and {option} names {', '.join(named)}: {written}"


def _resolve(target: str | None, wrt: str | None, at: str | None, mode: str = "reverse"):
    from . import curriculum
    from .engine import derive
    from .parsing import parse_expression, parse_point, parse_symbols

    # ' prelu' was derived as the variable prelu, and 'prelu\n' (a pasted line) matched _NAME_LIKE ($ before a final
    # newline) and was echoed in a two-line error without the bare-name hint (break39): read as verify reads it
    target = _folded_name(target.strip()) if target else target
    if not target:
        raise SymnetError("name a derivation or give a formula (see 'symnet derive --list')")
    if target in curriculum.names():
        if wrt or at or mode != "reverse":
            raise SymnetError(f"'{target}' is a named derivation: --wrt, --at and --mode apply to "
                              "your own formulas")
        return curriculum.get(target)
    from .rowwise_registry import ROW_REGISTRY
    if target in ROW_REGISTRY and not (wrt or at or mode != "reverse"):  # a row-wise function: its derivation
        return ROW_REGISTRY[target].derivation()
    from .parsing import MAX_LENGTH
    if len(target) > MAX_LENGTH:  # no derivation has such a name: the formula's limit, not a 100 kB name echoed twice
        parse_expression(target)
    if _name_like(target) and ("-" in target or (wrt is None and not at)):
        try:
            curriculum.get(target)  # raises the unknown-name error, with a suggestion
        except SymnetError as exc:
            hint = "" if "-" in target or "did you mean" in str(exc) else \
                (_close_function(target) or f" (to differentiate the formula {target}, add --wrt)")
            from .parsing import FUNCTIONS, bare_name_hint
            written = bare_name_hint(target)
            if written:  # `symnet derive prelu`: "did you mean relu(x)?" where prelu needs (x, a) (session 39)
                raise SymnetError(f"unknown derivation '{target}'; {written}") from None
            if target in FUNCTIONS:  # `symnet derive mish`: a function of the registry, without its arguments
                hint = f" ({target} is a function of the registry: write it applied, symnet derive \"{_applied(target)}\")"
            raise SymnetError(f"{exc}{hint}") from None
    lone = _lone_name_hint(target, wrt, at, "derive")
    if lone:
        raise SymnetError(lone)
    expr = parse_expression(target)
    variables = parse_symbols(wrt) if wrt is not None else None
    point = parse_point(at) if at else None
    if point is not None:  # a partial point would print a Values section without the results
        missing = sorted({s.name for s in expr.free_symbols} - {s.name for s in point})
        if missing:
            raise SymnetError(f"--at gives no value for {', '.join(missing)}: give every variable "
                              f"(e.g. --at {','.join(f'{s.name}=1' for s in sorted(expr.free_symbols, key=str))})")
    # titled as symnet.derive titles text: the formula as the steps print it (x²·sin(x)), or as
    # written where it calls a function the parser writes out (log_cosh(p, t))
    return derive(target, variables, mode=mode, at=point)


def _derive(args) -> int:
    from .curriculum import catalog

    if args.list:
        names = catalog()
        width = max(map(len, names))
        for name, summary in names.items():
            print(f"{name.ljust(width)}  {summary}")
        return 0
    from . import curriculum

    # a named derivation's printout does not depend on the user: kept on disk after its first
    # build (symnet.curriculum), so a repeated `symnet derive NAME` only reads it
    named = args.target in curriculum.ORDER and not (args.wrt or args.at or args.mode != "reverse")
    kind = args.format + ("stable" if args.stable else "")
    text = curriculum.cached_text(args.target, kind) if named else None
    if text is None:  # only now the engine and the printers are loaded (tests/test_startup.py)
        from .render import render

        with _limited(args), _progress(f"deriving {_short(args.target)}"):
            d = _resolve(args.target, args.wrt, args.at, args.mode)
            if args.stable:
                import dataclasses

                from .codegen.ir import describe, stability_section

                import shlex

                from .errors import LimitError

                try:
                    section = stability_section(describe(d))
                except LimitError:  # --time-limit ran out while the stable forms were built: say that, not
                    raise  # "has none" (session 28's user: a written 2-class KL at --time-limit 2 read so)
                except SymnetError as exc:  # `derive perceptron --stable`: "a kernel needs at least one output"
                    again = (f"'symnet derive {shlex.quote(args.target)}'" if len(args.target) <= 60
                             else "symnet derive FORMULA")  # a command that can be copied, not one cut with …
                    raise SymnetError(f"--stable shows the stable forms of a derivation's elementwise generated "
                                      f"code, and {_short(args.target)!r} has none ({exc}); without --stable, "
                                      f"{again} prints the derivation") from None
                d = dataclasses.replace(d, sections=d.sections + (section,))
        if args.stable and args.target not in curriculum.ORDER:  # your own formula: its hazards measured
            d = _with_hazards(args, d)
        with _limited(args):
            text = render(d, args.format)
        if named:
            curriculum.store_text(args.target, kind, text)
    _write(text)
    return 0


def _graph(args) -> int:
    from .graph import check_output, to_dot, write_graph

    if args.output:
        check_output(args.output)  # a suffix, folder or Graphviz that cannot be used: said before deriving
    with _limited(args), _progress(f"deriving {_short(args.target)}"):
        d = _resolve(args.target, args.wrt, args.at)
        if args.output:
            path = write_graph(d, args.output)
            print(f"wrote {path}")
            return 0
        text = to_dot(d)
    _write(text)
    return 0


def _folder(path: str, option: str, *, writing: bool, hint: str = "") -> Path:
    """The folder an option names, checked before any work is done: a path that is a file, a
    folder that cannot be read (or written, ``writing``) or, to read, one that does not exist is
    one line naming the option and the problem (it was ignored, or failed late with a traceback:
    ``symnet verify --kernels /nonexistent`` checked freshly generated kernels and passed). To
    write, a missing folder is created where its nearest existing parent is a writable folder.
    ``hint``: what to do where a folder to read is missing (said after the folder it looked in)."""
    folder = Path(path)
    if not str(path).strip():
        raise SymnetError(f"{option} names no folder")
    if folder.exists() and not folder.is_dir():
        raise SymnetError(f"{option} {path}: not a folder (it is a file)")
    if not folder.exists():
        if not writing:
            raise SymnetError(f"{option} {path}: no such folder" + (f" in {Path.cwd()}: {hint}" if hint else ""))
        parent = next((f for f in folder.absolute().parents if f.exists()), None)
        if parent is None or not parent.is_dir():
            raise SymnetError(f"{option} {path}: {parent} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise SymnetError(f"{option} {path}: cannot create it in {parent} (no permission)")
        return folder
    if not os.access(folder, os.R_OK | os.X_OK):
        raise SymnetError(f"{option} {path}: the folder cannot be read (no permission)")
    if writing and not os.access(folder, os.W_OK):
        raise SymnetError(f"{option} {path}: the folder cannot be written (no permission)")
    return folder


def _codegen(args) -> int:
    from .codegen.blocks import stale_sources, write_sources

    _folder(args.out, "--out", writing=not args.check, hint=_CHECK_HINT.format(command="symnet codegen"))
    where = Path(args.out) / args.backend
    if args.check:
        _committed_folder(where, "symnet codegen", f"--out (the folder holding {args.backend}/)")
        with _progress(f"checking the {args.backend} kernels"):  # a minute or two, silent before
            stale = stale_sources(args.out, args.backend)
        if stale:
            print(f"stale kernels in {where}: {', '.join(stale)} (run 'symnet codegen')", file=sys.stderr)
            return 1
        print(f"{where}: up to date")
        return 0
    with _progress(f"generating {args.backend} kernels"):
        written = write_sources(args.out, args.backend)
    print(f"{len(written)} file(s) written to {where}" if written else f"{where}: up to date")
    return 0


def _verify(args) -> int:
    from .verify.kernels import format_table, verify_numpy

    if args.formula is not None:
        return _verify_formula(args)
    given = [option for option, value in (("--wrt", args.wrt), ("--dtype", args.dtype), ("--max-ulp", args.max_ulp),
                                          ("--points", args.points), ("--timeout", args.timeout)) if value is not None]
    if args.kernels is not None:
        _folder(args.kernels, "--kernels", writing=False)
    if given:  # they would be ignored silently: the committed kernels are checked at fixed settings
        verb = "applies" if len(given) == 1 else "apply"
        raise SymnetError(f"{', '.join(given)} {verb} only with a FORMULA (symnet verify 'softsign(x)' {given[0]} ...); "
                          "without one every committed kernel is checked as it is")
    if args.backend is None:
        args.backend = "numpy"
    if args.backend not in ("numpy", "triton"):
        raise SymnetError(f"unknown backend {args.backend!r}; available: numpy, triton")
    folder = Path("kernels" if args.kernels is None else args.kernels)
    if args.kernels is not None:  # named: every module must be there, not silently generated afresh
        from .codegen.blocks import BLOCKS

        if not (folder / args.backend).is_dir():
            raise SymnetError(f"--kernels {args.kernels}: no {args.backend}/ folder in it (write one with "
                              f"symnet codegen --backend {args.backend} --out {args.kernels})")
        missing = [f"{b.module}.py" for b in BLOCKS if not (folder / args.backend / f"{b.module}.py").is_file()]
        if missing:
            raise SymnetError(f"--kernels {args.kernels}: {args.backend}/ lacks {', '.join(missing)} (write them "
                              f"with symnet codegen --backend {args.backend} --out {args.kernels})")
    if args.kernels is None and not (folder / args.backend).is_dir():  # outside a checkout: the installed copy,
        from .kernels import kernel_folder  # the kernels load_kernel runs (before, fresh ones were generated)

        try:
            folder = kernel_folder(args.backend).parent
        except SymnetError:
            pass
    if args.backend == "triton":
        from .verify.kernels_triton import verify_triton
        with _progress("checking the Triton kernels"):  # half a minute and more under the interpreter
            results = verify_triton(folder if (folder / "triton").is_dir() else None)
        print(format_table(results))
        return 0 if all(r.passed for r in results) else 1
    if not (folder / args.backend).is_dir():
        print(f"note: no {folder / args.backend}; checking freshly generated kernels", file=sys.stderr)
    with _progress("checking the NumPy kernels"):  # 30 s here, silent before on a terminal
        results = verify_numpy(folder if (folder / args.backend).is_dir() else None)
    print(format_table(results))
    return 0 if all(r.passed for r in results) else 1


def _verify_formula(args) -> int:
    from . import curriculum
    from .verify import verify

    if args.kernels is not None:  # ignored silently before: a formula's code is generated, not read from a folder
        raise SymnetError("--kernels applies only without a FORMULA (symnet verify --kernels FOLDER checks the "
                          "committed kernels there); a formula's code is generated afresh")
    args.formula = _folded_name(args.formula.strip())  # ｐｒｅｌｕ: prelu's hint, as derive's (break40)
    if args.formula.strip() in curriculum.names():  # would be measured as a variable (f = backprop)
        raise SymnetError(f"'{args.formula.strip()}' is a named derivation, not a formula: symnet verify "
                          "takes a formula such as 'softsign(x)'; without one it checks every committed kernel")
    name = args.formula.strip()
    from .rowwise_registry import ROW_REGISTRY

    if name in ROW_REGISTRY and (args.wrt is None or name not in _listed(args.wrt)):
        # `symnet verify log_softmax` measured f = log_softmax, a variable, and said "pass" (session 40); with
        # --wrt x, "'x' does not appear" (review40): a row-wise function is no elementwise formula
        raise SymnetError(f"'{name}' is a row-wise function of symnet's registry (a whole row), not a formula: "
                          f"symnet verify takes an elementwise formula (a few terms written out, such as "
                          f"'log(exp(a) + exp(b) + exp(c))', are one); python3 benchmarks/accuracy.py --rows "
                          f"measures the row-wise functions, and symnet derive {name} prints the derivation")
    from .parsing import FUNCTIONS, bare_name_hint

    written = bare_name_hint(name, "verify") if args.wrt is None else _lone_name_hint(name, args.wrt, None, "verify")
    if written and args.wrt is not None:  # `symnet verify prelu --wrt x`: "'x' does not appear…" (session 40)
        raise SymnetError(written)
    if written:  # `symnet verify prelu` was "did you mean relu(x)?", as derive's was (session 39)
        raise SymnetError(f"'{name}' is one variable, not a formula: {written}")
    if (_name_like(name) and "-" not in name and name not in FUNCTIONS and args.wrt is None
            and _close_function(name)):
        # `symnet verify softsighn` measured f = softsighn, a variable, and said "pass"
        raise SymnetError(f"'{name}' is one variable, not a formula{_close_function(name)}: f = {name} has "
                          f"gradient 1, nothing to measure (to measure it anyway, add --wrt {name})")

    if args.max_ulp is not None and not args.max_ulp >= 0:
        raise SymnetError("--max-ulp must be a number of ULPs ≥ 0")
    if args.dtype is None:
        args.dtype = "float32,float64"
    if args.points is None:
        args.points = 60
    from .verify.measure import MAX_POINTS

    if not 0 <= args.points <= MAX_POINTS:
        raise SymnetError(f"--points must be between 0 and {MAX_POINTS}")
    from .verify.budget import DEFAULT_TIMEOUT

    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if not timeout >= 0:  # negative, or nan
        raise SymnetError("--timeout must be a number of seconds, or 0 for none")
    from .verify.budget import VerifyTimeoutError

    try:
        with _progress(f"measuring {_short(args.formula)}"):  # up to --timeout (120 s) of 50-digit references
            report = verify(args.formula, args.wrt, dtypes=_listed(args.dtype, "dtype"),
                            backends=_listed("numpy" if args.backend is None else args.backend, "backend"), n=args.points, max_ulp=args.max_ulp,
                            timeout=timeout)
    except VerifyTimeoutError as e:  # what was measured before the budget ran out, then the error line
        if getattr(e, "partial", None) is not None:
            _write(str(e.partial))
        raise
    _write(str(report))
    return 0 if report.passed else 1


def _train(args) -> int:
    import json

    from .training import TASKS, TrainingDiverged, TrainingInterrupted, get_task, train

    if args.list or not args.task:
        for name in TASKS:
            task = get_task(name)
            d = task.defaults
            print(f"{name:<11} {task.summary}\n{'':<11} defaults: --epochs {d['epochs']} --lr {d['lr']} "
                  f"--batch {d['batch']}; backends: {', '.join(task.backends)}")
        return 0 if args.list else EXIT_USAGE
    if args.compare and args.task != "digits":
        raise SymnetError("--compare is for the digits task (scikit-learn and torch side by side)")
    try:
        result = train(args.task, args.backend, epochs=args.epochs, lr=args.lr, batch=args.batch,
                       seed=args.seed, checkpoint=args.checkpoint, resume=args.resume, plot=args.plot,
                       progress=not (args.quiet or args.json), save_every=args.save_every)
    except TrainingDiverged as exc:
        print(f"symnet: training stopped: {exc}", file=sys.stderr)
        if args.json:  # the run up to the last good step, with the reason it stopped
            out = exc.result.as_json()
            out.pop("history", None)
            out["stopped"] = str(exc)
            print(json.dumps(out, indent=2, default=str))
        return EXIT_USAGE
    except TrainingInterrupted as exc:
        print(f"symnet: training stopped: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before training started, or while the plot was written
        saved = args.checkpoint and Path(args.checkpoint).is_file()
        print("symnet: interrupted" + (f"; the last checkpoint saved is {args.checkpoint}" if saved else ""),
              file=sys.stderr)
        return EXIT_INTERRUPTED
    rows = get_task(args.task).compare(result) if args.compare else None
    if args.json:
        out = result.as_json()
        out.pop("history")
        if rows:
            out["compare"] = rows
        print(json.dumps(out, indent=2))
        return 0
    resumed = f", resumed after epoch {result.start_epoch}" if result.start_epoch else ""
    print(f"symnet train {result.task} — {args.backend} backend{resumed}")
    print("\n".join(result.summary))
    if rows:
        print("\nside by side (same architecture, epochs, batch and learning rate; this machine):")
        print(f"  {'implementation':<36}{'test accuracy':>14}{'ms per epoch':>14}")
        for row in rows:
            if "skipped" in row:
                print(f"  {row['implementation']:<36}  skipped: {row['skipped']}")
            else:
                print(f"  {row['implementation']:<36}{100 * row['test_accuracy']:>13.2f}%{row['ms_per_epoch']:>14.1f}")
        for row in rows:
            if row.get("note"):
                print(f"  ({row['note']})")
    if args.plot:
        print(f"\nplot written to {args.plot}")
    if args.checkpoint:
        print(f"weights saved to {args.checkpoint}")
    return 0


_CHECK_HINT = "run '{command} --check' from the repository's root, or name the folder with --out"


def _committed_folder(where: Path, command: str, option: str) -> None:
    """--check compares with files committed in a checkout: run elsewhere (the default folder
    is relative) it reported every file stale and said to run the command, which would write
    a new folder there. Raises :class:`SymnetError` where ``where`` is no folder."""
    if not where.is_dir():
        raise SymnetError(f"no folder {where} in {Path.cwd()}: run '{command} --check' from the repository's "
                          f"root, or name the folder with {option}")


def _docs(args) -> int:
    from .docs import stale_pages, write_pages

    _folder(args.out, "--out", writing=not args.check, hint=_CHECK_HINT.format(command="symnet docs"))
    if args.check:
        _committed_folder(Path(args.out), "symnet docs", "--out")
        stale = stale_pages(args.out)
        if stale:
            print(f"stale pages in {args.out}: {', '.join(stale)} (run 'symnet docs')", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    written = write_pages(args.out)
    print(f"{len(written)} page(s) written to {Path(args.out)}" if written else f"{args.out}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
