"""Session 25, on an H200 (torch 2.11, Triton 3.6): the cross-entropy kernels with a softcap in float64 did not compile.

The row's scalar z_r and the blocks' z_j took their softcap c = s·tanh(z/s) in double words under one name, ``c,
c_lo = _row_softcap_dw(…)``: ``c`` was a float64 scalar before the label-smoothing loop and a block inside it, a
loop-carried variable whose type changes, which Triton 3.6 refuses ("Loop-carried variable c has initial type fp64
but is re-assigned to <['32'], fp64> in loop"; tests/test_fused_linear_ce.py's 6 softcap cases failed on the GPU, all
6 passed after). Triton 3.9 and its interpreter accept it, so this checks the generated text: each softcap temporary
is named after the value it caps."""
import re
from pathlib import Path

KERNEL = Path(__file__).resolve().parents[1] / "kernels" / "triton" / "cross_entropy.py"


def test_softcap_temporaries_are_named_after_the_value_they_cap():
    source = KERNEL.read_text()
    calls = re.findall(r"^\s*(\w+), (\w+) = _row_softcap_dw\((\w+), softcap\)", source, re.M)
    assert calls, "no float64 softcap in the committed cross-entropy kernel"
    for hi, lo, v in calls:
        assert (hi, lo) == (f"{v}_cap", f"{v}_cap_lo"), (hi, lo, v)
    # one name is never bound to both the row's scalar z_r and a block z_j
    assert {v for _, _, v in calls} == {"z_r", "zj"}
