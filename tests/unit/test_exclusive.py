"""The antonym matcher and sibling-pair miner on hand examples."""

from __future__ import annotations

import pytest

from g2p.data.exclusive import RULES, match, mine_pairs, rule_table


@pytest.mark.parametrize(
    ("a", "b", "rule"),
    [
        ("increased circulating glucose level", "decreased circulating glucose level", "increased/decreased"),
        ("decreased circulating glucose level", "increased circulating glucose level", "increased/decreased"),
        ("Hypertonia", "Hypotonia", "hyper/hypo"),
        ("thymus hyperplasia", "thymus hypoplasia", "hyper/hypo"),
        ("Macrocephaly", "Microcephaly", "macro/micro"),
        ("enlarged heart", "small heart", "enlarged/small"),
        ("abnormally long tail", "abnormally short tail", "long/short"),
        ("Tall stature", "Short stature", "tall/short"),
        ("Elevated serum creatine kinase", "Reduced serum creatine kinase", "elevated/reduced"),
        ("absent incisors", "supernumerary incisors", "absent/supernumerary"),
    ],
)
def test_antonym_pairs_match(a: str, b: str, rule: str) -> None:
    assert match(a, b) == rule


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("abnormal heart morphology", "abnormal heart rate"),  # differ, but not by an antonym
        ("increased circulating glucose level", "decreased circulating insulin level"),  # two words differ
        ("increased circulating glucose level", "increased circulating glucose level"),  # same name
        ("abnormal large intestine morphology", "abnormal small intestine morphology"),  # anatomy
        ("large intestine hemorrhage", "small intestine hemorrhage"),  # anatomy
        ("decreased Ly6C high monocyte number", "decreased Ly6C low monocyte number"),  # a population name
        ("hypertonia", "hypertrophy"),  # same prefix, different rest
        ("hyper", "hypo"),  # a bare prefix is not a word built on it
        ("Macroscopic hematuria", "Microscopic hematuria"),  # observation scale, not size
        ("Hyperintensity of cerebral white matter on MRI", "Hypointensity of cerebral white matter on MRI"),
    ],
)
def test_non_antonyms_do_not_match(a: str, b: str) -> None:
    assert match(a, b) is None


def test_mine_pairs_only_among_kept_direct_siblings() -> None:
    names = {
        "P": "abnormal glucose level",
        "U": "increased glucose level",
        "D": "decreased glucose level",
        "H": "increased glucose level in heart",
        "Q": "abnormal heart",
        "S": "small heart",
        "L": "enlarged heart",
        "N": "decreased glucose level",  # same name as D but under another parent
    }
    children = {"P": {"U", "D", "H"}, "Q": {"S", "L"}, "R": {"N"}}
    pairs = mine_pairs(children, names)
    assert list(pairs.columns) == ["term_a", "name_a", "term_b", "name_b", "parent", "rule"]
    got = {(r.term_a, r.term_b, r.parent, r.rule) for r in pairs.itertuples()}
    assert got == {("U", "D", "P", "increased/decreased"), ("L", "S", "Q", "enlarged/small")}
    kept = mine_pairs(children, names, keep={"U", "D", "S"})  # L dropped -> its pair is gone
    assert {(r.term_a, r.term_b) for r in kept.itertuples()} == {("U", "D")}


def test_pair_under_two_parents_is_reported_once() -> None:
    names = {"U": "increased x", "D": "decreased x"}
    pairs = mine_pairs({"P1": {"U", "D"}, "P2": {"U", "D"}}, names)
    assert len(pairs) == 1 and pairs.loc[0, "parent"] == "P1"


def test_rule_table_lists_every_rule() -> None:
    table = rule_table()
    assert len(table) == len(RULES)
    assert set(table["kind"]) <= {"word", "prefix"}
    assert table["rule"].is_unique
