"""The docs pages are generated and fresh; graphs carry values and partials."""
from __future__ import annotations

from pathlib import Path

import pytest

import symnet
from symnet.docs import pages, stale_pages
from symnet.graph import to_dot, write_graph

DOCS = Path(__file__).resolve().parents[1] / "docs" / "derivations"


def test_docs_pages_are_fresh(curriculum):
    stale = stale_pages(DOCS)
    assert not stale, f"stale docs pages {stale}: run 'symnet docs'"


def test_one_page_per_derivation_with_math(curriculum):
    generated = pages()
    for name in symnet.catalog():
        page = generated[f"{name}.md"]
        assert "Do not edit" in page and "$$" in page
    assert "comp-graph.md" in generated["README.md"]


def test_rules_page_lists_every_rule_with_its_reason():
    """docs/derivations/stability-rules.md names every rule the generator tries, once, with the
    reason it prints; a | inside a reason (|x|) does not split the table's row."""
    from symnet.codegen.families.rowwise import ROW_RULES
    from symnet.codegen.rewrite import RULES

    page = pages()["stability-rules.md"]
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == len(RULES) + len(ROW_RULES)
    for rule, row in zip((*RULES, *ROW_RULES), rows):  # in the order tried, elementwise first
        assert row.startswith(f"| `{rule.name}` | ") and rule.why.replace("|", "\\|") in row
        assert row.replace("\\|", "").count("|") == 3, row  # two cells
    assert "stability-rules.md" in pages()["README.md"]


def test_graph_has_values_on_nodes_and_partials_on_edges(curriculum):
    dot = to_dot(curriculum["comp-graph"])
    assert '"c" [label="c = a + b\\n= 5"]' in dot
    assert '"c" -> "e" [label="∂e/∂c = d\\n= 3"]' in dot
    for name in ("mse-sigmoid", "param-sharing", "dense", "backprop", "rnn-bptt"):
        assert "->" in to_dot(curriculum[name])


def test_graph_write_is_atomic_and_checked(tmp_path, curriculum):
    target = tmp_path / "g.dot"
    target.write_text("keep me")
    with pytest.raises(symnet.SymnetError):
        write_graph(curriculum["comp-graph"], tmp_path / "g.bmp")
    assert target.read_text() == "keep me"
    write_graph(curriculum["comp-graph"], target)
    assert target.read_text().startswith("digraph")
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]  # no temporary files left
