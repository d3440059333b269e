"""Score genes with a trained GenePheno model folder (``train``'s ``best/``).

* ``predict_scores(model_dir, dataset, split)`` — probabilities for one split of a curated dataset
  (rows = ``dataset.split_index(split)``, columns = ``dataset.terms``), for evaluation.
* ``predict(fasta, model_dir, go_annotations=None, top_k=20)`` — new proteins from a FASTA file (and
  optionally their GO annotations, a ``accession<TAB>go_ids`` TSV processed exactly like the curated
  data: alt ids mapped, propagated, terms deeper than depth 2 kept) → the top-k phenotype terms per gene;
  ``consistent=True`` (``--consistent``) makes the scores hierarchy-consistent first (a term scores the
  max over itself and its descendants, as CAFA's evaluator propagates them: :func:`metrics.propagate_max`).
* ``python -m g2p predict --fasta x.fa --model runs/... [--go f.tsv] [--consistent] --out out.tsv``.

Every record the user supplies is used or reported: the GO table is reviewed first
(:mod:`g2p.genepheno.go_table`: accessions matching no record, unknown or obsolete GO ids, replaced
ids, each one ``note:`` line; an error when none of it could be used), and ``--go`` for a model that
reads no GO stream is refused (it would change nothing). ``--out`` may not name one of the command's
inputs (the FASTA, the GO table, a file of the model folder), symbolic links followed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import transformers

from g2p import atomic, checksums, outputs
from g2p.argtypes import positive_int
from g2p.data.errors import DataFormatError, MissingFileError
from g2p.data.go_features import go_features
from g2p.data.ontology import load_go
from g2p.data.readers import read_fasta, read_text
from g2p.device import try_gpu
from g2p.errors import InputError, UsageError
from g2p.genepheno import go_table, hierarchy, metrics
from g2p.genepheno.encoders import SequenceProjection
from g2p.genepheno.go_terms import GoVocabulary
from g2p.genepheno.inputs import InputSpec, encode_genes
from g2p.genepheno.model import (
    CONCEPTS_FILE,
    GO_VOCAB_FILE,
    INPUTS_FILE,
    PROJECTION_FILE,
    TERMS_FILE,
    GenePhenoModel,
    score_genes,
)

PREDICTION_COLUMNS = ["gene", "rank", "term_id", "term_name", "score"]


@dataclass
class LoadedModel:
    model: GenePhenoModel
    terms: pd.DataFrame
    concepts: pd.DataFrame
    vocab: GoVocabulary | None
    spec: InputSpec
    projection: SequenceProjection | None = None

    def concept_to_phenotype(self) -> pd.DataFrame:
        """Phenotype head weights, rows = term ids, columns = GO concept ids."""
        return self.model.concept_to_phenotype(list(self.terms["term_id"]), list(self.concepts["go_id"]))


def load_model(model_dir: Path, device: torch.device | str | None = None) -> LoadedModel:
    """A model folder written by ``train`` → model (eval mode, on ``device``) plus its term list,
    concept list, GO vocabulary and input spec. A folder that is not one gives a clear error."""
    model_dir = Path(model_dir)
    hint = "pass the best/ folder that `python -m g2p train` writes (retrain if it was damaged)"
    if model_dir.is_file():
        raise MissingFileError(model_dir, "is a file, not a model folder",
                               hint=f"pass the folder that holds it ({model_dir.parent}), not one of its files")
    if not model_dir.is_dir():
        raise MissingFileError(model_dir, "model folder does not exist", hint=hint)
    missing = [f for f in ("config.json", TERMS_FILE, CONCEPTS_FILE, INPUTS_FILE) if not (model_dir / f).exists()]
    if missing:
        raise MissingFileError(model_dir, f"not a GenePheno model folder (missing {', '.join(missing)})", hint=hint)
    checksums.verify_folder(model_dir, what="model folder", hint=hint)  # before any file is parsed
    transformers.utils.logging.disable_progress_bar()
    try:
        model = GenePhenoModel.from_pretrained(model_dir)
    except (OSError, ValueError, RuntimeError) as exc:  # unreadable weights or config
        raise DataFormatError(model_dir, f"cannot load the model ({type(exc).__name__}: {str(exc)[:200]})",
                              hint=hint) from exc
    model.to(device or try_gpu()).eval()
    terms = pd.read_csv(model_dir / TERMS_FILE, sep="\t", dtype=str, keep_default_na=False)
    concepts = pd.read_csv(model_dir / CONCEPTS_FILE, sep="\t", dtype=str, keep_default_na=False)
    vocab = GoVocabulary.load(model_dir / GO_VOCAB_FILE) if (model_dir / GO_VOCAB_FILE).exists() else None
    spec = InputSpec.load(model_dir / INPUTS_FILE)
    projection = SequenceProjection.load(model_dir / PROJECTION_FILE) if (model_dir / PROJECTION_FILE).exists() else None
    if len(terms) != model.config.n_terms:
        raise DataFormatError(model_dir / TERMS_FILE, f"has {len(terms)} terms but the model scores "
                              f"{model.config.n_terms}: it belongs to another model", hint=hint)
    if list(terms.columns[:2]) != ["term_id", "name"]:
        raise DataFormatError(model_dir / TERMS_FILE, f"header should start with term_id, name; found "
                              f"{list(terms.columns)}", line=1, hint=hint)
    return LoadedModel(model=model, terms=terms, concepts=concepts, vocab=vocab, spec=spec, projection=projection)


def _score(loaded: LoadedModel, sequences, go_inputs, names) -> np.ndarray:
    cfg = loaded.model.config
    encoded = encode_genes(
        sequences if cfg.use_sequence else None,
        go_inputs if cfg.use_go else None,
        loaded.spec,
        loaded.vocab,
        names=names,
        projection=loaded.projection,
    )
    if not cfg.go_bag:
        encoded.go_bag = None
    return score_genes(loaded.model, encoded)


def predict_scores(model_dir: Path, dataset, split: str) -> np.ndarray:
    """Probabilities (genes of ``split`` × ``dataset.terms``) from the model in ``model_dir``."""
    loaded = load_model(model_dir)
    if list(loaded.terms["term_id"]) != list(dataset.terms["term_id"]):
        raise ValueError(f"{model_dir} was trained on other terms than dataset {getattr(dataset, 'name', '')!r}")
    rows = dataset.split_index(split)
    genes = dataset.genes.iloc[rows]
    return _score(loaded, loaded.spec.dataset_sequences(dataset, rows), [dataset.go_inputs[i] for i in rows],
                  list(genes["gene_id"].astype(str)))


def go_inputs_from_annotations(accessions: list[str], go_annotations: Path) -> list[list[str]]:
    """GO input terms per accession from a raw annotation TSV, with the curation's own rules."""
    _, _, inputs, _ = go_features(accessions, Path(go_annotations), load_go(), 1)
    return inputs


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr, flush=True)


