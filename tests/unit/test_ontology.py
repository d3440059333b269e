"""Ontology wrapper on a hand-built graph shaped like obonet's output (edges child -> parent by relation)."""

from __future__ import annotations

import networkx as nx
import pytest

from g2p.data.ontology import Ontology


def _graph() -> nx.MultiDiGraph:
    #            R (root)
    #          /   \
    #         A     B
    #        / \   /      C part_of B (only followed when part_of is chosen)
    #       C   D          E is obsolete, replaced_by D; F is obsolete with only 'consider'
    g = nx.MultiDiGraph()
    g.add_node("X:R", name="root", namespace="ns")
    g.add_node("X:A", name="alpha", namespace="ns", alt_id=["X:A2"])
    g.add_node("X:B", name="beta", namespace="ns")
    g.add_node("X:C", name="gamma", namespace="ns")
    g.add_node("X:D", name="delta", namespace="ns")
    g.add_node("X:E", name="obsolete epsilon", is_obsolete="true", replaced_by=["X:D"])
    g.add_node("X:F", name="obsolete phi", is_obsolete="true", consider=["X:C", "X:D"])
    g.add_edge("X:A", "X:R", key="is_a")
    g.add_edge("X:B", "X:R", key="is_a")
    g.add_edge("X:C", "X:A", key="is_a")
    g.add_edge("X:D", "X:A", key="is_a")
    g.add_edge("X:C", "X:B", key="part_of")
    return g


def test_names_and_obsolete_resolution() -> None:
    onto = Ontology(_graph())
    assert onto.name("X:C") == "gamma"
    assert onto.namespace("X:C") == "ns"
    assert onto.is_obsolete("X:E") and not onto.is_obsolete("X:D")
    assert "X:E" not in onto and len(onto) == 5
    assert onto.primary("X:C") == "X:C"
    assert onto.primary("X:A2") == "X:A"  # alt_id
    assert onto.primary("X:E") == "X:D"  # replaced_by
    assert onto.primary("X:F") is None  # only 'consider': not followed
    assert onto.consider["X:F"] == ["X:C", "X:D"]
    assert onto.primary("X:unknown") is None


def test_is_a_only_ignores_part_of() -> None:
    onto = Ontology(_graph(), relations=("is_a",))
    assert onto.parents("X:C") == {"X:A"}
    assert onto.ancestors("X:C") == {"X:A", "X:R"}
    assert onto.children("X:A") == {"X:C", "X:D"}
    assert onto.children("X:B") == set()
    assert onto.descendants("X:A") == {"X:C", "X:D"}
    assert onto.roots == ("X:R",)
    assert onto.depth("X:R") == 0 and onto.depth("X:A") == 1 and onto.depth("X:C") == 2


def test_part_of_relation_adds_ancestors_and_shortens_nothing_here() -> None:
    onto = Ontology(_graph(), relations=("is_a", "part_of"))
    assert onto.parents("X:C") == {"X:A", "X:B"}
    assert onto.ancestors("X:C") == {"X:A", "X:B", "X:R"}
    assert onto.descendants("X:B") == {"X:C"}
    assert onto.propagate(["X:C", "X:D"]) == {"X:A", "X:B", "X:C", "X:D", "X:R"}


def test_depth_is_shortest_path_to_a_chosen_root() -> None:
    g = _graph()
    g.add_node("X:G", name="deep")
    g.add_edge("X:G", "X:C", key="is_a")  # G -> C -> A -> R  (3) ...
    g.add_edge("X:G", "X:B", key="part_of")  # ... or G -> B -> R (2) with part_of
    assert Ontology(g, relations=("is_a",)).depth("X:G") == 3
    assert Ontology(g, relations=("is_a", "part_of")).depth("X:G") == 2
    rooted_at_b = Ontology(g, relations=("is_a", "part_of"), roots=["X:B"])
    assert rooted_at_b.depth("X:B") == 0 and rooted_at_b.depth("X:G") == 1
    assert rooted_at_b.depth("X:D") == -1  # no path to the chosen root


def test_ancestor_cache_is_consistent_with_networkx() -> None:
    onto = Ontology(_graph(), relations=("is_a", "part_of"))
    for term in onto.terms:
        assert onto.ancestors(term) == nx.descendants(onto.graph, term)
        assert onto.ancestors(term) is onto.ancestors(term)  # cached object


def test_cycle_is_rejected() -> None:
    g = _graph()
    g.add_edge("X:R", "X:C", key="is_a")
    with pytest.raises(ValueError, match="cycle"):
        Ontology(g)


def test_real_obo_text_through_the_reader(tmp_path) -> None:
    from g2p.data.readers import read_obo

    obo = tmp_path / "tiny.obo"
    obo.write_text(
        "format-version: 1.2\n\n"
        "[Term]\nid: MP:0000001\nname: mammalian phenotype\n\n"
        "[Term]\nid: MP:0000002\nname: child\nalt_id: MP:0000009\nis_a: MP:0000001\n\n"
        "[Term]\nid: MP:0000003\nname: old\nis_obsolete: true\nreplaced_by: MP:0000002\n"
    )
    onto = Ontology(read_obo(obo))
    assert onto.roots == ("MP:0000001",)
    assert onto.primary("MP:0000009") == "MP:0000002"
    assert onto.primary("MP:0000003") == "MP:0000002"
    assert onto.ancestors("MP:0000002") == {"MP:0000001"}
