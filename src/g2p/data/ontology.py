"""An ontology over an obonet graph: names, obsolete/alt-id resolution, ancestors, depth.

``Ontology`` wraps the graph that :func:`g2p.data.readers.read_obo` returns (nodes = term ids with
obonet's attributes, edges child → parent keyed by relation) and keeps only what curation needs:

* the live (non-obsolete) terms, their names and namespaces;
* a map from every ``alt_id`` and obsolete id to its live replacement (``replaced_by``; ``consider``
  is recorded but never followed, because it is a suggestion, not an equivalence);
* a simple directed graph of the chosen relations (``is_a`` for MP/HP, ``is_a`` + ``part_of`` for GO)
  with cached ancestor sets, children, descendants and the depth of each term (shortest path to a
  root; for GO the roots of biological_process, molecular_function and cellular_component).

Parsing GO with obonet takes ~20 s, so :func:`load_ontology` caches the finished ``Ontology`` as a
pickle under ``data/cache/`` keyed by the file's sha256, the relations and this module's version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import networkx as nx

from g2p import artifacts, paths

#: Bump when the pickled structure changes so stale caches are ignored.
CACHE_VERSION = 1

#: Relations followed for each ontology (GO's part_of is transitive with is_a; regulates is not).
RELATIONS: dict[str, tuple[str, ...]] = {
    "mp_obo": ("is_a",),
    "hp_obo": ("is_a",),
    "go_obo": ("is_a", "part_of"),
}

GO_ROOTS = {
    "biological_process": "GO:0008150",
    "molecular_function": "GO:0003674",
    "cellular_component": "GO:0005575",
}


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[union-attr]


class Ontology:
    """Live terms of one ontology and their structure over a chosen set of relations."""

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        relations: Sequence[str] = ("is_a",),
        roots: Iterable[str] | None = None,
    ) -> None:
        self.relations: tuple[str, ...] = tuple(relations)
        self.names: dict[str, str] = {}
        self.namespaces: dict[str, str] = {}
        self.obsolete: set[str] = set()
        self.replaced_by: dict[str, list[str]] = {}
        self.consider: dict[str, list[str]] = {}
        self.alt_ids: dict[str, str] = {}  # alt id -> primary id
        for term, data in graph.nodes(data=True):
            self.names[term] = str(data.get("name", ""))
            if "namespace" in data:
                self.namespaces[term] = str(data["namespace"])
            for alt in _as_list(data.get("alt_id")):
                self.alt_ids[alt] = term
            if str(data.get("is_obsolete", "false")).lower() == "true":
                self.obsolete.add(term)
                self.replaced_by[term] = _as_list(data.get("replaced_by"))
                self.consider[term] = _as_list(data.get("consider"))
        # A plain DiGraph child -> parent over the chosen relations among live terms only.
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(t for t in graph.nodes if t not in self.obsolete)
        for child, parent, relation in graph.edges(keys=True):
            if relation in self.relations and child in self.graph and parent in self.graph:
                self.graph.add_edge(child, parent)
        if not nx.is_directed_acyclic_graph(self.graph):
            cycle = nx.find_cycle(self.graph)
            raise ValueError(f"the {'/'.join(self.relations)} graph has a cycle: {cycle[:5]}")
        if roots is None:
            roots = [t for t in self.graph if self.graph.out_degree(t) == 0]
        self.roots: tuple[str, ...] = tuple(sorted(roots))
        self._ancestors: dict[str, frozenset[str]] = {}
        self._depth: dict[str, int] | None = None

    # ---- identity ---------------------------------------------------------------------------------

    def __contains__(self, term: object) -> bool:
        return term in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def terms(self) -> list[str]:
        """Live term ids, sorted."""
        return sorted(self.graph.nodes)

    def name(self, term: str) -> str:
        return self.names.get(term, "")

    def namespace(self, term: str) -> str:
        return self.namespaces.get(term, "")

    def is_obsolete(self, term: str) -> bool:
        return term in self.obsolete

    def primary(self, term: str) -> str | None:
        """The live id for ``term``: itself, its primary id (for an alt_id), or its ``replaced_by``.

        Returns ``None`` for unknown ids and for obsolete terms without a single live replacement
        (``consider`` lists several candidates, so following it would invent annotations).
        """
        seen: set[str] = set()
        while term not in seen:
            seen.add(term)
            if term in self.graph:
                return term
            if term in self.alt_ids:
                term = self.alt_ids[term]
                continue
            replacements = self.replaced_by.get(term, [])
            if len(replacements) == 1:
                term = replacements[0]
                continue
            return None
        return None

    # ---- structure --------------------------------------------------------------------------------

    def parents(self, term: str) -> set[str]:
        return set(self.graph.successors(term))

    def children(self, term: str) -> set[str]:
        return set(self.graph.predecessors(term))

    def ancestors(self, term: str) -> frozenset[str]:
        """All ancestors of ``term`` over the chosen relations (excluding ``term``), cached."""
        cached = self._ancestors.get(term)
        if cached is not None:
            return cached
        if term not in self.graph:
            raise KeyError(f"{term!r} is not a live term of this ontology")
        # Post-order walk up the DAG: a term's ancestors are its parents plus their (cached)
        # ancestors, so each term is expanded once however many genes carry it.
        stack = [term]  # terminates: the graph was checked to be acyclic in __init__
        while stack:
            current = stack[-1]
            if current in self._ancestors:
                stack.pop()
                continue
            parents = list(self.graph.successors(current))  # edges point child -> parent
            pending = [p for p in parents if p not in self._ancestors]
            if pending:
                stack.extend(pending)
                continue
            found: set[str] = set(parents)
            for parent in parents:
                found |= self._ancestors[parent]
            self._ancestors[current] = frozenset(found)
            stack.pop()
        return self._ancestors[term]

    def descendants(self, term: str) -> set[str]:
        """All descendants of ``term`` (excluding ``term``)."""
        return set(nx.ancestors(self.graph, term))

    def propagate(self, terms: Iterable[str]) -> set[str]:
        """``terms`` plus all their ancestors (the true-path rule)."""
        closed: set[str] = set()
        for term in terms:
            closed.add(term)
            closed |= self.ancestors(term)
        return closed

    @property
    def depths(self) -> dict[str, int]:
        """Shortest path length from each term up to any root (roots have depth 0)."""
        if self._depth is None:
            lengths = nx.multi_source_dijkstra_path_length(self.graph.reverse(copy=False), set(self.roots))
            self._depth = {term: int(d) for term, d in lengths.items()}
        return self._depth

    def depth(self, term: str) -> int:
        """Depth of ``term``; -1 when no root is reachable (e.g. a term of a foreign namespace)."""
        return self.depths.get(term, -1)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_ancestors"] = {}  # cheap to recompute, large to store
        return state


def file_sha256(path: Path) -> str:
    """The file's sha256 through the digest cache (a ``stat`` once the digest is known)."""
    from g2p.checksums import cached_sha256

    return cached_sha256(path)


