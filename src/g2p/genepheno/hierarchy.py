"""The phenotype hierarchy over a label set: which label columns lie below which.

A curated dataset's labels are the terms kept from its phenotype ontology (MP for ``mpo``, HP for
``hpo``; :data:`g2p.data.specs.SPECS`), true-path propagated, so the ontology's ancestor sets
restricted to the kept terms give the label columns' hierarchy. :func:`g2p.genepheno.metrics.propagate_max`
uses it to make predictions hierarchy-consistent, as CAFA's evaluator does.

* :func:`label_descendants` — the (terms × terms) descendant matrix of some term ids in one ontology;
* :func:`dataset_descendants` — the same for a curated dataset's columns, from its datasheet's dataset;
* :func:`ontology_of` — the dataset-table ontology that holds every given term (a model folder only
  lists its terms).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from g2p.data import curated
from g2p.data.ontology import load_ontology
from g2p.data.specs import SPECS
from g2p.errors import InputError


@lru_cache(maxsize=4)
def _descendants(term_ids: tuple[str, ...], ontology_source: str, where: Path | None) -> sparse.csr_matrix:
    ontology = load_ontology(ontology_source)
    column = {term: j for j, term in enumerate(term_ids)}
    missing = [term for term in term_ids if term not in ontology]
    if missing:
        raise InputError(f"{len(missing)} label term(s) are not live terms of {ontology_source}, e.g. {missing[0]}",
                         path=where, hint="the labels and the ontology must come from the same data release")
    rows, cols = [], []
    for child, term in enumerate(term_ids):
        for ancestor in ontology.ancestors(term):  # cached; crosses terms that are not columns
            if ancestor in column:
                rows.append(column[ancestor])
                cols.append(child)
    n = len(term_ids)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
    matrix.sort_indices()
    return matrix


def label_descendants(term_ids: Sequence[str], ontology_source: str, where: Path | None = None) -> sparse.csr_matrix:
    """Row j marks the columns that are descendants of column j's term in ``ontology_source``
    (``mp_obo``, ``hp_obo``), transitively over terms that are not columns; the diagonal is empty.
    ``where`` names the term list's file in the error for a term the ontology lacks. Cached per
    process (the benchmark scores many methods of one dataset)."""
    return _descendants(tuple(str(t) for t in term_ids), ontology_source, where)


def dataset_descendants(dataset) -> sparse.csr_matrix | None:
    """:func:`label_descendants` of a curated dataset's columns, in the ontology of the dataset it was
    curated as (``datasheet["dataset"]``); None for a dataset outside the dataset table (a synthetic
    fixture), which has no ontology."""
    sheet = getattr(dataset, "datasheet", None) or {}
    spec = SPECS.get(str(sheet.get("dataset", "")))
    if spec is None:
        return None
    folder = getattr(dataset, "path", None)
    return label_descendants(list(dataset.terms["term_id"]), spec.ontology,
                             Path(folder) / curated.FILES["terms"] if folder is not None else None)


def ontology_of(term_ids: Sequence[str], where: Path | None = None) -> str:
    """The ontology source of the dataset table that holds every term of ``term_ids``; ``where`` names
    the file they came from in the error when none does."""
    wanted = {str(t) for t in term_ids}
    for source in dict.fromkeys(spec.ontology for spec in SPECS.values()):
        ontology = load_ontology(source)
        if all(term in ontology for term in wanted):
            return source
    raise InputError(f"no ontology of the dataset table ({', '.join(s.ontology for s in SPECS.values())}) "
                     "holds every term", path=where, hint="hierarchy-consistent scores need the labels' ontology")
