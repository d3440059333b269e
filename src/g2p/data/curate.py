"""Curation pipeline: build ``data/processed/<name>/`` for one row of the dataset table, and the
``python -m g2p curate`` command.

:func:`curate` runs the same steps for every dataset; what differs lives in the dataset's
:class:`~g2p.data.specs.DatasetSpec` row:

1. resolve the row's raw sources and hash them; reuse the folder when its key still matches;
2. load the row's phenotype vocabulary (an ontology or a flat one) and GO (:mod:`g2p.data.ontology`);
3. gene → direct terms with the row's builder (:mod:`g2p.data.builders`), cached under ``data/cache/``
   keyed by the input files' sha256 AND the builder's code, so subset (smoke) curations take seconds and
   a changed rule rebuilds;
4. propagate labels within the row's label scope; with ``max_genes`` set (smoke runs) a seeded random
   subset of genes is drawn BEFORE the term filter; terms with fewer than ``min_genes`` genes are
   dropped, then genes left without a label;
5. GO concepts and inputs (:mod:`g2p.data.go_features`, from the row's GO reader), exclusive pairs
   (:mod:`g2p.data.exclusive`, over the direct children of every term, both terms kept), the split
   (:mod:`g2p.data.split`);
6. a row with prospective targets adds them as split ``prospective`` (labels over the kept terms; they
   count toward nothing: not the term filter, the bins, the concepts or the split);
7. write the folder whole and atomically with its datasheet (:mod:`g2p.data.curated`).

A folder is reused when the key — a hash of the row, input checksums, parameters, the curation code
and ``CURATION_VERSION`` — is unchanged AND every file still matches ``SHA256SUMS``, otherwise rebuilt;
``force`` rebuilds it and every cache behind it. Its name comes from :func:`g2p.data.specs.curated_name`;
:func:`g2p.data.curated.load` reads it back.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from g2p import artifacts, atomic, checksums, locks, paths
from g2p.data import curated, specs
from g2p.data import exclusive as exclusive_mod
from g2p.data import split as split_mod
from g2p.data.builders import Annotations, id_rank, indicator_matrix, propagate_labels
from g2p.data.curated import FILES, frequency_bin
from g2p.data.go_features import go_features_from_table
from g2p.data.ontology import Ontology, file_sha256
from g2p.data.specs import DEFAULT_MIN_GENES, DatasetSpec, curated_name
from g2p.errors import InputError, UsageError

#: Bump when a rule changes in a way the code digest cannot see (it sees every g2p module involved).
CURATION_VERSION = 3


def _subsample(genes: list[str], max_genes: int | None, seed: int) -> list[str]:
    if max_genes is None or max_genes >= len(genes):
        return genes
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(genes), size=max_genes, replace=False)
    return sorted(genes[i] for i in chosen)


def _resolve_inputs(spec: DatasetSpec) -> dict[str, Path]:
    from g2p.data import sources

    return {name: Path(sources.resolve(name)) for name in spec.sources}


def _builder_code(spec: DatasetSpec) -> str:
    """The hash of the code that builds ``spec``'s annotations (its builders and what they import)."""
    return artifacts.code_digest(spec.callables(), modules=["g2p.data.builders", "g2p.data.readers"])


def _cached(stage: str, spec: DatasetSpec, checksums: Mapping[str, str], build: Callable[[], Annotations],
            *, force: bool) -> Annotations:
    """A builder's output, cached under ``data/cache/`` by the row, the input checksums and the builder's
    code (parsing the raw reports costs seconds, which would dominate smoke and subset curations)."""
    key = artifacts.key_of({"stage": stage, "spec": spec.identity(), "inputs": dict(checksums),
                            "code": _builder_code(spec), "version": CURATION_VERSION})
    cache_file = artifacts.keyed_file(paths.cache, f"annotations_{spec.name}_{stage}", key, ".pickle")
    return artifacts.load_or_build(cache_file, Annotations, build, use_cache=not force)


def clear_cache() -> int:
    """Delete cached annotation tables (the ontology pickles have :func:`g2p.data.ontology.clear_cache`)."""
    return artifacts.clear("annotations_")


