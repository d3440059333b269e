"""Where GenePheno's sequences come from: a curated dataset's proteins (Swiss-Prot, through the data layer,
``genes.tsv``), or a user's FASTA of one sequence per gene (``sequences_fasta``: DNA for a genomic language
model such as the paper's GENERator, with ``alphabet: dna``).

A FASTA record belongs to a gene when the first word of its header is the gene's id (``MGI:87853``), its
UniProt accession, or its symbol (a UniProt header's ``GN=`` counts too). Every gene of the dataset needs a
record; a gene without one, a record key given twice, or a letter outside the alphabet is one line naming
the file (and the line) and what to do. The file is read with Biopython (:func:`g2p.data.fasta.read_fasta`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from g2p.checksums import sha256_file
from g2p.data.errors import DataFormatError
from g2p.data.fasta import read_fasta
from g2p.errors import InputError

#: The gene columns a record's key is looked up in, in this order.
KEY_COLUMNS = ("gene_id", "accession", "symbol")
FIELD = "sequences_fasta"


@functools.lru_cache(maxsize=4)
def _records(path: str, mtime_ns: int, size: int, alphabet: str) -> dict[str, str]:
    table = read_fasta(path, alphabet)
    by_key: dict[str, str] = {}
    for word, symbol, sequence in zip(table["accession"], table["symbol"], table["sequence"]):
        if word in by_key:
            headers = [n for n, line in enumerate(Path(path).read_text(errors="replace").splitlines(), start=1)
                       if line.startswith(">") and (line[1:].split() or [""])[0] == word]
            raise DataFormatError(Path(path), f"record {word!r} appears twice", line=headers[-1] if headers else None,
                                  field="header", hint="give each gene one record")
        by_key[word] = sequence
        if symbol and symbol != word:
            by_key.setdefault(symbol, sequence)
    return by_key


def fasta_records(path: str | Path, alphabet: str) -> dict[str, str]:
    """``{key: sequence}`` of a FASTA file: each record's first header word (and its ``GN=`` symbol)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError("sequence FASTA not found" if not path.exists() else "is not a file", path=path,
                         field=FIELD, hint="give a FASTA file of one record per gene")
    stat = path.stat()
    return _records(str(path), stat.st_mtime_ns, stat.st_size, alphabet)


def dataset_sequences(dataset, sequences_fasta: str | None, alphabet: str = "protein",
                      rows: Sequence[int] | None = None) -> list[str]:
    """The sequences of the dataset's genes (``rows``, default all, in order): its proteins, or the
    records of ``sequences_fasta`` matched by gene id, accession or symbol."""
    genes = dataset.genes if rows is None else dataset.genes.iloc[list(rows)]
    if sequences_fasta is None:
        return genes["sequence"].astype(str).tolist()
    records = fasta_records(sequences_fasta, alphabet)
    found, missing = [], []
    for _, gene in genes.iterrows():
        keys = [str(gene[c]) for c in KEY_COLUMNS if c in gene.index and not pd.isna(gene[c]) and str(gene[c])]
        hit = next((records[k] for k in keys if k in records), None)
        found.append(hit)
        if hit is None:
            missing.append(keys[0] if keys else "?")
    if missing:
        name = getattr(dataset, "name", "the dataset")
        raise InputError(f"no record for {len(missing):,} of the {len(found):,} genes of {name} "
                         f"(first: {', '.join(missing[:3])})", path=Path(sequences_fasta), field=FIELD,
                         hint="give one record per gene, its header's first word the gene id, UniProt accession "
                              "or symbol")
    return found


def fasta_digest(sequences_fasta: str | None) -> str | None:
    """The file's sha256 (part of a run's identity: a changed FASTA is a new run), None without one."""
    return sha256_file(Path(sequences_fasta).expanduser()) if sequences_fasta is not None else None
