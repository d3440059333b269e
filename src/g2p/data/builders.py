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
    * **gwas** (:func:`gwas_annotations`): GWAS Catalog associations at genome-wide significance
      (``P-VALUE`` ≤ :data:`GWAS_SIGNIFICANCE`). Genes: the authors' ``REPORTED GENE(S)`` and the
      catalogue's ``MAPPED_GENE`` when the SNP lies in a gene (``A - B``, a SNP between two genes, is
      not assigned to either). Traits reach HP terms by three transparent steps, counted in the
      datasheet: an HP URI in ``MAPPED_TRAIT_URI``; else a ``MAPPED_TRAIT`` label equal to an HP term's
      name; else equal to one of its EXACT synonyms (case and spacing ignored). Anything else is dropped.
      gene_id = the gene symbol (the catalogue has no gene ids for reported genes).
    * **cafa2** (:func:`cafa2_annotations`): the 2013 ``genes_to_phenotype`` release (no frequency
      column) on the 2013 HP ontology, under Phenotypic abnormality. Its prospective targets
      (:func:`cafa2_prospective`): genes with no 2013 annotation that have one in the 2025 release.
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p.data.ontology import Ontology

KNOCKOUT_PREFIXES = ("tm", "em", "Gt")
#: The GWAS Catalog's usual genome-wide significance threshold.
GWAS_SIGNIFICANCE = 5e-8
_NO_GENE = {"", "NR", "nr", "intergenic", "Intergenic", "NA"}
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


def attach_proteins(genes: pd.DataFrame, fasta: pd.DataFrame, counts: dict) -> pd.DataFrame:
    """Join genes (gene_id, symbol, symbol_rank, gene_id_rank) to one protein each (:func:`pick_proteins`);
    counts the losses. ``symbol_rank`` 0 marks an official symbol, which wins a shared accession."""
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


def mpo_annotations(ontology: Ontology, inputs: Mapping[str, Path]) -> Annotations:
    """Mouse single-gene knockouts (MGI) and their direct MP terms."""
    from g2p.data import readers, tables

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
    genes = attach_proteins(markers, fasta, counts)

    mapping, term_counts = map_terms(kept["mp_id"].unique().tolist(), ontology)
    counts["mp_ids_in_kept_rows"] = dict(sorted(term_counts.items()))
    kept = kept[kept["marker_ids"].isin(set(genes["gene_id"]))]
    live = kept["mp_id"].map(mapping)
    counts["annotation_rows_dropped_obsolete_term"] = int(live.isna().sum())
    return Annotations(genes=genes, direct=_direct(kept["marker_ids"], live), counts=counts)


def hpo_annotations(ontology: Ontology, inputs: Mapping[str, Path]) -> Annotations:
    """Human genes and their direct HPO terms under Phenotypic abnormality (2025 release)."""
    from g2p.data import readers, tables

    counts: dict = {}
    table = readers.read_hpo_genes_to_phenotype(inputs["hpo_genes_to_phenotype"])
    counts["report_rows"] = len(table)
    excluded = _excluded_frequency(table["frequency"])
    counts["rows_dropped_excluded_frequency"] = int(excluded.sum())
    return _human_gene_annotations(table[~excluded], ontology, inputs["human_fasta"], counts)


def cafa2_annotations(ontology: Ontology, inputs: Mapping[str, Path]) -> Annotations:
    """Human genes and their direct terms under Phenotypic abnormality in the 2013 (CAFA2-era) release."""
    from g2p.data import readers, tables

    table = tables.read_hpo_genes_to_phenotype_2013(inputs["hpo_genes_to_phenotype_2013"])
    return _human_gene_annotations(table, ontology, inputs["human_fasta"], {"report_rows": len(table)})


def _human_gene_annotations(table: pd.DataFrame, ontology: Ontology, fasta_path: Path, counts: dict) -> Annotations:
    """Rows (ncbi_gene_id, gene_symbol, hpo_id) → live terms under Phenotypic abnormality, genes with a protein."""
    from g2p.data import readers, tables

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
    genes = attach_proteins(genes, readers.read_fasta(fasta_path, alphabet="protein"), counts)
    table = table[table["ncbi_gene_id"].isin(set(genes["gene_id"]))]
    return Annotations(genes=genes, direct=_direct(table["ncbi_gene_id"], table["term"]), counts=counts)


def _direct(genes: Iterable[str], terms: Iterable[str | None]) -> dict[str, set[str]]:
    """gene → set of its (non-missing) terms."""
    direct: dict[str, set[str]] = defaultdict(set)
    for gene, term in zip(genes, terms):
        if isinstance(term, str):
            direct[gene].add(term)
    return dict(direct)


