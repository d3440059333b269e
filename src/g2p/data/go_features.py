"""GO input features of curated genes: the depth-2 bottleneck concepts and the deeper GO input terms.

Per protein (``go_annotations_*_2014.tsv``): alt ids → primary, obsolete → single replaced_by or
dropped, propagated over ``is_a`` and ``part_of``. Depth = shortest path to the BP/MF/CC root.
Depth-2 terms carried by at least ``min_concept_genes`` curated genes (default 1) are the
bottleneck ``concepts``; terms deeper than 2 are the model's ``go_inputs``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p.data.builders import indicator_matrix, map_terms
from g2p.data.ontology import Ontology

CONCEPT_DEPTH = 2


def go_features(
    accessions: list[str], go_path: Path, go: Ontology, min_concept_genes: int
) -> tuple[pd.DataFrame, sp.csr_matrix, list[list[str]], dict]:
    """Depth-2 concepts (table + gene × concept matrix) and deeper GO input terms per gene."""
    from g2p.data import readers

    annotations = readers.read_go_annotation_tsv(go_path)
    annotations = annotations[annotations["accession"].isin(set(accessions))]
    mapping, term_counts = map_terms(annotations["go_id"].unique().tolist(), go)
    counts: dict = {"go_ids": dict(sorted(term_counts.items()))}
    by_accession: dict[str, set[str]] = defaultdict(set)
    for accession, go_id in zip(annotations["accession"].tolist(), annotations["go_id"].map(mapping).tolist()):
        if isinstance(go_id, str):
            by_accession[accession].add(go_id)
    depths = go.depths
    concept_sets, input_lists = [], []
    for accession in accessions:
        closed = go.propagate(by_accession.get(accession, ()))
        concept_sets.append({t for t in closed if depths.get(t, -1) == CONCEPT_DEPTH})
        input_lists.append(sorted(t for t in closed if depths.get(t, -1) > CONCEPT_DEPTH))
    frequency = Counter(t for s in concept_sets for t in s)
    concept_ids = sorted(t for t, n in frequency.items() if n >= min_concept_genes)
    concepts = pd.DataFrame(
        {
            "go_id": concept_ids,
            "name": [go.name(t) for t in concept_ids],
            "namespace": [go.namespace(t) for t in concept_ids],
            "n_genes": [frequency[t] for t in concept_ids],
        }
    )
    counts["genes_without_go"] = int(sum(1 for a in accessions if not by_accession.get(a)))
    counts["genes_without_concept"] = int(sum(1 for s in concept_sets if not s & set(concept_ids)))
    counts["genes_without_go_input"] = int(sum(1 for terms in input_lists if not terms))
    counts["concepts"] = len(concept_ids)
    counts["concepts_by_namespace"] = {k: int(v) for k, v in concepts["namespace"].value_counts().sort_index().items()}
    counts["go_input_vocabulary"] = int(len({t for terms in input_lists for t in terms}))
    counts["go_inputs_per_gene_median"] = float(np.median([len(t) for t in input_lists])) if input_lists else 0.0
    return concepts, indicator_matrix(concept_sets, concept_ids), input_lists, counts
