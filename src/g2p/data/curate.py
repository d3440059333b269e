"""Curated GenePheno datasets, ``mpo`` (mouse knockouts) and ``hpo`` (human genes), from the raw files.

``curate(dataset)`` builds ``data/processed/<dataset>/`` and ``load(dataset)`` reads it back as a
:class:`CuratedDataset`. Every rule is stated here and repeated in the folder's ``datasheet.md``.

Genes
    * **mpo**: rows of ``MGI_PhenoGenoMP.rpt`` whose genotype carries ONE MGI marker and whose alleles
      are knockout-like. An allele is knockout-like when its superscript starts with ``tm`` (targeted),
      ``em`` (endonuclease-mediated) or ``Gt`` (gene trap) — the report has no allele type, so the
      symbol is the heuristic the mirror README suggests. **Wild-type rule**: ``<+>`` alleles are
      ignored, and so are the hemizygous placeholders ``Y`` and ``0``; a genotype is kept when every
      other allele is knockout-like and at least one is (so ``X<tm1a>/X<+>``, a heterozygous
      knockout, counts as a knockout genotype). ``?`` (unknown allele) or any other allele (spontaneous,
      chemically induced, transgene, QTL, strain) drops the genotype. Marker → symbol comes from
      ``MGI_marker_symbols``; markers absent there fall back to the gene part of the allele symbol
      (``Rb1`` in ``Rb1<tm1Tyj>``). gene_id = MGI marker id.
    * **hpo**: ``genes_to_phenotype.txt`` rows whose HPO term lies under Phenotypic abnormality
      (HP:0000118) and whose frequency is not "excluded" (HP:0040285 or ``0/n``). gene_id = NCBI gene id.
    * Protein: the Swiss-Prot record whose ``GN=`` equals the gene symbol (case-sensitive). When a symbol
      has several accessions the longest sequence wins (ties: smallest accession). When two genes reach
      the same accession, the gene whose symbol came from the official map (then the smaller id) keeps it.

Phenotype terms
    Ids are mapped to live terms (``alt_id`` → primary; obsolete → its single ``replaced_by``, else
    dropped). Labels are propagated to every ``is_a`` ancestor (true-path rule); the root(s) are dropped
    (for hpo: HP:0000118 and everything above it). With ``max_genes`` set (smoke runs) a seeded random
    subset of genes is drawn BEFORE the term filter. Terms with fewer than ``min_genes`` genes are
    dropped, then genes left without a label. Frequency bins (11-30, 31-100, 101-300, >=301 genes) are
    counted on the whole curated dataset; with ``min_genes`` < 11 the lowest bin also holds the rarer
    terms.

GO
    Per protein (``go_annotations_*_2014.tsv``): alt ids → primary, obsolete → single replaced_by or
    dropped, propagated over ``is_a`` and ``part_of``. Depth = shortest path to the BP/MF/CC root.
    Depth-2 terms carried by at least ``min_concept_genes`` curated genes (default 1) are the
    bottleneck ``concepts``; terms deeper than 2 are the model's ``go_inputs``.

Exclusive pairs: :mod:`g2p.data.exclusive` over the direct ``is_a`` children of every term, both
terms kept. Split: :mod:`g2p.data.split`.

Output folder (written whole and atomically, with a ``SHA256SUMS`` of its files; reused when the
key — a hash of input checksums, parameters and ``CURATION_VERSION`` — is unchanged AND every file
still matches ``SHA256SUMS``, otherwise rebuilt; :func:`load` refuses a folder that does not match,
naming the file):

=====================  ==========================================================================
``genes.tsv``          gene_id, symbol, accession, split, sequence (row i = label row i)
``terms.tsv``          term_id, name, n_genes, bin, depth (row j = label column j)
``labels.npz``         scipy.sparse CSR genes × terms, int8 0/1
``concepts.tsv``       go_id, name, namespace, n_genes
``concept_labels.npz`` scipy.sparse CSR genes × concepts, int8 0/1
``go_inputs.tsv``      gene_id, go_ids (``;``-separated GO ids deeper than depth 2)
``exclusive_pairs.tsv`` term_a, name_a, term_b, name_b, parent, rule
``datasheet.json``     counts, parameters, input sha256, rules, split info, key
``datasheet.md``       the same for people
``SHA256SUMS``         sha256 of every file above (``sha256sum -c SHA256SUMS`` checks it by hand)
=====================  ==========================================================================

Parsed ontologies and the gene → direct-term tables are cached as pickles under ``data/cache/``
keyed by the input files' sha256, so subset (smoke) curations take seconds.

A non-default parameter set is written to its own folder (``mpo-max600``, ``hpo-min5-seed1`` …;
see :func:`curated_name`), so a smoke curation never replaces the full dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p import atomic, checksums, paths, pickle_cache
from g2p.data import exclusive as exclusive_mod
from g2p.data import split as split_mod
from g2p.data.errors import DataFormatError, MissingFileError
from g2p.errors import InputError, UsageError
from g2p.data.ontology import Ontology, file_sha256, load_ontology

#: Bump when a rule changes so that stale folders are rebuilt.
CURATION_VERSION = 2

DATASETS = ("mpo", "hpo")
DEFAULT_MIN_GENES = 11
BIN_LABELS = ("11-30", "31-100", "101-300", ">=301")
BIN_EDGES = (30, 100, 300)  # upper edges of the first three bins
KNOCKOUT_PREFIXES = ("tm", "em", "Gt")
HEMIZYGOUS_PLACEHOLDERS = ("Y", "0")
PHENOTYPIC_ABNORMALITY = "HP:0000118"
HPO_EXCLUDED_FREQUENCY = "HP:0040285"
CONCEPT_DEPTH = 2

#: Raw sources each dataset reads (names of g2p.data.sources).
INPUTS = {
    "mpo": ("mp_obo", "go_obo", "mgi_phenogeno", "mgi_marker_symbols", "mouse_fasta", "mouse_go"),
    "hpo": ("hp_obo", "go_obo", "hpo_genes_to_phenotype", "human_fasta", "human_go"),
}

FILES = {
    "genes": "genes.tsv",
    "terms": "terms.tsv",
    "labels": "labels.npz",
    "concepts": "concepts.tsv",
    "concept_labels": "concept_labels.npz",
    "go_inputs": "go_inputs.tsv",
    "exclusive_pairs": "exclusive_pairs.tsv",
    "datasheet": "datasheet.json",
    "datasheet_md": "datasheet.md",
}


# ==================================================================================================
# The loaded dataset
# ==================================================================================================


@dataclass
class CuratedDataset:
    """One curated dataset; row i of every gene-indexed array is ``genes.iloc[i]``."""

    name: str
    genes: pd.DataFrame
    terms: pd.DataFrame
    labels: sp.csr_matrix
    concepts: pd.DataFrame
    concept_labels: sp.csr_matrix
    go_inputs: list[list[str]]
    exclusive_pairs: pd.DataFrame
    datasheet: dict = field(default_factory=dict)
    path: Path | None = None

    def split_index(self, split: str) -> np.ndarray:
        if split not in split_mod.SPLITS:
            raise ValueError(f"split must be one of {split_mod.SPLITS}, not {split!r}")
        return np.flatnonzero(self.genes["split"].to_numpy() == split)

    def exclusive_index(self) -> np.ndarray:
        """(E, 2) column indices into ``terms`` of the exclusive pairs."""
        column = {term: j for j, term in enumerate(self.terms["term_id"])}
        if self.exclusive_pairs.empty:
            return np.zeros((0, 2), dtype=np.int64)
        pairs = [(column[a], column[b]) for a, b in zip(self.exclusive_pairs["term_a"].tolist(), self.exclusive_pairs["term_b"].tolist())]
        return np.asarray(pairs, dtype=np.int64)

    @property
    def n_genes(self) -> int:
        return self.labels.shape[0]

    @property
    def n_terms(self) -> int:
        return self.labels.shape[1]


# ==================================================================================================
# Small rules, each testable on its own
# ==================================================================================================


def frequency_bin(n_genes: int) -> str:
    """The GenePheno frequency bin of a term annotated to ``n_genes`` genes."""
    for edge, label in zip(BIN_EDGES, BIN_LABELS):
        if n_genes <= edge:
            return label
    return BIN_LABELS[-1]


_ALLELE_SPLIT = re.compile(r"/(?![^<]*>)")  # a '/' outside <...>
_SUPERSCRIPT = re.compile(r"<([^>]*)>")


def classify_genotype(allelic_composition: str, marker_ids: str) -> str:
    """``"kept"`` or the reason an MGI genotype is not a single-gene knockout (see module docstring)."""
    if "," in marker_ids or not marker_ids.strip():
        return "multiple or no markers"
    loci = [locus for locus in allelic_composition.split(",") if locus.strip()]
    knockout = 0
    for locus in loci:
        for allele in _ALLELE_SPLIT.split(locus.strip()):
            allele = allele.strip()
            superscript = _SUPERSCRIPT.search(allele)
            if superscript is None:
                if allele in HEMIZYGOUS_PLACEHOLDERS:
                    continue
                if allele == "?":
                    return "unknown allele"
                return "non-knockout allele"
            sup = superscript.group(1)
            if sup == "+":
                continue
            if sup.startswith(KNOCKOUT_PREFIXES):
                knockout += 1
            else:
                return "non-knockout allele"
    return "kept" if knockout else "no knockout allele"


def symbol_from_allele(allele_symbols: str) -> str:
    """``Rb1`` from ``Rb1<tm1Tyj>`` (the first allele of a ``|``-list); "" when there is no ``<``."""
    first = allele_symbols.split("|")[0]
    return first.split("<", 1)[0].strip() if "<" in first else ""


def pick_proteins(fasta: pd.DataFrame) -> pd.DataFrame:
    """One protein per symbol: the longest sequence, ties broken by the smallest accession."""
    table = fasta[fasta["symbol"] != ""].assign(length=fasta["sequence"].str.len())
    table = table.sort_values(["symbol", "length", "accession"], ascending=[True, False, True])
    return table.drop_duplicates("symbol", keep="first")[["symbol", "accession", "sequence"]]


def map_terms(ids: Iterable[str], ontology: Ontology) -> tuple[dict[str, str | None], Counter]:
    """Map raw ids to live terms; counts distinct ids that were live, alt ids, replaced, dropped."""
    mapping: dict[str, str | None] = {}
    counts: Counter = Counter()
    for raw in sorted(set(ids)):
        live = ontology.primary(raw)
        mapping[raw] = live
        if live is None:
            counts["dropped (obsolete without single replacement, or unknown)"] += 1
        elif live == raw:
            counts["live"] += 1
        elif raw in ontology.alt_ids:
            counts["alt_id mapped to primary"] += 1
        else:
            counts["obsolete replaced_by"] += 1
    return mapping, counts


def curated_name(dataset: str, *, min_genes: int = DEFAULT_MIN_GENES, seed: int = 0, max_genes: int | None = None) -> str:
    """Folder name of a curation: ``mpo`` for the defaults, ``mpo-max600-min5-seed1`` otherwise."""
    parts = [dataset]
    if max_genes is not None:
        parts.append(f"max{int(max_genes)}")
    if min_genes != DEFAULT_MIN_GENES:
        parts.append(f"min{int(min_genes)}")
    if seed != 0:
        parts.append(f"seed{int(seed)}")
    return "-".join(parts)


# ==================================================================================================
# Gene → direct phenotype annotations
# ==================================================================================================


@dataclass
class Annotations:
    """Genes with a protein and their direct (live) phenotype terms, plus what was kept and dropped."""

    genes: pd.DataFrame  # gene_id, symbol, accession, sequence
    direct: dict[str, set[str]]  # gene_id -> live term ids
    counts: dict = field(default_factory=dict)


def _attach_proteins(
    genes: pd.DataFrame, fasta: pd.DataFrame, counts: dict
) -> pd.DataFrame:
    """Join genes (gene_id, symbol, symbol_source) to one protein each; counts the losses."""
    proteins = pick_proteins(fasta)
    symbols_with_many = int((fasta[fasta["symbol"] != ""]["symbol"].value_counts() > 1).sum())
    counts["fasta_symbols_with_several_accessions"] = symbols_with_many
    joined = genes.merge(proteins, on="symbol", how="left")
    no_protein = joined["accession"].isna()
    counts["genes_without_swissprot_protein"] = int(no_protein.sum())
    joined = joined[~no_protein]
    joined = joined.sort_values(["accession", "symbol_rank", "gene_id_rank"])
    duplicated = joined.duplicated("accession", keep="first")
    counts["genes_sharing_a_protein_dropped"] = int(duplicated.sum())
    return joined[~duplicated][["gene_id", "symbol", "accession", "sequence"]].reset_index(drop=True)


def _id_rank(ids: pd.Series) -> pd.Series:
    """Numeric part of ``MGI:97874`` / NCBI ids for a natural sort."""
    return ids.str.extract(r"(\d+)$", expand=False).fillna("0").astype(np.int64)


def mpo_annotations(ontology: Ontology, inputs: dict[str, Path]) -> Annotations:
    from g2p.data import readers

    counts: dict = {}
    report = readers.read_mgi_phenogeno(inputs["mgi_phenogeno"])
    counts["report_rows"] = len(report)
    genotypes = report[["allelic_composition", "marker_ids"]].drop_duplicates()
    genotypes = genotypes.assign(
        reason=[classify_genotype(c, m) for c, m in zip(genotypes["allelic_composition"].tolist(), genotypes["marker_ids"].tolist())]
    )
    counts["genotypes"] = int(len(genotypes))
    counts["genotypes_by_rule"] = {k: int(v) for k, v in genotypes["reason"].value_counts().sort_index().items()}
    report = report.merge(genotypes, on=["allelic_composition", "marker_ids"], how="left")
    counts["rows_by_rule"] = {k: int(v) for k, v in report["reason"].value_counts().sort_index().items()}
    kept = report[report["reason"] == "kept"]
    counts["knockout_markers"] = int(kept["marker_ids"].nunique())

    symbols = readers.read_marker_symbols(inputs["mgi_marker_symbols"])
    official = dict(zip(symbols["mgi_id"].tolist(), symbols["symbol"].tolist()))
    fallback = kept.groupby("marker_ids")["allele_symbols"].first().map(symbol_from_allele)
    markers = pd.DataFrame({"gene_id": sorted(kept["marker_ids"].unique())})
    markers["symbol"] = markers["gene_id"].map(official)
    markers["symbol_rank"] = np.where(markers["symbol"].notna(), 0, 1)  # official symbol first
    markers["symbol"] = markers["symbol"].fillna(markers["gene_id"].map(fallback)).fillna("")
    counts["markers_symbol_from_marker_map"] = int((markers["symbol_rank"] == 0).sum())
    counts["markers_symbol_from_allele_symbol"] = int(((markers["symbol_rank"] == 1) & (markers["symbol"] != "")).sum())
    markers = markers[markers["symbol"] != ""].assign(gene_id_rank=lambda f: _id_rank(f["gene_id"]))

    fasta = readers.read_fasta(inputs["mouse_fasta"], alphabet="protein")
    genes = _attach_proteins(markers, fasta, counts)

    mapping, term_counts = map_terms(kept["mp_id"].unique().tolist(), ontology)
    counts["mp_ids_in_kept_rows"] = dict(sorted(term_counts.items()))
    kept = kept[kept["marker_ids"].isin(set(genes["gene_id"]))]
    live = kept["mp_id"].map(mapping)
    counts["annotation_rows_dropped_obsolete_term"] = int(live.isna().sum())
    direct: dict[str, set[str]] = defaultdict(set)
    for gene, term in zip(kept["marker_ids"].tolist(), live.tolist()):
        if term is not None and isinstance(term, str):
            direct[gene].add(term)
    return Annotations(genes=genes, direct=dict(direct), counts=counts)


def _excluded_frequency(frequency: pd.Series) -> pd.Series:
    return (frequency == HPO_EXCLUDED_FREQUENCY) | frequency.str.fullmatch(r"0/\d+")


def hpo_annotations(ontology: Ontology, inputs: dict[str, Path]) -> Annotations:
    from g2p.data import readers

    counts: dict = {}
    table = readers.read_hpo_genes_to_phenotype(inputs["hpo_genes_to_phenotype"])
    counts["report_rows"] = len(table)
    excluded = _excluded_frequency(table["frequency"])
    counts["rows_dropped_excluded_frequency"] = int(excluded.sum())
    table = table[~excluded]
    mapping, term_counts = map_terms(table["hpo_id"].unique().tolist(), ontology)
    counts["hpo_ids"] = dict(sorted(term_counts.items()))
    table = table.assign(term=table["hpo_id"].map(mapping))
    counts["rows_dropped_obsolete_term"] = int(table["term"].isna().sum())
    table = table[table["term"].notna()]
    abnormality = ontology.descendants(PHENOTYPIC_ABNORMALITY)
    outside = ~table["term"].isin(abnormality)
    counts["rows_dropped_outside_phenotypic_abnormality"] = int(outside.sum())
    table = table[~outside]
    counts["ncbi_genes"] = int(table["ncbi_gene_id"].nunique())

    genes = (
        table[["ncbi_gene_id", "gene_symbol"]]
        .drop_duplicates("ncbi_gene_id")
        .rename(columns={"ncbi_gene_id": "gene_id", "gene_symbol": "symbol"})
    )
    no_symbol = genes["symbol"].isin(["", "-"])
    counts["genes_without_symbol"] = int(no_symbol.sum())
    genes = genes[~no_symbol].assign(symbol_rank=0, gene_id_rank=lambda f: _id_rank(f["gene_id"]))
    fasta = readers.read_fasta(inputs["human_fasta"], alphabet="protein")
    genes = _attach_proteins(genes, fasta, counts)
    table = table[table["ncbi_gene_id"].isin(set(genes["gene_id"]))]
    direct: dict[str, set[str]] = defaultdict(set)
    for gene, term in zip(table["ncbi_gene_id"].tolist(), table["term"].tolist()):
        direct[gene].add(term)
    return Annotations(genes=genes, direct=dict(direct), counts=counts)


# ==================================================================================================
# Labels, GO features, assembly
# ==================================================================================================


def propagate_labels(
    direct: dict[str, set[str]], ontology: Ontology, allowed: set[str] | None, drop: set[str]
) -> dict[str, set[str]]:
    """Close each gene's terms under ancestors; keep only ``allowed`` (if given) and remove ``drop``."""
    closed = {}
    for gene, terms in direct.items():
        full = ontology.propagate(terms) - drop
        if allowed is not None:
            full &= allowed
        if full:
            closed[gene] = full
    return closed


