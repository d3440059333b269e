"""The GO annotation corpus of the data release: every protein's GO input terms, for pretraining.

The release ships GO annotations for every mouse and human Swiss-Prot protein (``mouse_go``,
``human_go``: about 34,800 accessions), far more than any curated dataset keeps. Each accession's GO
ids go through exactly the curation's rules (:func:`g2p.data.go_features.go_sets`: alt ids → primary,
obsolete → single replacement or dropped, propagated over ``is_a`` and ``part_of``), and the terms
deeper than the depth-2 concepts are kept: the same kind of list a curated gene's ``go_inputs`` holds.

Built once and cached under ``data/cache/`` by the pinned checksums of the two tables and of GO
(building it parses two tables and propagates 34,800 sets, a few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from g2p import artifacts, paths

#: The release's per-protein GO tables (mouse and human Swiss-Prot, 2014-01).
CORPUS_SOURCES = ("mouse_go", "human_go")
#: Bump when the rules below change what the corpus holds.
CORPUS_VERSION = 1


@dataclass
class GoCorpus:
    """Accessions and, row for row, their GO input terms (deeper than depth 2, sorted)."""

    accessions: list[str]
    go_inputs: list[list[str]]
    key: str  # what it was built from (source checksums and rules): part of every pretraining's key

    def __post_init__(self) -> None:
        if len(self.accessions) != len(self.go_inputs):
            raise ValueError(f"{len(self.accessions)} accessions but {len(self.go_inputs)} GO input lists")


def release_corpus(*, use_cache: bool = True) -> GoCorpus:
    """The corpus of every protein of :data:`CORPUS_SOURCES` (see the module docstring)."""
    from g2p.data import sources
    from g2p.data.specs import GO_ONTOLOGY

    pinned = sources.checksums()
    key = artifacts.key_of({"sources": {name: pinned.get(name) for name in (*CORPUS_SOURCES, *GO_ONTOLOGY.sources)},
                            "ontology": repr(GO_ONTOLOGY), "version": CORPUS_VERSION})
    cache_file = artifacts.keyed_file(paths.cache, "genepheno_go_corpus", key, ".pickle")
    return artifacts.load_or_build(cache_file, GoCorpus, lambda: _build(key), use_cache=use_cache)


def _build(key: str) -> GoCorpus:
    from g2p.data import readers, sources
    from g2p.data.go_features import go_sets, input_terms
    from g2p.data.specs import GO_ONTOLOGY

    go = GO_ONTOLOGY.load({})
    tables = [readers.read_go_annotation_tsv(sources.resolve(name)) for name in CORPUS_SOURCES]
    annotations = pd.concat(tables, ignore_index=True)
    accessions = list(dict.fromkeys(annotations["accession"].tolist()))
    closed_sets, _ = go_sets(accessions, annotations, go)
    depths = go.depths
    return GoCorpus(accessions, [input_terms(closed, depths) for closed in closed_sets], key)
