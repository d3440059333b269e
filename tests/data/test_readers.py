"""Parsers on the real mirror files (counts from the mirror's README) and on small hand-written files."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import networkx
import pytest

from g2p import paths
from g2p.data import readers

MIRROR = paths.shared_mirror()
pytestmark = pytest.mark.skipif(not MIRROR.is_dir(), reason="shared data mirror not present")


def _mirror(path: str) -> Path:
    return MIRROR / path


def _obsolete(graph: networkx.MultiDiGraph) -> int:
    return sum(1 for _, data in graph.nodes(data=True) if data.get("is_obsolete") == "true")


# --------------------------------------------------------------------------------------------------
# OBO
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def go_graph() -> networkx.MultiDiGraph:
    return readers.read_obo(_mirror("ontology/go.obo.gz"))


@pytest.fixture(scope="module")
def mp_graph() -> networkx.MultiDiGraph:
    return readers.read_obo(_mirror("ontology/mp.obo.gz"))


def test_go_obo_counts_and_relations(go_graph: networkx.MultiDiGraph) -> None:
    assert go_graph.number_of_nodes() == 42_329
    assert _obsolete(go_graph) == 1_859
    namespaces = Counter(data.get("namespace") for _, data in go_graph.nodes(data=True))
    assert namespaces == {"biological_process": 27_704, "molecular_function": 10_787, "cellular_component": 3_838}
    relations = Counter(key for _, _, key in go_graph.edges(keys=True))
    assert relations["part_of"] == 7_854
    assert relations["has_part"] == 641
    # Edges go child -> parent, keyed by relation: apoptotic process is_a programmed cell death.
    assert go_graph.has_edge("GO:0006915", "GO:0012501", key="is_a")
    assert go_graph.nodes["GO:0006915"]["name"] == "apoptotic process"
    assert go_graph.graph["data-version"] == "releases/2014-12-22"


def test_mp_obo_counts(mp_graph: networkx.MultiDiGraph) -> None:
    assert mp_graph.number_of_nodes() == 14_905
    assert _obsolete(mp_graph) == 454
    assert mp_graph.has_edge("MP:0000600", "MP:0000601", key="is_a")
    assert mp_graph.nodes["MP:0000600"]["name"] == "liver hypoplasia"
    # The root has no parent; every live non-root term has at least one is_a parent.
    live = [n for n, d in mp_graph.nodes(data=True) if d.get("is_obsolete") != "true"]
    roots = [n for n in live if not any(k == "is_a" for _, _, k in mp_graph.out_edges(n, keys=True))]
    assert roots == ["MP:0000001"]


def test_hp_obo_counts() -> None:
    graph = readers.read_obo(_mirror("ontology/hp.obo.gz"))
    assert graph.number_of_nodes() == 19_484
    assert _obsolete(graph) == 450


def test_obo_plain_and_gzip_agree(tmp_path: Path) -> None:
    text = "format-version: 1.2\nontology: t\n\n[Term]\nid: T:1\nname: root\n\n[Term]\nid: T:2\nname: child\nis_a: T:1 ! root\n"
    (tmp_path / "t.obo").write_text(text)
    (tmp_path / "t.obo.gz").write_bytes(gzip.compress(text.encode()))
    plain, packed = readers.read_obo(tmp_path / "t.obo"), readers.read_obo(tmp_path / "t.obo.gz")
    assert list(plain.edges(keys=True)) == list(packed.edges(keys=True)) == [("T:2", "T:1", "is_a")]


# --------------------------------------------------------------------------------------------------
# MGI and marker symbols
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mgi():
    return readers.read_mgi_phenogeno(_mirror("mouse/MGI_PhenoGenoMP.rpt.gz"))


def test_mgi_phenogeno_2017_layout(mgi) -> None:
    assert list(mgi.columns) == readers.MGI_PHENOGENO_COLUMNS
    assert len(mgi) == 294_516
    assert mgi["allelic_composition"].nunique() == 52_072
    assert mgi["mp_id"].nunique() == 9_284
    assert (mgi["allele_ids"] == "").all()
    first = mgi.iloc[0].to_dict()
    assert first == {
        "allelic_composition": "Rb1<tm1Tyj>/Rb1<tm1Tyj>",
        "allele_symbols": "Rb1<tm1Tyj>",
        "allele_ids": "",
        "genetic_background": "involves: 129S2/SvPas",
        "mp_id": "MP:0000600",
        "pubmed_id": "12529408",
        "marker_ids": "MGI:97874",
    }
    markers = mgi["marker_ids"].str.split(",").explode()
    assert markers[markers != ""].nunique() == 18_636


def test_mgi_phenogeno_current_7_column_layout(tmp_path: Path) -> None:
    rows = [
        "Rb1<tm1Tyj>/Rb1<tm1Tyj>\tRb1<tm1Tyj>\tMGI:1857242\tinvolves: 129S2/SvPas\tMP:0000600\t12529408\tMGI:97874",
        'Pax6<Sey>/Pax6<+>\tPax6<Sey>\tMGI:1856155\tB6.Cg-"x"\tMP:0001293\t\tMGI:97490',
    ]
    path = tmp_path / "MGI_PhenoGenoMP.rpt"
    path.write_text("\n".join(rows) + "\n")
    frame = readers.read_mgi_phenogeno(path)
    assert list(frame.columns) == readers.MGI_PHENOGENO_COLUMNS
    assert frame["allele_ids"].tolist() == ["MGI:1857242", "MGI:1856155"]
    assert frame["genetic_background"].tolist()[1] == 'B6.Cg-"x"'  # quotes are data, not quoting
    assert frame["pubmed_id"].tolist() == ["12529408", ""]


def test_marker_symbols() -> None:
    frame = readers.read_marker_symbols(_mirror("mouse/MGI_marker_symbols.tsv.gz"))
    assert len(frame) == 20_120
    assert frame["mgi_id"].is_unique and frame["symbol"].is_unique
    assert frame.iloc[1].tolist() == ["MGI:87859", "Abl1"]


# --------------------------------------------------------------------------------------------------
# FASTA
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mouse_fasta():
    return readers.read_fasta(_mirror("mouse/uniprot_sprot_mouse_2014.fasta.gz"))


@pytest.mark.parametrize(
    ("path", "records", "residues", "no_symbol", "organism", "taxid"),
    [
        ("mouse/uniprot_sprot_mouse_2014.fasta.gz", 16_546, 9_293_322, 273, "Mus musculus", "10090"),
        ("human/uniprot_sprot_human_2014.fasta.gz", 18_226, 10_540_419, 16, "Homo sapiens", "9606"),
    ],
)
def test_uniprot_fasta(
    request: pytest.FixtureRequest, path: str, records: int, residues: int, no_symbol: int, organism: str, taxid: str
) -> None:
    frame = request.getfixturevalue("mouse_fasta") if path.startswith("mouse/") else readers.read_fasta(_mirror(path))
    assert list(frame.columns) == readers.FASTA_COLUMNS
    assert len(frame) == records and frame["accession"].is_unique
    assert int(frame["sequence"].str.len().sum()) == residues
    assert int((frame["symbol"] == "").sum()) == no_symbol
    assert set(frame["organism"]) == {organism} and set(frame["taxid"]) == {taxid}
    assert (frame["entry_name"] == frame["accession"]).all()  # the mirror repeats the accession


def test_mouse_fasta_first_record(mouse_fasta) -> None:
    first = mouse_fasta.iloc[0]
    assert (first["accession"], first["symbol"]) == ("A0AUP1", "Ccdc112")
    assert first["sequence"].startswith("MEKDKHSHFYNQRGDFRTEYNMLEELENKLINSRKTERAKIQQQLAKIHNNVKKLQNQLKDVKPT")


def test_uniprot_header_with_spaces_and_extra_keys() -> None:
    fields = readers.parse_uniprot_header(
        "sp|P06400|RB_HUMAN Retinoblastoma-associated protein OS=Homo sapiens OX=9606 GN=RB1 PE=1 SV=2"
    )
    assert fields == {
        "accession": "P06400",
        "entry_name": "RB_HUMAN",
        "symbol": "RB1",
        "organism": "Homo sapiens",
        "taxid": "9606",
    }
    assert readers.parse_uniprot_header("seq1 some description")["accession"] == "seq1"


def test_dna_fasta_accepts_iupac_and_lowercase(tmp_path: Path) -> None:
    path = tmp_path / "barcodes.fasta"
    path.write_text(">BOLD1 COI-5P\nACGTNRY\nacgt\n>BOLD2\nGGCCWSKMBDHV\n")
    frame = readers.read_fasta(path, alphabet="dna")
    assert frame["accession"].tolist() == ["BOLD1", "BOLD2"]
    assert frame["sequence"].tolist() == ["ACGTNRYACGT", "GGCCWSKMBDHV"]
    with pytest.raises(ValueError, match="alphabet"):
        readers.read_fasta(path, alphabet="rna")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# GO annotations, HPO, GAF
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "accessions", "pairs", "distinct"),
    [
        ("mouse/go_annotations_mouse_2014.tsv.gz", 16_546, 221_210, 13_668),
        ("human/go_annotations_human_2014.tsv.gz", 18_226, 268_912, 14_256),
    ],
)
def test_go_annotation_tsv_long_format(path: str, accessions: int, pairs: int, distinct: int) -> None:
    frame = readers.read_go_annotation_tsv(_mirror(path))
    assert list(frame.columns) == ["accession", "go_id"]
    assert len(frame) == pairs
    assert frame["accession"].nunique() == accessions
    assert frame["go_id"].nunique() == distinct
    assert not frame.duplicated().any()
    # The file lists each protein's GO ids sorted; the long format keeps that order.
    assert frame.groupby("accession", sort=False)["go_id"].apply(lambda ids: ids.is_monotonic_increasing).all()


def test_go_annotation_tsv_small(tmp_path: Path) -> None:
    path = tmp_path / "go.tsv"
    path.write_text("accession\tgo_ids\nP1\tGO:0000001;GO:0000002\nP2\t\nP3\tGO:0000003\n")
    frame = readers.read_go_annotation_tsv(path)
    assert frame.values.tolist() == [["P1", "GO:0000001"], ["P1", "GO:0000002"], ["P3", "GO:0000003"]]


def test_hpo_genes_to_phenotype() -> None:
    frame = readers.read_hpo_genes_to_phenotype(_mirror("human/genes_to_phenotype.txt.gz"))
    assert list(frame.columns) == readers.HPO_GENES_TO_PHENOTYPE_COLUMNS
    assert len(frame) == 316_589
    assert frame.iloc[2].tolist() == ["16", "AARS1", "HP:0002460", "Distal muscle weakness", "15/15", "OMIM:613287"]


def test_hpo_annotations() -> None:
    frame = readers.read_hpo_annotations(_mirror("human/phenotype.hpoa.gz"))
    assert list(frame.columns) == readers.HPO_ANNOTATION_COLUMNS
    assert len(frame) == 271_702
    assert frame["database_id"].nunique() == 12_687
    assert frame["aspect"].value_counts().to_dict() == {"P": 254_621, "I": 8_854, "C": 8_020, "H": 130, "M": 77}


GAF_FIXTURE = """\
!gaf-version: 2.2
!generated-by: hand-written test fixture
!
UniProtKB\tP06400\tRB1\tenables\tGO:0003700\tPMID:1\tIDA\t\tF\tRetinoblastoma-associated protein\tRB_HUMAN\tprotein\ttaxon:9606\t20200101\tUniProt\t\t
UniProtKB\tQ64700\tRb1\tNOT|involved_in\tGO:0006915\tGO_REF:0000024\tISS\tUniProtKB:P06400\tP\tRb protein\t\tprotein\ttaxon:10090\t20200101\tMGI\t\t
! a comment in the middle
MGI\tMGI:97874\tRb1\tlocated_in\tGO:0005634\tPMID:2\tIEA\t\tC\tRB1\t\tprotein\ttaxon:10090\t20200101\tMGI\t\t
"""


def test_gaf(tmp_path: Path) -> None:
    path = tmp_path / "mini.gaf.gz"
    path.write_bytes(gzip.compress(GAF_FIXTURE.encode()))
    frame = readers.read_gaf(path)
    assert list(frame.columns) == readers.GAF_OUTPUT_COLUMNS
    assert frame.values.tolist() == [
        ["UniProtKB", "P06400", "RB1", "enables", "GO:0003700", "IDA", "F", "taxon:9606"],
        ["UniProtKB", "Q64700", "Rb1", "NOT|involved_in", "GO:0006915", "ISS", "P", "taxon:10090"],
        ["MGI", "MGI:97874", "Rb1", "located_in", "GO:0005634", "IEA", "C", "taxon:10090"],
    ]
