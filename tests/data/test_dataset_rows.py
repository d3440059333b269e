"""The dataset table's promise: a new dataset is a row. Each builder's rules on hand-made fixtures; a
flat-vocabulary dataset whose row exists only in this test (its files registered through
``$G2P_EXTRA_SOURCES``) curated, trained and evaluated; caches that follow the code that builds them."""

from __future__ import annotations

import hashlib
import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from g2p.data import builders, curate, curated, readers, specs, tables
from g2p.data.builders import Annotations
from g2p.data.ontology import Ontology, load_go
from g2p.data.sources import EXTRA_ENV, MIRROR_ENV
from g2p.errors import InputError

HP_FIXTURE = """format-version: 1.2

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0001513
name: Obesity
synonym: "Adiposity" EXACT []
synonym: "Fatness" RELATED []
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000822
name: Hypertension
is_a: HP:0000118 ! Phenotypic abnormality
"""


def _fasta(path: Path, symbols: dict[str, str]) -> Path:
    path.write_text("".join(f">sp|{acc}|{acc} OS=Homo sapiens OX=9606 GN={symbol}\nMKVLAAGIVGLLLAAWQPSEA\n"
                            for symbol, acc in symbols.items()))
    return path


def _ontology(path: Path, text: str) -> Ontology:
    path.write_text(text)
    return Ontology(readers.read_obo(path), ("is_a",))


# ============================================================================== GWAS
def test_gwas_rules_two_genes_a_synonym_match_and_what_is_dropped(tmp_path: Path) -> None:
    columns = ["DISEASE/TRAIT", "REPORTED GENE(S)", "MAPPED_GENE", "P-VALUE", "MAPPED_TRAIT", "MAPPED_TRAIT_URI"]
    rows = [
        ["BMI", "GENEA, GENEB", "GENEA", "1E-10", "adiposity", "http://www.ebi.ac.uk/efo/EFO_0000001"],  # synonym only
        ["BP", "NR", "GENEC - GENED", "1E-9", "hypertension", "http://www.ebi.ac.uk/efo/EFO_0000537"],  # no gene
        ["BP", "GENEC", "GENEC", "1E-6", "hypertension", "http://www.ebi.ac.uk/efo/EFO_0000537"],  # not significant
        ["Height", "GENED", "GENED", "1E-12", "body height", "http://www.ebi.ac.uk/efo/EFO_0004339"],  # no HP match
        ["x", "intergenic", "GENEE", "2E-8", "unrelated label", "http://purl.obolibrary.org/obo/HP_0000822"],  # HP URI
    ]
    table = tmp_path / "gwas.tsv"
    table.write_text("\n".join("\t".join(r) for r in [columns, *rows]) + "\n")
    hp = _ontology(tmp_path / "hp.obo", HP_FIXTURE)
    fasta = _fasta(tmp_path / "human.fasta", {"GENEA": "P00001", "GENEB": "P00002", "GENED": "P00004", "GENEE": "P00005"})
    result = builders.gwas_annotations(hp, {"gwas_catalog": table, "human_fasta": fasta})
    assert result.direct == {"GENEA": {"HP:0001513"}, "GENEB": {"HP:0001513"}, "GENEE": {"HP:0000822"}}
    assert set(result.genes["accession"]) == {"P00001", "P00002", "P00005"}
    counts = result.counts
    assert counts["associations_dropped_not_significant"] == 1
    assert counts["traits_by_step"] == {"exact_synonym": 1, "exact_label": 1, "hp_uri": 1, "unmatched": 1}
    assert counts["associations_without_gene"] == 1
    # a RELATED synonym is no match, an EXACT one is, case and spacing ignored
    assert builders.trait_terms("fatness", "", hp)[1] == "unmatched"
    assert builders.trait_terms("  ADIPOSITY ", "", hp) == ({"HP:0001513"}, "exact_synonym")
    assert builders.mapped_genes("A - B") == [] and builders.mapped_genes("A, B") == ["A", "B"]
    assert builders.split_gene_list("NR") == [] and builders.split_gene_list("X, intergenic, Y") == ["X", "Y"]