def _csr(rows: list[Iterable[str]], columns: list[str]) -> sp.csr_matrix:
    index = {c: j for j, c in enumerate(columns)}
    indptr = [0]
    indices: list[int] = []
    for row in rows:
        cols = sorted(index[c] for c in row if c in index)
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.int8)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr)), shape=(len(rows), len(columns)))


def go_features(
    accessions: list[str], go_path: Path, go: Ontology, min_concept_genes: int
) -> tuple[pd.DataFrame, sp.csr_matrix, list[list[str]], dict]:
    """Depth-2 concepts (table + gene × concept matrix) and deeper GO input terms per gene."""
    from g2p.data import readers

    annotations = readers.read_go_annotation_tsv(go_path)
    annotations = annotations[annotations["accession"].isin(set(accessions))]
    mapping, term_counts = map_terms(annotations["go_id"].unique().tolist(), go)
    counts: dict = {"go_ids": dict(sorted(term_counts.items()))}
    by_accession: dict[str, set[str]] = defaultdict(set)
    for accession, go_id in zip(annotations["accession"].tolist(), annotations["go_id"].map(mapping).tolist()):
        if isinstance(go_id, str):
            by_accession[accession].add(go_id)
    depths = go.depths
    concept_sets, input_lists = [], []
    for accession in accessions:
        closed = go.propagate(by_accession.get(accession, ()))
        concept_sets.append({t for t in closed if depths.get(t, -1) == CONCEPT_DEPTH})
        input_lists.append(sorted(t for t in closed if depths.get(t, -1) > CONCEPT_DEPTH))
    frequency = Counter(t for s in concept_sets for t in s)
    concept_ids = sorted(t for t, n in frequency.items() if n >= min_concept_genes)
    concepts = pd.DataFrame(
        {
            "go_id": concept_ids,
            "name": [go.name(t) for t in concept_ids],
            "namespace": [go.namespace(t) for t in concept_ids],
            "n_genes": [frequency[t] for t in concept_ids],
        }
    )
    counts["genes_without_go"] = int(sum(1 for a in accessions if not by_accession.get(a)))
    counts["genes_without_concept"] = int(sum(1 for s in concept_sets if not s & set(concept_ids)))
    counts["genes_without_go_input"] = int(sum(1 for terms in input_lists if not terms))
    counts["concepts"] = len(concept_ids)
    counts["concepts_by_namespace"] = {k: int(v) for k, v in concepts["namespace"].value_counts().sort_index().items()}
    counts["go_input_vocabulary"] = int(len({t for terms in input_lists for t in terms}))
    counts["go_inputs_per_gene_median"] = float(np.median([len(t) for t in input_lists])) if input_lists else 0.0
    return concepts, _csr(concept_sets, concept_ids), input_lists, counts


