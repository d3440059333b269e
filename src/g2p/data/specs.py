"""The dataset table: one :class:`DatasetSpec` row per curated dataset, and the names of curated folders.

Everything that differs between datasets lives in its row, and the curation pipeline
(:mod:`g2p.data.curate`) never branches on a dataset's name:

* ``phenotype`` — how its label vocabulary is loaded: an OBO ontology over chosen relations
  (:class:`OboOntology`) or a flat vocabulary without an ontology (:class:`FlatVocabulary`);
* ``go`` — where the per-protein GO annotations (the model's inputs) come from: the release's
  ``accession<TAB>go_ids`` table (:class:`GoTable`) or a GAF file (:class:`GoGaf`);
* ``inputs`` and ``annotations`` — the raw files of its builder and the builder (gene → direct terms,
  :mod:`g2p.data.builders`), ``label_scope`` — which terms may be labels;
* ``rules`` — the datasheet's sentences for the rules the builder applies;
* ``prospective`` — optionally, later annotations of genes the dataset does not contain, scored as a
  CAFA-style prospective benchmark (:class:`ProspectiveTargets`).

A new dataset is a new row (:func:`register` adds one at run time, e.g. from a test or a notebook); its
raw files are entries of the data manifest (:mod:`g2p.data.sources`, which also reads the manifests
named by ``$G2P_EXTRA_SOURCES``).

A non-default parameter set is written to its own folder (``mpo-max600``, ``hpo-min5-seed1`` …;
see :func:`curated_name`), so a smoke curation never replaces the full dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pandas as pd

from g2p.data import builders
from g2p.data.builders import Annotations
from g2p.data.ontology import GO_SOURCE, Ontology, load_ontology
from g2p.errors import InputError

DEFAULT_MIN_GENES = 11


# ============================================================================== the parts of a row
@dataclass(frozen=True)
class OboOntology:
    """A phenotype ontology read from the OBO file of raw source ``source``: labels are propagated over
    ``relations``; depth counts from ``roots`` (None: the terms without parents)."""

    source: str
    relations: tuple[str, ...] = ("is_a",)
    roots: tuple[str, ...] | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def load(self, inputs: Mapping[str, Path], *, use_cache: bool = True) -> Ontology:
        return load_ontology(self.source, self.relations, self.roots, use_cache=use_cache)

    @property
    def rule(self) -> str:
        return ("alt_id -> primary; obsolete -> single replaced_by, else dropped; labels propagated to every "
                f"{' / '.join(self.relations)} ancestor (true-path rule)")


@dataclass(frozen=True)
class FlatVocabulary:
    """A label set without an ontology: the distinct values of column ``id_column`` of the TSV source
    ``source`` (with a header line), named by ``name_column`` when given. No structure, so labels are
    not propagated, every term has depth 0 and there are no exclusive sibling pairs."""

    source: str
    id_column: str
    name_column: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def load(self, inputs: Mapping[str, Path], *, use_cache: bool = True) -> Ontology:
        from g2p.data import tables

        columns = [self.id_column] + ([self.name_column] if self.name_column else [])
        table = tables.read_tsv_columns(inputs[self.source], columns)
        ids = table[self.id_column].str.strip()
        names = table[self.name_column].str.strip() if self.name_column else ids
        vocabulary = {term: name for term, name in zip(ids, names) if term}
        if not vocabulary:
            raise InputError("the flat vocabulary has no term", path=inputs[self.source], field=self.id_column)
        return Ontology.flat(vocabulary)

    @property
    def rule(self) -> str:
        return f"a flat vocabulary (the values of column {self.id_column!r}); no ontology, so no propagation"


PhenotypeVocabulary = Union[OboOntology, FlatVocabulary]


@dataclass(frozen=True)
class GoTable:
    """Per-protein GO ids from the release's ``accession<TAB>go_ids`` table (no evidence codes)."""

    source: str

    def read(self, path: Path) -> pd.DataFrame:
        from g2p.data import readers

        return readers.read_go_annotation_tsv(path)

    @property
    def rule(self) -> str:
        return "every GO id listed for the accession (the table has no evidence codes)"