def _key_payload(spec: DatasetSpec, checksums: Mapping[str, str], params: dict) -> dict:
    """What a curation is built from; its key is recorded in the datasheet."""
    code = artifacts.code_digest(spec.callables(), modules=[__name__])
    return {"dataset": spec.name, "spec": spec.identity(), "inputs": dict(checksums), "params": params,
            "code": code, "version": CURATION_VERSION}


def _check_params(dataset: str, min_genes: int, max_genes: int | None, seed: int = 0) -> None:
    specs.get(dataset)  # an unknown dataset is a one-line error naming the table's rows
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
        return "its inputs, parameters or code differ"
    try:
        checksums.verify_folder(target, what="curated dataset")
    except (InputError, OSError) as exc:
        return str(exc)
    return None


def _label_rows(closed: dict[str, set[str]], genes: Sequence[str], kept: set[str]) -> list[set[str]]:
    return [closed[g] & kept for g in genes]


def _prospective_targets(spec: DatasetSpec, phenotype: Ontology, inputs: Mapping[str, Path],
                         checksums: Mapping[str, str], annotations: Annotations, allowed: set[str] | None,
                         drop: set[str], kept_terms: set[str], max_genes: int | None, seed: int,
                         force: bool) -> tuple[pd.DataFrame, dict[str, set[str]], dict]:
    """The row's prospective targets: genes (with proteins) and their propagated labels over the kept terms."""
    assert spec.prospective is not None
    later = _cached("prospective", spec, checksums,
                    lambda: spec.prospective.build(phenotype, inputs, annotations), force=force)
    counts = dict(later.counts)
    closed = propagate_labels(later.direct, phenotype, allowed, drop)
    labelled = {g: terms & kept_terms for g, terms in closed.items() if terms & kept_terms}
    counts["genes_with_protein"] = int(len(later.genes))
    counts["genes_dropped_no_kept_term"] = int(len(later.genes) - later.genes["gene_id"].isin(labelled).sum())
    table = later.genes[later.genes["gene_id"].isin(labelled)]
    table = table.assign(rank=id_rank(table["gene_id"])).sort_values(["rank", "gene_id"]).drop(columns="rank")
    chosen = set(_subsample(list(table["gene_id"]), max_genes, seed + 1))
    table = table[table["gene_id"].isin(chosen)].reset_index(drop=True)
    counts["genes"] = int(len(table))
    return table, labelled, counts


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

    Reuses an existing folder whose datasheet key matches the row, inputs, parameters and code unless
    ``force``, which also rebuilds the ontology and annotation caches.
    """
    _check_params(dataset, min_genes, max_genes, seed)
    spec = specs.get(dataset)
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
    digests = {source: file_sha256(path) for source, path in inputs.items()}
    key = artifacts.key_of(_key_payload(spec, digests, params), length=None)
    if not force and (target / FILES["datasheet"]).exists():
        problem = _reuse_problem(target, key)
        if problem is None:
            say(f"{name}: reusing {paths.shown(target)}")
            return target
        say(f"{name}: rebuilding, {problem}")

    say(f"{name}: loading the phenotype vocabulary and GO")
    phenotype = spec.phenotype.load(inputs, use_cache=not force)
    go = spec.go_ontology.load(inputs, use_cache=not force)

    say(f"{name}: reading annotations")
    annotations = _cached("annotations", spec, digests, lambda: spec.annotations(phenotype, inputs), force=force)
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
    if len(genes_table) < 3 or not kept_terms:
        raise InputError(
            f"{name}: {len(kept_terms)} terms and {len(genes_table)} genes survive min_genes={min_genes}"
            + (f", max_genes={max_genes}" if max_genes is not None else "") + " (at least 1 term and 3 genes needed)",
            field="min_genes", hint="lower --min-genes, raise --max-genes, or check the dataset's inputs "
                                    f"({', '.join(spec.inputs)})")
    label_sets = _label_rows(closed, list(genes_table["gene_id"]), kept_set)
    labels = indicator_matrix(label_sets, kept_terms)
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

    say(f"{name}: stratified split")
    split = split_mod.stratified_split(labels, seed=seed, max_labels=split_max_labels)
    genes_table = genes_table.assign(split=split.assignment)
    prospective_counts = None
    if spec.prospective is not None:
        say(f"{name}: prospective targets")
        later, later_labels, prospective_counts = _prospective_targets(
            spec, phenotype, inputs, digests, annotations, allowed, drop, kept_set, max_genes, seed, force)
        genes_table = pd.concat([genes_table, later.assign(split=split_mod.PROSPECTIVE)], ignore_index=True)
        label_sets += [later_labels[g] for g in later["gene_id"]]
        labels = indicator_matrix(label_sets, kept_terms)
    genes_table = genes_table[["gene_id", "symbol", "accession", "split", "sequence"]]

    say(f"{name}: GO concepts and inputs")
    counted = (genes_table["split"] != split_mod.PROSPECTIVE).to_numpy()
    concepts, concept_labels, go_inputs, go_counts = go_features_from_table(
        list(genes_table["accession"]), spec.go.read(inputs[spec.go.source]), go, min_concept_genes, counted)

    say(f"{name}: exclusive pairs")
    children = {t: phenotype.children(t) for t in phenotype.terms}
    pairs = exclusive_mod.mine_pairs(children, phenotype.names, keep=kept_set)

    datasheet = curated.make_datasheet(
        spec=spec,
        name=name,
        key=key,
        curation_version=CURATION_VERSION,
        params=params,
        inputs=inputs,
        checksums=digests,
        counts=counts,
        go_counts=go_counts,
        genes=genes_table,
        terms=terms,
        labels=labels,
        pairs=pairs,
        split_info=split.info,
        prospective_counts=prospective_counts,
    )
    say(f"{name}: writing {paths.shown(target)}")
    with atomic.directory(target) as tmp:
        curated.write_folder(tmp, genes_table, terms, labels, concepts, concept_labels, go_inputs, pairs, datasheet)
    return target


# ==================================================================================================
# CLI: python -m g2p curate
# ==================================================================================================


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from g2p.argtypes import non_negative_int, positive_int
    from g2p.presets import PRESETS

    # no `choices`: argparse rejects an empty list against them (nargs="*"); main() validates instead
    parser.add_argument("datasets", nargs="*", help=f"rows of the dataset table ({', '.join(specs.names())}; "
                                                      "default: the preset's datasets)")

    def at_least_three(text: str) -> int:
        value = positive_int(text)
        if value < 3:
            raise argparse.ArgumentTypeError(f"must be at least 3, got {value}")
        return value

    parser.add_argument("--preset", default="quick", choices=PRESETS,
                        help="whose datasets to curate when none is named (default: quick)")
    parser.add_argument("--min-genes", type=positive_int, default=DEFAULT_MIN_GENES, help="drop terms with fewer genes")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="split (and subsample) seed")
    parser.add_argument("--max-genes", type=at_least_three, default=None, help="random gene subset (smoke runs; >= 3)")
    parser.add_argument("--force", action="store_true", help="rebuild the folder and every cache behind it")


def preset_datasets(preset: str) -> list[str]:
    """The datasets a preset's curation notebook curates (its ``datasets``)."""
    from g2p import config

    return [str(d) for d in config.resolve(preset).block(config.CURATION_NOTEBOOK).get("datasets") or []]


