"""Gene → phenotype-term builders: the genotype and protein rules, one reader of direct annotations per
dataset, and the true-path propagation of labels.

Each rule is a small function testable on its own; :mod:`g2p.data.specs` names which builder and which
label scope a dataset uses.

Genes
    * **mpo** (:func:`mpo_annotations`): rows of ``MGI_PhenoGenoMP.rpt`` whose genotype carries ONE MGI
      marker and whose alleles are knockout-like. An allele is knockout-like when its superscript starts
      with ``tm`` (targeted), ``em`` (endonuclease-mediated) or ``Gt`` (gene trap) — the report has no
      allele type, so the symbol is the heuristic the mirror README suggests. **Wild-type rule**: ``<+>``
      alleles are ignored, and so are the hemizygous placeholders ``Y`` and ``0``; a genotype is kept
      when every other allele is knockout-like and at least one is (so ``X<tm1a>/X<+>``, a heterozygous
      knockout, counts as a knockout genotype). ``?`` (unknown allele) or any other allele (spontaneous,
      chemically induced, transgene, QTL, strain) drops the genotype. Marker → symbol comes from
      ``MGI_marker_symbols``; markers absent there fall back to the gene part of the allele symbol
      (``Rb1`` in ``Rb1<tm1Tyj>``). gene_id = MGI marker id.
    * **hpo** (:func:`hpo_annotations`): ``genes_to_phenotype.txt`` rows whose HPO term lies under
      Phenotypic abnormality (HP:0000118) and whose frequency is not "excluded" (HP:0040285 or ``0/n``).
      gene_id = NCBI gene id.
    * Protein: the Swiss-Prot record whose ``GN=`` equals the gene symbol (case-sensitive). When a symbol
      has several accessions the longest sequence wins (ties: smallest accession). When two genes reach
      the same accession, the gene whose symbol came from the official map (then the smaller id) keeps it.

Phenotype terms
    Ids are mapped to live terms (``alt_id`` → primary; obsolete → its single ``replaced_by``, else
    dropped). Labels are propagated to every ``is_a`` ancestor (true-path rule); a dataset's label scope
    drops the root(s) (for hpo: HP:0000118 and everything above it).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p.data.ontology import Ontology

KNOCKOUT_PREFIXES = ("tm", "em", "Gt")
HEMIZYGOUS_PLACEHOLDERS = ("Y", "0")
PHENOTYPIC_ABNORMALITY = "HP:0000118"
HPO_EXCLUDED_FREQUENCY = "HP:0040285"


# ==================================================================================================
# Small rules, each testable on its own
# ==================================================================================================


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


def id_rank(ids: pd.Series) -> pd.Series:
    """Numeric part of ``MGI:97874`` / NCBI ids for a natural sort."""
    return ids.str.extract(r"(\d+)$", expand=False).fillna("0").astype(np.int64)


def _excluded_frequency(frequency: pd.Series) -> pd.Series:
    return (frequency == HPO_EXCLUDED_FREQUENCY) | frequency.str.fullmatch(r"0/\d+")


# ==================================================================================================
# Gene → direct phenotype annotations, one builder per dataset
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


def mpo_annotations(ontology: Ontology, inputs: dict[str, Path]) -> Annotations:
    """Mouse single-gene knockouts (MGI) and their direct MP terms."""
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
    markers = markers[markers["symbol"] != ""].assign(gene_id_rank=lambda f: id_rank(f["gene_id"]))

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


def hpo_annotations(ontology: Ontology, inputs: dict[str, Path]) -> Annotations:
    """Human genes and their direct HPO terms under Phenotypic abnormality."""
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
    genes = genes[~no_symbol].assign(symbol_rank=0, gene_id_rank=lambda f: id_rank(f["gene_id"]))
    fasta = readers.read_fasta(inputs["human_fasta"], alphabet="protein")
    genes = _attach_proteins(genes, fasta, counts)
    table = table[table["ncbi_gene_id"].isin(set(genes["gene_id"]))]
    direct: dict[str, set[str]] = defaultdict(set)
    for gene, term in zip(table["ncbi_gene_id"].tolist(), table["term"].tolist()):
        direct[gene].add(term)
    return Annotations(genes=genes, direct=dict(direct), counts=counts)


# ==================================================================================================
# Label scope and propagation
# ==================================================================================================


def mpo_label_scope(ontology: Ontology) -> tuple[set[str] | None, set[str]]:
    """MP: any term may be a label except the root(s)."""
    return None, set(ontology.roots)


def hpo_label_scope(ontology: Ontology) -> tuple[set[str] | None, set[str]]:
    """HP: only terms under Phenotypic abnormality; HP:0000118 itself and its ancestors are dropped."""
    allowed = ontology.descendants(PHENOTYPIC_ABNORMALITY)
    drop = {PHENOTYPIC_ABNORMALITY} | set(ontology.ancestors(PHENOTYPIC_ABNORMALITY))
    return allowed, drop


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


def indicator_matrix(rows: list[Iterable[str]], columns: list[str]) -> sp.csr_matrix:
    """CSR int8 0/1 matrix: row i has a 1 in column j when ``columns[j]`` is in ``rows[i]``."""
    index = {c: j for j, c in enumerate(columns)}
    indptr = [0]
    indices: list[int] = []
    for row in rows:
        cols = sorted(index[c] for c in row if c in index)
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.int8)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr)), shape=(len(rows), len(columns)))
