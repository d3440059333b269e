"""Concept interventions: switch one concept of one gene off or on and see which phenotype moves most.

:func:`related_pairs` says which concept–phenotype pairs are related (enrichment among the *training*
genes); :func:`intervention_effects` flips every (test gene, concept) pair exactly through the linear
head and :func:`intervention_statistic` measures how often the phenotype that moved most is related
to the flipped concept, against two chance levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.special import gammaln
from scipy.stats import hypergeom

from g2p.genepheno.bottleneck import Bottleneck

def related_pairs(dataset, split: str = "train", *, fdr: float = 0.05) -> np.ndarray:
    """Concepts × terms boolean: the term is *enriched* among the ``split`` genes annotated with the
    concept (one-sided hypergeometric test of the overlap, Benjamini–Hochberg over all pairs at
    ``fdr``). This is what "a phenotype related to that concept" means in the intervention statistic;
    it uses training genes only, never the genes the statistic is computed on.

    Exact p-values are computed only where they can matter: a pair whose overlap is not above its
    expectation, or whose point probability P(X = x) alone exceeds ``fdr`` (so P(X ≥ x) does too),
    can never be rejected by BH at ``fdr``, whatever its exact p-value; it gets p = 1."""
    rows = dataset.split_index(split)
    concept = dataset.concept_labels[rows].tocsc().astype(np.float64)
    labels = dataset.labels[rows].tocsc().astype(np.float64)
    both = np.asarray((concept.T @ labels).todense())  # concepts × terms: x
    n_concept = np.broadcast_to(np.asarray(concept.sum(axis=0)).ravel()[:, None], both.shape)  # n
    n_term = np.broadcast_to(np.asarray(labels.sum(axis=0)).ravel()[None, :], both.shape)  # N
    total = float(len(rows))  # M

    def log_choose(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    p = np.ones_like(both)
    enriched = (both > 0) & (both * total > n_concept * n_term)
    x, n, big_n = both[enriched], n_concept[enriched], n_term[enriched]
    log_pmf = log_choose(n, x) + log_choose(total - n, big_n - x) - log_choose(total, big_n)
    candidate = np.flatnonzero(enriched)[log_pmf <= np.log(fdr)]
    if len(candidate):
        triples = np.stack([both.flat[candidate], n_concept.flat[candidate], n_term.flat[candidate]], axis=1)
        unique, inverse = np.unique(triples, axis=0, return_inverse=True)
        p.flat[candidate] = hypergeom.sf(unique[:, 0] - 1, total, unique[:, 1], unique[:, 2])[inverse.ravel()]
    return benjamini_hochberg(p) < fdr


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (same shape as ``p``)."""
    flat = np.asarray(p, dtype=np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    ranked = flat[order] * len(flat) / np.arange(1, len(flat) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(flat)
    out[order] = adjusted
    return out.reshape(np.shape(p))


def intervene(bottleneck: Bottleneck, gene: int, settings: dict[int, float]) -> np.ndarray:
    """Phenotype probabilities of one gene with some concept activations replaced (``{column:
    activation}``); the other concepts keep the model's values."""
    acts = bottleneck.activations[gene].copy()
    for k, value in settings.items():
        acts[int(k)] = value
    return bottleneck.probabilities(acts, rows=gene)[0]


def flip_targets(bottleneck: Bottleneck) -> np.ndarray:
    """(genes × concepts) activation each concept is switched to: off where the unit is on (σ ≥ ½,
    or above the split's midpoint for identity units), on where it is off."""
    off, on = bottleneck.switch_values()
    acts = bottleneck.activations
    return np.where(acts >= (off + on) / 2, off, on).astype(np.float32)


@dataclass
class InterventionResult:
    """Every (gene, concept) flip of a split: the phenotype that moved most and by how much."""

    top_term: np.ndarray  # genes × concepts: column of the phenotype with the largest |Δp|
    top_change: np.ndarray  # genes × concepts: that Δp (signed)
    switched_on: np.ndarray  # genes × concepts: True where the flip switched the concept on
    hit: np.ndarray  # genes × concepts: top phenotype is related to the concept
    chance: np.ndarray  # concepts: share of all phenotypes related to the concept
    shuffled: np.ndarray  # genes × concepts: share of all concepts the top phenotype is related to


def intervention_effects(bottleneck: Bottleneck, related: np.ndarray, *, max_elements: int = 2**23) -> InterventionResult:
    """Flip every concept of every gene (:func:`flip_targets`), one concept at a time, and record the
    phenotype with the largest absolute probability change. Exact: the head is linear, so flipping
    concept k changes every logit of gene g by w[:, k] · (target − activation); every phenotype is
    evaluated (genes × concepts × phenotypes sigmoids, in blocks of ``max_elements``, in place)."""
    acts = torch.from_numpy(np.ascontiguousarray(bottleneck.activations, dtype=np.float32))
    targets = torch.from_numpy(flip_targets(bottleneck))
    weights = torch.from_numpy(np.ascontiguousarray(bottleneck.weights, dtype=np.float32))  # terms × concepts
    logits = torch.from_numpy(np.ascontiguousarray(bottleneck.logits(), dtype=np.float32))  # genes × terms
    base = torch.sigmoid(logits)
    n_genes, n_concepts = acts.shape
    batch = max(1, max_elements // max(1, n_genes * weights.shape[0]))  # concepts per block
    delta = targets - acts  # genes × concepts
    top_term = torch.zeros((n_genes, n_concepts), dtype=torch.int64)
    with torch.no_grad():
        for start in range(0, n_concepts, batch):
            ks = slice(start, min(start + batch, n_concepts))
            block = delta[:, ks, None] * weights[:, ks].T[None, :, :]  # genes × b × terms
            block.add_(logits[:, None, :]).sigmoid_().sub_(base[:, None, :]).abs_()
            top_term[:, ks] = block.argmax(dim=-1)
        # the signed change of each winner, recomputed for it alone
        rows = torch.arange(n_genes)[:, None]
        w = weights.T[torch.arange(n_concepts)[None, :], top_term]  # genes × concepts: w[top, k]
        top_change = torch.sigmoid(logits[rows, top_term] + delta * w) - base[rows, top_term]
    top_term, top_change = top_term.numpy(), top_change.numpy()
    related = np.asarray(related, dtype=bool)
    if related.shape != (n_concepts, weights.shape[0]):
        raise ValueError(f"related is {related.shape}, expected concepts × terms {(n_concepts, weights.shape[0])}")
    hit = related[np.arange(n_concepts)[None, :], top_term]
    return InterventionResult(top_term=top_term, top_change=top_change, switched_on=(targets > acts).numpy(),
                              hit=hit, chance=related.mean(axis=1), shuffled=related.mean(axis=0)[top_term])


def intervention_statistic(result: InterventionResult, *, n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """The share of flips whose most-moved phenotype is related to the flipped concept (``hit_rate``,
    with a 95 % bootstrap interval over genes and concepts), against two chance levels: a randomly picked phenotype
    (``chance``: the mean share of phenotypes related to the concept) and the same moved phenotype
    checked against a randomly picked concept (``shuffled``: the mean share of concepts related to it;
    this one allows for the moved phenotypes being common ones, which many concepts are related to).
    Also over the flips that switch a concept off (``*_off``)."""
    n_genes, n_concepts = result.hit.shape
    chance = np.broadcast_to(result.chance[None, :], result.hit.shape)
    rng = np.random.default_rng(seed)
    hits = result.hit.astype(np.float32)
    # Genes and concepts resampled independently: a concept's flips move the same phenotype in most
    # genes, so resampling genes alone would understate the spread.
    boots = [hits[rng.integers(0, n_genes, n_genes)][:, rng.integers(0, n_concepts, n_concepts)].mean()
             for _ in range(n_boot)] if hits.size else [np.nan]
    off = ~result.switched_on
    return {
        "hit_rate": float(result.hit.mean()), "hit_rate_lo": float(np.quantile(boots, 0.025)),
        "hit_rate_hi": float(np.quantile(boots, 0.975)), "chance": float(chance.mean()),
        "shuffled": float(result.shuffled.mean()),
        "lift": float(result.hit.mean() / result.shuffled.mean()) if result.shuffled.mean() > 0 else float("nan"),
        "hit_rate_off": float(result.hit[off].mean()) if off.any() else float("nan"),
        "chance_off": float(chance[off].mean()) if off.any() else float("nan"),
        "shuffled_off": float(result.shuffled[off].mean()) if off.any() else float("nan"),
        "n_flips": int(result.hit.size), "n_genes": int(n_genes), "n_concepts": int(n_concepts),
    }


def intervention_by_concept(bottleneck: Bottleneck, result: InterventionResult) -> pd.DataFrame:
    """Per concept: hit rate over the split's genes, chance, and the phenotype most often moved most."""
    rows = []
    for k in range(result.hit.shape[1]):
        values, counts = np.unique(result.top_term[:, k], return_counts=True)
        mode = int(values[np.argmax(counts)])
        rows.append({"concept": bottleneck.concepts["name"].iat[k], "go_id": bottleneck.concepts["go_id"].iat[k],
                     "hit_rate": float(result.hit[:, k].mean()), "chance": float(result.chance[k]),
                     "shuffled": float(result.shuffled[:, k].mean()),
                     "most_moved_phenotype": bottleneck.terms["name"].iat[mode],
                     "mean_abs_change": float(np.abs(result.top_change[:, k]).mean())})
    return pd.DataFrame(rows)


def intervention_verdict(stat: dict[str, float]) -> str:
    """One sentence comparing the hit rate's interval with the shuffled-concept chance level."""
    if stat["hit_rate_lo"] > stat["shuffled"]:
        return (f"above chance: the interval {stat['hit_rate_lo']:.3f}–{stat['hit_rate_hi']:.3f} lies above the "
                f"{stat['shuffled']:.3f} a random concept gives, {stat['lift']:.1f} times as often")
    if stat["hit_rate_hi"] < stat["shuffled"]:
        return (f"below chance: the interval {stat['hit_rate_lo']:.3f}–{stat['hit_rate_hi']:.3f} lies below the "
                f"{stat['shuffled']:.3f} a random concept gives")
    return (f"not distinguishable from chance: the interval {stat['hit_rate_lo']:.3f}–{stat['hit_rate_hi']:.3f} "
            f"contains the {stat['shuffled']:.3f} a random concept gives")


def intervention_table(stats: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The intervention statistics of several datasets side by side, counts as integers."""
    frame = pd.DataFrame(stats)
    return frame.apply(lambda row: row.map(lambda v: f"{v:,.0f}" if row.name.startswith(("n_", "related"))
                                           else f"{v:.4f}"), axis=1)
