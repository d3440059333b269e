"""Reading a trained GenePheno model through its GO-concept bottleneck (notebook 04).

The phenotype logits are a linear function of the bottleneck: ``s = W·a(u) + W_free·a(u_free) + b``
with ``u`` the concept logits (one unit per depth-2 GO concept), ``a`` the model's concept activation
(σ, or the identity) and ``W`` the phenotype head (terms × concepts). So once the concept logits of a
split are read (:func:`read_bottleneck`), everything here is exact arithmetic on them, with no further
model calls:

* :func:`figure3_selection`, :func:`weight_table` — the paper's Figure 3: concept → phenotype weights
  for phenotypes chosen by a stated rule;
* :func:`pick_case_genes`, :func:`case_predictions`, :func:`contributions` — case studies: predicted
  vs observed phenotypes and the concepts behind a prediction (activation × weight), checked against
  the gene's own GO annotations; :func:`annotation_agreement` does the same over a whole split;
* :func:`related_pairs`, :func:`intervene`, :func:`intervention_statistic` — switch a concept off or
  on and see which phenotype moves most; over every (test gene, concept) pair, how often that
  phenotype is one the concept is enriched with among the *training* genes;
* :func:`attention_table`, :func:`attention_summary` — the sequence → GO cross-attention;
* :func:`exclusive_cooccurrence` — predicted co-occurrence of mutually exclusive terms across
  thresholds, for models trained with and without the exclusive regulariser.

Every statistic is computed over the whole split it names (test, unless said otherwise); the only
use of the training split is to define which concept–phenotype pairs count as *related*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from g2p.genepheno import metrics

SPECIAL_GO_TOKENS = {0: "[PAD]", 1: "[UNK]", 2: "[CLS]"}


# ==================================================================================================
# The bottleneck of one model on one split
# ==================================================================================================
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


def run_dir(preset: str, dataset_name: str, variant: str = "complete", seed: int = 0) -> Path:
    """The ``best/`` model folder notebooks 02 (``complete``) and 03 (ablations) write."""
    from g2p.genepheno.benchmark import variant_dir

    return variant_dir(preset, dataset_name, variant, seed) / "best"


def load_trained(preset: str, dataset_name: str, variant: str = "complete", seed: int = 0):
    """``predict.LoadedModel`` of a trained run; a missing run names the notebook that trains it."""
    from g2p.data.errors import MissingFileError
    from g2p.genepheno import predict

    folder = run_dir(preset, dataset_name, variant, seed)
    if not folder.is_dir():
        notebook = "02_train_genepheno" if variant == "complete" else "03_evaluate"
        raise MissingFileError(folder, f"no trained {variant!r} model (seed {seed})",
                               hint=f"run notebook {notebook} first: python -m g2p run --preset {preset} --only {notebook[:2]}")
    return predict.load_model(folder)


@torch.no_grad()
def read_bottleneck(loaded, dataset, split: str = "test", *, attention: bool = True, batch_size: int = 256) -> Bottleneck:
    """Encode the genes of ``split`` exactly as ``predict`` does, run the model once (with attention
    weights when it has both streams) and keep its concept logits. The head is then checked: the
    logits rebuilt from the concept logits must equal the model's own."""
    from g2p.genepheno.encoders import encode_genes

    if list(loaded.terms["term_id"]) != list(dataset.terms["term_id"]):
        raise ValueError("the model was trained on other phenotype terms than this dataset")
    if list(loaded.concepts["go_id"]) != list(dataset.concepts["go_id"]):
        raise ValueError("the model was trained on other GO concepts than this dataset")
    model, cfg = loaded.model, loaded.model.config
    rows = dataset.split_index(split)
    genes = dataset.genes.iloc[rows].reset_index(drop=True)
    go_inputs = [dataset.go_inputs[i] for i in rows]
    encoded = encode_genes(list(genes["sequence"]) if cfg.use_sequence else None, go_inputs if cfg.use_go else None,
                           loaded.spec, loaded.vocab, names=list(genes["gene_id"].astype(str)),
                           projection=loaded.projection)
    if not cfg.go_bag:
        encoded.go_bag = None
    want_attention = attention and cfg.use_sequence and cfg.use_go
    device = next(model.parameters()).device
    model.eval()
    concept, free, logits, maps = [], [], [], []
    for start in range(0, len(rows), batch_size):
        batch = encoded.batch(np.arange(start, min(start + batch_size, len(rows))), device)
        out = model(**batch, output_attentions=want_attention)
        concept.append(out.concept_logits.float().cpu().numpy())
        free_units = getattr(out, "free_logits", None)  # models without free units may not return them
        free.append(free_units.float().cpu().numpy() if free_units is not None else np.zeros((len(concept[-1]), 0), np.float32))
        logits.append(out.logits.float().cpu().numpy())
        if want_attention:
            maps.append(out.seq_to_go_attention.float().cpu().numpy())
    weight = model.phenotype_head.weight.detach().float().cpu().numpy()
    bias = model.phenotype_head.bias.detach().float().cpu().numpy()
    n_concepts = cfg.n_concepts
    concept_logits = np.concatenate(concept) if concept else np.zeros((0, n_concepts), np.float32)
    free_logits = np.concatenate(free) if free else np.zeros((0, 0), np.float32)
    activation = getattr(cfg, "concept_activation", "sigmoid")
    base = activate(free_logits, activation) @ weight[:, n_concepts:].T + bias
    result = Bottleneck(
        genes=genes, terms=dataset.terms.reset_index(drop=True), concepts=dataset.concepts.reset_index(drop=True),
        weights=weight[:, :n_concepts], concept_logits=concept_logits, base_logits=base.astype(np.float32),
        labels=dataset.labels[rows].tocsr(), concept_labels=dataset.concept_labels[rows].tocsr(),
        activation=activation, attention=_pad_attention(maps) if want_attention else None,
        go_tokens=_go_token_names(encoded.go_ids, loaded.vocab) if encoded.go_ids is not None else [],
        split=split, free_activations=activate(free_logits, activation),
    )
    model_logits = np.concatenate(logits) if logits else np.zeros_like(base)
    if not np.allclose(result.logits(), model_logits, atol=1e-3, rtol=1e-3):
        raise AssertionError("phenotype logits rebuilt from the concept bottleneck differ from the model's")
    return result