def _subsample(genes: list[str], max_genes: int | None, seed: int) -> list[str]:
    if max_genes is None or max_genes >= len(genes):
        return genes
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(genes), size=max_genes, replace=False)
    return sorted(genes[i] for i in chosen)


# ==================================================================================================
# curate / load
# ==================================================================================================


def _resolve_inputs(dataset: str) -> dict[str, Path]:
    from g2p.data import sources

    return {name: Path(sources.resolve(name)) for name in INPUTS[dataset]}


def _cached_annotations(
    dataset: str, phenotype: Ontology, inputs: dict[str, Path], checksums: dict[str, str]
) -> Annotations:
    """Gene → direct terms, cached under ``data/cache/`` by input checksums (parsing the raw reports
    costs ~10 s, which would dominate smoke runs and subset curations)."""
    key = _key(dataset, checksums, {"stage": "annotations"})[:16]
    cache_file = paths.cache / f"annotations_{dataset}_{key}.pickle"
    build = mpo_annotations if dataset == "mpo" else hpo_annotations
    return pickle_cache.load_or_build(cache_file, Annotations, lambda: build(phenotype, inputs))


def clear_cache() -> int:
    """Delete cached annotation tables (the ontology pickles have :func:`g2p.data.ontology.clear_cache`)."""
    return pickle_cache.clear("annotations_")


