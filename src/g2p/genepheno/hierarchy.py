"""The phenotype hierarchy over a label set: which label columns lie below which.

A curated dataset's labels are terms kept from its phenotype vocabulary (:data:`g2p.data.specs.SPECS`:
an OBO ontology, MP or HP, or a flat vocabulary without one), true-path propagated, so the ontology's
ancestor sets restricted to the kept terms give the label columns' hierarchy.
:func:`g2p.genepheno.metrics.propagate_max` uses it to make predictions hierarchy-consistent, as CAFA's
evaluator does.

* :func:`label_descendants` — the (terms × terms) descendant matrix of some term ids in one ontology;
* :func:`dataset_descendants` — the same for a curated dataset's columns, from its datasheet's row of
  the dataset table (None for a flat vocabulary: nothing to propagate);
* :func:`model_descendants` — the same for a model folder, which lists only its terms: the first
  ontology of the dataset table that holds every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from g2p.data import curated
from g2p.data.ontology import Ontology
from g2p.data.specs import SPECS, OboOntology
from g2p.errors import InputError


def label_descendants(term_ids: Sequence[str], ontology: Ontology, where: Path | None = None) -> sparse.csr_matrix:
    """Row j marks the columns that are descendants of column j's term in ``ontology``, transitively
    over terms that are not columns; the diagonal is empty. ``where`` names the term list's file in
    the error for a term the ontology lacks."""
    term_ids = [str(t) for t in term_ids]
    missing = [term for term in term_ids if term not in ontology]
    if missing:
        raise InputError(f"{len(missing)} label term(s) are not live terms of the phenotype ontology, e.g. "
                         f"{missing[0]}", path=where, hint="the labels and the ontology must come from the same data release")
    column = {term: j for j, term in enumerate(term_ids)}
    rows, cols = [], []
    for child, term in enumerate(term_ids):
        for ancestor in ontology.ancestors(term):  # crosses terms that are not columns
            if ancestor in column:
                rows.append(column[ancestor])
                cols.append(child)
    n = len(term_ids)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
    matrix.sort_indices()
    return matrix


@lru_cache(maxsize=8)
def _phenotype_descendants(term_ids: tuple[str, ...], phenotype: OboOntology, where: Path | None) -> sparse.csr_matrix:
    # Cached per process: the benchmark scores many methods (and splits) of one dataset.
    return label_descendants(term_ids, phenotype.load({}), where)


def dataset_descendants(dataset) -> sparse.csr_matrix | None:
    """:func:`label_descendants` of a curated dataset's columns, in the phenotype ontology of the row of
    the dataset table it was curated as (``datasheet["dataset"]``); None for a flat vocabulary or a
    dataset outside the table (a synthetic fixture): there is no hierarchy to propagate over."""
    sheet = getattr(dataset, "datasheet", None) or {}
    spec = SPECS.get(str(sheet.get("dataset", "")))
    if spec is None or not isinstance(spec.phenotype, OboOntology):
        return None
    folder = getattr(dataset, "path", None)
    where = Path(folder) / curated.FILES["terms"] if folder is not None else None
    return _phenotype_descendants(tuple(str(t) for t in dataset.terms["term_id"]), spec.phenotype, where)


def model_descendants(term_ids: Sequence[str], where: Path | None = None) -> tuple[sparse.csr_matrix, str]:
    """:func:`label_descendants` of a model's terms in the first phenotype ontology of the dataset table
    that holds every one, and that ontology's source name. ``where`` names the model's term list in the
    error when none does."""
    wanted = tuple(str(t) for t in term_ids)
    for phenotype in dict.fromkeys(spec.phenotype for spec in SPECS.values() if isinstance(spec.phenotype, OboOntology)):
        ontology = phenotype.load({})
        if all(term in ontology for term in wanted):
            return _phenotype_descendants(wanted, phenotype, where), phenotype.source
    sources = ", ".join(dict.fromkeys(s.phenotype.source for s in SPECS.values() if isinstance(s.phenotype, OboOntology)))
    raise InputError(f"no phenotype ontology of the dataset table ({sources}) holds every term", path=where,
                     hint="hierarchy-consistent scores need the labels' ontology; leave --consistent out")
