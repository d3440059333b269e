"""The dataset table: one :class:`DatasetSpec` row per curated dataset, and the names of curated folders.

Everything that differs between datasets lives in its row (raw sources, phenotype ontology, GO
annotation file, the builder of gene → direct terms, the label scope, the rule texts of the
datasheet); the curation pipeline (:mod:`g2p.data.curate`) never branches on the dataset. A third
organism is a new row plus its builder in :mod:`g2p.data.builders`.

A non-default parameter set is written to its own folder (``mpo-max600``, ``hpo-min5-seed1`` …;
see :func:`curated_name`), so a smoke curation never replaces the full dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from g2p.data import builders
from g2p.data.builders import Annotations
from g2p.data.ontology import Ontology

DEFAULT_MIN_GENES = 11


@dataclass(frozen=True)
class DatasetSpec:
    """What one curated dataset reads and which rules build it."""

    name: str  # the dataset's name and the base of its folder names (``mpo``)
    organism: str
    sources: tuple[str, ...]  # raw sources it reads (names of g2p.data.sources), in datasheet order
    ontology: str  # the phenotype ontology's source (its labels' vocabulary)
    go_annotations: str  # the source of per-protein GO annotations (the model's inputs)
    annotations: Callable[[Ontology, dict[str, Path]], Annotations]  # gene → direct live terms
    label_scope: Callable[[Ontology], tuple[set[str] | None, set[str]]]  # (allowed or None, dropped) terms
    genotype_rule: str  # the datasheet's wording of which genes/rows are kept
    symbol_rule: str  # ... where gene symbols come from
    dropped_terms_rule: str  # ... which terms the label scope drops


MPO = DatasetSpec(
    name="mpo",
    organism="mouse",
    sources=("mp_obo", "go_obo", "mgi_phenogeno", "mgi_marker_symbols", "mouse_fasta", "mouse_go"),
    ontology="mp_obo",
    go_annotations="mouse_go",
    annotations=builders.mpo_annotations,
    label_scope=builders.mpo_label_scope,
    genotype_rule=(
        "mpo: one MGI marker; alleles with superscripts starting tm/em/Gt are knockout-like; <+>, Y "
        "and 0 are ignored (heterozygous and hemizygous knockouts count); '?' or any other allele drops "
        "the genotype; at least one knockout-like allele required"
    ),
    symbol_rule="MGI_marker_symbols, falling back to the gene part of the allele symbol",
    dropped_terms_rule="root MP:0000001 dropped",
)

HPO = DatasetSpec(
    name="hpo",
    organism="human",
    sources=("hp_obo", "go_obo", "hpo_genes_to_phenotype", "human_fasta", "human_go"),
    ontology="hp_obo",
    go_annotations="human_go",
    annotations=builders.hpo_annotations,
    label_scope=builders.hpo_label_scope,
    genotype_rule="hpo: genes_to_phenotype rows under HP:0000118, frequency not excluded (HP:0040285, 0/n)",
    symbol_rule="gene_symbol of genes_to_phenotype",
    dropped_terms_rule="HP:0000118 and its ancestors dropped",
)

#: The dataset table, by name.
SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MPO, HPO)}
DATASETS = tuple(SPECS)


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
    args = [base if base in DATASETS else "|".join(DATASETS)]
    for part in parts:
        match = re.fullmatch(r"(max|min|seed)(\d+)", part)
        if match:
            args += [options[match.group(1)], match.group(2)]
    return "python -m g2p curate " + " ".join(args)
