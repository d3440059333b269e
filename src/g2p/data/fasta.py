"""The FASTA reader (UniProt headers): one row per record, or an error naming the file, line and field.

Alphabets (documented decision): a protein sequence may use the 20 standard amino acids plus the
IUPAC extended letters ``B J O U X Z`` (Asx, Xle, pyrrolysine, selenocysteine, unknown, Glx); the
stop/gap characters ``*`` and ``-`` are rejected.  A DNA sequence may use ``A C G T`` plus the IUPAC
ambiguity codes ``R Y S W K M B D H V N``; ``U`` and gaps are rejected.  Lower-case ASCII letters are
accepted and upper-cased; any other letter is refused before upper-casing (Unicode would turn ``ß``
into ``SS`` and ``ﬁ`` into ``FI``).

A file is read as written or refused, never partly: a leading UTF-8 byte-order mark is dropped
(editors on Windows add one; it is not text), but text before the first ``>`` header is an error (a
parser would skip it, and with it whatever the user meant it to be). A protein record whose letters
are all nucleotide codes (``A C G T U N``, at least :data:`NUCLEOTIDE_MIN_LENGTH` of them) is
refused as DNA given to a protein model, and one with no residue other than the ambiguity codes
``B J X Z`` carries no information and is refused too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser

from g2p.data.errors import DataFormatError
from g2p.data.textfiles import lines as _lines
from g2p.data.textfiles import read_text

PROTEIN_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWY" + "BJOUXZ")
#: Residues that say something: every protein letter but the ambiguity codes.
KNOWN_RESIDUES = PROTEIN_LETTERS - frozenset("BJXZ")
NUCLEOTIDE_CODES = frozenset("ACGTUN")
#: A protein record this long made only of nucleotide codes is DNA (a real protein of ≥ 20 residues
#: with no letter outside ACGTUN does not occur in Swiss-Prot).
NUCLEOTIDE_MIN_LENGTH = 20
DNA_LETTERS = frozenset("ACGT" + "RYSWKMBDHVN")
_ALPHABETS = {"protein": PROTEIN_LETTERS, "dna": DNA_LETTERS}


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


def _ascii_upper(text: str) -> str:
    """Upper-case ASCII letters only (``str.upper`` turns 'ß' into 'SS' and 'ﬁ' into 'FI')."""
    return "".join(c.upper() if c.isascii() else c for c in text)


def _first_bad_line(lines: Sequence[str], header_line: int, letters: frozenset[str]) -> int:
    """Line number (1-based) of the first sequence line after ``header_line`` with a bad letter."""
    number = header_line + 1
    while number <= len(lines) and not lines[number - 1].startswith(">"):
        if set(_ascii_upper(lines[number - 1].strip())) - letters:
            return number
        number += 1
    return header_line


def _fasta_records(path: Path, text: str) -> list[tuple[str, str]]:
    lines = _lines(text)
    first = next((n for n, line in enumerate(lines, start=1) if line.strip()), None)
    if first is not None and not lines[first - 1].startswith(">") and any(line.startswith(">") for line in lines):
        # Biopython skips such lines without a word; they are the user's, so say where they are
        header = next(n for n, line in enumerate(lines, start=1) if line.startswith(">"))
        raise DataFormatError(path, f"text before the first '>' header (on line {header}): "
                              f"{lines[first - 1].strip()[:60]!r}", line=first,
                              hint="remove it, or start it with '>' if it is a record's header")
    try:
        return list(SimpleFastaParser(io.StringIO(text)))
    except ValueError as exc:  # older Biopython rejects text before the first '>'
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
        # ASCII first: str.upper() folds 'ß' to 'SS' and 'ﬁ' to 'FI', which would then pass
        sequence = raw_sequence.upper() if raw_sequence.isascii() else _ascii_upper(raw_sequence)
        bad = set(sequence) - letters
        problem = _sequence_problem(sequence, alphabet) if not bad else None
        if not sequence or bad or problem:
            lines = _lines(text)
            if header_lines is None:
                header_lines = [i for i, line in enumerate(lines, start=1) if line.startswith(">")]
            header_line = header_lines[index]
            record_id = title.split(maxsplit=1)[0] if title.strip() else "<no id>"
            if not sequence:
                raise DataFormatError(path, f"record {record_id!r} has an empty sequence", line=header_line)
            if problem:
                raise DataFormatError(path, f"record {record_id!r} {problem}", line=header_line + 1,
                                      field="sequence")
            line = _first_bad_line(lines, header_line, letters)
            shown = "".join(sorted(bad))
            raise DataFormatError(
                path,
                f"record {record_id!r} has letters outside the {alphabet} alphabet: {shown!r}"
                + (" (only ASCII letters are sequence letters)" if not shown.isascii() else ""),
                line=line,
                field="sequence",
            )
        rows.append({**parse_uniprot_header(title), "sequence": sequence})
    return pd.DataFrame(rows, columns=FASTA_COLUMNS)


def _sequence_problem(sequence: str, alphabet: str) -> str | None:
    """Why a sequence made of valid letters still cannot be what a protein reader expects, or None."""
    if alphabet != "protein":
        return None
    letters = set(sequence)
    if not letters & KNOWN_RESIDUES:
        return f"has no known residue (only the ambiguity codes {''.join(sorted(letters))!r})"
    if len(sequence) >= NUCLEOTIDE_MIN_LENGTH and letters <= NUCLEOTIDE_CODES:
        return (f"looks like a nucleotide sequence ({len(sequence)} letters, all of them {''.join(sorted(letters))}), "
                "not a protein: translate it first, or use a model trained with alphabet 'dna'")
    return None