def default_roots(source: str, graph: nx.MultiDiGraph) -> list[str] | None:
    """GO's three namespace roots; ``None`` (= terms without parents) for MP and HP."""
    if source == "go_obo":
        return [r for r in GO_ROOTS.values() if r in graph]
    return None


def load_ontology(source: str, *, use_cache: bool = True) -> Ontology:
    """Parse the raw OBO named ``source`` (``mp_obo``, ``hp_obo``, ``go_obo``) into an ``Ontology``.

    The result is pickled under ``data/cache/`` keyed by the file's sha256, so a second call costs
    a fraction of a second instead of a full obonet parse.
    """
    from g2p.data import readers, sources  # local: keeps importing this module cheap

    if source not in RELATIONS:
        raise ValueError(f"unknown ontology source {source!r}; choose one of {', '.join(RELATIONS)}")
    path = sources.resolve(source)
    relations = RELATIONS[source]
    key = artifacts.key_of(f"{file_sha256(path)}|{','.join(relations)}|v{CACHE_VERSION}")
    cache_file = artifacts.keyed_file(paths.cache, f"ontology_{source}", key, ".pickle")

    def build() -> Ontology:
        graph = readers.read_obo(path)
        ontology = Ontology(graph, relations, roots=default_roots(source, graph))
        ontology.depths  # computed once, stored in the pickle
        return ontology

    return artifacts.load_or_build(cache_file, Ontology, build, use_cache=use_cache)


def clear_cache() -> int:
    """Delete every cached ontology pickle; returns how many were removed."""
    return artifacts.clear("ontology_")
