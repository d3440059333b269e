"""Curation invariants on the REAL mirror files, for every row of the dataset table (MPO in full, HPO on
a seeded 500-gene subset, the smaller GWAS and CAFA2 in full; a row added to the table is curated too).

Each dataset is curated once per session (reused from ``data/processed`` when its inputs and
parameters are unchanged, which is itself a tested property).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from g2p.data import builders, specs
from g2p.data import curate as curate_mod
from g2p.data import curated as curated_mod
from g2p.data.builders import classify_genotype
from g2p.data.curate import curate
from g2p.data.curated import BIN_LABELS, CuratedDataset, frequency_bin, load
from g2p.data.exclusive import match
from g2p.data.ontology import load_go
from g2p.data.split import PROSPECTIVE, SPLITS, ensure_train_positives, stratified_split
from g2p.errors import InputError, UsageError

#: Subset sizes that keep the session short; every other row is curated whole.
MAX_GENES = {"hpo": 500}
CASES = {specs.curated_name(name, max_genes=MAX_GENES.get(name)): dict(dataset=name, max_genes=MAX_GENES.get(name))
         for name in specs.SPECS}


@pytest.fixture(scope="session", params=list(CASES))
def curated(request: pytest.FixtureRequest) -> tuple[CuratedDataset, Path, dict]:
    kwargs = CASES[request.param]
    folder = curate(**kwargs)
    return load(folder), folder, kwargs


@pytest.fixture(scope="session")
def ontologies() -> dict:
    return {}


def _ontology(ontologies: dict, ds: CuratedDataset):
    name = ds.datasheet["dataset"]
    if name not in ontologies:
        ontologies[name] = specs.SPECS[name].phenotype.load({})
    return ontologies[name]


def _curated_labels(ds: CuratedDataset) -> sp.csr_matrix:
    return ds.labels[ds.curated_index()]


# ---------------------------------------------------------------------------------- label invariants


def test_shapes_and_gene_table(curated) -> None:
    ds, _, _ = curated
    n_rows, n_terms = ds.labels.shape
    assert n_rows == len(ds.genes) == len(ds.go_inputs) == ds.concept_labels.shape[0] >= ds.n_genes > 100
    assert n_terms == len(ds.terms) > 100
    assert ds.genes["gene_id"].is_unique and ds.genes["accession"].is_unique
    assert ds.terms["term_id"].is_unique
    assert (ds.genes["sequence"].str.len() > 0).all()
    assert set(np.unique(ds.labels.data)) == {1}
    assert (np.diff(ds.labels.indptr) > 0).all(), "a gene without any kept label"


def test_labels_closed_under_ancestors(curated, ontologies) -> None:
    ds, _, _ = curated
    onto = _ontology(ontologies, ds)
    column = {t: j for j, t in enumerate(ds.terms["term_id"])}
    rows, cols = [], []
    for term, j in column.items():
        ancestors = onto.ancestors(term)
        for ancestor in ancestors:
            if ancestor in column:
                rows.append(j)
                cols.append(column[ancestor])
    implied = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(column), len(column)))
    needed = ((ds.labels.astype(np.float64) @ implied) > 0).astype(np.int8)  # prospective rows too
    n_missing = int(((needed - needed.multiply(ds.labels)) > 0).sum())
    assert n_missing == 0, f"{n_missing} ancestor labels missing"


def test_roots_dropped_and_kept_terms_closed_upwards(curated, ontologies) -> None:
    ds, _, _ = curated
    onto = _ontology(ontologies, ds)
    kept = set(ds.terms["term_id"])
    allowed, dropped = specs.SPECS[ds.datasheet["dataset"]].label_scope(onto)
    assert dropped, "every ontology row drops its root(s)"
    if allowed is not None:
        assert kept <= allowed
    assert not kept & dropped
    for term in kept:  # a kept term's ancestors have at least as many genes, so they are kept too
        assert onto.ancestors(term) - dropped <= kept, term


def test_every_term_has_min_genes_and_a_consistent_bin(curated) -> None:
    ds, _, kwargs = curated
    min_genes = kwargs.get("min_genes", specs.DEFAULT_MIN_GENES)
    counts = np.asarray(_curated_labels(ds).sum(axis=0)).ravel()  # prospective targets count toward nothing
    assert (counts >= min_genes).all()
    assert (ds.terms["n_genes"].to_numpy() == counts).all()
    assert set(ds.terms["bin"]) <= set(BIN_LABELS)
    assert [frequency_bin(int(n)) for n in counts] == list(ds.terms["bin"])
    assert ds.datasheet["summary"]["terms_per_bin"] == {b: int((ds.terms["bin"] == b).sum()) for b in BIN_LABELS}


def test_bins_edges() -> None:
    assert [frequency_bin(n) for n in (11, 30, 31, 100, 101, 300, 301, 5000)] == [
        "11-30", "11-30", "31-100", "31-100", "101-300", "101-300", ">=301", ">=301"
    ]


# ---------------------------------------------------------------------------------- split


def test_splits_disjoint_cover_all_genes_and_near_80_10_10(curated) -> None:
    ds, _, _ = curated
    assert set(ds.genes["split"]) - {PROSPECTIVE} == set(SPLITS)
    index = {s: set(ds.split_index(s).tolist()) for s in SPLITS}
    assert not index["train"] & index["val"] and not index["train"] & index["test"] and not index["val"] & index["test"]
    assert index["train"] | index["val"] | index["test"] == set(ds.curated_index().tolist())
    n = ds.n_genes
    # Iterative stratification trades fold size for label balance; on a few hundred genes with many
    # rare terms the sizes drift more than on the full datasets (where they are exact).
    slack = 0.02 if n >= 2000 else 0.08
    for split, fraction in zip(SPLITS, (0.8, 0.1, 0.1)):
        assert abs(len(index[split]) / n - fraction) <= slack, (split, len(index[split]), n)


def test_every_term_has_a_train_positive(curated) -> None:
    ds, _, _ = curated
    train = ds.labels[ds.split_index("train")]
    assert (np.asarray(train.sum(axis=0)).ravel() > 0).all()


def test_prospective_targets_are_new_genes_with_kept_labels(curated) -> None:
    ds, _, _ = curated
    later = ds.split_index(PROSPECTIVE)
    spec = specs.SPECS[ds.datasheet["dataset"]]
    if spec.prospective is None:
        assert len(later) == 0 and "prospective" not in ds.datasheet
        return
    assert len(later) > 100 and ds.datasheet["summary"]["n_prospective"] == len(later)
    assert (np.diff(ds.labels[later].indptr) > 0).all(), "a prospective target without a kept term"
    ids = ds.genes["gene_id"]
    assert not set(ids.iloc[later]) & set(ids.iloc[ds.curated_index()])
    assert ds.datasheet["prospective"]["genes"] == len(later)
    # none of them is in the 2013 release at all: they are CAFA's no-knowledge targets
    from g2p.data import sources, tables

    earlier = tables.read_hpo_genes_to_phenotype_2013(sources.resolve("hpo_genes_to_phenotype_2013"))
    assert not set(ids.iloc[later]) & set(earlier["ncbi_gene_id"])


def test_split_is_seeded_and_repairs_missing_train_positives() -> None:
    rng = np.random.default_rng(0)
    labels = sp.csr_matrix((rng.random((300, 40)) < 0.1).astype(np.int8))
    a = stratified_split(labels, seed=3).assignment
    b = stratified_split(labels, seed=3).assignment
    c = stratified_split(labels, seed=4).assignment
    assert (a == b).all() and (a != c).any()
    # a term whose only carriers are in test gets one of them moved to train
    assignment = np.array(["train"] * 300, dtype=object)
    only = sp.lil_matrix((300, 2), dtype=np.int8)
    only[[5, 7], 0] = 1
    only[:, 1] = 1
    assignment[[5, 7]] = "test"
    moved = ensure_train_positives(only.tocsr(), assignment)
    assert moved == 1 and assignment[5] == "train" and assignment[7] == "test"
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(labels, fractions=(0.5, 0.5, 0.5))


# ---------------------------------------------------------------------------------- GO and exclusive pairs


def test_concepts_are_depth_two_and_inputs_deeper(curated) -> None:
    ds, _, _ = curated
    go = load_go()
    assert len(ds.concepts) > 50
    assert all(go.depth(t) == 2 for t in ds.concepts["go_id"])
    assert set(ds.concepts["namespace"]) == {"biological_process", "molecular_function", "cellular_component"}
    counts = np.asarray(ds.concept_labels[ds.curated_index()].sum(axis=0)).ravel()
    assert (counts >= 1).all() and (ds.concepts["n_genes"].to_numpy() == counts).all()
    sample = [t for terms in ds.go_inputs[:200] for t in terms]
    assert sample and all(go.depth(t) > 2 for t in sample)
    # a gene's concepts are the depth-2 ancestors of its GO inputs (or direct depth-2 annotations)
    column = {t: j for j, t in enumerate(ds.concepts["go_id"])}
    for i in range(0, len(ds.genes), max(1, len(ds.genes) // 50)):
        implied = {a for t in ds.go_inputs[i] for a in go.ancestors(t) if go.depth(a) == 2 and a in column}
        have = {ds.concepts["go_id"].iat[j] for j in ds.concept_labels[i].indices}
        assert implied <= have


def test_exclusive_pairs_are_kept_siblings_matched_by_their_rule(curated, ontologies) -> None:
    ds, folder, _ = curated
    onto = _ontology(ontologies, ds)
    pairs = ds.exclusive_pairs
    if len(pairs) == 0:  # GWAS's few hundred terms hold (almost) no antonym siblings; the datasheet says so
        assert ds.datasheet["rules"]["exclusive_pairs"] == curated_mod.NO_EXCLUSIVE_PAIRS
        return
    kept = set(ds.terms["term_id"])
    for row in pairs.itertuples():
        assert row.term_a in kept and row.term_b in kept
        assert row.parent in onto.parents(row.term_a) and row.parent in onto.parents(row.term_b)
        assert match(row.name_a, row.name_b) == row.rule
    index = ds.exclusive_index()
    assert index.shape == (len(pairs), 2)
    assert (ds.terms["term_id"].to_numpy()[index[:, 0]] == pairs["term_a"].to_numpy()).all()
    assert (folder / "exclusive_pairs.tsv").read_text().startswith("term_a\tname_a\tterm_b\tname_b\tparent\trule")


def test_mpo_genotype_rule() -> None:
    assert classify_genotype("Rb1<tm1Tyj>/Rb1<tm1Tyj>", "MGI:97874") == "kept"
    assert classify_genotype("Htr2b<tm1b(EUCOMM)Wtsi>/Htr2b<+>", "MGI:1") == "kept"  # heterozygous
    assert classify_genotype("Mecp2<tm1.1Bird>/Y", "MGI:1") == "kept"  # hemizygous
    assert classify_genotype("Myh9<tm2(GFP/MYH10)Rsad>/Myh9<tm2(GFP/MYH10)Rsad>", "MGI:1") == "kept"
    assert classify_genotype("Xyz<em1J>/Xyz<Gt(ROSA)1Sor>", "MGI:1") == "kept"
    assert classify_genotype("Jag1<Ozz>/Jag1<+>", "MGI:1") == "non-knockout allele"
    assert classify_genotype("Tg(Kera-PITX2*A)AHjal/0", "MGI:1") == "non-knockout allele"
    assert classify_genotype("Cpfl2/?", "MGI:1") == "non-knockout allele"
    assert classify_genotype("Abc<tm1>/?", "MGI:1") == "unknown allele"
    assert classify_genotype("Abc<+>/Abc<+>", "MGI:1") == "no knockout allele"
    assert classify_genotype("Wnt1<tm1Brd>/Wnt1<tm1Brd>,Wnt3a<tm1Amc>/Wnt3a<tm1Amc>", "MGI:1,MGI:2") == "multiple or no markers"


def test_datasheet_counts_and_inputs(curated) -> None:
    ds, folder, _ = curated
    sheet = ds.datasheet
    assert sheet["summary"]["n_genes"] == ds.n_genes and sheet["summary"]["n_terms"] == ds.n_terms
    assert sheet["summary"]["split_sizes"] == {s: len(ds.split_index(s)) for s in SPLITS}
    spec = specs.SPECS[sheet["dataset"]]
    assert set(sheet["inputs"]) == set(spec.sources) and all(len(v["sha256"]) == 64 for v in sheet["inputs"].values())
    assert "genes" in (folder / "datasheet.md").read_text()
    # the datasheet's rule sentences are the row's, not one dataset's wording for all
    assert sheet["rules"]["genotypes"] == spec.rules.genes and sheet["rules"]["terms"].startswith(spec.phenotype.rule)
    assert sheet["rules"]["go"].startswith(spec.go.rule)
    if sheet["dataset"] == "gwas":
        steps = sheet["counts"]["traits_by_step"]
        assert steps["exact_label"] > 50 and steps["exact_synonym"] > 10 and steps["hp_uri"] > 0 and steps["unmatched"] > 100
        assert sheet["counts"]["associations_dropped_not_significant"] > 0
    if sheet["dataset"] == "mpo":
        by_rule = sheet["counts"]["genotypes_by_rule"]
        assert by_rule["kept"] > 10_000 and by_rule["non-knockout allele"] > 0
        assert 7_000 < ds.n_genes < 10_000 and 2_000 < ds.n_terms < 6_000  # orientation from the issue


# ---------------------------------------------------------------------------------- reuse and atomicity


def test_rerun_reuses_the_folder(curated) -> None:
    _, folder, kwargs = curated
    sheet = folder / "datasheet.json"
    before = sheet.stat().st_mtime_ns
    start = time.perf_counter()
    again = curate(**kwargs)
    assert again == folder
    assert sheet.stat().st_mtime_ns == before
    assert time.perf_counter() - start < 20  # hashing the inputs only, no rebuild


def test_interrupted_curation_leaves_no_partial_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = curated_mod.write_folder

    def write_then_fail(folder: Path, genes, *args, **kwargs) -> None:
        genes.to_csv(folder / "genes.tsv", sep="\t", index=False)  # half the files are there ...
        raise RuntimeError("injected failure mid-write")  # ... when the run dies

    small = dict(dataset="mpo", max_genes=150, output_root=tmp_path)
    monkeypatch.setattr(curated_mod, "write_folder", write_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        curate(**small)
    assert not (tmp_path / "mpo-max150").exists()
    assert list(tmp_path.iterdir()) == []  # no temp folder left behind either

    monkeypatch.setattr(curated_mod, "write_folder", real_write)
    folder = curate(**small)
    good = json.loads((folder / "datasheet.json").read_text())
    monkeypatch.setattr(curated_mod, "write_folder", write_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        curate(**small, force=True)
    assert json.loads((folder / "datasheet.json").read_text()) == good  # the old complete folder survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mpo-max150"]
    assert load(folder).n_genes == good["summary"]["n_genes"]


def test_load_reports_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="curate"):
        load("mpo", output_root=tmp_path)


def test_folder_names_separate_parameter_sets() -> None:
    assert specs.curated_name("mpo") == "mpo"
    assert specs.curated_name("mpo", max_genes=400) == "mpo-max400"
    assert specs.curated_name("hpo", min_genes=5, seed=1) == "hpo-min5-seed1"
    with pytest.raises(InputError, match="unknown dataset 'yeast'"):
        curate("yeast")


@pytest.mark.parametrize("name", list(specs.SPECS))
def test_dataset_table_rows(name: str) -> None:
    spec = specs.SPECS[name]
    assert spec.name == name and spec.label
    assert {spec.phenotype.source, "go_obo", spec.go.source, *spec.inputs} <= set(spec.sources)
    assert len(set(spec.sources)) == len(spec.sources)
    assert specs.curated_name(name, max_genes=400).startswith(name)
    assert set(specs.sources_for([specs.curated_name(name, max_genes=400)])) == set(spec.sources)
    assert spec.paper_key is None or spec.paper_key in __import__("g2p.genepheno.published", fromlist=["x"]).DATASETS


def test_curate_commands() -> None:
    assert specs.curate_command("mpo-max400") == "python -m g2p curate mpo --max-genes 400"
    assert specs.curate_command("hpo-min5-seed1") == "python -m g2p curate hpo --min-genes 5 --seed 1"


def test_cli_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    curate_mod.add_arguments(parser)
    args = parser.parse_args(["mpo", "--max-genes", "50", "--min-genes", "5"])
    assert args.datasets == ["mpo"] and args.max_genes == 50 and args.min_genes == 5 and not args.force
    assert not parser.parse_args([]).datasets
    # no argument: the preset's datasets, not every row of the table
    curated_names = []
    monkeypatch.setattr(curate_mod, "curate", lambda dataset, **kw: curated_names.append(dataset) or Path(dataset))
    monkeypatch.setattr(curate_mod, "summary_line", str)
    curate_mod.main(parser.parse_args(["--preset", "smoke"]))
    assert curated_names == curate_mod.preset_datasets("smoke") == ["mpo", "hpo", "gwas", "cafa2"]
    with pytest.raises(UsageError, match="yeast"):
        curate_mod.main(parser.parse_args(["yeast"]))


def test_small_rules() -> None:
    import pandas as pd

    assert builders.symbol_from_allele("Rb1<tm1Tyj>|Rb1<+>") == "Rb1"
    assert builders.symbol_from_allele("Tg(Kera-PITX2*A)AHjal") == ""
    fasta = pd.DataFrame(
        {
            "accession": ["P2", "P1", "P3", "P4"],
            "symbol": ["Abc", "Abc", "Xyz", ""],
            "sequence": ["MKV", "MKVL", "MA", "MAAAAA"],
        }
    )
    picked = builders.pick_proteins(fasta).set_index("symbol")["accession"].to_dict()
    assert picked == {"Abc": "P1", "Xyz": "P3"}  # longest wins; no-symbol records ignored
    fasta.loc[1, "sequence"] = "MKV"  # a tie -> smallest accession
    assert builders.pick_proteins(fasta).set_index("symbol").loc["Abc", "accession"] == "P1"
    frequency = pd.Series(["HP:0040285", "0/7", "-", "3/7", "HP:0040281", "10/12"])
    assert builders._excluded_frequency(frequency).tolist() == [True, True, False, False, False, False]