@dataclass
class ModelReading:
    """One dataset's trained model read on the test split (and on validation, used only to choose
    which phenotypes the weight figure shows)."""

    name: str  # the curated dataset (mpo, mpo-max400, ...)
    key: str  # the dataset it was curated from (mpo, hpo): glue names and titles
    dataset: object
    loaded: object
    test: Bottleneck
    val: Bottleneck


def read_models(preset: str, datasets: list[str], seed: int = 0, variant: str = "complete") -> dict[str, ModelReading]:
    """:func:`read_bottleneck` of the trained ``variant`` (seed ``seed``) of every dataset."""
    from g2p.data.curated import load

    readings = {}
    for name in datasets:
        dataset = load(name)
        loaded = load_trained(preset, name, variant, seed)
        readings[name] = ModelReading(
            name=name, key=str(dataset.datasheet.get("dataset", name)), dataset=dataset, loaded=loaded,
            test=read_bottleneck(loaded, dataset, "test"), val=read_bottleneck(loaded, dataset, "val", attention=False))
    return readings


def bottleneck_summary(readings: dict[str, ModelReading]) -> pd.DataFrame:
    """One row per dataset: sizes of the bottleneck and how well its units match the GO annotations
    of the test genes (macro ROC-AUC of the concept logits)."""
    rows = []
    for r in readings.values():
        annotated = r.test.concept_labels.toarray()
        rows.append({"dataset": r.key, "test genes": r.test.n_genes, "phenotype terms": len(r.test.terms),
                     "GO concepts": len(r.test.concepts), "free units": int(getattr(r.loaded.model.config, "free_units", 0)),
                     "concept activation": r.test.activation,
                     "concept AUC (test)": metrics.macro_auc(annotated, r.test.concept_logits),
                     "phenotype AUC (test)": metrics.macro_auc(r.test.labels.toarray(), r.test.probabilities())})
    return pd.DataFrame(rows).set_index("dataset")