@dataclass(frozen=True)
class GoGaf:
    """Per-protein GO ids from a GAF 2.x file: rows qualified NOT are dropped, and with ``evidence`` set
    only rows with one of those evidence codes are kept (e.g. the experimental ones)."""

    source: str
    evidence: tuple[str, ...] | None = None

    def read(self, path: Path) -> pd.DataFrame:
        from g2p.data import readers

        table = readers.read_gaf(path)
        table = table[~table["qualifier"].str.split("|").map(lambda q: "NOT" in q)]
        if self.evidence is not None:
            table = table[table["evidence"].isin(self.evidence)]
        return table[["accession", "go_id"]].drop_duplicates().reset_index(drop=True)

    @property
    def rule(self) -> str:
        codes = "any evidence code" if self.evidence is None else f"evidence codes {', '.join(self.evidence)}"
        return f"GAF rows without a NOT qualifier, {codes}"


GoAnnotations = Union[GoTable, GoGaf]


#: GO as every row reads it: propagated over is_a and part_of, depth counted from the three namespace roots.
GO_ONTOLOGY = OboOntology(GO_SOURCE, ("is_a", "part_of"), ("GO:0008150", "GO:0003674", "GO:0005575"))


@dataclass(frozen=True)
class DatasheetRules:
    """The datasheet's sentences for the rules a dataset's builder applies."""

    genes: str  # which genes / rows are kept
    symbols: str  # where gene symbols come from
    dropped_terms: str  # which terms the label scope drops
    protein: str = ("Swiss-Prot record with GN= symbol; several accessions -> longest sequence, then smallest "
                    "accession; an accession reached by two genes goes to the official-symbol gene, then the smaller id")


@dataclass(frozen=True)
class ProspectiveTargets:
    """Genes with no annotation in the dataset's release that gained one later: ``build`` returns them
    (with proteins) and their direct terms mapped onto the dataset's vocabulary; it reads ``inputs`` (and
    may read the dataset's own), and gets the dataset's annotations to keep their proteins apart.
    The curated folder keeps them as split ``prospective``; nothing is trained or selected on them."""

    inputs: tuple[str, ...]
    build: Callable[[Ontology, Mapping[str, Path], Annotations], Annotations]
    rule: str


def _all_but_roots(ontology: Ontology) -> tuple[set[str] | None, set[str]]:
    """Any term may be a label except the root(s) of an ontology (a flat vocabulary keeps every term)."""
    return None, set(ontology.roots) if ontology.relations else set()


@dataclass(frozen=True)
class DatasetSpec:
    """What one curated dataset reads and which rules build it."""

    name: str  # the dataset's name and the base of its folder names (``mpo``)
    label: str  # how the book writes it (``MPO``)
    organism: str
    description: str  # one sentence for the book: what a gene and a label are
    phenotype: PhenotypeVocabulary
    go: GoAnnotations
    inputs: tuple[str, ...]  # the builder's raw sources, in datasheet order
    annotations: Callable[[Ontology, Mapping[str, Path]], Annotations]  # gene → direct live terms
    rules: DatasheetRules
    label_scope: Callable[[Ontology], tuple[set[str] | None, set[str]]] = _all_but_roots
    go_ontology: OboOntology = GO_ONTOLOGY
    prospective: ProspectiveTargets | None = None
    paper_key: str | None = None  # the column of the paper's tables this dataset stands for
    notes: tuple[str, ...] = field(default=())  # deviations from the paper's dataset, for the book

    @property
    def sources(self) -> tuple[str, ...]:
        """Every raw source the curation reads (ontologies, builder inputs, GO annotations, later
        annotations), in datasheet order, each once."""
        names = [*self.phenotype.sources, *self.go_ontology.sources, *self.inputs, self.go.source,
                 *(self.prospective.inputs if self.prospective else ())]
        return tuple(dict.fromkeys(names))

    def identity(self) -> dict[str, Any]:
        """The row as JSON-able data (functions by their qualified names), for cache keys and datasheets."""
        def named(fn: Callable) -> str:
            return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"

        return {
            "name": self.name, "phenotype": repr(self.phenotype), "go": repr(self.go),
            "go_ontology": repr(self.go_ontology), "inputs": list(self.inputs),
            "annotations": named(self.annotations), "label_scope": named(self.label_scope),
            "prospective": None if self.prospective is None else
            {"inputs": list(self.prospective.inputs), "build": named(self.prospective.build)},
        }

    def callables(self) -> list[Callable]:
        """The functions that build the dataset (their code keys the curation's caches)."""
        found: list[Callable] = [self.annotations, self.label_scope]
        if self.prospective is not None:
            found.append(self.prospective.build)
        return found