# ----------------------------------------------------------------------- a gene → label table
@dataclass(frozen=True)
class TableAnnotations:
    """The builder of a dataset given as a gene → label table: raw source ``table`` (a TSV with a
    header holding ``gene_column``, ``symbol_column`` and ``term_column``, one row per gene and label)
    and proteins from the FASTA source ``fasta`` (matched by symbol to ``GN=``, :func:`attach_proteins`).
    Labels are mapped to the dataset's vocabulary (unknown ones dropped and counted). With it, a
    user's own dataset is one row of the table: this builder, a vocabulary and a GO reader."""

    table: str
    fasta: str
    gene_column: str = "gene_id"
    symbol_column: str = "symbol"
    term_column: str = "term"

    def __call__(self, ontology: Ontology, inputs: Mapping[str, Path]) -> Annotations:
        from g2p.data import readers, tables

        rows = tables.read_tsv_columns(inputs[self.table], [self.gene_column, self.symbol_column, self.term_column])
        counts: dict = {"table_rows": len(rows)}
        mapping, term_counts = map_terms(rows[self.term_column].unique().tolist(), ontology)
        counts["terms"] = dict(sorted(term_counts.items()))
        rows = rows.assign(term=rows[self.term_column].map(mapping))
        counts["rows_dropped_unknown_term"] = int(rows["term"].isna().sum())
        genes = (rows[[self.gene_column, self.symbol_column]].drop_duplicates(self.gene_column)
                 .set_axis(["gene_id", "symbol"], axis=1))
        genes = genes[genes["symbol"] != ""].assign(symbol_rank=0, gene_id_rank=lambda f: id_rank(f["gene_id"]))
        genes = attach_proteins(genes, readers.read_fasta(inputs[self.fasta], alphabet="protein"), counts)
        rows = rows[rows[self.gene_column].isin(set(genes["gene_id"]))]
        return Annotations(genes=genes, direct=_direct(rows[self.gene_column], rows["term"]), counts=counts)


# ---------------------------------------------------------------------------------------- GWAS
def split_gene_list(text: str) -> list[str]:
    """The genes of a ``REPORTED GENE(S)`` cell: comma-separated; ``NR`` / ``intergenic`` mean none."""
    return [g for g in (part.strip() for part in text.split(",")) if g not in _NO_GENE]


def mapped_genes(text: str) -> list[str]:
    """The genes of a ``MAPPED_GENE`` cell when the SNP lies in them (``A, B`` or ``A; B``); none for an
    intergenic ``A - B`` pair, which names the two flanking genes, not a gene the SNP is in."""
    if " - " in text:
        return []
    return [g for g in (part.strip() for part in re.split(r"[,;]", text)) if g not in _NO_GENE]


def trait_terms(labels: str, uris: str, ontology: Ontology) -> tuple[set[str], str]:
    """HP terms of one association's traits and the rule step that found them: ``hp_uri`` (an HP URI in
    ``MAPPED_TRAIT_URI``), ``exact_label`` (a ``MAPPED_TRAIT`` label equals a term name), ``exact_synonym``
    (… an EXACT synonym), or ``unmatched``. Every label and URI is tried; the first step that finds a
    term for a trait names it, and the association's step is the strongest one used."""
    found: set[str] = set()
    steps: list[str] = []
    for uri in (u.strip() for u in uris.split(",")):
        match = re.search(r"/HP_(\d{7})$", uri)
        if match:
            term = ontology.primary(f"HP:{match.group(1)}")
            if term is not None:
                found.add(term)
                steps.append("hp_uri")
    for label in (part.strip() for part in labels.split(", ")):
        if not label:
            continue
        by_name, by_synonym = ontology.terms_named(label)
        if by_name:
            found |= by_name
            steps.append("exact_label")
        elif by_synonym:
            found |= by_synonym
            steps.append("exact_synonym")
    order = ("hp_uri", "exact_label", "exact_synonym")
    return found, next((step for step in order if step in steps), "unmatched")


def gwas_annotations(ontology: Ontology, inputs: Mapping[str, Path]) -> Annotations:
    """Human genes of genome-wide significant GWAS associations and the HP terms of their traits."""
    from g2p.data import readers, tables

    table = tables.read_gwas_catalog(inputs["gwas_catalog"])
    counts: dict = {"associations": len(table), "traits": int(table["MAPPED_TRAIT"].nunique())}
    p_value = pd.to_numeric(table["P-VALUE"], errors="coerce")
    significant = p_value <= GWAS_SIGNIFICANCE
    counts["associations_dropped_not_significant"] = int((~significant).sum())
    table = table[significant.to_numpy()]
    counts["associations_significant"] = len(table)

    matched = [trait_terms(labels, uris, ontology) for labels, uris in
               zip(table["MAPPED_TRAIT"].tolist(), table["MAPPED_TRAIT_URI"].tolist())]
    table = table.assign(terms=[terms for terms, _ in matched], step=[step for _, step in matched])
    per_trait = table.drop_duplicates("MAPPED_TRAIT")
    counts["traits_by_step"] = {k: int(v) for k, v in per_trait["step"].value_counts().sort_index().items()}
    counts["associations_by_step"] = {k: int(v) for k, v in table["step"].value_counts().sort_index().items()}
    table = table[table["step"] != "unmatched"]
    abnormality = ontology.descendants(PHENOTYPIC_ABNORMALITY)
    table = table.assign(terms=table["terms"].map(lambda terms: terms & abnormality))
    outside = table["terms"].map(len) == 0
    counts["associations_dropped_outside_phenotypic_abnormality"] = int(outside.sum())
    table = table[~outside]

    reported = table["REPORTED GENE(S)"].map(split_gene_list)
    mapped = table["MAPPED_GENE"].map(mapped_genes)
    counts["associations_without_gene"] = int(((reported.map(len) + mapped.map(len)) == 0).sum())
    pairs = [(gene, term) for genes_r, genes_m, terms in zip(reported, mapped, table["terms"])
             for gene in dict.fromkeys([*genes_r, *genes_m]) for term in terms]
    counts["genes_reported"] = len({g for genes in reported for g in genes})
    counts["genes_mapped"] = len({g for genes in mapped for g in genes})
    gene_names = sorted({gene for gene, _ in pairs})
    counts["genes"] = len(gene_names)
    genes = pd.DataFrame({"gene_id": gene_names, "symbol": gene_names, "symbol_rank": 0,
                          "gene_id_rank": range(len(gene_names))})
    genes = attach_proteins(genes, readers.read_fasta(inputs["human_fasta"], alphabet="protein"), counts)
    kept = set(genes["gene_id"])
    pairs = [(gene, term) for gene, term in pairs if gene in kept]
    return Annotations(genes=genes, direct=_direct(*zip(*pairs)) if pairs else {}, counts=counts)