def test_gwas_reader_names_the_bad_cell(tmp_path: Path) -> None:
    bad = tmp_path / "gwas.tsv"
    bad.write_text("REPORTED GENE(S)\tMAPPED_GENE\tP-VALUE\tMAPPED_TRAIT\tMAPPED_TRAIT_URI\nA\tA\tsmall\tt\tu\n")
    with pytest.raises(InputError, match=r"line 2.*P-VALUE|P-VALUE.*line 2|'small'") as info:
        tables.read_gwas_catalog(bad)
    assert info.value.line == 2 and info.value.field == "P-VALUE"
    missing = tmp_path / "old.tsv"
    missing.write_text("REPORTED GENE(S)\tP-VALUE\nA\t1e-9\n")
    with pytest.raises(InputError, match="MAPPED_GENE"):
        tables.read_gwas_catalog(missing)


# ============================================================================== CAFA2 prospective
HP_2013 = """format-version: 1.2

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000100
name: Old term
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000200
name: Kept term
is_a: HP:0000118 ! Phenotypic abnormality
"""
HP_2025 = """format-version: 1.2

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000300
name: Merged term
alt_id: HP:0000100
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000200
name: Kept term
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000400
name: New in 2025
is_a: HP:0000118 ! Phenotypic abnormality
"""


def test_cafa2_prospective_maps_2025_terms_back_through_alt_ids(tmp_path: Path) -> None:
    old = _ontology(tmp_path / "hp2013.obo", HP_2013)
    (tmp_path / "hp2025.obo").write_text(HP_2025)
    earlier = tmp_path / "g2p_2013.txt"
    earlier.write_text(tables.HPO_2013_FORMAT + "\n1\tGENEA\tKept term\tHP:0000200\n")
    later = tmp_path / "g2p_2025.txt"
    later.write_text("\t".join(readers.HPO_GENES_TO_PHENOTYPE_COLUMNS) + "\n" + "".join(
        f"{gene}\t{symbol}\t{term}\tname\t{frequency}\tOMIM:1\n" for gene, symbol, term, frequency in [
            ("1", "GENEA", "HP:0000200", "-"),  # annotated in 2013 already: not a target
            ("2", "GENEB", "HP:0000300", "-"),  # HP:0000300 merged HP:0000100, a 2013 term: mapped back
            ("3", "GENEC", "HP:0000400", "-"),  # a term the 2013 ontology does not have: dropped
            ("4", "GENED", "HP:0000200", "HP:0040285"),  # excluded frequency
        ]))
    fasta = _fasta(tmp_path / "human.fasta", {"GENEA": "P00001", "GENEB": "P00002", "GENEC": "P00003", "GENED": "P00004"})
    inputs = {"hpo_genes_to_phenotype_2013": earlier, "hpo_genes_to_phenotype": later, "hp_obo": tmp_path / "hp2025.obo",
              "human_fasta": fasta}
    known = builders.cafa2_annotations(old, inputs)
    assert known.direct == {"1": {"HP:0000200"}}
    targets = builders.cafa2_prospective(old, inputs, known)
    assert targets.direct == {"2": {"HP:0000100"}}
    assert targets.counts["hpo_ids_by_route"] == {"through a 2025 alt id": 1, "not in the 2013 ontology (dropped)": 1}
    assert targets.counts["genes_annotated_in_2013"] == 1 and targets.counts["rows_dropped_excluded_frequency"] == 1


