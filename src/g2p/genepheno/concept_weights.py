"""Which GO concepts drive which phenotypes: head weights (the paper's Figure 3) and case studies.

* :func:`figure3_selection`, :func:`weight_table` — concept → phenotype weights for phenotypes chosen
  by a stated rule;
* :func:`pick_case_genes`, :func:`case_predictions`, :func:`contributions` — predicted vs observed
  phenotypes of three genes and the concepts behind a prediction (activation × weight), checked
  against the gene's own GO annotations; :func:`annotation_agreement` does the same over a whole split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from g2p.genepheno import metrics
from g2p.genepheno.bottleneck import Bottleneck, namespace_letter

def figure3_selection(bottleneck: Bottleneck, selection: Bottleneck | None = None, *, per_bin: int = 2,
                      min_positives: int = 5, concepts_per_term: int = 3) -> tuple[list[int], list[int]]:
    """(term columns, concept columns) for the weight heatmap, by a fixed rule: in each frequency bin,
    the ``per_bin`` terms with the highest ROC-AUC on ``selection`` (the validation split; terms with at
    least ``min_positives`` positive genes there), then, for each chosen term, its ``concepts_per_term``
    largest positive head weights. Falls back to all terms with any positive when no term of a bin
    qualifies, so a tiny split still gives a figure."""
    chosen_on = selection or bottleneck
    y = chosen_on.labels.toarray()
    auc = metrics.per_term_auc(y, chosen_on.probabilities())
    positives = y.sum(axis=0)
    terms = []
    for _, frame in bottleneck.terms.groupby("bin", sort=False):
        cols = frame.index.to_numpy()
        ok = cols[(positives[cols] >= min_positives) & np.isfinite(auc[cols])]
        if len(ok) == 0:
            ok = cols[(positives[cols] >= 1) & np.isfinite(auc[cols])]
        terms.extend(ok[np.argsort(-auc[ok], kind="stable")][:per_bin].tolist())
    concepts: list[int] = []
    for j in terms:
        for k in np.argsort(-bottleneck.weights[j], kind="stable")[:concepts_per_term]:
            if int(k) not in concepts:
                concepts.append(int(k))
    return terms, concepts


def weight_table(bottleneck: Bottleneck, terms, concepts) -> pd.DataFrame:
    """Head weights, rows: GO concept names (with namespace), columns: phenotype names (with bin)."""
    columns = [f"{n} [{b}]" for n, b in zip(bottleneck.term_names(terms), bottleneck.terms["bin"].iloc[terms])]
    index = [f"{n} ({namespace_letter(bottleneck.concepts['namespace'].iat[k])})"
             for n, k in zip(bottleneck.concept_names(concepts), concepts)]
    return pd.DataFrame(bottleneck.weights[np.ix_(terms, concepts)].T, index=index, columns=columns)


def per_gene_average_precision(bottleneck: Bottleneck) -> np.ndarray:
    """Average precision of each gene's phenotype ranking (NaN for a gene without positives)."""
    y = bottleneck.labels.toarray()
    p = bottleneck.probabilities()
    return np.array([average_precision_score(y[g], p[g]) if y[g].any() else np.nan for g in range(len(y))])


