"""The concept bottleneck of one GenePheno model on one split, as arrays (what notebook 04 reads).

The phenotype logits are a linear function of the bottleneck: ``s = W·a(u) + W_free·a(u_free) + b``
with ``u`` the concept logits (one unit per depth-2 GO concept), ``a`` the model's concept activation
(σ, or the identity) and ``W`` the phenotype head (terms × concepts). So once the concept logits of a
split are read (:func:`g2p.genepheno.readout.read_bottleneck`), every analysis is exact arithmetic on
a :class:`Bottleneck`, with no further model calls:

* :mod:`g2p.genepheno.concept_weights` — concept → phenotype weights (the paper's Figure 3) and case studies:
  the concepts behind a prediction (activation × weight), checked against the gene's GO annotations;
* :mod:`g2p.genepheno.interventions` — switch a concept off or on and see which phenotype moves most;
* :mod:`g2p.genepheno.cross_attention` — the sequence → GO cross-attention;
* :mod:`g2p.genepheno.exclusive_pairs` — predicted co-occurrence of mutually exclusive terms;
* their figures are in :mod:`g2p.genepheno.plots`.

Every statistic is computed over the whole split it names (test, unless said otherwise); the only
use of the training split is to define which concept–phenotype pairs count as *related*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

@dataclass
class Bottleneck:
    """What a model's bottleneck says about the genes of one split (row g = ``genes.iloc[g]``).

    ``weights`` is the phenotype head restricted to the concept units (terms × concepts); the free
    units, if any, and the bias are folded into ``base_logits`` (they do not change when a concept is
    switched). ``attention`` is (genes × sequence tokens × GO tokens), zero-padded, with the GO token
    names of each gene in ``go_tokens`` (``[CLS]`` first, then its GO terms rarest first)."""

    genes: pd.DataFrame
    terms: pd.DataFrame
    concepts: pd.DataFrame
    weights: np.ndarray
    concept_logits: np.ndarray
    base_logits: np.ndarray
    labels: sp.csr_matrix
    concept_labels: sp.csr_matrix
    activation: str = "sigmoid"
    attention: np.ndarray | None = None
    go_tokens: list[list[str]] = field(default_factory=list)
    split: str = "test"
    free_activations: np.ndarray | None = None  # genes × free units (already in base_logits)

    def __post_init__(self) -> None:
        n_genes, n_concepts = self.concept_logits.shape
        if self.weights.shape != (len(self.terms), n_concepts):
            raise ValueError(f"weights {self.weights.shape} do not match {len(self.terms)} terms × {n_concepts} concepts")
        if self.base_logits.shape != (n_genes, len(self.terms)):
            raise ValueError(f"base_logits {self.base_logits.shape} do not match {n_genes} genes × {len(self.terms)} terms")
        if self.activation not in ("sigmoid", "identity"):
            raise ValueError(f"unknown concept activation {self.activation!r}")

    @property
    def n_genes(self) -> int:
        return self.concept_logits.shape[0]

    @property
    def activations(self) -> np.ndarray:
        """What the phenotype head reads from each concept unit (genes × concepts)."""
        return activate(self.concept_logits, self.activation)

    def logits(self, activations: np.ndarray | None = None, rows=None) -> np.ndarray:
        """Phenotype logits for ``rows`` (default: all genes) from given concept activations."""
        rows = np.arange(self.n_genes) if rows is None else np.atleast_1d(rows)
        acts = self.activations[rows] if activations is None else np.atleast_2d(activations)
        return acts @ self.weights.T + self.base_logits[rows]

    def probabilities(self, activations: np.ndarray | None = None, rows=None) -> np.ndarray:
        return sigmoid(self.logits(activations, rows))

    def switch_values(self) -> tuple[np.ndarray, np.ndarray]:
        """(off, on) activation of every concept: 0 and 1 for σ units; for identity units the
        smallest and largest value the unit takes on this split."""
        if self.activation == "sigmoid":
            n = self.concept_logits.shape[1]
            return np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)
        return self.concept_logits.min(axis=0), self.concept_logits.max(axis=0)

    def term_names(self, columns) -> list[str]:
        return [str(self.terms["name"].iat[j]) for j in np.atleast_1d(columns)]

    def concept_names(self, columns) -> list[str]:
        return [str(self.concepts["name"].iat[k]) for k in np.atleast_1d(columns)]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def activate(concept_logits: np.ndarray, activation: str) -> np.ndarray:
    return sigmoid(concept_logits) if activation == "sigmoid" else np.asarray(concept_logits)


def namespace_letter(namespace: str) -> str:
    """BP, MF or CC for a GO namespace (``?`` for anything else)."""
    return {"biological_process": "BP", "molecular_function": "MF", "cellular_component": "CC"}.get(str(namespace), "?")


def short_label(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (tick labels, column names)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"
