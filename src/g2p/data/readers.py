"""Parsers for the raw input files: OBO ontologies, UniProt FASTA, MGI, HPO and GO annotation tables.

Each reader takes a path (gzip-compressed or plain; detected from the file's magic bytes, not its
name), returns a networkx graph or a pandas DataFrame of strings, and turns every kind of bad input
into a :class:`~g2p.data.errors.DataFormatError` that names the file and, where it can be known, the
line and field.  The readers only parse: they neither filter nor join (that is ``g2p.data.curate``'s
job), so what they return is a faithful, typed view of the file.

FASTA is read by :mod:`g2p.data.fasta` (alphabets, byte-order marks, stray lines, nucleotides given
for proteins), files are opened by :mod:`g2p.data.textfiles`; both are re-exported here.

GO annotation tables (``accession<TAB>go_ids``) list each accession once: two lines of one accession
are refused (merging them would hide which one the user meant).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import networkx
import obonet
import pandas as pd

from g2p.data.errors import DataFormatError, MissingFileError
from g2p.data.fasta import DNA_LETTERS, FASTA_COLUMNS, PROTEIN_LETTERS, parse_uniprot_header, read_fasta
from g2p.data.textfiles import lines as _lines
from g2p.data.textfiles import open_text, read_text

__all__ = [
    "MissingFileError",
    "open_text",
    "read_text",
    "read_obo",
    "read_fasta",
    "read_mgi_phenogeno",
    "read_marker_symbols",
    "read_hpo_genes_to_phenotype",
    "read_hpo_annotations",
    "read_go_annotation_tsv",
    "read_gaf",
    "PROTEIN_LETTERS",
    "DNA_LETTERS",
    "FASTA_COLUMNS",
    "parse_uniprot_header",
]




# --------------------------------------------------------------------------------------------------
# OBO
# --------------------------------------------------------------------------------------------------


def _check_obo_stanzas(path: Path, lines: Sequence[str]) -> None:
    """Catch the malformed stanzas obonet would accept silently or report without a line number."""
    in_term = False
    term_start = 0
    term_has_id = False

    def close_term() -> None:
        if in_term and not term_has_id:
            raise DataFormatError(path, "[Term] stanza has no 'id:' tag", line=term_start, field="id")

    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise DataFormatError(path, f"malformed stanza header {stripped!r}", line=number)
            close_term()
            in_term = stripped == "[Term]"
            term_start, term_has_id = number, False
            continue
        tag, sep, value = stripped.partition(":")
        if not sep or not tag or " " in tag:
            raise DataFormatError(path, f"tag line without 'tag: value' form: {stripped[:80]!r}", line=number)
        if in_term and tag == "id":
            if not value.strip():
                raise DataFormatError(path, "empty term id", line=number, field="id")
            term_has_id = True
    close_term()


def read_obo(path: str | Path) -> networkx.MultiDiGraph:
    """Read an OBO ontology with obonet, keeping obsolete terms.

    Nodes are term ids carrying obonet's attributes (``name``, ``namespace``, ``is_obsolete`` …);
    edges go child → parent, keyed by the relation (``is_a``, ``part_of``, ``regulates`` …).
    """
    path = Path(path)
    text = read_text(path)
    _check_obo_stanzas(path, _lines(text))
    try:
        graph = obonet.read_obo(io.StringIO(text), ignore_obsolete=False)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFormatError(path, f"OBO parse error: {exc}") from exc
    if graph.number_of_nodes() == 0:
        raise DataFormatError(path, "no [Term] stanzas found")
    return graph




# --------------------------------------------------------------------------------------------------
# Tab-separated tables
# --------------------------------------------------------------------------------------------------


def _check_column_count(path: Path, lines: Sequence[str], expected: int, first_line: int = 1) -> None:
    """Every line from ``first_line`` on (1-based, skipping blank ones) must have ``expected`` fields."""
    for number in range(first_line, len(lines) + 1):
        line = lines[number - 1]
        if not line:
            continue
        found = line.count("\t") + 1
        if found != expected:
            raise DataFormatError(path, f"expected {expected} tab-separated columns, found {found}", line=number)


def _frame(path: Path, body: str, columns: list[str]) -> pd.DataFrame:
    """Parse header-less TSV text whose column counts were already checked."""
    if not body.strip():
        return pd.DataFrame({name: pd.Series(dtype=str) for name in columns})
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep="\t",
            header=None,
            names=columns,
            dtype=str,
            keep_default_na=False,
            quoting=3,  # csv.QUOTE_NONE: quotes are ordinary characters in these reports
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:  # pandas' message names no file
        line = re.search(r"line (\d+)", str(exc))
        raise DataFormatError(path, f"TSV parse error: {exc}", line=int(line.group(1)) if line else None) from exc
    return frame


def _check_pattern(path: Path, frame: pd.DataFrame, column: str, pattern: str, line_offset: int) -> None:
    """All values of ``column`` must match ``pattern``; the error gives the first bad line."""
    ok = frame[column].str.fullmatch(pattern)
    if not ok.all():
        position = int((~ok).to_numpy().nonzero()[0][0])
        value = frame[column].iloc[position]
        raise DataFormatError(path, f"malformed value {value!r}", line=position + line_offset, field=column)


def _check_header(path: Path, lines: Sequence[str], expected: Sequence[str]) -> None:
    found = lines[0].split("\t") if lines else []
    if found != list(expected):
        raise DataFormatError(path, f"header should be {list(expected)}, found {found}", line=1)


MGI_PHENOGENO_COLUMNS = [
    "allelic_composition",
    "allele_symbols",
    "allele_ids",
    "genetic_background",
    "mp_id",
    "pubmed_id",
    "marker_ids",
]


def read_mgi_phenogeno(path: str | Path) -> pd.DataFrame:
    """Read MGI's ``MGI_PhenoGenoMP.rpt`` (no header) in either layout.

    The 2017 report has 6 columns (no Allele ID(s)); the current one has 7 (Allelic Composition,
    Allele Symbol(s), Allele ID(s), Genetic Background, MP ID, PubMed ID, MGI Marker Accession
    ID(s)). The layout is taken from the first row and every row must match it; ``allele_ids`` is ""
    for the 6-column layout. Multi-valued fields are kept as MGI writes them (``|`` / ``,`` lists).
    """
    path = Path(path)
    text = read_text(path)
    lines = _lines(text)
    if not lines or not lines[0]:
        raise DataFormatError(path, "empty MGI report", line=1)
    width = lines[0].count("\t") + 1
    if width not in (6, 7):
        raise DataFormatError(path, f"expected 6 (2017) or 7 (current) columns, found {width}", line=1)
    _check_column_count(path, lines, width)
    columns = MGI_PHENOGENO_COLUMNS if width == 7 else [c for c in MGI_PHENOGENO_COLUMNS if c != "allele_ids"]
    frame = _frame(path, text, columns)
    if width == 6:
        frame.insert(2, "allele_ids", "")
    _check_pattern(path, frame, "mp_id", r"MP:\d{7}", line_offset=1)
    return frame[MGI_PHENOGENO_COLUMNS]


def _read_headed_tsv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A TSV whose first line must be exactly ``columns``; rows checked for the same width."""
    text = read_text(path)
    lines = _lines(text)
    _check_header(path, lines, columns)
    _check_column_count(path, lines, len(columns), first_line=2)
    body = text.split("\n", 1)[1] if "\n" in text else ""
    return _frame(path, body, list(columns))


