"""Mutually exclusive sibling phenotypes, mined with a transparent antonym rule table.

GenePheno's exclusive regularizer needs pairs of terms that cannot both hold for one gene (e.g.
hypotonia vs hypertonia). The paper mined them with an LLM; here a pair is exclusive when

1. both terms are direct ``is_a`` children of the same parent, and
2. their names are identical except for ONE word, and that word pair is listed in :data:`RULES`
   (``word`` rules compare the whole word, ``prefix`` rules compare a prefix and require the rest
   of the word to be identical, e.g. *hyper*tonia / *hypo*tonia, *macro*cephaly / *micro*cephaly).
3. a ``word`` antonym must be the name's FIRST word, or follow one of :data:`QUALIFIERS`
   ("abnormally long"): only there does it state the direction of the phenotype. Elsewhere it names
   a structure or population — "abnormal *large* intestine morphology" vs "abnormal *small*
   intestine morphology", "*Ly6C high* monocyte number" vs "*Ly6C low* monocyte number" — which
   are different, compatible phenotypes. ``prefix`` antonyms may sit anywhere ("thymus
   *hyper*plasia" / "thymus *hypo*plasia") unless the rest of the word is listed in
   :data:`PREFIX_EXCEPTIONS` (an observation scale such as *macro*/*micro*scopic).

The rules are ontology-level: at the GENE level both members of a pair can be annotated, because
one gene pools several genotypes, sexes and backgrounds (MPO) or several diseases (HPO); notebook 01
counts how often that happens.

Every mined pair records the rule that matched, so the table in ``exclusive_pairs.tsv`` can be
reviewed line by line. The matcher works on normalised names: lower case, split on white space.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class AntonymRule:
    """``side_a`` and ``side_b`` are exclusive; ``kind`` is ``word`` or ``prefix``."""

    side_a: str
    side_b: str
    kind: str = "word"

    @property
    def name(self) -> str:
        return f"{self.side_a}/{self.side_b}"


#: The rule table. Order matters only for reporting: the first rule that explains a pair is recorded.
RULES: tuple[AntonymRule, ...] = (
    AntonymRule("increased", "decreased"),
    AntonymRule("increased", "reduced"),
    AntonymRule("elevated", "decreased"),
    AntonymRule("elevated", "reduced"),
    AntonymRule("high", "low"),
    AntonymRule("higher", "lower"),
    AntonymRule("long", "short"),  # covers "abnormally long" / "abnormally short"
    AntonymRule("tall", "short"),
    AntonymRule("large", "small"),
    AntonymRule("enlarged", "small"),
    AntonymRule("thick", "thin"),
    AntonymRule("thickened", "thinned"),
    AntonymRule("wide", "narrow"),
    AntonymRule("broad", "narrow"),
    AntonymRule("prolonged", "shortened"),
    AntonymRule("early", "late"),
    AntonymRule("premature", "delayed"),
    AntonymRule("accelerated", "delayed"),
    AntonymRule("gain", "loss"),
    AntonymRule("absent", "supernumerary"),
    AntonymRule("absent", "extra"),
    AntonymRule("absent", "duplicated"),
    AntonymRule("hyper", "hypo", "prefix"),
    AntonymRule("macro", "micro", "prefix"),
)


#: Words after which a ``word`` antonym still states the phenotype's direction.
QUALIFIERS = frozenset({"abnormally"})

#: Word endings after a ``prefix`` antonym that name an observation scale or signal, not a size or
#: amount: macro/microscopic hematuria, macro/microvesicular steatosis, hyper/hypointense MRI lesions
#: can all be seen together.
PREFIX_EXCEPTIONS = frozenset({"scopic", "vesicular", "intensity", "intense"})

#: Anatomical names that contain an antonym word: "small intestine" is an organ, not a size.
ANATOMICAL_PHRASES = frozenset({("large", "intestine"), ("small", "intestine"), ("large", "intestinal"), ("small", "intestinal")})


def _tokens(name: str) -> list[str]:
    return name.lower().split()


def _signatures(name: str, rules: Iterable[AntonymRule]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(rule name, side 0/1, name with the antonym replaced by a placeholder) for each rule that applies.

    Two names form a pair under a rule exactly when they share the placeholder form on opposite sides.
    """
    words = _tokens(name)
    found = []
    for position, word in enumerate(words):
        for rule in rules:
            for side, token in enumerate((rule.side_a, rule.side_b)):
                if rule.kind == "word":
                    if word != token or not (position == 0 or words[position - 1] in QUALIFIERS):
                        continue
                    if position + 1 < len(words) and (word, words[position + 1]) in ANATOMICAL_PHRASES:
                        continue
                    rest = ""
                else:
                    other = rule.side_b if side == 0 else rule.side_a
                    # "hypo..." also starts with "hyp"; require the prefix not to be the other side's
                    if not word.startswith(token) or len(word) == len(token) or word.startswith(other):
                        continue
                    rest = word[len(token) :]
                    if rest in PREFIX_EXCEPTIONS:
                        continue
                key = tuple(words[:position]) + (f"<{rule.name}>{rest}",) + tuple(words[position + 1 :])
                found.append((rule.name, side, key))
    return found


def match(name_a: str, name_b: str, rules: Iterable[AntonymRule] = RULES) -> str | None:
    """The name of the first rule under which ``name_a`` and ``name_b`` are antonyms, else ``None``."""
    rules = tuple(rules)
    sig_b = {(rule, key): side for rule, side, key in _signatures(name_b, rules)}
    for rule, side, key in _signatures(name_a, rules):
        other = sig_b.get((rule, key))
        if other is not None and other != side:
            return rule
    return None


def mine_pairs(
    children: Mapping[str, Iterable[str]],
    names: Mapping[str, str],
    keep: set[str] | None = None,
    rules: Iterable[AntonymRule] = RULES,
) -> pd.DataFrame:
    """Exclusive sibling pairs.

    ``children`` maps each parent to its direct ``is_a`` children; ``keep`` (optional) restricts both
    members of a pair to kept terms. Returns ``term_a, name_a, term_b, name_b, parent, rule`` sorted
    by ``term_a, term_b`` with each unordered pair once (its first parent in id order). ``term_a`` is
    the rule's first side (e.g. *increased*).
    """
    rules = tuple(rules)
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for parent in sorted(children):
        groups: dict[tuple[str, tuple[str, ...]], list[list[str]]] = defaultdict(lambda: [[], []])
        for child in sorted(children[parent]):
            if keep is not None and child not in keep:
                continue
            for rule, side, key in _signatures(names.get(child, ""), rules):
                groups[(rule, key)][side].append(child)
        for (rule, _key), (side_a, side_b) in groups.items():
            for a in side_a:
                for b in side_b:
                    if a == b:
                        continue
                    pair = (min(a, b), max(a, b))
                    if pair not in seen:
                        seen[pair] = {
                            "term_a": a,
                            "name_a": names.get(a, ""),
                            "term_b": b,
                            "name_b": names.get(b, ""),
                            "parent": parent,
                            "rule": rule,
                        }
    columns = ["term_a", "name_a", "term_b", "name_b", "parent", "rule"]
    frame = pd.DataFrame(list(seen.values()), columns=columns)
    return frame.sort_values(["term_a", "term_b"], ignore_index=True)


def rule_table(rules: Iterable[AntonymRule] = RULES) -> pd.DataFrame:
    """The rule table as a DataFrame (for the datasheet and the notebook)."""
    return pd.DataFrame([{"rule": r.name, "side_a": r.side_a, "side_b": r.side_b, "kind": r.kind} for r in rules])