def _pad_attention(maps: list[np.ndarray]) -> np.ndarray:
    width = max(m.shape[2] for m in maps)
    return np.concatenate([np.pad(m, ((0, 0), (0, 0), (0, width - m.shape[2]))) for m in maps])


def _go_token_names(go_ids: np.ndarray, vocab) -> list[list[str]]:
    names = []
    for row in go_ids:
        ids = row[row != 0]
        names.append([SPECIAL_GO_TOKENS.get(int(i)) or vocab.terms[int(i) - 3] for i in ids])
    return names


# ==================================================================================================
# Figure 3: concept → phenotype weights
# ==================================================================================================
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
    index = [f"{n} ({_namespace_letter(bottleneck.concepts['namespace'].iat[k])})"
             for n, k in zip(bottleneck.concept_names(concepts), concepts)]
    return pd.DataFrame(bottleneck.weights[np.ix_(terms, concepts)].T, index=index, columns=columns)


def _namespace_letter(namespace: str) -> str:
    return {"biological_process": "BP", "molecular_function": "MF", "cellular_component": "CC"}.get(str(namespace), "?")


def plot_weight_heatmap(table: pd.DataFrame, title: str = ""):
    """Rows: GO concepts, columns: phenotypes; diverging colours centred on 0, weights printed."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    limit = float(np.abs(table.to_numpy()).max()) or 1.0
    fig, ax = plt.subplots(figsize=(3.2 + 0.9 * table.shape[1], 2.2 + 0.32 * table.shape[0]))
    sns.heatmap(table, cmap="RdBu_r", center=0, vmin=-limit, vmax=limit, ax=ax, annot=table.shape[1] <= 12,
                fmt=".2f", annot_kws={"fontsize": 6},
                cbar_kws={"label": "head weight (concept → phenotype logit)", "shrink": 0.7},
                xticklabels=[_short(c, 45) for c in table.columns], yticklabels=[_short(r, 50) for r in table.index])
    ax.set_xlabel("phenotype [label-frequency bin]")
    ax.set_ylabel("GO concept (depth 2)")
    ax.tick_params(axis="x", labelrotation=35, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _short(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


# ==================================================================================================
# Case studies
# ==================================================================================================
def per_gene_average_precision(bottleneck: Bottleneck) -> np.ndarray:
    """Average precision of each gene's phenotype ranking (NaN for a gene without positives)."""
    from sklearn.metrics import average_precision_score

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
        "namespace": bottleneck.concepts["namespace"].map(_namespace_letter),
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