# ============================================================================== a row added in the test
def _register_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]) -> None:
    """Put ``files`` in a mirror of their own and name them in an extra manifest (no package file edited)."""
    mirror = tmp_path / "mirror"
    entries = []
    for name, file in files.items():
        relative = f"own/{file.name}"
        (mirror / "own").mkdir(parents=True, exist_ok=True)
        (mirror / relative).write_bytes(file.read_bytes())
        entries.append({"name": name, "path": relative, "url": None, "upstream": "made by the test", "version": "1",
                        "licence": "CC0", "citation": "none", "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                        "bytes": file.stat().st_size})
    manifest = tmp_path / "own_sources.yaml"
    manifest.write_text(yaml.safe_dump({"sources": entries}))
    monkeypatch.setenv(EXTRA_ENV, str(manifest))
    monkeypatch.setenv(MIRROR_ENV, str(mirror))


def _yeast_files(tmp_path: Path, n_genes: int = 90) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    labels = ["slow growth", "heat sensitive", "abnormal budding", "cold sensitive", "large cells", "inviable"]
    go = load_go()
    go_terms = sorted(t for t, d in go.depths.items() if 3 <= d <= 4)[:40]
    rows, gaf, fasta = ["gene_id\tsymbol\tphenotype"], ["!gaf-version: 2.2"], []
    for i in range(n_genes):
        gene, symbol, acc = f"Y{i:04d}", f"YG{i}", f"Q{i:05d}"
        for label in rng.choice(labels, size=int(rng.integers(1, 4)), replace=False):
            rows.append(f"{gene}\t{symbol}\t{label}")
        for term in rng.choice(go_terms, size=4, replace=False):
            gaf.append("\t".join(["SGD", acc, symbol, "", term, "PMID:1", "IDA", "", "P", "", "", "protein",
                                  "taxon:559292", "20140101", "SGD", "", ""]))
        gaf.append("\t".join(["SGD", acc, symbol, "NOT", go_terms[0], "PMID:1", "IDA", "", "P", "", "", "protein",
                              "taxon:559292", "20140101", "SGD", "", ""]))  # a NOT row: never an input
        fasta.append(f">sp|{acc}|{acc} OS=Saccharomyces cerevisiae OX=559292 GN={symbol}\n"
                     + "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=int(rng.integers(80, 300)))) + "\n")
    files = {"yeast_phenotypes": tmp_path / "phenotypes.tsv", "yeast_fasta": tmp_path / "yeast.fasta",
             "yeast_go": tmp_path / "yeast.gaf"}
    files["yeast_phenotypes"].write_text("\n".join(rows) + "\n")
    files["yeast_fasta"].write_text("".join(fasta))
    files["yeast_go"].write_text("\n".join(gaf) + "\n")
    return files


def yeast_spec(name: str = "yeast") -> specs.DatasetSpec:
    """A flat-vocabulary dataset: one row, no code anywhere else."""
    return specs.DatasetSpec(
        name=name, label="Yeast", organism="yeast",
        description="made-up yeast genes with labels from a flat list",
        phenotype=specs.FlatVocabulary("yeast_phenotypes", id_column="phenotype"),
        go=specs.GoGaf("yeast_go", evidence=("IDA", "IMP")),
        inputs=("yeast_phenotypes", "yeast_fasta"),
        annotations=builders.TableAnnotations("yeast_phenotypes", "yeast_fasta", term_column="phenotype"),
        rules=specs.DatasheetRules(genes="every gene of the table with a protein", symbols="the table's symbol",
                                   dropped_terms="none"),
    )


@pytest.fixture
def yeast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _register_sources(tmp_path, monkeypatch, _yeast_files(tmp_path))
    monkeypatch.setitem(specs.SPECS, "yeast", yeast_spec())
    return specs.SPECS["yeast"]


@pytest.mark.slow
def test_a_flat_vocabulary_dataset_is_one_row_curate_train_evaluate(yeast, tmp_path: Path) -> None:
    from g2p import config as g2p_config
    from g2p.genepheno import benchmark, train

    folder = curate.curate("yeast", min_genes=5, force=True)  # into the session's output root, like any dataset
    data = curated.load(folder)
    sheet = data.datasheet
    assert data.n_genes == 90 and set(data.terms["depth"]) == {0} and len(data.terms) == 6
    assert sheet["rules"]["terms"].startswith("a flat vocabulary")
    assert sheet["rules"]["exclusive_pairs"] == curated.NO_EXCLUSIVE_PAIRS and data.exclusive_pairs.empty
    assert "no exclusive pair" in curated.summary_markdown({"yeast": data}).lower()
    assert sheet["go"]["genes_without_go"] == 0 and len(data.concepts) > 0
    gaf_file = tmp_path / "mirror" / "own" / "yeast.gaf"
    assert len(specs.GoGaf("yeast_go").read(gaf_file)) == 90 * 4  # each gene's NOT row dropped
    assert specs.GoGaf("yeast_go", evidence=("IMP",)).read(gaf_file).empty  # every row is IDA

    smoke = g2p_config.resolve("smoke")
    config = smoke.genepheno(epochs=2)
    result = train.train(data, config, tmp_path / "run")
    assert result.finished and 0 <= result.best_val_fmax <= 1
    assert any("no exclusive pairs" in note for note in result.extra["notes"])
    table = benchmark.run_benchmark(folder.name, "smoke", config=config, baselines=smoke.baselines(config),
                                    variants=["complete"], seeds=[0], n_boot=5, workers=1,
                                    output_dir=tmp_path / "bench", progress=None)
    assert {"complete", "naive", "kmer_lr", "deeppheno_like"} <= set(table["name"])
    assert table["fmax"].between(0, 1).all()


def test_a_builder_change_rebuilds_without_deleting_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The annotation cache and the folder are keyed on the builder's code: edit a rule, curate again
    (no --force), and the counts follow."""
    _register_sources(tmp_path, monkeypatch, _yeast_files(tmp_path, n_genes=40))
    module_dir = tmp_path / "user_code"
    module_dir.mkdir()
    source = textwrap.dedent('''
        from g2p.data import builders

        DROP = ()

        def annotations(ontology, inputs):
            built = builders.TableAnnotations("yeast_phenotypes", "yeast_fasta", term_column="phenotype")(ontology, inputs)
            direct = {g: {t for t in terms if t not in DROP} for g, terms in built.direct.items()}
            return builders.Annotations(built.genes, {g: t for g, t in direct.items() if t}, built.counts)
    ''')
    (module_dir / "yeast_builder.py").write_text(source)
    monkeypatch.syspath_prepend(str(module_dir))
    module = importlib.import_module("yeast_builder")

    def register() -> None:
        spec = yeast_spec("yeastedit")
        monkeypatch.setitem(specs.SPECS, "yeastedit", specs.DatasetSpec(**{**spec.__dict__, "annotations": module.annotations}))

    register()
    out = tmp_path / "processed"
    first = curated.load(curate.curate("yeastedit", min_genes=3, output_root=out))
    assert "inviable" in set(first.terms["term_id"])
    (module_dir / "yeast_builder.py").write_text(source.replace("DROP = ()", 'DROP = ("inviable",)'))
    module = importlib.reload(module)
    register()
    second = curated.load(curate.curate("yeastedit", min_genes=3, output_root=out))
    assert "inviable" not in set(second.terms["term_id"]) and second.datasheet["key"] != first.datasheet["key"]
    sys.modules.pop("yeast_builder", None)


def test_force_rebuilds_the_annotation_cache(yeast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    builder = yeast.annotations

    def counted(ontology, inputs) -> Annotations:
        calls.append(1)
        return builder(ontology, inputs)

    monkeypatch.setitem(specs.SPECS, "yeast", specs.DatasetSpec(**{**yeast.__dict__, "annotations": counted}))
    out = tmp_path / "processed"
    curate.curate("yeast", min_genes=5, output_root=out)
    curate.curate("yeast", min_genes=6, output_root=out)  # new parameters: the cached annotations serve
    assert len(calls) == 1
    curate.curate("yeast", min_genes=6, output_root=out, force=True)
    assert len(calls) == 2


def test_an_unknown_source_in_a_row_is_a_one_line_input_error(yeast, tmp_path: Path, monkeypatch) -> None:
    broken = specs.DatasetSpec(**{**yeast.__dict__, "phenotype": specs.OboOntology("no_such_ontology")})
    monkeypatch.setitem(specs.SPECS, "yeast", broken)
    with pytest.raises(InputError, match="unknown raw source 'no_such_ontology'") as info:
        curate.curate("yeast", output_root=tmp_path / "processed")
    assert "\n" not in str(info.value)


def test_a_curation_that_keeps_no_term_is_an_input_error(yeast, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="min_genes=500") as info:
        curate.curate("yeast", min_genes=500, output_root=tmp_path / "processed")
    assert info.value.field == "min_genes" and "\n" not in str(info.value)


def test_specs_register_checks_the_name() -> None:
    with pytest.raises(InputError, match="lower-case"):
        specs.register(specs.DatasetSpec(**{**yeast_spec().__dict__, "name": "Yeast-2"}))