# ------------------------------------------------------------------------- CAFA2 prospective
def cafa2_prospective(ontology: Ontology, inputs: Mapping[str, Path], known: Annotations) -> Annotations:
    """No-knowledge targets of the CAFA2 dataset: genes with no annotation in the 2013 release that have
    one in the 2025 release, with their 2025 terms mapped onto the 2013 ontology ``ontology``.

    A 2025 id is mapped by the 2013 ontology (live; alt id → primary; obsolete → single replaced_by);
    failing that, through the ids the 2025 release merged into it (its own ``alt_id`` s), when they lead
    to exactly one live 2013 term. Terms outside Phenotypic abnormality (2013) are dropped.
    """
    from g2p.data import readers, tables

    counts: dict = {}
    later = readers.read_hpo_genes_to_phenotype(inputs["hpo_genes_to_phenotype"])
    excluded = _excluded_frequency(later["frequency"])
    counts["rows_dropped_excluded_frequency"] = int(excluded.sum())
    later = later[~excluded]
    earlier = tables.read_hpo_genes_to_phenotype_2013(inputs["hpo_genes_to_phenotype_2013"])
    old = later["ncbi_gene_id"].isin(set(earlier["ncbi_gene_id"]))  # any 2013 row, even one dropped later
    counts["genes_annotated_in_2013"] = int(later.loc[old, "ncbi_gene_id"].nunique())
    later = later[~old]
    counts["genes_new_in_2025"] = int(later["ncbi_gene_id"].nunique())

    from g2p.data.ontology import load_ontology_file

    merged_into: dict[str, list[str]] = defaultdict(list)  # 2025 term -> the ids the 2025 release merged into it
    for alt, primary in load_ontology_file(inputs["hp_obo"], stem="hp_obo").alt_ids.items():
        merged_into[primary].append(alt)
    mapping: dict[str, str | None] = {}
    routes: Counter = Counter()
    for raw in sorted(set(later["hpo_id"])):
        term = ontology.primary(raw)
        route = "live in 2013" if term == raw else "alt id or replaced_by in 2013" if term else ""
        if term is None:
            merged = {ontology.primary(alt) for alt in merged_into.get(raw, ())}
            merged.discard(None)
            if len(merged) == 1:
                term, route = merged.pop(), "through a 2025 alt id"
            else:
                route = "not in the 2013 ontology (dropped)"
        mapping[raw] = term
        routes[route] += 1
    counts["hpo_ids_by_route"] = dict(sorted(routes.items()))
    later = later.assign(term=later["hpo_id"].map(mapping))
    counts["rows_dropped_unmapped_term"] = int(later["term"].isna().sum())
    later = later[later["term"].notna()]
    abnormality = ontology.descendants(PHENOTYPIC_ABNORMALITY)
    later = later[later["term"].isin(abnormality)]
    genes = (later[["ncbi_gene_id", "gene_symbol"]].drop_duplicates("ncbi_gene_id")
             .rename(columns={"ncbi_gene_id": "gene_id", "gene_symbol": "symbol"})
             .assign(symbol_rank=0, gene_id_rank=lambda f: id_rank(f["gene_id"])))
    taken = set(known.genes["accession"])
    genes = attach_proteins(genes, readers.read_fasta(inputs["human_fasta"], alphabet="protein"), counts)
    shared = genes["accession"].isin(taken)
    counts["genes_dropped_protein_of_a_2013_gene"] = int(shared.sum())
    genes = genes[~shared].reset_index(drop=True)
    later = later[later["ncbi_gene_id"].isin(set(genes["gene_id"]))]
    return Annotations(genes=genes, direct=_direct(later["ncbi_gene_id"], later["term"]), counts=counts)


# ==================================================================================================
# Label scope and propagation
# ==================================================================================================


def phenotypic_abnormality_scope(ontology: Ontology) -> tuple[set[str] | None, set[str]]:
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