def plot_case_contributions(bottleneck: Bottleneck, case_genes: pd.DataFrame, *, n_concepts: int = 8):
    """One panel per case gene: the concepts with the largest |activation × weight| for its
    top-scoring phenotype; filled bars = concepts the gene is annotated with."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(case_genes), figsize=(5.2 * len(case_genes), 0.45 * n_concepts + 1.6), squeeze=False)
    for ax, case in zip(axes[0], case_genes.itertuples()):
        term = int(np.argmax(bottleneck.probabilities(rows=case.row)[0]))
        table = contributions(bottleneck, case.row, term).head(n_concepts).iloc[::-1]
        colors = ["#0969da" if v > 0 else "#cf222e" for v in table["contribution"]]
        bars = ax.barh([_short(c, 34) for c in table["concept"]], table["contribution"], color=colors)
        for bar, annotated in zip(bars, table["annotated"]):
            if not annotated:
                bar.set_facecolor("white")
                bar.set_hatch("///")
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(f"{case.role}: {case.symbol}\ntop prediction: {_short(bottleneck.terms['name'].iat[term], 42)}",
                     fontsize=9)
        ax.set_xlabel("activation × weight (logit units)")
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle("Concepts behind each case gene's top prediction (hatched: not annotated to the gene)", fontsize=10)
    fig.tight_layout()
    return fig


# ==================================================================================================
# Concept intervention
# ==================================================================================================
def related_pairs(dataset, split: str = "train", *, fdr: float = 0.05) -> np.ndarray:
    """Concepts × terms boolean: the term is *enriched* among the ``split`` genes annotated with the
    concept (one-sided hypergeometric test of the overlap, Benjamini–Hochberg over all pairs at
    ``fdr``). This is what "a phenotype related to that concept" means in the intervention statistic;
    it uses training genes only, never the genes the statistic is computed on.

    Exact p-values are computed only where they can matter: a pair whose overlap is not above its
    expectation, or whose point probability P(X = x) alone exceeds ``fdr`` (so P(X ≥ x) does too),
    can never be rejected by BH at ``fdr``, whatever its exact p-value; it gets p = 1."""
    from scipy.special import gammaln
    from scipy.stats import hypergeom

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


def plot_intervention(by_concept: pd.DataFrame, stat: dict[str, float]):
    """Hit rate per concept (sorted) against its chance level, with the overall rates."""
    import matplotlib.pyplot as plt

    frame = by_concept.sort_values("hit_rate", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(frame))
    ax.bar(x, frame["hit_rate"], width=1.0, color="#0969da", alpha=0.8, label="most-moved phenotype related")
    ax.plot(x, frame["shuffled"], color="#cf222e", lw=1.2, label="chance: same phenotype, random concept")
    ax.plot(x, frame["chance"], color="#6e7781", lw=1.0, label="chance: random phenotype")
    ax.axhline(stat["hit_rate"], color="#0969da", ls="--", lw=1, label=f"all flips: {stat['hit_rate']:.3f}")
    ax.axhline(stat["shuffled"], color="#cf222e", ls=":", lw=1, label=f"random concept, all flips: {stat['shuffled']:.3f}")
    ax.set_xlim(-0.5, len(frame) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_xlabel("GO concept (sorted by hit rate)")
    ax.set_ylabel("share of test genes")
    ax.set_title("Concept flips: is the phenotype that moves most related to the concept?", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def go_term_names(terms) -> dict[str, str]:
    """GO id → name from the GO ontology the curation used (cached after the first load)."""
    from g2p.data.ontology import load_ontology

    go = load_ontology("go_obo")
    return {t: go.name(t) for t in set(terms) if t in go}


# ==================================================================================================
# Cross-attention
# ==================================================================================================
def attention_table(bottleneck: Bottleneck, gene: int, go_names: dict[str, str] | None = None, *,
                    max_terms: int = 12) -> pd.DataFrame:
    """Sequence tokens (rows: whole sequence, segment 1..S) × the gene's GO tokens with the most
    attention from the whole-sequence token (``[CLS]`` always kept), as attention weights."""
    if bottleneck.attention is None:
        raise ValueError("this model has no sequence → GO cross-attention (it uses one stream only)")
    tokens = bottleneck.go_tokens[gene]
    att = bottleneck.attention[gene][:, : len(tokens)]
    keep = [0] + [int(i) for i in np.argsort(-att[0, 1:], kind="stable")[: max_terms - 1] + 1]
    names = go_names or {}
    columns = [t if t.startswith("[") else f"{_short(names.get(t, t), 38)} ({t})" for t in (tokens[i] for i in keep)]
    index = ["whole sequence"] + [f"segment {s}" for s in range(1, att.shape[0])]
    return pd.DataFrame(att[:, keep], index=index[: att.shape[0]], columns=columns)


def attention_summary(bottleneck: Bottleneck, term_counts: dict[str, int]) -> dict[str, float]:
    """Over the split: attention share on ``[CLS]`` from the whole-sequence token, its normalised
    entropy over the gene's GO tokens (1 = uniform), and the mean Spearman correlation between a GO
    term's training frequency and the attention it gets (negative: rarer terms get more)."""
    from scipy.stats import spearmanr

    if bottleneck.attention is None:
        raise ValueError("this model has no sequence → GO cross-attention")
    cls_share, entropy, corr = [], [], []
    for g, tokens in enumerate(bottleneck.go_tokens):
        att = bottleneck.attention[g, 0, : len(tokens)]
        cls_share.append(float(att[0]))
        if len(tokens) > 1:
            p = att / att.sum()
            entropy.append(float(-(p * np.log(np.clip(p, 1e-12, None))).sum() / np.log(len(tokens))))
        known = [(term_counts[t], a) for t, a in zip(tokens[1:], att[1:]) if t in term_counts]
        if len(known) >= 3 and len({c for c, _ in known}) > 1:
            r = spearmanr(*zip(*known)).statistic
            if np.isfinite(r):
                corr.append(float(r))
    return {"cls_share": float(np.mean(cls_share)), "entropy": float(np.mean(entropy)) if entropy else float("nan"),
            "frequency_corr": float(np.mean(corr)) if corr else float("nan"), "n_genes": len(cls_share)}