# ============================================================================== the table
_HUMAN_GO = GoTable("human_go")
_PHENOTYPIC_ABNORMALITY_ONLY = (f"only terms under Phenotypic abnormality ({builders.PHENOTYPIC_ABNORMALITY}); "
                                "it and its ancestors dropped")

MPO = DatasetSpec(
    name="mpo",
    label="MPO",
    organism="mouse",
    description="mouse genes whose knockout genotypes (targeted `tm`, endonuclease `em`, gene-trap `Gt` alleles; "
                "heterozygous knockouts count) MGI annotated with Mammalian Phenotype terms",
    phenotype=OboOntology("mp_obo"),
    go=GoTable("mouse_go"),
    inputs=("mgi_phenogeno", "mgi_marker_symbols", "mouse_fasta"),
    annotations=builders.mpo_annotations,
    rules=DatasheetRules(
        genes="one MGI marker; alleles with superscripts starting tm/em/Gt are knockout-like; <+>, Y and 0 are "
              "ignored (heterozygous and hemizygous knockouts count); '?' or any other allele drops the genotype; "
              "at least one knockout-like allele required",
        symbols="MGI_marker_symbols, falling back to the gene part of the allele symbol",
        dropped_terms="root MP:0000001 dropped",
    ),
    paper_key="mpo",
)

HPO = DatasetSpec(
    name="hpo",
    label="HPO",
    organism="human",
    description="human genes annotated (through their diseases) with Human Phenotype Ontology terms under "
                "*Phenotypic abnormality*, 2025 release",
    phenotype=OboOntology("hp_obo"),
    go=_HUMAN_GO,
    inputs=("hpo_genes_to_phenotype", "human_fasta"),
    annotations=builders.hpo_annotations,
    label_scope=builders.phenotypic_abnormality_scope,
    rules=DatasheetRules(
        genes="genes_to_phenotype rows under HP:0000118, frequency not excluded (HP:0040285, 0/n)",
        symbols="gene_symbol of genes_to_phenotype",
        dropped_terms=_PHENOTYPIC_ABNORMALITY_ONLY,
    ),
    paper_key="hpo",
)

GWAS = DatasetSpec(
    name="gwas",
    label="GWAS",
    organism="human",
    description="human genes reported or mapped at genome-wide significant GWAS Catalog associations "
                "(p ≤ 5 × 10⁻⁸, 2016 release), their traits matched to HP terms by name or exact synonym",
    phenotype=OboOntology("hp_obo"),
    go=_HUMAN_GO,
    inputs=("gwas_catalog", "human_fasta"),
    annotations=builders.gwas_annotations,
    label_scope=builders.phenotypic_abnormality_scope,
    rules=DatasheetRules(
        genes=f"GWAS Catalog associations with P-VALUE <= {builders.GWAS_SIGNIFICANCE:g}; genes from REPORTED "
              "GENE(S) (comma-separated; NR and intergenic mean none) and MAPPED_GENE when the SNP lies in a "
              "gene (an 'A - B' intergenic pair is not assigned); traits to HP terms: an HP URI in "
              "MAPPED_TRAIT_URI directly, else a MAPPED_TRAIT label equal to an HP term's name, else to one of "
              "its EXACT synonyms (case and spacing ignored); any other trait dropped and counted",
        symbols="the catalogue's gene names, matched to Swiss-Prot GN= (case-sensitive)",
        dropped_terms=_PHENOTYPIC_ABNORMALITY_ONLY,
    ),
    paper_key="gwas",
    notes=("No EFO → HP table exists offline, so traits reach HP by exact name or synonym only.",),
)

