"""Reading trained GenePheno models: each one's concept bottleneck on a split, and a variant's test scores.

:func:`read_models` loads the ``complete`` run of every dataset (notebook 02) and reads its bottleneck
on the test split (and on validation, which only chooses what the weight figure shows); the result
is checked: the logits rebuilt from the concept logits must equal the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from g2p.data import curated
from g2p.data.errors import MissingFileError
from g2p.data.ontology import load_go
from g2p.genepheno import metrics, predict, runs
from g2p.genepheno.bottleneck import Bottleneck, activate
from g2p.genepheno.inputs import encode_genes

SPECIAL_GO_TOKENS = {0: "[PAD]", 1: "[UNK]", 2: "[CLS]"}


def run_dir(preset: str, dataset_name: str, variant: str = "complete", seed: int = 0) -> Path:
    """The ``best/`` model folder notebooks 02 (``complete``) and 03 (ablations) write."""
    return runs.variant_dir(preset, dataset_name, variant, seed) / "best"


def load_trained(preset: str, dataset_name: str, variant: str = "complete", seed: int = 0):
    """``predict.LoadedModel`` of a trained run; a missing run names the notebook that trains it."""
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
    if list(loaded.terms["term_id"]) != list(dataset.terms["term_id"]):
        raise ValueError("the model was trained on other phenotype terms than this dataset")
    if list(loaded.concepts["go_id"]) != list(dataset.concepts["go_id"]):
        raise ValueError("the model was trained on other GO concepts than this dataset")
    model, cfg = loaded.model, loaded.model.config
    rows = dataset.split_index(split)
    genes = dataset.genes.iloc[rows].reset_index(drop=True)
    go_inputs = [dataset.go_inputs[i] for i in rows]
    encoded = encode_genes(loaded.spec.dataset_sequences(dataset, rows) if cfg.use_sequence else None, go_inputs if cfg.use_go else None,
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


def _pad_attention(maps: list[np.ndarray]) -> np.ndarray:
    width = max(m.shape[2] for m in maps)
    return np.concatenate([np.pad(m, ((0, 0), (0, 0), (0, width - m.shape[2]))) for m in maps])


def _go_token_names(go_ids: np.ndarray, vocab) -> list[list[str]]:
    names = []
    for row in go_ids:
        ids = row[row != 0]
        names.append([SPECIAL_GO_TOKENS.get(int(i)) or vocab.terms[int(i) - 3] for i in ids])
    return names


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

    @property
    def label(self) -> str:
        """How the book writes the dataset (``MPO``), from its datasheet."""
        return str(getattr(self.dataset, "datasheet", {}).get("label") or self.key.upper())


def read_models(preset: str, datasets: list[str], seed: int = 0, variant: str = "complete") -> dict[str, ModelReading]:
    """:func:`read_bottleneck` of the trained ``variant`` (seed ``seed``) of every dataset."""
    readings = {}
    for name in datasets:
        dataset = curated.load(name)
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


def variant_test_scores(preset: str, dataset_name: str, variant: str, seeds,
                        known: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """Test-split probabilities of a trained variant, one array per seed (runs of notebooks 02/03);
    ``known`` gives seeds already scored (e.g. ``{0: reading.test.probabilities()}``)."""
    dataset = curated.load(dataset_name)
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


def go_term_names(terms) -> dict[str, str]:
    """GO id → name from the GO ontology the curation used (cached after the first load)."""
    go = load_go()
    return {t: go.name(t) for t in set(terms) if t in go}