def plot_attention(tables: dict[str, pd.DataFrame]):
    """One heatmap per case gene: sequence tokens × its most-attended GO tokens."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(len(tables), 1, figsize=(9, 2.6 * len(tables) + 1.2), squeeze=False)
    for ax, (title, table) in zip(axes[:, 0], tables.items()):
        sns.heatmap(table, cmap="viridis", vmin=0, ax=ax, cbar_kws={"label": "attention", "shrink": 0.8},
                    xticklabels=[_short(c, 46) for c in table.columns])
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=40, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


# ==================================================================================================
# Mutually exclusive pairs
# ==================================================================================================
def exclusive_cooccurrence(dataset, scores: dict[str, list[np.ndarray]], thresholds=None) -> pd.DataFrame:
    """For each model (``{name: [test scores per seed]}``), seed and threshold t: the share of (test
    gene, exclusive pair) combinations where both terms score ≥ t; plus ``observed`` (both terms
    annotated, the same for every t)."""
    thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2) if thresholds is None else np.asarray(thresholds)
    pairs = dataset.exclusive_index()
    test = dataset.split_index("test")
    rows = []
    observed = metrics.exclusive_violation_rate(dataset.labels[test].toarray(), pairs, 0.5)
    for name, per_seed in scores.items():
        for seed, s in enumerate(per_seed):
            for t in thresholds:
                rows.append({"model": name, "seed": seed, "threshold": float(t),
                             "rate": metrics.exclusive_violation_rate(s, pairs, float(t))})
    frame = pd.DataFrame(rows)
    frame["observed"] = observed
    return frame


def exclusive_pair_table(dataset, scores: dict[str, list[np.ndarray]], *, threshold: float = 0.5, top: int = 8) -> pd.DataFrame:
    """The exclusive pairs most often predicted together at ``threshold`` (mean over seeds), per model,
    with how often both are observed together among the test genes."""
    pairs = dataset.exclusive_index()
    test = dataset.split_index("test")
    truth = dataset.labels[test].toarray() > 0
    table = dataset.exclusive_pairs[["name_a", "name_b"]].rename(columns={"name_a": "phenotype", "name_b": "excludes"})
    table["observed together"] = (truth[:, pairs[:, 0]] & truth[:, pairs[:, 1]]).sum(axis=0)
    for name, per_seed in scores.items():
        both = [((s[:, pairs[:, 0]] >= threshold) & (s[:, pairs[:, 1]] >= threshold)).sum(axis=0) for s in per_seed]
        table[f"predicted together: {name}"] = np.mean(both, axis=0)
    value_cols = [c for c in table.columns if c.startswith("predicted together")]
    return table.sort_values(value_cols, ascending=False, kind="stable").head(top).reset_index(drop=True)


def plot_exclusive(frame: pd.DataFrame):
    """Co-occurrence rate against threshold: mean over seeds (line) and range (band) per model."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for (name, rows), color in zip(frame.groupby("model", sort=False), ("#0969da", "#cf222e", "#1a7f37", "#8250df")):
        stats = rows.groupby("threshold")["rate"].agg(["mean", "min", "max"])
        ax.plot(stats.index, stats["mean"], color=color, label=name)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2)
    ax.axhline(float(frame["observed"].iloc[0]), color="black", ls=":", lw=1, label="observed in the annotations")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("score threshold t")
    ax.set_ylabel("share of (gene, pair) with both ≥ t")
    ax.set_title("Mutually exclusive phenotype pairs predicted together (test split)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def variant_test_scores(preset: str, dataset_name: str, variant: str, seeds,
                        known: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """Test-split probabilities of a trained variant, one array per seed (runs of notebooks 02/03);
    ``known`` gives seeds already scored (e.g. ``{0: reading.test.probabilities()}``)."""
    from g2p.data.curated import load
    from g2p.genepheno import predict

    dataset = load(dataset_name)
    out = []
    for seed in seeds:
        if known and seed in known:
            out.append(np.asarray(known[seed]))
            continue
        folder = run_dir(preset, dataset_name, variant, seed)
        if not folder.is_dir():
            load_trained(preset, dataset_name, variant, seed)  # raises, naming the notebook that trains it
        out.append(predict.predict_scores(folder, dataset, "test"))
    return out


def exclusive_summary(frame: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Mean over seeds of each model's co-occurrence rate at ``threshold`` and averaged over all
    thresholds, the observed rate, and the share of thresholds at which the first model's mean rate
    is lower than the second's."""
    models = list(dict.fromkeys(frame["model"]))
    means = frame.groupby(["model", "threshold"])["rate"].mean().unstack("threshold")
    at = means.columns[np.argmin(np.abs(means.columns.to_numpy() - threshold))]
    out = {"threshold": float(at), "observed": float(frame["observed"].iloc[0])}
    for m in models:
        out[f"{m}_at"] = float(means.loc[m, at])
        out[f"{m}_mean"] = float(means.loc[m].mean())
    if len(models) >= 2:
        a, b = means.loc[models[0]], means.loc[models[1]]
        differs = (a != b).to_numpy()
        out["lower_share"] = float((a < b).to_numpy()[differs].mean()) if differs.any() else float("nan")
        per_seed = frame.groupby(["model", "seed"])["rate"].mean()  # each seed's mean over thresholds
        for m in models[:2]:
            out[f"{m}_seed_min"], out[f"{m}_seed_max"] = float(per_seed[m].min()), float(per_seed[m].max())
    return out


def exclusive_verdict(summary: dict[str, float], with_name: str, without_name: str) -> str:
    """A sentence: does the model trained with the regulariser predict exclusive pairs together less,
    beyond the spread over seeds (each seed's mean co-occurrence over all thresholds)?"""
    a, b = summary[f"{with_name}_mean"], summary[f"{without_name}_mean"]
    share = summary.get("lower_share", float("nan"))
    if not np.isfinite(share):
        return "the two models never differ at any threshold"
    spread = (f"mean over thresholds {a:.4f} with it against {b:.4f} without; per seed "
              f"{summary[f'{with_name}_seed_min']:.4f}–{summary[f'{with_name}_seed_max']:.4f} against "
              f"{summary[f'{without_name}_seed_min']:.4f}–{summary[f'{without_name}_seed_max']:.4f}")
    if summary[f"{with_name}_seed_max"] < summary[f"{without_name}_seed_min"]:
        return f"the regulariser lowers the co-occurrence in every seed ({spread})"
    if summary[f"{with_name}_seed_min"] > summary[f"{without_name}_seed_max"]:
        return f"the regulariser does not lower the co-occurrence: it is higher in every seed ({spread})"
    return f"the regulariser makes no difference beyond the spread over seeds ({spread})"


def intervention_table(stats: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The intervention statistics of several datasets side by side, counts as integers."""
    frame = pd.DataFrame(stats)
    return frame.apply(lambda row: row.map(lambda v: f"{v:,.0f}" if row.name.startswith(("n_", "related"))
                                           else f"{v:.4f}"), axis=1)