CAFA2 = DatasetSpec(
    name="cafa2",
    label="CAFA2",
    organism="human",
    description="human genes with HPO annotations of the CAFA2 era (the 2013-10-29 release on the 2013-09-17 "
                "ontology); genes annotated only later form a prospective benchmark",
    phenotype=OboOntology("hp_2013_obo"),
    go=_HUMAN_GO,
    inputs=("hpo_genes_to_phenotype_2013", "human_fasta"),
    annotations=builders.cafa2_annotations,
    label_scope=builders.phenotypic_abnormality_scope,
    rules=DatasheetRules(
        genes="every gene of the 2013 genes_to_phenotype release with a term under HP:0000118 (the file "
              "has no frequency column)",
        symbols="entrez-gene-symbol of the 2013 release",
        dropped_terms=_PHENOTYPIC_ABNORMALITY_ONLY,
    ),
    prospective=ProspectiveTargets(
        inputs=("hpo_genes_to_phenotype", "hp_obo"),
        build=builders.cafa2_prospective,
        rule="no-knowledge targets: genes without any 2013 annotation that have one in the 2025 release "
             "(frequency not excluded); 2025 ids mapped onto the 2013 ontology (live, alt id -> primary, "
             "obsolete -> single replaced_by, else through the 2025 term's own alt ids), propagated, kept "
             "terms only; genes left without a kept term dropped",
    ),
    paper_key="cafa2_wppi",
    notes=("The paper's 'wPPI' restriction (genes in STRING v10, GeneMANIA and HumanNet v2) is not applied: "
           "those networks are not in the data release.",),
)

#: The dataset table, by name.
SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MPO, HPO, GWAS, CAFA2)}


def names() -> tuple[str, ...]:
    """The names of every row of the table (including rows added with :func:`register`)."""
    return tuple(SPECS)


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add a row to the table at run time (a user's dataset; replaces a row of the same name)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name):
        raise InputError(f"dataset name {spec.name!r} must be lower-case letters, digits and _ (no '-': "
                         "folder names add '-max400' and the like)", field="name")
    SPECS[spec.name] = spec
    return spec


def get(name: str) -> DatasetSpec:
    """The row of dataset ``name`` (a base name such as ``mpo``); one-line error naming the choices."""
    try:
        return SPECS[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}", field="dataset", hint=f"choose one of {', '.join(SPECS)}") from None


def base_name(curated: str) -> str:
    """``mpo`` for ``mpo-max400``: the table row a curated folder name comes from."""
    return curated.split("-", 1)[0]


def sources_for(datasets: Iterable[str]) -> list[str]:
    """Every raw source the given datasets (base or curated folder names) read, in table order.
    A name that is not a row of the table contributes nothing."""
    wanted = {base_name(str(d)) for d in datasets}
    found = [source for spec in SPECS.values() if spec.name in wanted for source in spec.sources]
    return list(dict.fromkeys(found))


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


def curate_command(name: str) -> str:
    """The command that (re)builds curated folder ``name`` (``mpo-max400`` → ``… curate mpo --max-genes 400``)."""
    base, *parts = name.split("-")
    options = {"max": "--max-genes", "min": "--min-genes", "seed": "--seed"}
    args = [base if base in SPECS else "|".join(SPECS)]
    for part in parts:
        match = re.fullmatch(r"(max|min|seed)(\d+)", part)
        if match:
            args += [options[match.group(1)], match.group(2)]
    return "python -m g2p curate " + " ".join(args)
