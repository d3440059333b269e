"""Bad input: every failure names the file and the line/field, and leaves no partial output behind."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from g2p import paths
from g2p.data import readers, sources
from g2p.data.errors import DataFormatError

MIRROR = paths.shared_mirror()
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="shared data mirror not present")


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _expect_error(call, path: Path, *, line: int | None = None, field: str | None = None, match: str | None = None) -> DataFormatError:
    """Run ``call`` and check the error names ``path`` (and line/field) and that nothing was written."""
    before = _listing(path.parent)
    with pytest.raises(DataFormatError, match=match) as info:
        call()
    error = info.value
    assert str(path) in str(error) and error.path == path
    if line is not None:
        assert error.line == line and f"line {line}" in str(error)
    if field is not None:
        assert error.field == field and repr(field) in str(error)
    assert _listing(path.parent) == before, "a failing reader must not leave files behind"
    return error


# --------------------------------------------------------------------------------------------------
# OBO
# --------------------------------------------------------------------------------------------------

GOOD_OBO = """format-version: 1.2
ontology: test

[Term]
id: T:0000001
name: root

[Term]
id: T:0000002
name: child
is_a: T:0000001 ! root
"""


def test_obo_tag_line_without_colon(tmp_path: Path) -> None:
    path = tmp_path / "bad.obo"
    path.write_text(GOOD_OBO.replace("name: child", "name child"))
    _expect_error(lambda: readers.read_obo(path), path, line=10, match="tag: value")


def test_obo_term_without_id(tmp_path: Path) -> None:
    path = tmp_path / "bad.obo.gz"
    path.write_bytes(gzip.compress(GOOD_OBO.replace("id: T:0000002\n", "").encode()))
    _expect_error(lambda: readers.read_obo(path), path, line=8, field="id", match="no 'id:'")


def test_obo_broken_stanza_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.obo"
    path.write_text(GOOD_OBO.replace("[Term]\nid: T:0000002", "[Term\nid: T:0000002"))
    _expect_error(lambda: readers.read_obo(path), path, line=8, match="stanza header")


def test_obo_without_terms(tmp_path: Path) -> None:
    path = tmp_path / "empty.obo"
    path.write_text("format-version: 1.2\n")
    _expect_error(lambda: readers.read_obo(path), path, match="no \\[Term\\]")


# --------------------------------------------------------------------------------------------------
# FASTA
# --------------------------------------------------------------------------------------------------

FASTA = """>sp|P00001|P00001 OS=Mus musculus OX=10090 GN=Aaa
MKTAYIAKQR
QISFVKSHFS
>sp|P00002|P00002 OS=Mus musculus OX=10090 GN=Bbb
MKTAYIAKQR
"""


def test_fasta_invalid_letters(tmp_path: Path) -> None:
    path = tmp_path / "bad.fasta"
    path.write_text(FASTA.replace("QISFVKSHFS", "QISF1K*HFS"))
    error = _expect_error(lambda: readers.read_fasta(path), path, line=3, field="sequence", match="protein alphabet")
    assert "sp|P00001|P00001" in str(error) and "'*1'" in str(error)


def test_fasta_dna_rejects_protein_letters(tmp_path: Path) -> None:
    path = tmp_path / "bad_dna.fasta.gz"
    path.write_bytes(gzip.compress(b">BC1\nACGTACGT\n>BC2\nACGT\nACGE\n"))
    error = _expect_error(lambda: readers.read_fasta(path, alphabet="dna"), path, line=5, field="sequence")
    assert "'BC2'" in str(error) and "'E'" in str(error)


def test_fasta_empty_sequence(tmp_path: Path) -> None:
    path = tmp_path / "empty_record.fasta"
    path.write_text(FASTA.replace("MKTAYIAKQR\n", "", 2).replace("QISFVKSHFS\n", ""))
    error = _expect_error(lambda: readers.read_fasta(path), path, line=1, match="empty sequence")
    assert "sp|P00001|P00001" in str(error)


def test_fasta_text_before_first_record(tmp_path: Path) -> None:
    path = tmp_path / "not.fasta"
    path.write_text("accession\tsequence\nP1\tMKT\n")
    _expect_error(lambda: readers.read_fasta(path), path, line=1)


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------


@needs_mirror
def test_mgi_row_with_wrong_column_count(tmp_path: Path) -> None:
    with gzip.open(MIRROR / "mouse/MGI_PhenoGenoMP.rpt.gz", "rt") as fh:
        lines = [next(fh) for _ in range(40)]
    fields = lines[16].split("\t")
    lines[16] = "\t".join(fields[:2] + fields[3:])  # line 17 loses its Genetic Background column
    path = tmp_path / "MGI_PhenoGenoMP.rpt.gz"
    path.write_bytes(gzip.compress("".join(lines).encode()))
    _expect_error(lambda: readers.read_mgi_phenogeno(path), path, line=17, match="expected 6 tab-separated columns, found 5")


def test_mgi_first_row_with_unknown_layout(tmp_path: Path) -> None:
    path = tmp_path / "MGI_PhenoGenoMP.rpt"
    path.write_text("a\tb\tc\tMP:0000001\n")
    _expect_error(lambda: readers.read_mgi_phenogeno(path), path, line=1, match="6 .2017. or 7")


def test_mgi_malformed_mp_id(tmp_path: Path) -> None:
    path = tmp_path / "MGI_PhenoGenoMP.rpt"
    row = "A<x>/A<x>\tA<x>\tinvolves: 129\t{mp}\t1\tMGI:1\n"
    path.write_text(row.format(mp="MP:0000001") + row.format(mp="MP:1") + row.format(mp="MP:0000002"))
    _expect_error(lambda: readers.read_mgi_phenogeno(path), path, line=2, field="mp_id")


def test_hpo_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "genes_to_phenotype.txt"
    path.write_text("gene_id\tgene_symbol\thpo_id\thpo_name\tfrequency\tdisease_id\n10\tNAT2\tHP:0000007\tx\t-\tOMIM:1\n")
    _expect_error(lambda: readers.read_hpo_genes_to_phenotype(path), path, line=1, match="header should be")


def test_hpoa_missing_header_after_metadata(tmp_path: Path) -> None:
    path = tmp_path / "phenotype.hpoa"
    path.write_text("#description: test\n#version: 2025-01-16\nOMIM:1\tX\t\tHP:0000001\tPMID:1\tPCS\t\t\t\t\tP\tHPO:x\n")
    _expect_error(lambda: readers.read_hpo_annotations(path), path, line=3, match="header should be")


def test_go_tsv_malformed_go_id(tmp_path: Path) -> None:
    path = tmp_path / "go.tsv"
    path.write_text("accession\tgo_ids\nP1\tGO:0000001\nP2\tGO:0000002;GO:12\n")
    _expect_error(lambda: readers.read_go_annotation_tsv(path), path, line=3, field="go_ids", match="GO:12")


def test_go_tsv_extra_column(tmp_path: Path) -> None:
    path = tmp_path / "go.tsv"
    path.write_text("accession\tgo_ids\nP1\tGO:0000001\nP2\tGO:0000002\textra\n")
    _expect_error(lambda: readers.read_go_annotation_tsv(path), path, line=3, match="expected 2")


def test_gaf_without_version_header(tmp_path: Path) -> None:
    path = tmp_path / "mini.gaf"
    path.write_text("!generated-by: x\n" + "\t".join(["x"] * 17) + "\n")
    _expect_error(lambda: readers.read_gaf(path), path, line=1, match="gaf-version")


def test_gaf_short_row(tmp_path: Path) -> None:
    path = tmp_path / "mini.gaf"
    row = ["UniProtKB", "P1", "A", "enables", "GO:0003700", "PMID:1", "IDA", "", "F", "", "", "protein", "taxon:9606", "20200101", "UniProt", "", ""]
    path.write_text("!gaf-version: 2.2\n!c\n" + "\t".join(row) + "\n" + "\t".join(row[:15]) + "\n")
    _expect_error(lambda: readers.read_gaf(path), path, line=4, match="expected 17 tab-separated columns, found 15")


# --------------------------------------------------------------------------------------------------
# Files: truncated gzip, missing, checksum mismatch
# --------------------------------------------------------------------------------------------------


@needs_mirror
@pytest.mark.parametrize(
    ("mirror_path", "reader"),
    [
        ("ontology/mp.obo.gz", readers.read_obo),
        ("mouse/uniprot_sprot_mouse_2014.fasta.gz", readers.read_fasta),
        ("mouse/MGI_PhenoGenoMP.rpt.gz", readers.read_mgi_phenogeno),
        ("mouse/go_annotations_mouse_2014.tsv.gz", readers.read_go_annotation_tsv),
    ],
)
def test_truncated_gzip(tmp_path: Path, mirror_path: str, reader) -> None:
    data = (MIRROR / mirror_path).read_bytes()
    path = tmp_path / Path(mirror_path).name
    path.write_bytes(data[: len(data) // 3])  # cut a real file: a download that stopped early
    _expect_error(lambda: reader(path), path, match="truncated or corrupt gzip")


def test_corrupt_gzip_body(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(GOOD_OBO.encode() * 50))
    data[40:60] = b"\x00" * 20
    path = tmp_path / "corrupt.obo.gz"
    path.write_bytes(bytes(data))
    _expect_error(lambda: readers.read_obo(path), path, match="gzip")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes("mgi_id\tsymbol\nMGI:1\tCaf\xe9\n".encode("latin-1"))
    _expect_error(lambda: readers.read_marker_symbols(path), path, match="UTF-8")


@pytest.mark.parametrize(
    "reader",
    [readers.read_obo, readers.read_fasta, readers.read_mgi_phenogeno, readers.read_marker_symbols,
     readers.read_hpo_genes_to_phenotype, readers.read_hpo_annotations, readers.read_go_annotation_tsv,
     readers.read_gaf],
)
def test_missing_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "nowhere" / "absent.txt.gz"
    with pytest.raises(FileNotFoundError) as info:
        reader(path)
    assert isinstance(info.value, DataFormatError) and info.value.path == path
    assert str(path) in str(info.value) and "not found" in str(info.value)


def test_checksum_mismatch_on_verify(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ontology").mkdir(parents=True)
    target = mirror / "ontology" / "tiny.obo"
    target.write_text(GOOD_OBO)
    pinned = "0" * 64
    source = sources.Source(
        name="tiny", path="ontology/tiny.obo", url=None, upstream="test", version="1", licence="CC0",
        citation="none", sha256=pinned,
    )
    resolver = sources.Resolver([source], raw_dir=tmp_path / "raw", mirrors=[mirror],
                                hash_cache=tmp_path / "cache" / "sha256.json")
    before = target.read_bytes()
    with pytest.raises(sources.ChecksumMismatchError) as info:
        resolver.verify("tiny")
    message = str(info.value)
    assert str(target) in message and pinned in message and sources.sha256_file(target) in message
    assert info.value.field == "sha256"
    assert target.read_bytes() == before and not (tmp_path / "raw").exists()