def predict(
    fasta: Path, model_dir: Path, go_annotations: Path | None = None, top_k: int = 20,
    report: Callable[[str], None] = _note, consistent: bool = False,
) -> pd.DataFrame:
    """Top-``top_k`` phenotype terms per FASTA record: columns gene, rank (1 = best), term_id, term_name,
    score. Without ``go_annotations`` a GO-using model sees only its ``[CLS]`` token for the GO stream.
    ``consistent``: scores max-propagated over the phenotype ontology that holds the model's terms
    (:func:`hierarchy.model_descendants`, named in one ``report`` line), so no term scores below a
    more specific one.
    ``report`` receives one line per thing of the inputs that is not used as given (module docstring)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InputError(f"top_k must be an integer >= 1, got {top_k!r}", field="top_k")
    loaded = load_model(model_dir)
    if go_annotations is not None and not loaded.model.config.use_go:
        raise UsageError(f"g2p predict: --go {go_annotations} would change nothing: the model in {model_dir} "
                         "reads no GO stream (trained with use_go false)", hint="leave --go out")
    records = read_fasta(Path(fasta), alphabet=loaded.spec.alphabet)
    genes = [a or e for a, e in zip(records["accession"], records["entry_name"])]
    _check_unique_ids(Path(fasta), genes)
    if go_annotations is not None:
        go = load_go()
        review = go_table.review(Path(go_annotations), list(records["accession"]), go)
        for note in review.notes:
            report(note)
        go_inputs = go_inputs_from_annotations(list(records["accession"]), Path(go_annotations))
        if loaded.vocab is not None:
            terms = {t for inputs in go_inputs for t in inputs}
            unknown = sorted(t for t in terms if loaded.vocab.id(t) == 1)
            if unknown:
                report(f"{Path(go_annotations).name}: {len(unknown)} of the {len(terms)} GO input terms (after "
                       "propagation) are not in the model's vocabulary (too rare in its training genes) and are "
                       f"read as one [UNK] token: {', '.join(unknown[:3])}{', …' if len(unknown) > 3 else ''}")
    else:
        go_inputs = [[] for _ in genes]
    scores = _score(loaded, list(records["sequence"]), go_inputs, genes)
    if consistent:
        descendants, source = hierarchy.model_descendants(loaded.terms["term_id"], Path(model_dir) / TERMS_FILE)
        scores = metrics.propagate_max(scores, descendants)
        report(f"scores are hierarchy-consistent: each term scores the max over itself and its descendants "
               f"among the model's {scores.shape[1]} terms in {source} ({descendants.nnz} ancestor-descendant pairs)")
    k = min(top_k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rows = []
    for gene, top, gene_scores in zip(genes, order, scores):
        for rank, j in enumerate(top, start=1):
            rows.append((gene, rank, loaded.terms["term_id"].iat[j], loaded.terms["name"].iat[j], float(gene_scores[j])))
    return pd.DataFrame(rows, columns=PREDICTION_COLUMNS)


def _check_unique_ids(fasta: Path, genes: list[str]) -> None:
    """Every record needs its own id: rows of the output are keyed by it (duplicates would merge)."""
    seen: set[str] = set()
    for index, gene in enumerate(genes):
        if gene and gene not in seen:
            seen.add(gene)
            continue
        headers = [n for n, line in enumerate(read_text(fasta).splitlines(), start=1) if line.startswith(">")]
        problem = f"record id {gene!r} appears more than once" if gene else "record has no id"
        raise DataFormatError(fasta, problem, line=headers[index], field="id",
                              hint="give every record a unique id after '>'")


# --------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fasta", type=Path, required=True, help="protein FASTA (UniProt headers)")
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder (…/best)")
    parser.add_argument("--go", type=Path, help="optional GO annotation TSV: accession<TAB>go_ids (;-separated)")
    parser.add_argument("--top-k", type=positive_int, default=20, help="terms per gene (at least 1; default 20)")
    parser.add_argument("--consistent", action="store_true",
                        help="hierarchy-consistent scores: each term the max over itself and its descendants "
                             "(CAFA's max propagation)")
    parser.add_argument("--out", type=Path, required=True, help="output TSV (written atomically)")


def main(args: argparse.Namespace) -> int:
    if Path(args.out).is_dir():
        raise UsageError(f"g2p predict: --out {args.out} is a folder", hint="give a file name, e.g. predictions.tsv")
    outputs.refuse_overwriting_inputs("predict", args.out, {"--fasta": args.fasta, "--go": args.go},
                              {"--model": args.model})
    table = predict(args.fasta, args.model, args.go, args.top_k, consistent=args.consistent)
    atomic.write_text(args.out, table.to_csv(sep="\t", index=False))
    print(f"wrote {len(table)} predictions for {table['gene'].nunique()} genes to {args.out}")
    return 0
