"""Parsers for the raw input files: OBO ontologies, UniProt FASTA, MGI, HPO and GO annotation tables.

Each reader takes a path (gzip-compressed or plain; detected from the file's magic bytes, not its
name), returns a networkx graph or a pandas DataFrame of strings, and turns every kind of bad input
into a :class:`~g2p.data.errors.DataFormatError` that names the file and, where it can be known, the
line and field.  The readers only parse: they neither filter nor join (that is ``g2p.data.curate``'s
job), so what they return is a faithful, typed view of the file.

Alphabets (documented decision): a protein sequence may use the 20 standard amino acids plus the
IUPAC extended letters ``B J O U X Z`` (Asx, Xle, pyrrolysine, selenocysteine, unknown, Glx); the
stop/gap characters ``*`` and ``-`` are rejected.  A DNA sequence may use ``A C G T`` plus the IUPAC
ambiguity codes ``R Y S W K M B D H V N``; ``U`` and gaps are rejected.  Lower-case letters are
accepted and upper-cased.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, TextIO

import networkx
import obonet
import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser

from g2p.data.errors import DataFormatError, MissingFileError

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
]

PROTEIN_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWY" + "BJOUXZ")
DNA_LETTERS = frozenset("ACGT" + "RYSWKMBDHVN")
_ALPHABETS = {"protein": PROTEIN_LETTERS, "dna": DNA_LETTERS}

_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------------------------------
# Opening files: gzip handled in one place, truncation and bad encodings reported with the file name
# --------------------------------------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


@contextlib.contextmanager
def open_text(path: str | Path) -> Iterator[TextIO]:
    """Open ``path`` as UTF-8 text, decompressing gzip transparently.

    Errors raised while the caller reads inside the ``with`` block (a truncated or corrupt gzip
    stream, invalid UTF-8) are re-raised as ``DataFormatError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "file not found" if not path.exists() else "not a regular file")
    raw: TextIO
    if _is_gzip(path):
        raw = gzip.open(path, "rt", encoding="utf-8", newline="")
    else:
        raw = open(path, encoding="utf-8", newline="")
    try:
        with raw:
            yield raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(path, f"truncated or corrupt gzip stream ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_text(path: str | Path) -> str:
    """The whole (decompressed) text of ``path``; raw inputs here are at most tens of MB."""
    with open_text(path) as fh:
        return fh.read()


def _lines(text: str) -> list[str]:
    """Lines without their terminators (LF or CRLF); a final newline adds no empty line."""
    return text.splitlines()


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
# FASTA (UniProt headers)
# --------------------------------------------------------------------------------------------------

_UNIPROT_HEADER = re.compile(r"^(?P<db>sp|tr)\|(?P<accession>[^|\s]+)\|(?P<entry_name>\S+)(?P<rest>.*)$")
_HEADER_KEYS = re.compile(r"\b(OS|OX|GN|PE|SV)=")
FASTA_COLUMNS = ["accession", "entry_name", "symbol", "organism", "taxid", "sequence"]


def _header_fields(rest: str) -> dict[str, str]:
    """``OS=… OX=… GN=…`` → dict; values may contain spaces (OS) and run until the next key."""
    marks = list(_HEADER_KEYS.finditer(rest))
    fields: dict[str, str] = {}
    for mark, nxt in zip(marks, marks[1:] + [None]):
        end = nxt.start() if nxt is not None else len(rest)
        fields[mark.group(1)] = rest[mark.end() : end].strip()
    return fields


def parse_uniprot_header(title: str) -> dict[str, str]:
    """Split a FASTA title into accession, entry_name, symbol, organism, taxid.

    ``sp|ACC|NAME OS=… OX=… GN=…`` is parsed fully; any other title gives its first word as both
    accession and entry_name and empty strings for the rest.
    """
    match = _UNIPROT_HEADER.match(title)
    if match is None:
        word = title.split(maxsplit=1)[0] if title.strip() else ""
        return {"accession": word, "entry_name": word, "symbol": "", "organism": "", "taxid": ""}
    fields = _header_fields(match.group("rest"))
    return {
        "accession": match.group("accession"),
        "entry_name": match.group("entry_name"),
        "symbol": fields.get("GN", ""),
        "organism": fields.get("OS", ""),
        "taxid": fields.get("OX", ""),
    }


def _first_bad_line(lines: Sequence[str], header_line: int, letters: frozenset[str]) -> int:
    """Line number (1-based) of the first sequence line after ``header_line`` with a bad letter."""
    number = header_line + 1
    while number <= len(lines) and not lines[number - 1].startswith(">"):
        if set(lines[number - 1].strip().upper()) - letters:
            return number
        number += 1
    return header_line


def _fasta_records(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        return list(SimpleFastaParser(io.StringIO(text)))
    except ValueError as exc:  # Biopython rejects text before the first '>'
        raise DataFormatError(path, f"not FASTA: {exc}", line=1) from exc


def read_fasta(path: str | Path, alphabet: Literal["protein", "dna"] = "protein") -> pd.DataFrame:
    """Read a FASTA file with Biopython into one row per record.

    Columns: ``accession, entry_name, symbol, organism, taxid, sequence`` (all strings; missing
    header fields are ""). Raises ``DataFormatError`` naming the file, line and record id for an
    empty sequence or a letter outside ``alphabet`` (see the module docstring).
    """
    if alphabet not in _ALPHABETS:
        raise ValueError(f"alphabet must be 'protein' or 'dna', not {alphabet!r}")
    path = Path(path)
    letters = _ALPHABETS[alphabet]
    text = read_text(path)
    records = _fasta_records(path, text)
    if not records:
        raise DataFormatError(path, "no FASTA records found", line=1)
    header_lines: list[int] | None = None  # computed lazily: only needed to report an error
    rows = []
    for index, (title, raw_sequence) in enumerate(records):
        sequence = raw_sequence.upper()
        bad = set(sequence) - letters
        if not sequence or bad:
            lines = _lines(text)
            if header_lines is None:
                header_lines = [i for i, line in enumerate(lines, start=1) if line.startswith(">")]
            header_line = header_lines[index]
            record_id = title.split(maxsplit=1)[0] if title.strip() else "<no id>"
            if not sequence:
                raise DataFormatError(path, f"record {record_id!r} has an empty sequence", line=header_line)
            line = _first_bad_line(lines, header_line, letters)
            raise DataFormatError(
                path,
                f"record {record_id!r} has letters outside the {alphabet} alphabet: {''.join(sorted(bad))!r}",
                line=line,
                field="sequence",
            )
        rows.append({**parse_uniprot_header(title), "sequence": sequence})
    return pd.DataFrame(rows, columns=FASTA_COLUMNS)


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

    An empty ``go_ids`` field contributes no rows. Pairs keep the file's order.
    """
    path = Path(path)
    wide = _read_headed_tsv(path, ["accession", "go_ids"])
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