def read_marker_symbols(path: str | Path) -> pd.DataFrame:
    """Read the ``mgi_id<TAB>symbol`` marker map (header required)."""
    path = Path(path)
    frame = _read_headed_tsv(path, ["mgi_id", "symbol"])
    _check_pattern(path, frame, "mgi_id", r"MGI:\d+", line_offset=2)
    return frame


HPO_GENES_TO_PHENOTYPE_COLUMNS = ["ncbi_gene_id", "gene_symbol", "hpo_id", "hpo_name", "frequency", "disease_id"]


def read_hpo_genes_to_phenotype(path: str | Path) -> pd.DataFrame:
    """Read HPO's ``genes_to_phenotype.txt`` (header checked; ``frequency`` kept as written, e.g. ``-``, ``15/15``)."""
    path = Path(path)
    frame = _read_headed_tsv(path, HPO_GENES_TO_PHENOTYPE_COLUMNS)
    _check_pattern(path, frame, "hpo_id", r"HP:\d{7}", line_offset=2)
    return frame


HPO_ANNOTATION_COLUMNS = [
    "database_id",
    "disease_name",
    "qualifier",
    "hpo_id",
    "reference",
    "evidence",
    "onset",
    "frequency",
    "sex",
    "modifier",
    "aspect",
    "biocuration",
]


