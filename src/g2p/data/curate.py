"""Curation pipeline: build ``data/processed/<name>/`` for one row of the dataset table, and the
``python -m g2p curate`` command.

:func:`curate` runs the same steps for every dataset; what differs lives in the dataset's
:class:`~g2p.data.specs.DatasetSpec` row:

1. resolve the row's raw sources and hash them; reuse the folder when its key still matches;
2. load the row's phenotype ontology and GO (:mod:`g2p.data.ontology`);
3. gene → direct terms with the row's builder (:mod:`g2p.data.builders`), cached under ``data/cache/``
   keyed by the input files' sha256, so subset (smoke) curations take seconds;
4. propagate labels within the row's label scope; with ``max_genes`` set (smoke runs) a seeded random
   subset of genes is drawn BEFORE the term filter; terms with fewer than ``min_genes`` genes are
   dropped, then genes left without a label;
5. GO concepts and inputs (:mod:`g2p.data.go_features`), exclusive pairs (:mod:`g2p.data.exclusive`,
   over the direct ``is_a`` children of every term, both terms kept), the split (:mod:`g2p.data.split`);
6. write the folder whole and atomically with its datasheet (:mod:`g2p.data.curated`).

A folder is reused when the key — a hash of input checksums, parameters and ``CURATION_VERSION`` — is
unchanged AND every file still matches ``SHA256SUMS``, otherwise rebuilt. Its name comes from
:func:`g2p.data.specs.curated_name`; :func:`g2p.data.curated.load` reads it back.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from g2p import artifacts, atomic, checksums, locks, paths
from g2p.data import curated
from g2p.data import exclusive as exclusive_mod
from g2p.data import split as split_mod
from g2p.data.builders import Annotations, id_rank, indicator_matrix, propagate_labels
from g2p.data.curated import FILES, frequency_bin
from g2p.data.go_features import go_features
from g2p.data.ontology import Ontology, file_sha256, load_ontology
from g2p.data.specs import DATASETS, DEFAULT_MIN_GENES, SPECS, DatasetSpec, curated_name
from g2p.errors import InputError, UsageError

#: Bump when a rule changes so that stale folders are rebuilt.
CURATION_VERSION = 2


def _subsample(genes: list[str], max_genes: int | None, seed: int) -> list[str]:
    if max_genes is None or max_genes >= len(genes):
        return genes
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(genes), size=max_genes, replace=False)
    return sorted(genes[i] for i in chosen)


def _resolve_inputs(spec: DatasetSpec) -> dict[str, Path]:
    from g2p.data import sources

    return {name: Path(sources.resolve(name)) for name in spec.sources}


def _cached_annotations(
    spec: DatasetSpec, phenotype: Ontology, inputs: dict[str, Path], checksums: dict[str, str]
) -> Annotations:
    """Gene → direct terms, cached under ``data/cache/`` by input checksums (parsing the raw reports
    costs ~10 s, which would dominate smoke runs and subset curations)."""
    key = artifacts.key_of(_key_payload(spec.name, checksums, {"stage": "annotations"}))
    cache_file = artifacts.keyed_file(paths.cache, f"annotations_{spec.name}", key, ".pickle")
    return artifacts.load_or_build(cache_file, Annotations, lambda: spec.annotations(phenotype, inputs))


def clear_cache() -> int:
    """Delete cached annotation tables (the ontology pickles have :func:`g2p.data.ontology.clear_cache`)."""
    return artifacts.clear("annotations_")


def _key_payload(dataset: str, checksums: dict[str, str], params: dict) -> dict:
    """What a curation (or its annotation cache) is built from; its key is recorded in the datasheet."""
    return {"dataset": dataset, "inputs": checksums, "params": params, "version": CURATION_VERSION}


def _check_params(dataset: str, min_genes: int, max_genes: int | None, seed: int = 0) -> None:
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}", field="dataset", hint=f"choose one of {', '.join(DATASETS)}")
    if int(min_genes) < 1:
        raise InputError(f"min_genes must be >= 1, got {min_genes}", field="min_genes")
    if max_genes is not None and int(max_genes) < 3:
        raise InputError(f"max_genes must be >= 3 (or None), got {max_genes}", field="max_genes")
    if int(seed) < 0:
        raise InputError(f"seed must be >= 0, got {seed}", field="seed")


def _reuse_problem(target: Path, key: str) -> str | None:
    """Why the folder at ``target`` cannot be reused for ``key`` (None: it can)."""
    sheet_file = target / FILES["datasheet"]
    if artifacts.current_record(sheet_file, key) is None:
        try:  # read again only to say which: a damaged datasheet, or one built from other inputs
            json.loads(sheet_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return f"{FILES['datasheet']} is unreadable"
        return "its inputs or parameters differ"
    try:
        checksums.verify_folder(target, what="curated dataset")
    except (InputError, OSError) as exc:
        return str(exc)
    return None


def curate(
    dataset: str,
    *,
    min_genes: int = DEFAULT_MIN_GENES,
    seed: int = 0,
    max_genes: int | None = None,
    force: bool = False,
    min_concept_genes: int = 1,
    split_max_labels: int | None = 1000,
    output_root: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build ``data/processed/<name>/`` (name from :func:`curated_name`) and return its path.

    Reuses an existing folder whose datasheet key matches the inputs and parameters unless ``force``.
    """
    _check_params(dataset, min_genes, max_genes, seed)
    spec = SPECS[dataset]
    say = progress or (lambda message: None)
    params = {
        "min_genes": int(min_genes),
        "seed": int(seed),
        "max_genes": None if max_genes is None else int(max_genes),
        "min_concept_genes": int(min_concept_genes),
        "split_max_labels": split_max_labels,
        "split_fractions": [0.8, 0.1, 0.1],
    }
    name = curated_name(dataset, min_genes=min_genes, seed=seed, max_genes=max_genes)
    target = (output_root or paths.processed) / name
    atomic.sweep_stale(target)  # what a killed earlier run left, even when this one only reuses
    inputs = _resolve_inputs(spec)
    checksums = {source: file_sha256(path) for source, path in inputs.items()}
    key = artifacts.key_of(_key_payload(dataset, checksums, params), length=None)
    if not force and (target / FILES["datasheet"]).exists():
        problem = _reuse_problem(target, key)
        if problem is None:
            say(f"{name}: reusing {paths.shown(target)}")
            return target
        say(f"{name}: rebuilding, {problem}")

    say(f"{name}: loading ontologies")
    phenotype = load_ontology(spec.ontology)
    go = load_ontology("go_obo")

    say(f"{name}: reading annotations")
    annotations = _cached_annotations(spec, phenotype, inputs, checksums)
    allowed, drop = spec.label_scope(phenotype)
    counts = dict(annotations.counts)

    say(f"{name}: propagating labels")
    closed = propagate_labels(annotations.direct, phenotype, allowed, drop)
    counts["genes_with_protein"] = int(len(annotations.genes))
    counts["genes_with_protein_and_label"] = int(len(closed))
    genes_table = annotations.genes[annotations.genes["gene_id"].isin(closed)]
    genes_table = genes_table.assign(rank=id_rank(genes_table["gene_id"])).sort_values(["rank", "gene_id"])
    chosen = _subsample(list(genes_table["gene_id"]), max_genes, seed)
    counts["genes_after_subsample"] = len(chosen)
    genes_table = genes_table[genes_table["gene_id"].isin(set(chosen))]

    term_genes = Counter(t for g in genes_table["gene_id"].tolist() for t in closed[g])
    counts["terms_before_min_genes"] = len(term_genes)
    kept_terms = sorted(t for t, n in term_genes.items() if n >= min_genes)
    counts["terms_dropped_min_genes"] = len(term_genes) - len(kept_terms)
    kept_set = set(kept_terms)
    has_label = genes_table["gene_id"].map(lambda g: bool(closed[g] & kept_set))
    counts["genes_dropped_no_label_after_term_filter"] = int((~has_label).sum())
    genes_table = genes_table[has_label].drop(columns="rank").reset_index(drop=True)
    if genes_table.empty or not kept_terms:
        raise ValueError(f"{name}: no gene/term survives min_genes={min_genes}, max_genes={max_genes}")
    labels = indicator_matrix([closed[g] for g in genes_table["gene_id"].tolist()], kept_terms)
    n_genes_per_term = np.asarray(labels.sum(axis=0)).ravel().astype(int)
    terms = pd.DataFrame(
        {
            "term_id": kept_terms,
            "name": [phenotype.name(t) for t in kept_terms],
            "n_genes": n_genes_per_term,
            "bin": [frequency_bin(int(n)) for n in n_genes_per_term],
            "depth": [phenotype.depth(t) for t in kept_terms],
        }
    )

    say(f"{name}: GO concepts and inputs")
    concepts, concept_labels, go_inputs, go_counts = go_features(
        list(genes_table["accession"]), inputs[spec.go_annotations], go, min_concept_genes
    )

    say(f"{name}: exclusive pairs")
    children = {t: phenotype.children(t) for t in phenotype.terms}
    pairs = exclusive_mod.mine_pairs(children, phenotype.names, keep=kept_set)

    say(f"{name}: stratified split")
    split = split_mod.stratified_split(labels, seed=seed, max_labels=split_max_labels)
    genes_table = genes_table.assign(split=split.assignment)[["gene_id", "symbol", "accession", "split", "sequence"]]

    datasheet = curated.make_datasheet(
        spec=spec,
        name=name,
        key=key,
        curation_version=CURATION_VERSION,
        params=params,
        inputs=inputs,
        checksums=checksums,
        counts=counts,
        go_counts=go_counts,
        genes=genes_table,
        terms=terms,
        labels=labels,
        pairs=pairs,
        split_info=split.info,
    )
    say(f"{name}: writing {paths.shown(target)}")
    with atomic.directory(target) as tmp:
        curated.write_folder(tmp, genes_table, terms, labels, concepts, concept_labels, go_inputs, pairs, datasheet)
    return target