def _key(dataset: str, checksums: dict[str, str], params: dict) -> str:
    blob = json.dumps({"dataset": dataset, "inputs": checksums, "params": params, "version": CURATION_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


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
    try:
        sheet = json.loads((target / FILES["datasheet"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{FILES['datasheet']} is unreadable"
    if not isinstance(sheet, dict) or sheet.get("key") != key:
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
    inputs = _resolve_inputs(dataset)
    checksums = {source: file_sha256(path) for source, path in inputs.items()}
    key = _key(dataset, checksums, params)
    if not force and (target / FILES["datasheet"]).exists():
        problem = _reuse_problem(target, key)
        if problem is None:
            say(f"{name}: reusing {paths.shown(target)}")
            return target
        say(f"{name}: rebuilding, {problem}")

    say(f"{name}: loading ontologies")
    phenotype_source = "mp_obo" if dataset == "mpo" else "hp_obo"
    phenotype = load_ontology(phenotype_source)
    go = load_ontology("go_obo")

    say(f"{name}: reading annotations")
    annotations = _cached_annotations(dataset, phenotype, inputs, checksums)
    if dataset == "mpo":
        allowed, drop = None, set(phenotype.roots)
    else:
        allowed = phenotype.descendants(PHENOTYPIC_ABNORMALITY)
        drop = {PHENOTYPIC_ABNORMALITY} | set(phenotype.ancestors(PHENOTYPIC_ABNORMALITY))
    counts = dict(annotations.counts)

    say(f"{name}: propagating labels")
    closed = propagate_labels(annotations.direct, phenotype, allowed, drop)
    counts["genes_with_protein"] = int(len(annotations.genes))
    counts["genes_with_protein_and_label"] = int(len(closed))
    genes_table = annotations.genes[annotations.genes["gene_id"].isin(closed)]
    genes_table = genes_table.assign(rank=_id_rank(genes_table["gene_id"])).sort_values(["rank", "gene_id"])
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
    labels = _csr([closed[g] for g in genes_table["gene_id"].tolist()], kept_terms)
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
    go_source = "mouse_go" if dataset == "mpo" else "human_go"
    concepts, concept_labels, go_inputs, go_counts = go_features(
        list(genes_table["accession"]), inputs[go_source], go, min_concept_genes
    )

    say(f"{name}: exclusive pairs")
    children = {t: phenotype.children(t) for t in phenotype.terms}
    pairs = exclusive_mod.mine_pairs(children, phenotype.names, keep=kept_set)

    say(f"{name}: stratified split")
    split = split_mod.stratified_split(labels, seed=seed, max_labels=split_max_labels)
    genes_table = genes_table.assign(split=split.assignment)[["gene_id", "symbol", "accession", "split", "sequence"]]

    datasheet = _datasheet(
        name=name,
        dataset=dataset,
        key=key,
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
        _write(tmp, genes_table, terms, labels, concepts, concept_labels, go_inputs, pairs, datasheet)
    return target


def _write(
    folder: Path,
    genes: pd.DataFrame,
    terms: pd.DataFrame,
    labels: sp.csr_matrix,
    concepts: pd.DataFrame,
    concept_labels: sp.csr_matrix,
    go_inputs: list[list[str]],
    pairs: pd.DataFrame,
    datasheet: dict,
) -> None:
    genes.to_csv(folder / FILES["genes"], sep="\t", index=False)
    terms.to_csv(folder / FILES["terms"], sep="\t", index=False)
    sp.save_npz(folder / FILES["labels"], labels)
    concepts.to_csv(folder / FILES["concepts"], sep="\t", index=False)
    sp.save_npz(folder / FILES["concept_labels"], concept_labels)
    pd.DataFrame({"gene_id": genes["gene_id"], "go_ids": [";".join(t) for t in go_inputs]}).to_csv(
        folder / FILES["go_inputs"], sep="\t", index=False
    )
    pairs.to_csv(folder / FILES["exclusive_pairs"], sep="\t", index=False)
    (folder / FILES["datasheet_md"]).write_text(datasheet_markdown(datasheet))
    # the datasheet (with the reuse key) goes last: a folder without it is never reused
    (folder / FILES["datasheet"]).write_text(json.dumps(datasheet, indent=2, sort_keys=False))


def _datasheet(
    *,
    name: str,
    dataset: str,
    key: str,
    params: dict,
    inputs: dict[str, Path],
    checksums: dict[str, str],
    counts: dict,
    go_counts: dict,
    genes: pd.DataFrame,
    terms: pd.DataFrame,
    labels: sp.csr_matrix,
    pairs: pd.DataFrame,
    split_info: dict,
) -> dict:
    n_genes, n_terms = labels.shape
    labels_per_gene = np.diff(labels.indptr)
    lengths = genes["sequence"].str.len()
    summary = {
        "n_genes": int(n_genes),
        "n_terms": int(n_terms),
        "n_positive": int(labels.nnz),
        "label_density": float(labels.nnz / (n_genes * n_terms)),
        "labels_per_gene_median": float(np.median(labels_per_gene)),
        "labels_per_gene_mean": float(labels_per_gene.mean()),
        "terms_per_bin": {b: int((terms["bin"] == b).sum()) for b in BIN_LABELS},
        "n_exclusive_pairs": int(len(pairs)),
        "exclusive_pairs_by_rule": {k: int(v) for k, v in pairs["rule"].value_counts().sort_index().items()},
        "split_sizes": {s: int((genes["split"] == s).sum()) for s in split_mod.SPLITS},
        "sequence_length_median": float(lengths.median()),
        "sequence_length_max": int(lengths.max()),
        "n_concepts": int(go_counts["concepts"]),
    }
    return {
        "name": name,
        "dataset": dataset,
        "key": key,
        "curation_version": CURATION_VERSION,
        "summary": summary,
        "params": params,
        "inputs": {source: {"file": path.name, "sha256": checksums[source]} for source, path in inputs.items()},
        "counts": counts,
        "go": go_counts,
        "split": split_info,
        "rules": {
            "genotypes": (
                "mpo: one MGI marker; alleles with superscripts starting tm/em/Gt are knockout-like; <+>, Y "
                "and 0 are ignored (heterozygous and hemizygous knockouts count); '?' or any other allele drops "
                "the genotype; at least one knockout-like allele required"
            )
            if dataset == "mpo"
            else "hpo: genes_to_phenotype rows under HP:0000118, frequency not excluded (HP:0040285, 0/n)",
            "symbols": (
                "MGI_marker_symbols, falling back to the gene part of the allele symbol"
                if dataset == "mpo"
                else "gene_symbol of genes_to_phenotype"
            ),
            "protein": "Swiss-Prot record with GN= symbol; several accessions -> longest sequence, then smallest accession; "
            "an accession reached by two genes goes to the official-symbol gene, then the smaller id",
            "terms": "alt_id -> primary; obsolete -> single replaced_by, else dropped; is_a true-path propagation; "
            + ("root MP:0000001 dropped" if dataset == "mpo" else "HP:0000118 and its ancestors dropped")
            + f"; terms with >= {params['min_genes']} genes kept; genes without a kept term dropped",
            "bins": "11-30, 31-100, 101-300, >=301 genes per term, counted on the whole curated dataset",
            "go": "alt_id -> primary, obsolete -> single replaced_by else dropped; propagated over is_a and part_of; "
            f"depth-2 terms with >= {params['min_concept_genes']} genes are concepts, deeper terms are go_inputs",
            "exclusive_pairs": "direct is_a siblings whose names differ in one word by an antonym rule; both kept",
            "exclusive_rule_table": exclusive_mod.rule_table().to_dict(orient="records"),
        },
    }


def datasheet_markdown(sheet: dict) -> str:
    s = sheet["summary"]
    lines = [
        f"# Datasheet: {sheet['name']}",
        "",
        f"Curation version {sheet['curation_version']}, key `{sheet['key'][:16]}`.",
        "",
        "## Summary",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| genes | {s['n_genes']} |",
        f"| terms | {s['n_terms']} |",
        f"| positive labels | {s['n_positive']} |",
        f"| label density | {s['label_density']:.4f} |",
        f"| labels per gene (median) | {s['labels_per_gene_median']:.0f} |",
        f"| GO concepts (depth 2) | {s['n_concepts']} |",
        f"| exclusive pairs | {s['n_exclusive_pairs']} |",
    ]
    lines += [f"| terms in bin {b} | {n} |" for b, n in s["terms_per_bin"].items()]
    lines += [f"| {k} genes | {n} |" for k, n in s["split_sizes"].items()]
    lines += ["", "## Parameters", "", "```json", json.dumps(sheet["params"], indent=2), "```", ""]
    lines += ["## Inputs", "", "| source | file | sha256 |", "|---|---|---|"]
    lines += [f"| {k} | {v['file']} | `{v['sha256']}` |" for k, v in sheet["inputs"].items()]
    lines += ["", "## Rules", ""]
    lines += [f"- **{k}**: {v}" for k, v in sheet["rules"].items() if isinstance(v, str)]
    lines += ["", "## Counts (kept and dropped, by stage)", "", "```json", json.dumps(sheet["counts"], indent=2)]
    lines += ["```", "", "## GO", "", "```json", json.dumps(sheet["go"], indent=2), "```", ""]
    lines += ["## Split", "", "```json", json.dumps(sheet["split"], indent=2), "```", ""]
    return "\n".join(lines)


def dataset_path(dataset: str | Path, output_root: Path | None = None) -> Path:
    """The folder of a curated dataset given its name (``mpo``, ``mpo-max600``) or a path."""
    if isinstance(dataset, Path) or "/" in str(dataset):
        return Path(dataset)
    return (output_root or paths.processed) / str(dataset)


def curate_command(name: str) -> str:
    """The command that (re)builds curated folder ``name`` (``mpo-max400`` → ``… curate mpo --max-genes 400``)."""
    base, *parts = name.split("-")
    options = {"max": "--max-genes", "min": "--min-genes", "seed": "--seed"}
    args = [base if base in DATASETS else "mpo|hpo"]
    for part in parts:
        match = re.fullmatch(r"(max|min|seed)(\d+)", part)
        if match:
            args += [options[match.group(1)], match.group(2)]
    return "python -m g2p curate " + " ".join(args)


_TABLE_COLUMNS = {
    "genes": ("gene_id", "symbol", "accession", "split", "sequence"),
    "terms": ("term_id", "name", "n_genes", "bin", "depth"),
    "concepts": ("go_id", "name", "namespace", "n_genes"),
    "go_inputs": ("gene_id", "go_ids"),
    "exclusive_pairs": ("term_a", "term_b"),
}


def _read_tsv(folder: Path, kind: str, hint: str, integers: tuple[str, ...] = ()) -> pd.DataFrame:
    path = folder / FILES[kind]
    if not path.is_file():
        raise MissingFileError(path, "missing file of a curated dataset", hint=hint)
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"not a readable TSV ({exc})", hint=hint) from exc
    missing = [c for c in _TABLE_COLUMNS[kind] if c not in table.columns]
    if missing:
        raise DataFormatError(path, f"lacks column(s) {missing}", line=1, field=missing[0], hint=hint)
    for column in integers:
        bad = ~table[column].str.fullmatch(r"\d+")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, f"not a whole number: {table[column].iloc[row]!r}", line=row + 2,
                                  field=column, hint=hint)
        table[column] = table[column].astype(int)
    return table


def _read_npz(folder: Path, kind: str, hint: str) -> sp.csr_matrix:
    path = folder / FILES[kind]
    if not path.is_file():
        raise MissingFileError(path, "missing file of a curated dataset", hint=hint)
    try:
        return sp.load_npz(path).tocsr()
    except Exception as exc:  # zipfile.BadZipFile, ValueError, KeyError, OSError …: all mean "not a sparse matrix"
        raise DataFormatError(path, f"not a readable sparse matrix ({type(exc).__name__}: {exc})", hint=hint) from exc


def load(dataset: str | Path, *, output_root: Path | None = None, verify: bool = True) -> CuratedDataset:
    """Read a curated dataset folder (no ontology parsing; a few hundred milliseconds).

    The folder's files are first checked against its ``SHA256SUMS`` (``verify``); a folder that is
    missing, incomplete, damaged or unreadable raises :class:`DataFormatError` naming the file.
    """
    folder = dataset_path(dataset, output_root)
    hint = f"run `{curate_command(folder.name)}` to rebuild it"
    sheet_file = folder / FILES["datasheet"]
    if not sheet_file.is_file():
        raise MissingFileError(folder, "no curated dataset here (no datasheet.json)",
                              hint=f"run `{curate_command(folder.name)}` first")
    if verify:
        checksums.verify_folder(folder, what="curated dataset", hint=hint)
    try:
        datasheet = json.loads(sheet_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(sheet_file, f"not valid JSON ({exc})", hint=hint) from exc
    if not isinstance(datasheet, dict):
        raise DataFormatError(sheet_file, "not a JSON object", hint=hint)
    genes = _read_tsv(folder, "genes", hint)
    terms = _read_tsv(folder, "terms", hint, integers=("n_genes", "depth"))
    concepts = _read_tsv(folder, "concepts", hint, integers=("n_genes",))
    go_table = _read_tsv(folder, "go_inputs", hint)
    labels = _read_npz(folder, "labels", hint)
    concept_labels = _read_npz(folder, "concept_labels", hint)
    if labels.shape != (len(genes), len(terms)):
        raise DataFormatError(folder / FILES["labels"], f"shape {labels.shape} != genes × terms ({len(genes)}, {len(terms)})", hint=hint)
    if concept_labels.shape != (len(genes), len(concepts)):
        raise DataFormatError(folder / FILES["concept_labels"], f"shape {concept_labels.shape} does not match genes × concepts", hint=hint)
    if list(go_table["gene_id"]) != list(genes["gene_id"]):
        raise DataFormatError(folder / FILES["go_inputs"], "gene order differs from genes.tsv", field="gene_id", hint=hint)
    bad_split = ~genes["split"].isin(split_mod.SPLITS)
    if bad_split.any():
        row = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise DataFormatError(folder / FILES["genes"], f"unknown split {genes['split'].iloc[row]!r}", line=row + 2,
                              field="split", hint=hint)
    go_inputs = [ids.split(";") if ids else [] for ids in go_table["go_ids"]]
    pairs = _read_tsv(folder, "exclusive_pairs", hint)
    unknown_terms = sorted(set(pairs["term_a"]).union(pairs["term_b"]) - set(terms["term_id"]))
    if unknown_terms:
        raise DataFormatError(folder / FILES["exclusive_pairs"], f"names term {unknown_terms[0]} that is not in terms.tsv",
                              field="term_a", hint=hint)
    return CuratedDataset(
        name=datasheet.get("name", folder.name),
        genes=genes,
        terms=terms,
        labels=labels,
        concepts=concepts,
        concept_labels=concept_labels,
        go_inputs=go_inputs,
        exclusive_pairs=pairs,
        datasheet=datasheet,
        path=folder,
    )


def book_numbers(dataset: CuratedDataset, prefix: str | None = None) -> dict[str, float | int]:
    """The key numbers of a curated dataset, named ``<prefix>_<quantity>`` for ``myst_nb.glue``.

    ``prefix`` defaults to the base dataset (``mpo`` for ``mpo-max400``) so the book's references do
    not depend on the preset.
    """
    prefix = prefix or dataset.datasheet.get("dataset", dataset.name.split("-")[0])
    n_genes, n_terms = dataset.labels.shape
    per_gene = np.diff(dataset.labels.indptr)
    numbers: dict[str, float | int] = {
        "n_genes": int(n_genes),
        "n_terms": int(n_terms),
        "label_density": float(dataset.labels.nnz / (n_genes * n_terms)),
        "labels_per_gene_median": float(np.median(per_gene)),
        "n_concepts": int(dataset.concept_labels.shape[1]),
        "n_exclusive_pairs": int(len(dataset.exclusive_pairs)),
    }
    for label in BIN_LABELS:
        slug = label.replace(">=", "ge").replace("-", "_")
        numbers[f"terms_bin_{slug}"] = int((dataset.terms["bin"] == label).sum())
    for split in split_mod.SPLITS:
        numbers[f"n_{split}"] = int(len(dataset.split_index(split)))
    if len(dataset.exclusive_pairs):
        index = dataset.exclusive_index()
        csc = dataset.labels.tocsc()
        both = [len(np.intersect1d(csc[:, a].indices, csc[:, b].indices)) for a, b in index]
        numbers["exclusive_pairs_cooccurring"] = int(sum(1 for n in both if n > 0))
    else:
        numbers["exclusive_pairs_cooccurring"] = 0
    return {f"{prefix}_{key}": value for key, value in numbers.items()}


# ==================================================================================================
# CLI: python -m g2p curate
# ==================================================================================================


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # no `choices`: argparse rejects an empty list against them (nargs="*"); main() validates instead
    parser.add_argument("datasets", nargs="*", help="mpo and/or hpo (default: both)")
    from g2p.cli import non_negative_int, positive_int

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
        folder = curate(
            dataset, min_genes=args.min_genes, seed=args.seed, max_genes=args.max_genes, force=args.force, progress=print
        )
        summary = json.loads((folder / FILES["datasheet"]).read_text())["summary"]
        print(
            f"{folder.name}: {summary['n_genes']} genes, {summary['n_terms']} terms, "
            f"density {summary['label_density']:.4f}, {summary['n_exclusive_pairs']} exclusive pairs, "
            f"split {summary['split_sizes']}"
        )
    return 0
