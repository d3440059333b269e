"""Readers of headed tables whose columns are named, not positional: any TSV with required columns
(:func:`read_tsv_columns`, e.g. a user's gene → label table), the GWAS Catalog associations, and the
2013 (CAFA2-era) HPO gene → phenotype release. Like :mod:`g2p.data.readers`, every reader checks the
layout and names the file, line and field of the first thing it cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from g2p.data.errors import DataFormatError
from g2p.data.readers import _check_column_count, _check_pattern, _frame, _lines, read_text

__all__ = ["read_tsv_columns", "read_gwas_catalog", "read_hpo_genes_to_phenotype_2013", "GWAS_COLUMNS", "HPO_2013_FORMAT"]


HPO_2013_FORMAT = "#Format: entrez-gene-id<tab>entrez-gene-symbol<tab>HPO-Term-Name<tab>HPO-Term-ID"


def read_hpo_genes_to_phenotype_2013(path: str | Path) -> pd.DataFrame:
    """Read the 2013 HPO ``genes_to_phenotype`` release (first line :data:`HPO_2013_FORMAT`, 4 columns, no
    frequency) as ``[ncbi_gene_id, gene_symbol, hpo_name, hpo_id]``."""
    path = Path(path)
    text = read_text(path)
    lines = _lines(text)
    if not lines or lines[0].strip() != HPO_2013_FORMAT:
        raise DataFormatError(path, f"first line should be {HPO_2013_FORMAT!r}", line=1)
    _check_column_count(path, lines, 4, first_line=2)
    frame = _frame(path, "\n".join(lines[1:]), ["ncbi_gene_id", "gene_symbol", "hpo_name", "hpo_id"])
    _check_pattern(path, frame, "hpo_id", r"HP:\d{7}", line_offset=2)
    _check_pattern(path, frame, "ncbi_gene_id", r"\d+", line_offset=2)
    return frame


def read_tsv_columns(path: str | Path, required: Sequence[str]) -> pd.DataFrame:
    """A TSV with a header line that must contain ``required`` (other columns are kept too); every row is
    checked for the header's width. Values stay strings, missing ones ""."""
    path = Path(path)
    text = read_text(path)
    lines = _lines(text)
    header = lines[0].split("\t") if lines else []
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFormatError(path, f"header lacks column(s) {missing}", line=1, field=missing[0])
    if len(set(header)) != len(header):
        raise DataFormatError(path, "header repeats a column name", line=1)
    _check_column_count(path, lines, len(header), first_line=2)
    return _frame(path, "\n".join(lines[1:]), header)


GWAS_COLUMNS = ("REPORTED GENE(S)", "MAPPED_GENE", "P-VALUE", "MAPPED_TRAIT", "MAPPED_TRAIT_URI")


def read_gwas_catalog(path: str | Path) -> pd.DataFrame:
    """Read a GWAS Catalog "associations with ontology annotations" TSV (the columns of
    :data:`GWAS_COLUMNS` are required; a P-VALUE must be a number or empty)."""
    path = Path(path)
    frame = read_tsv_columns(path, GWAS_COLUMNS)
    value = frame["P-VALUE"].str.strip()
    bad = (value != "") & pd.to_numeric(value, errors="coerce").isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataFormatError(path, f"P-VALUE {value.iloc[row]!r} is not a number", line=row + 2, field="P-VALUE")
    return frame
