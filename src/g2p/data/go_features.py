"""GO input features of curated genes: the depth-2 bottleneck concepts and the deeper GO input terms.

Per protein, from a table of ``(accession, go_id)`` rows (a dataset's GO reader,
:class:`~g2p.data.specs.GoTable` or :class:`~g2p.data.specs.GoGaf`): alt ids → primary, obsolete →
single replaced_by or dropped, propagated over ``is_a`` and ``part_of``. Depth = shortest path to the
BP/MF/CC root. Depth-2 terms carried by at least ``min_concept_genes`` of the genes that count (the
curated genes; prospective targets are scored, never counted) are the bottleneck ``concepts``; terms
deeper than 2 are the model's ``go_inputs``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p.data.builders import indicator_matrix, map_terms
from g2p.data.ontology import Ontology

CONCEPT_DEPTH = 2


def go_sets(accessions: Sequence[str], annotations: pd.DataFrame, go: Ontology) -> tuple[list[set[str]], dict]:
    """Each accession's GO terms, mapped to live ids and closed under ancestors, and the mapping counts."""
    annotations = annotations[annotations["accession"].isin(set(accessions))]
    mapping, term_counts = map_terms(annotations["go_id"].unique().tolist(), go)
    by_accession: dict[str, set[str]] = defaultdict(set)
    for accession, go_id in zip(annotations["accession"].tolist(), annotations["go_id"].map(mapping).tolist()):
        if isinstance(go_id, str):
            by_accession[accession].add(go_id)
    counts = {"go_ids": dict(sorted(term_counts.items())),
              "genes_without_go": int(sum(1 for a in accessions if not by_accession.get(a)))}
    return [go.propagate(by_accession.get(a, ())) for a in accessions], counts


def input_terms(closed: set[str], depths: dict[str, int]) -> list[str]:
    """The GO input terms of one closed GO set: those deeper than the concepts, sorted."""
    return sorted(t for t in closed if depths.get(t, -1) > CONCEPT_DEPTH)


def go_features_from_table(
    accessions: Sequence[str], annotations: pd.DataFrame, go: Ontology, min_concept_genes: int,
    counted: np.ndarray | None = None,
) -> tuple[pd.DataFrame, sp.csr_matrix, list[list[str]], dict]:
    """Depth-2 concepts (table + gene × concept matrix) and deeper GO input terms per gene.

    ``counted`` (a boolean mask over ``accessions``, default all) names the genes whose concepts count
    toward ``min_concept_genes`` and the reported statistics.
    """
    closed_sets, counts = go_sets(accessions, annotations, go)
    counted = np.ones(len(accessions), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    depths = go.depths
    concept_sets = [{t for t in closed if depths.get(t, -1) == CONCEPT_DEPTH} for closed in closed_sets]
    input_lists = [input_terms(closed, depths) for closed in closed_sets]
    frequency = Counter(t for s, keep in zip(concept_sets, counted) if keep for t in s)
    concept_ids = sorted(t for t, n in frequency.items() if n >= min_concept_genes)
    concepts = pd.DataFrame(
        {
            "go_id": concept_ids,
            "name": [go.name(t) for t in concept_ids],
            "namespace": [go.namespace(t) for t in concept_ids],
            "n_genes": [frequency[t] for t in concept_ids],
        }
    )
    kept = set(concept_ids)
    counted_inputs = [terms for terms, keep in zip(input_lists, counted) if keep]
    counts["genes_without_concept"] = int(sum(1 for s, keep in zip(concept_sets, counted) if keep and not s & kept))
    counts["genes_without_go_input"] = int(sum(1 for terms in counted_inputs if not terms))
    counts["concepts"] = len(concept_ids)
    counts["concepts_by_namespace"] = {k: int(v) for k, v in concepts["namespace"].value_counts().sort_index().items()}
    counts["go_input_vocabulary"] = int(len({t for terms in counted_inputs for t in terms}))
    counts["go_inputs_per_gene_median"] = float(np.median([len(t) for t in counted_inputs])) if counted_inputs else 0.0
    return concepts, indicator_matrix(concept_sets, concept_ids), input_lists, counts


def go_features(
    accessions: list[str], go_path: Path, go: Ontology, min_concept_genes: int
) -> tuple[pd.DataFrame, sp.csr_matrix, list[list[str]], dict]:
    """:func:`go_features_from_table` on an ``accession<TAB>go_ids`` file (the release's GO tables)."""
    from g2p.data import readers

    return go_features_from_table(accessions, readers.read_go_annotation_tsv(go_path), go, min_concept_genes)