# ==================================================================================================
# CLI: python -m g2p curate
# ==================================================================================================


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # no `choices`: argparse rejects an empty list against them (nargs="*"); main() validates instead
    parser.add_argument("datasets", nargs="*", help=f"{' and/or '.join(DATASETS)} (default: both)")
    from g2p.argtypes import non_negative_int, positive_int

    def at_least_three(text: str) -> int:
        value = positive_int(text)
        if value < 3:
            raise argparse.ArgumentTypeError(f"must be at least 3, got {value}")
        return value

    parser.add_argument("--min-genes", type=positive_int, default=DEFAULT_MIN_GENES, help="drop terms with fewer genes")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="split (and subsample) seed")
    parser.add_argument("--max-genes", type=at_least_three, default=None, help="random gene subset (smoke runs; >= 3)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the folder is up to date")


def main(args: argparse.Namespace) -> int:
    unknown = [d for d in args.datasets or () if d not in DATASETS]
    if unknown:
        raise UsageError(f"g2p curate: unknown dataset(s) {', '.join(unknown)}", hint=f"choose from {', '.join(DATASETS)}")
    for dataset in args.datasets or DATASETS:  # every argument checked before any work starts
        _check_params(dataset, args.min_genes, args.max_genes, args.seed)
    for dataset in args.datasets or DATASETS:
        name = curated_name(dataset, min_genes=args.min_genes, seed=args.seed, max_genes=args.max_genes)
        with locks.hold(paths.processed_dataset(name), what="curation", wait=False):  # one at a time
            folder = curate(dataset, min_genes=args.min_genes, seed=args.seed, max_genes=args.max_genes,
                            force=args.force, progress=print)
        summary = json.loads((folder / FILES["datasheet"]).read_text())["summary"]
        print(
            f"{folder.name}: {summary['n_genes']} genes, {summary['n_terms']} terms, "
            f"density {summary['label_density']:.4f}, {summary['n_exclusive_pairs']} exclusive pairs, "
            f"split {summary['split_sizes']}"
        )
    return 0