def read_hpo_annotations(path: str | Path) -> pd.DataFrame:
    """Read HPO's ``phenotype.hpoa``: ``#`` metadata lines, then a 12-column header (checked), then rows."""
    path = Path(path)
    text = read_text(path)
    lines = _lines(text)
    skip = 0
    while skip < len(lines) and lines[skip].startswith("#"):
        skip += 1
    if skip == len(lines) or lines[skip].split("\t") != HPO_ANNOTATION_COLUMNS:
        found = lines[skip].split("\t") if skip < len(lines) else []
        raise DataFormatError(path, f"header should be {HPO_ANNOTATION_COLUMNS}, found {found}", line=skip + 1)
    _check_column_count(path, lines, len(HPO_ANNOTATION_COLUMNS), first_line=skip + 2)
    frame = _frame(path, "\n".join(lines[skip + 1 :]), HPO_ANNOTATION_COLUMNS)
    _check_pattern(path, frame, "hpo_id", r"HP:\d{7}", line_offset=skip + 2)
    return frame


def read_go_annotation_tsv(path: str | Path) -> pd.DataFrame:
    """Read ``accession<TAB>go_ids`` (semicolon-separated list) into long format ``[accession, go_id]``.

    An empty ``go_ids`` field contributes no rows. Pairs keep the file's order. An accession on two
    lines, or an empty accession, is an error naming the line.
    """
    path = Path(path)
    wide = _read_headed_tsv(path, ["accession", "go_ids"])
    accessions = wide["accession"]
    empty = accessions.str.strip() == ""
    if empty.any():
        raise DataFormatError(path, "empty accession", line=int(empty.to_numpy().nonzero()[0][0]) + 2,
                              field="accession")
    repeated = accessions.duplicated(keep="first")
    if repeated.any():
        second = int(repeated.to_numpy().nonzero()[0][0])
        first = int((accessions == accessions.iloc[second]).to_numpy().nonzero()[0][0])
        raise DataFormatError(path, f"accession {accessions.iloc[second]!r} appears again (first on line {first + 2})",
                              line=second + 2, field="accession",
                              hint="give each accession one line with all its GO ids, separated by ';'")
    long = (
        wide.assign(go_id=wide["go_ids"].str.split(";"))
        .drop(columns="go_ids")
        .explode("go_id", ignore_index=False)
    )
    long["go_id"] = long["go_id"].fillna("").str.strip()
    long = long[long["go_id"] != ""]
    bad = ~long["go_id"].str.fullmatch(r"GO:\d{7}")
    if bad.any():
        row = int(long.index[bad.to_numpy()][0])
        raise DataFormatError(path, f"malformed GO id {long['go_id'][bad].iloc[0]!r}", line=row + 2, field="go_ids")
    return long.reset_index(drop=True)[["accession", "go_id"]]


GAF_COLUMNS = [
    "db",
    "accession",
    "symbol",
    "qualifier",
    "go_id",
    "reference",
    "evidence",
    "with_from",
    "aspect",
    "object_name",
    "synonym",
    "object_type",
    "taxon",
    "date",
    "assigned_by",
    "annotation_extension",
    "gene_product_form_id",
]
GAF_OUTPUT_COLUMNS = ["db", "accession", "symbol", "qualifier", "go_id", "evidence", "aspect", "taxon"]


def read_gaf(path: str | Path) -> pd.DataFrame:
    """Read a GO Annotation File (GAF 2.x: ``!gaf-version: 2.x`` header, 17 columns, ``!`` comments).

    Returns ``[db, accession, symbol, qualifier, go_id, evidence, aspect, taxon]``.
    """
    path = Path(path)
    text = read_text(path)
    lines = _lines(text)
    if not lines or not re.match(r"!\s*gaf-version:\s*2(\.\d+)?\s*$", lines[0]):
        raise DataFormatError(path, "first line must be '!gaf-version: 2.x'", line=1)
    kept = [(number, line) for number, line in enumerate(lines, start=1) if line and not line.startswith("!")]
    for number, line in kept:
        found = line.count("\t") + 1
        if found != len(GAF_COLUMNS):
            raise DataFormatError(path, f"expected {len(GAF_COLUMNS)} tab-separated columns, found {found}", line=number)
    frame = _frame(path, "\n".join(line for _, line in kept), GAF_COLUMNS)
    ok = frame["go_id"].str.fullmatch(r"GO:\d{7}")
    if not ok.all():
        position = int((~ok).to_numpy().nonzero()[0][0])
        raise DataFormatError(path, f"malformed GO id {frame['go_id'].iloc[position]!r}", line=kept[position][0], field="go_id")
    return frame[GAF_OUTPUT_COLUMNS]