def pick_case_genes(bottleneck: Bottleneck, *, min_true: int = 3) -> pd.DataFrame:
    """Three genes by a fixed rule: among genes with at least ``min_true`` observed phenotypes and at
    least one GO concept annotation, the best, the median and the worst by per-gene average precision."""
    ap = per_gene_average_precision(bottleneck)
    n_true = np.asarray(bottleneck.labels.sum(axis=1)).ravel()
    n_concepts = np.asarray(bottleneck.concept_labels.sum(axis=1)).ravel()
    eligible = np.flatnonzero((n_true >= min_true) & (n_concepts >= 1) & np.isfinite(ap))
    if len(eligible) == 0:
        eligible = np.flatnonzero(np.isfinite(ap))
    if len(eligible) == 0:
        raise ValueError(f"no {bottleneck.split} gene has an observed phenotype")
    order = eligible[np.argsort(-ap[eligible], kind="stable")]
    picks = {"best": order[0], "median": order[len(order) // 2], "worst": order[-1]}
    rows = []
    for role, g in picks.items():
        rows.append({"role": role, "row": int(g), **_gene_label(bottleneck, g), "average_precision": float(ap[g]),
                     "n_observed": int(n_true[g]), "n_concepts_annotated": int(n_concepts[g])})
    return pd.DataFrame(rows).drop_duplicates("row").reset_index(drop=True)


def _gene_label(bottleneck: Bottleneck, g: int) -> dict[str, str]:
    gene = bottleneck.genes.iloc[int(g)]
    return {"gene_id": str(gene["gene_id"]), "symbol": str(gene.get("symbol", "") or gene["gene_id"])}


def contributions(bottleneck: Bottleneck, gene: int, term: int, activations: np.ndarray | None = None) -> pd.DataFrame:
    """Each concept's contribution to one phenotype logit of one gene: activation × weight, with
    whether the gene is annotated with the concept (its own propagated GO annotations), largest
    absolute contribution first."""
    acts = bottleneck.activations[gene] if activations is None else activations
    w = bottleneck.weights[term]
    annotated = np.asarray(bottleneck.concept_labels[gene].toarray()).ravel() > 0
    frame = pd.DataFrame({
        "go_id": bottleneck.concepts["go_id"], "concept": bottleneck.concepts["name"],
        "namespace": bottleneck.concepts["namespace"].map(namespace_letter),
        "activation": acts, "weight": w, "contribution": acts * w, "annotated": annotated,
    })
    return frame.reindex(frame["contribution"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def case_predictions(bottleneck: Bottleneck, gene: int, *, top_k: int = 10, n_concepts: int = 3) -> pd.DataFrame:
    """The gene's ``top_k`` highest-scoring phenotypes: score, whether observed, and the
    ``n_concepts`` concepts that raise its logit most (✓ = the gene is annotated with that concept)."""
    probs = bottleneck.probabilities(rows=gene)[0]
    observed = np.asarray(bottleneck.labels[gene].toarray()).ravel() > 0
    rank = np.argsort(-probs, kind="stable")
    rows = []
    for j in rank[:top_k]:
        top = contributions(bottleneck, gene, j)
        top = top[top["contribution"] > 0].head(n_concepts)
        drivers = "; ".join(f"{c}{' ✓' if a else ''} ({v:+.2f})" for c, a, v in
                            zip(top["concept"], top["annotated"], top["contribution"]))
        rows.append({"phenotype": bottleneck.terms["name"].iat[j], "term_id": bottleneck.terms["term_id"].iat[j],
                     "score": float(probs[j]), "observed": "yes" if observed[j] else "no",
                     "raised most by (✓ annotated)": drivers})
    return pd.DataFrame(rows)


def observed_ranks(bottleneck: Bottleneck, gene: int) -> pd.DataFrame:
    """Where each observed phenotype of the gene lands in its ranking (1 = top)."""
    probs = bottleneck.probabilities(rows=gene)[0]
    rank = np.empty(len(probs), dtype=int)
    rank[np.argsort(-probs, kind="stable")] = np.arange(1, len(probs) + 1)
    cols = np.flatnonzero(np.asarray(bottleneck.labels[gene].toarray()).ravel() > 0)
    frame = pd.DataFrame({"phenotype": bottleneck.term_names(cols), "rank": rank[cols], "score": probs[cols]})
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def case_summary(bottleneck: Bottleneck, case_genes: pd.DataFrame, *, top_k: int = 10) -> pd.DataFrame:
    """One line per case gene: its scores' precision among its top ``top_k``, where its observed
    phenotypes rank, and the agreement of its top prediction's drivers with its annotations."""
    rows = []
    for case in case_genes.itertuples():
        ranks = observed_ranks(bottleneck, case.row)["rank"]
        top = case_predictions(bottleneck, case.row, top_k=top_k)
        drivers = contributions(bottleneck, case.row, int(np.argmax(bottleneck.probabilities(rows=case.row)[0])))
        raising = drivers[drivers["contribution"] > 0].head(5)
        rows.append({"role": case.role, "gene": case.symbol, "average precision": case.average_precision,
                     "observed": case.n_observed, f"observed in top {top_k}": int((top["observed"] == "yes").sum()),
                     "median rank of observed": float(ranks.median()),
                     "top-5 drivers annotated": f"{int(raising['annotated'].sum())}/{len(raising)}",
                     "concepts annotated": f"{case.n_concepts_annotated}/{len(bottleneck.concepts)}"})
    return pd.DataFrame(rows)


def case_text(bottleneck: Bottleneck, case_genes: pd.DataFrame, *, top_k: int = 10) -> str:
    """The case summary as sentences, one per case gene (for the chapter's prose)."""
    table = case_summary(bottleneck, case_genes, top_k=top_k)
    parts = []
    for row in table.to_dict("records"):
        parts.append(f"for the {row['role']} gene, *{row['gene']}*, {row[f'observed in top {top_k}']} of its top "
                     f"{top_k} phenotypes are observed (median rank of its {row['observed']} observed phenotypes: "
                     f"{row['median rank of observed']:.0f}), and {row['top-5 drivers annotated']} of the concepts "
                     f"that raise its top prediction most are annotated to it")
    return "; ".join(parts) + "."


def annotation_agreement(bottleneck: Bottleneck, *, top_concepts: int = 5) -> dict[str, float]:
    """Over every gene of the split: of the ``top_concepts`` concepts that raise its top-scoring
    phenotype most, the share the gene is annotated with (``driver_annotated``), against the share of
    all concepts it is annotated with (``base_rate``, what drivers picked at random would give);
    plus the concept units' macro ROC-AUC against the annotations (how faithful the bottleneck is)."""
    acts = bottleneck.activations
    annotated = bottleneck.concept_labels.toarray() > 0
    top_term = np.argmax(bottleneck.logits(), axis=1)
    contrib = acts * bottleneck.weights[top_term]  # genes × concepts
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top_concepts]
    positive = np.take_along_axis(contrib, order, axis=1) > 0
    hits = np.take_along_axis(annotated, order, axis=1) & positive
    driver_share = hits.sum(axis=1) / np.maximum(positive.sum(axis=1), 1)
    has_drivers = positive.any(axis=1)
    return {
        "driver_annotated": float(driver_share[has_drivers].mean()) if has_drivers.any() else float("nan"),
        "base_rate": float(annotated.mean(axis=1)[has_drivers].mean()) if has_drivers.any() else float("nan"),
        "concept_auc": metrics.macro_auc(annotated.astype(np.float32), bottleneck.concept_logits),
        "n_genes": int(has_drivers.sum()),
    }