def main(args: argparse.Namespace) -> int:
    datasets = args.datasets or preset_datasets(args.preset)
    unknown = [d for d in datasets if d not in specs.SPECS]
    if unknown:
        raise UsageError(f"g2p curate: unknown dataset(s) {', '.join(unknown)}", hint=f"choose from {', '.join(specs.names())}")
    for dataset in datasets:  # every argument checked before any work starts
        _check_params(dataset, args.min_genes, args.max_genes, args.seed)
    for dataset in datasets:
        name = curated_name(dataset, min_genes=args.min_genes, seed=args.seed, max_genes=args.max_genes)
        with locks.hold(paths.processed_dataset(name), what="curation", wait=False):  # one at a time
            folder = curate(dataset, min_genes=args.min_genes, seed=args.seed, max_genes=args.max_genes,
                            force=args.force, progress=print)
        print(summary_line(folder))
    return 0


def summary_line(folder: Path) -> str:
    """The one-line summary of a curated folder that ``curate`` prints."""
    summary = json.loads((folder / FILES["datasheet"]).read_text())["summary"]
    return (f"{folder.name}: {summary['n_genes']} genes, {summary['n_terms']} terms, "
            f"density {summary['label_density']:.4f}, {summary['n_exclusive_pairs']} exclusive pairs, "
            f"split {summary['split_sizes']}"
            + (f", {summary['n_prospective']} prospective targets" if summary.get("n_prospective") else ""))
