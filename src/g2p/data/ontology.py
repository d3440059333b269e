"""An ontology over an obonet graph: names, obsolete/alt-id resolution, ancestors, depth.

``Ontology`` wraps the graph that :func:`g2p.data.readers.read_obo` returns (nodes = term ids with
obonet's attributes, edges child → parent keyed by relation) and keeps only what curation needs:

* the live (non-obsolete) terms, their names and namespaces;
* a map from every ``alt_id`` and obsolete id to its live replacement (``replaced_by``; ``consider``
  is recorded but never followed, because it is a suggestion, not an equivalence);
* a simple directed graph of the chosen relations (``is_a`` for MP/HP, ``is_a`` + ``part_of`` for GO)
  with cached ancestor sets, children, descendants and the depth of each term (shortest path to a
  root; for GO the roots of biological_process, molecular_function and cellular_component);
* each term's exact synonyms (for matching free-text labels such as GWAS traits to terms).

Which relations and roots an ontology uses is not a table here: the caller says so (a dataset's
:class:`~g2p.data.specs.OboOntology`, or :data:`GO` for the Gene Ontology). A label set without an
ontology is :meth:`Ontology.flat`: terms without edges, so propagation keeps labels as they are.

Parsing GO with obonet takes ~20 s, so :func:`load_ontology` caches the finished ``Ontology`` as a
pickle under ``data/cache/`` keyed by the file's sha256, the relations, the roots and this module's version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import networkx as nx

from g2p import artifacts, paths

#: Bump when the pickled structure changes so stale caches are ignored.
CACHE_VERSION = 2

GO_ROOTS = {
    "biological_process": "GO:0008150",
    "molecular_function": "GO:0003674",
    "cellular_component": "GO:0005575",
}
#: The Gene Ontology as every dataset reads it: part_of is transitive with is_a (regulates is not),
#: and depth counts from the three namespace roots.
GO_SOURCE = "go_obo"
GO_RELATIONS = ("is_a", "part_of")
_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(\w+)')


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
        self.synonyms: dict[str, list[str]] = {}  # live term -> its EXACT synonyms
        for term, data in graph.nodes(data=True):
            self.names[term] = str(data.get("name", ""))
            exact = [m.group(1) for m in map(_SYNONYM.match, _as_list(data.get("synonym"))) if m and m.group(2) == "EXACT"]
            if exact:
                self.synonyms[term] = exact
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

    @classmethod
    def flat(cls, names: Mapping[str, str]) -> Ontology:
        """A vocabulary without structure: every term a root, no edges (propagation changes nothing)."""
        graph = nx.MultiDiGraph()
        graph.add_nodes_from((term, {"name": name}) for term, name in names.items())
        return cls(graph, relations=())

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

    def terms_named(self, text: str) -> tuple[set[str], set[str]]:
        """Live terms whose name, and those with an EXACT synonym, equal ``text`` (case and spacing
        ignored): the two transparent steps of matching a free-text label to the ontology."""
        if not hasattr(self, "_by_label"):
            self._by_label: dict[str, set[str]] = {}
            self._by_synonym: dict[str, set[str]] = {}
            for term in self.graph:
                self._by_label.setdefault(_normalise(self.names.get(term, "")), set()).add(term)
                for synonym in self.synonyms.get(term, ()):
                    self._by_synonym.setdefault(_normalise(synonym), set()).add(term)
        key = _normalise(text)
        return set(self._by_label.get(key, ())), set(self._by_synonym.get(key, ()))

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
        state.pop("_by_label", None)
        state.pop("_by_synonym", None)
        return state


def _normalise(text: str) -> str:
    """Case- and whitespace-insensitive form of a label (``"Type II  diabetes"`` = ``"type ii diabetes"``)."""
    return " ".join(text.split()).casefold()


def file_sha256(path: Path) -> str:
    """The file's sha256 through the digest cache (a ``stat`` once the digest is known)."""
    from g2p.checksums import cached_sha256

    return cached_sha256(path)


def load_ontology(
    source: str,
    relations: Sequence[str] = ("is_a",),
    roots: Sequence[str] | None = None,
    *,
    use_cache: bool = True,
) -> Ontology:
    """Parse the raw OBO file named ``source`` (a name of :mod:`g2p.data.sources`) into an ``Ontology``
    over ``relations``; depth counts from ``roots`` (None: the terms without parents). See
    :func:`load_ontology_file`."""
    from g2p.data import sources  # local: keeps importing this module cheap

    path = sources.resolve(source)  # an unknown name is a one-line InputError naming the manifest
    return load_ontology_file(path, relations, roots, use_cache=use_cache, stem=source)


def load_ontology_file(
    path: Path,
    relations: Sequence[str] = ("is_a",),
    roots: Sequence[str] | None = None,
    *,
    use_cache: bool = True,
    stem: str = "file",
) -> Ontology:
    """The ``Ontology`` of the OBO file at ``path``, pickled under ``data/cache/`` keyed by the file's
    sha256, the relations and roots, so a second call costs a fraction of a second instead of a full
    obonet parse; ``use_cache=False`` parses again and replaces the pickle."""
    from g2p.data import readers

    relations = tuple(relations)
    payload = f"{file_sha256(Path(path))}|{','.join(relations)}|{','.join(roots or ())}|v{CACHE_VERSION}"
    cache_file = artifacts.keyed_file(paths.cache, f"ontology_{stem}", artifacts.key_of(payload), ".pickle")

    def build() -> Ontology:
        graph = readers.read_obo(path)
        live_roots = None if roots is None else [r for r in roots if r in graph]
        ontology = Ontology(graph, relations, roots=live_roots)
        ontology.depths  # computed once, stored in the pickle
        return ontology

    return artifacts.load_or_build(cache_file, Ontology, build, use_cache=use_cache)


def load_go(*, use_cache: bool = True) -> Ontology:
    """The Gene Ontology of the data release over is_a + part_of, depth from the three namespace roots."""
    return load_ontology(GO_SOURCE, GO_RELATIONS, tuple(GO_ROOTS.values()), use_cache=use_cache)


def clear_cache() -> int:
    """Delete every cached ontology pickle; returns how many were removed."""
    return artifacts.clear("ontology_")
