"""The curated-dataset folder: its files, its datasheet, the writer and the loader (:func:`load`,
:class:`CuratedDataset`).

Frequency bins (11-30, 31-100, 101-300, >=301 genes) are counted on the whole curated dataset; with
``min_genes`` < 11 the lowest bin also holds the rarer terms.

A folder is written whole and atomically by :mod:`g2p.data.curate`, with a ``SHA256SUMS`` of its files;
:func:`load` refuses a folder that does not match, naming the file:

=====================  ==========================================================================
``genes.tsv``          gene_id, symbol, accession, split, sequence (row i = label row i); split is
                       train/val/test, or ``prospective`` for a dataset's later-annotated targets
``terms.tsv``          term_id, name, n_genes, bin, depth (row j = label column j)
``labels.npz``         scipy.sparse CSR genes × terms, int8 0/1
``concepts.tsv``       go_id, name, namespace, n_genes
``concept_labels.npz`` scipy.sparse CSR genes × concepts, int8 0/1
``go_inputs.tsv``      gene_id, go_ids (``;``-separated GO ids deeper than depth 2)
``exclusive_pairs.tsv`` term_a, name_a, term_b, name_b, parent, rule
``datasheet.json``     counts, parameters, input sha256, rules, split info, key
``datasheet.md``       the same for people
``SHA256SUMS``         sha256 of every file above (``sha256sum -c SHA256SUMS`` checks it by hand)
=====================  ==========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from g2p import checksums, paths
from g2p.data import exclusive as exclusive_mod
from g2p.data import split as split_mod
from g2p.data.errors import DataFormatError, MissingFileError
from g2p.data.specs import DatasetSpec, curate_command

BIN_LABELS = ("11-30", "31-100", "101-300", ">=301")
BIN_EDGES = (30, 100, 300)  # upper edges of the first three bins

#: What a datasheet says when the mining finds no pair (training then runs without the exclusive loss).
NO_EXCLUSIVE_PAIRS = ("none: no two sibling terms differ by an antonym rule (or the vocabulary has no structure), "
                      "so the exclusive-pair loss is 0 for this dataset")

FILES = {
    "genes": "genes.tsv",
    "terms": "terms.tsv",
    "labels": "labels.npz",
    "concepts": "concepts.tsv",
    "concept_labels": "concept_labels.npz",
    "go_inputs": "go_inputs.tsv",
    "exclusive_pairs": "exclusive_pairs.tsv",
    "datasheet": "datasheet.json",
    "datasheet_md": "datasheet.md",
}


@dataclass
class CuratedDataset:
    """One curated dataset; row i of every gene-indexed array is ``genes.iloc[i]``."""

    name: str
    genes: pd.DataFrame
    terms: pd.DataFrame
    labels: sp.csr_matrix
    concepts: pd.DataFrame
    concept_labels: sp.csr_matrix
    go_inputs: list[list[str]]
    exclusive_pairs: pd.DataFrame
    datasheet: dict = field(default_factory=dict)
    path: Path | None = None

    def split_index(self, split: str) -> np.ndarray:
        if split not in split_mod.ALL_SPLITS:
            raise ValueError(f"split must be one of {split_mod.ALL_SPLITS}, not {split!r}")
        return np.flatnonzero(self.genes["split"].to_numpy() == split)

    def curated_index(self) -> np.ndarray:
        """The rows of the curated genes (train, val and test; not the prospective targets)."""
        return np.flatnonzero(self.genes["split"].to_numpy() != split_mod.PROSPECTIVE)

    @property
    def has_prospective(self) -> bool:
        return bool((self.genes["split"] == split_mod.PROSPECTIVE).any())

    def exclusive_index(self) -> np.ndarray:
        """(E, 2) column indices into ``terms`` of the exclusive pairs."""
        column = {term: j for j, term in enumerate(self.terms["term_id"])}
        if self.exclusive_pairs.empty:
            return np.zeros((0, 2), dtype=np.int64)
        pairs = [(column[a], column[b]) for a, b in zip(self.exclusive_pairs["term_a"].tolist(), self.exclusive_pairs["term_b"].tolist())]
        return np.asarray(pairs, dtype=np.int64)

    @property
    def n_genes(self) -> int:
        """Curated genes (train + val + test)."""
        return int(len(self.curated_index()))

    @property
    def n_terms(self) -> int:
        return self.labels.shape[1]


def frequency_bin(n_genes: int) -> str:
    """The GenePheno frequency bin of a term annotated to ``n_genes`` genes."""
    for edge, label in zip(BIN_EDGES, BIN_LABELS):
        if n_genes <= edge:
            return label
    return BIN_LABELS[-1]


def write_folder(
    folder: Path,
    genes: pd.DataFrame,
    terms: pd.DataFrame,
    labels: sp.csr_matrix,
    concepts: pd.DataFrame,
    concept_labels: sp.csr_matrix,
    go_inputs: list[list[str]],
    pairs: pd.DataFrame,
    datasheet: dict,
) -> None:
    """Write every file of a curated folder into ``folder`` (the datasheet last)."""
    genes.to_csv(folder / FILES["genes"], sep="\t", index=False)
    terms.to_csv(folder / FILES["terms"], sep="\t", index=False)
    sp.save_npz(folder / FILES["labels"], labels)
    concepts.to_csv(folder / FILES["concepts"], sep="\t", index=False)
    sp.save_npz(folder / FILES["concept_labels"], concept_labels)
    pd.DataFrame({"gene_id": genes["gene_id"], "go_ids": [";".join(t) for t in go_inputs]}).to_csv(
        folder / FILES["go_inputs"], sep="\t", index=False
    )
    pairs.to_csv(folder / FILES["exclusive_pairs"], sep="\t", index=False)
    (folder / FILES["datasheet_md"]).write_text(datasheet_markdown(datasheet))
    # the datasheet (with the reuse key) goes last: a folder without it is never reused
    (folder / FILES["datasheet"]).write_text(json.dumps(datasheet, indent=2, sort_keys=False))


def make_datasheet(
    *,
    spec: DatasetSpec,
    name: str,
    key: str,
    curation_version: int,
    params: dict,
    inputs: dict[str, Path],
    checksums: dict[str, str],
    counts: dict,
    go_counts: dict,
    genes: pd.DataFrame,
    terms: pd.DataFrame,
    labels: sp.csr_matrix,
    pairs: pd.DataFrame,
    split_info: dict,
    prospective_counts: dict | None = None,
) -> dict:
    """The datasheet of a curation: summary, parameters, inputs, counts by stage, rules. Statistics are
    over the curated genes; prospective targets are summarised apart."""
    curated_rows = (genes["split"] != split_mod.PROSPECTIVE).to_numpy()
    curated_labels = labels[np.flatnonzero(curated_rows)]
    n_genes, n_terms = curated_labels.shape
    labels_per_gene = np.diff(curated_labels.indptr)
    lengths = genes.loc[curated_rows, "sequence"].str.len()
    summary = {
        "n_genes": int(n_genes),
        "n_terms": int(n_terms),
        "n_positive": int(curated_labels.nnz),
        "label_density": float(curated_labels.nnz / (n_genes * n_terms)),
        "labels_per_gene_median": float(np.median(labels_per_gene)),
        "labels_per_gene_mean": float(labels_per_gene.mean()),
        "terms_per_bin": {b: int((terms["bin"] == b).sum()) for b in BIN_LABELS},
        "n_exclusive_pairs": int(len(pairs)),
        "exclusive_pairs_by_rule": {k: int(v) for k, v in pairs["rule"].value_counts().sort_index().items()},
        "split_sizes": {s: int((genes["split"] == s).sum()) for s in split_mod.SPLITS},
        "sequence_length_median": float(lengths.median()),
        "sequence_length_max": int(lengths.max()),
        "n_concepts": int(go_counts["concepts"]),
        "n_prospective": int((~curated_rows).sum()),
    }
    exclusive_rule = ("direct children of one term whose names differ in one word by an antonym rule; both kept"
                      if len(pairs) else NO_EXCLUSIVE_PAIRS)
    sheet = {
        "name": name,
        "dataset": spec.name,
        "label": spec.label,
        "key": key,
        "curation_version": curation_version,
        "summary": summary,
        "params": params,
        "inputs": {source: {"file": path.name, "sha256": checksums[source]} for source, path in inputs.items()},
        "counts": counts,
        "go": go_counts,
        "split": split_info,
        "rules": {
            "genotypes": spec.rules.genes,
            "symbols": spec.rules.symbols,
            "protein": spec.rules.protein,
            "terms": spec.phenotype.rule + "; " + spec.rules.dropped_terms
            + f"; terms with >= {params['min_genes']} genes kept; genes without a kept term dropped",
            "bins": "11-30, 31-100, 101-300, >=301 genes per term, counted on the whole curated dataset",
            "go": f"{spec.go.rule}; alt_id -> primary, obsolete -> single replaced_by else dropped; propagated over "
            f"{' and '.join(spec.go_ontology.relations)}; depth-2 terms with >= {params['min_concept_genes']} genes "
            "are concepts, deeper terms are go_inputs",
            "exclusive_pairs": exclusive_rule,
            "exclusive_rule_table": exclusive_mod.rule_table().to_dict(orient="records"),
        },
        "notes": list(spec.notes),
    }
    if prospective_counts is not None and spec.prospective is not None:
        sheet["rules"]["prospective"] = spec.prospective.rule
        sheet["prospective"] = prospective_counts
    return sheet


def datasheet_markdown(sheet: dict) -> str:
    """The datasheet for people (``datasheet.md``)."""
    s = sheet["summary"]
    lines = [
        f"# Datasheet: {sheet['name']}",
        "",
        f"Curation version {sheet['curation_version']}, key `{sheet['key'][:16]}`.",
        "",
        "## Summary",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| genes | {s['n_genes']} |",
        f"| terms | {s['n_terms']} |",
        f"| positive labels | {s['n_positive']} |",
        f"| label density | {s['label_density']:.4f} |",
        f"| labels per gene (median) | {s['labels_per_gene_median']:.0f} |",
        f"| GO concepts (depth 2) | {s['n_concepts']} |",
        f"| exclusive pairs | {s['n_exclusive_pairs']} |",
    ]
    if s.get("n_prospective"):
        lines.append(f"| prospective targets | {s['n_prospective']} |")
    lines += [f"| terms in bin {b} | {n} |" for b, n in s["terms_per_bin"].items()]
    lines += [f"| {k} genes | {n} |" for k, n in s["split_sizes"].items()]
    lines += ["", "## Parameters", "", "```json", json.dumps(sheet["params"], indent=2), "```", ""]
    lines += ["## Inputs", "", "| source | file | sha256 |", "|---|---|---|"]
    lines += [f"| {k} | {v['file']} | `{v['sha256']}` |" for k, v in sheet["inputs"].items()]
    lines += ["", "## Rules", ""]
    lines += [f"- **{k}**: {v}" for k, v in sheet["rules"].items() if isinstance(v, str)]
    lines += ["", "## Counts (kept and dropped, by stage)", "", "```json", json.dumps(sheet["counts"], indent=2)]
    lines += ["```", "", "## GO", "", "```json", json.dumps(sheet["go"], indent=2), "```", ""]
    lines += ["## Split", "", "```json", json.dumps(sheet["split"], indent=2), "```", ""]
    if "prospective" in sheet:
        lines += ["## Prospective targets", "", "```json", json.dumps(sheet["prospective"], indent=2), "```", ""]
    if sheet.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in sheet["notes"]] + [""]
    return "\n".join(lines)


def dataset_path(dataset: str | Path, output_root: Path | None = None) -> Path:
    """The folder of a curated dataset given its name (``mpo``, ``mpo-max600``) or a path."""
    if isinstance(dataset, Path) or "/" in str(dataset):
        return Path(dataset)
    return (output_root or paths.processed) / str(dataset)


_TABLE_COLUMNS = {
    "genes": ("gene_id", "symbol", "accession", "split", "sequence"),
    "terms": ("term_id", "name", "n_genes", "bin", "depth"),
    "concepts": ("go_id", "name", "namespace", "n_genes"),
    "go_inputs": ("gene_id", "go_ids"),
    "exclusive_pairs": ("term_a", "term_b"),
}


def _read_tsv(folder: Path, kind: str, hint: str, integers: tuple[str, ...] = ()) -> pd.DataFrame:
    path = folder / FILES[kind]
    if not path.is_file():
        raise MissingFileError(path, "missing file of a curated dataset", hint=hint)
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"not a readable TSV ({exc})", hint=hint) from exc
    missing = [c for c in _TABLE_COLUMNS[kind] if c not in table.columns]
    if missing:
        raise DataFormatError(path, f"lacks column(s) {missing}", line=1, field=missing[0], hint=hint)
    for column in integers:
        bad = ~table[column].str.fullmatch(r"\d+")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, f"not a whole number: {table[column].iloc[row]!r}", line=row + 2,
                                  field=column, hint=hint)
        table[column] = table[column].astype(int)
    return table


def _read_npz(folder: Path, kind: str, hint: str) -> sp.csr_matrix:
    path = folder / FILES[kind]
    if not path.is_file():
        raise MissingFileError(path, "missing file of a curated dataset", hint=hint)
    try:
        return sp.load_npz(path).tocsr()
    except Exception as exc:  # zipfile.BadZipFile, ValueError, KeyError, OSError …: all mean "not a sparse matrix"
        raise DataFormatError(path, f"not a readable sparse matrix ({type(exc).__name__}: {exc})", hint=hint) from exc


def load(dataset: str | Path, *, output_root: Path | None = None, verify: bool = True) -> CuratedDataset:
    """Read a curated dataset folder (no ontology parsing; a few hundred milliseconds).

    The folder's files are first checked against its ``SHA256SUMS`` (``verify``); a folder that is
    missing, incomplete, damaged or unreadable raises :class:`DataFormatError` naming the file.
    """
    folder = dataset_path(dataset, output_root)
    hint = f"run `{curate_command(folder.name)}` to rebuild it"
    sheet_file = folder / FILES["datasheet"]
    if not sheet_file.is_file():
        raise MissingFileError(folder, "no curated dataset here (no datasheet.json)",
                              hint=f"run `{curate_command(folder.name)}` first")
    if verify:
        checksums.verify_folder(folder, what="curated dataset", hint=hint)
    try:
        datasheet = json.loads(sheet_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(sheet_file, f"not valid JSON ({exc})", hint=hint) from exc
    if not isinstance(datasheet, dict):
        raise DataFormatError(sheet_file, "not a JSON object", hint=hint)
    genes = _read_tsv(folder, "genes", hint)
    terms = _read_tsv(folder, "terms", hint, integers=("n_genes", "depth"))
    concepts = _read_tsv(folder, "concepts", hint, integers=("n_genes",))
    go_table = _read_tsv(folder, "go_inputs", hint)
    labels = _read_npz(folder, "labels", hint)
    concept_labels = _read_npz(folder, "concept_labels", hint)
    if labels.shape != (len(genes), len(terms)):
        raise DataFormatError(folder / FILES["labels"], f"shape {labels.shape} != genes × terms ({len(genes)}, {len(terms)})", hint=hint)
    if concept_labels.shape != (len(genes), len(concepts)):
        raise DataFormatError(folder / FILES["concept_labels"], f"shape {concept_labels.shape} does not match genes × concepts", hint=hint)
    if list(go_table["gene_id"]) != list(genes["gene_id"]):
        raise DataFormatError(folder / FILES["go_inputs"], "gene order differs from genes.tsv", field="gene_id", hint=hint)
    bad_split = ~genes["split"].isin(split_mod.ALL_SPLITS)
    if bad_split.any():
        row = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise DataFormatError(folder / FILES["genes"], f"unknown split {genes['split'].iloc[row]!r}", line=row + 2,
                              field="split", hint=hint)
    go_inputs = [ids.split(";") if ids else [] for ids in go_table["go_ids"]]
    pairs = _read_tsv(folder, "exclusive_pairs", hint)
    unknown_terms = sorted(set(pairs["term_a"]).union(pairs["term_b"]) - set(terms["term_id"]))
    if unknown_terms:
        raise DataFormatError(folder / FILES["exclusive_pairs"], f"names term {unknown_terms[0]} that is not in terms.tsv",
                              field="term_a", hint=hint)
    return CuratedDataset(
        name=datasheet.get("name", folder.name),
        genes=genes,
        terms=terms,
        labels=labels,
        concepts=concepts,
        concept_labels=concept_labels,
        go_inputs=go_inputs,
        exclusive_pairs=pairs,
        datasheet=datasheet,
        path=folder,
    )


def book_numbers(dataset: CuratedDataset, prefix: str | None = None) -> dict[str, float | int]:
    """The key numbers of a curated dataset (its curated genes), named ``<prefix>_<quantity>`` for
    ``myst_nb.glue``.

    ``prefix`` defaults to the base dataset (``mpo`` for ``mpo-max400``) so the book's references do
    not depend on the preset.
    """
    prefix = prefix or dataset.datasheet.get("dataset", dataset.name.split("-")[0])
    labels = dataset.labels[dataset.curated_index()]
    n_genes, n_terms = labels.shape
    per_gene = np.diff(labels.indptr)
    numbers: dict[str, float | int] = {
        "n_genes": int(n_genes),
        "n_terms": int(n_terms),
        "label_density": float(labels.nnz / (n_genes * n_terms)),
        "labels_per_gene_median": float(np.median(per_gene)),
        "n_concepts": int(dataset.concept_labels.shape[1]),
        "n_exclusive_pairs": int(len(dataset.exclusive_pairs)),
    }
    for label in BIN_LABELS:
        slug = label.replace(">=", "ge").replace("-", "_")
        numbers[f"terms_bin_{slug}"] = int((dataset.terms["bin"] == label).sum())
    for split in split_mod.SPLITS:
        numbers[f"n_{split}"] = int(len(dataset.split_index(split)))
    numbers[f"n_{split_mod.PROSPECTIVE}"] = int(len(dataset.split_index(split_mod.PROSPECTIVE)))
    if len(dataset.exclusive_pairs):
        index = dataset.exclusive_index()
        csc = labels.tocsc()
        both = [len(np.intersect1d(csc[:, a].indices, csc[:, b].indices)) for a, b in index]
        numbers["exclusive_pairs_cooccurring"] = int(sum(1 for n in both if n > 0))
    else:
        numbers["exclusive_pairs_cooccurring"] = 0
    return {f"{prefix}_{key}": value for key, value in numbers.items()}


def summary_markdown(datasets: Mapping[str, CuratedDataset]) -> str:
    """One paragraph per curated dataset for the book: what it is (its table row's description) and its
    key numbers, then the row's notes on how it departs from the paper's dataset."""
    from g2p.data import specs

    paragraphs = []
    for dataset in datasets.values():
        sheet = dataset.datasheet
        spec = specs.SPECS.get(str(sheet.get("dataset", "")))
        n = book_numbers(dataset, prefix="x")
        text = (f"**{sheet.get('label', dataset.name)}**{': ' + spec.description if spec else ''}. "
                f"It keeps {n['x_n_genes']:,} genes and {n['x_n_terms']:,} terms; a gene carries a median of "
                f"{n['x_labels_per_gene_median']:.0f} propagated terms ({n['x_label_density']:.1%} of its label "
                f"matrix), and {n['x_terms_bin_11_30']:,} terms sit in the rarest bin (11–30 genes). The split "
                f"gives {n['x_n_train']:,} training, {n['x_n_val']:,} validation and {n['x_n_test']:,} test genes; "
                f"the mining finds {n['x_n_exclusive_pairs']:,} exclusive pairs.")
        if n["x_n_prospective"]:
            text += (f" {n['x_n_prospective']:,} more genes have no annotation in this release but one later: "
                     "they are the prospective targets.")
        if not n["x_n_exclusive_pairs"]:
            text += " With no exclusive pair, the exclusive-pair loss is 0 for this dataset."
        notes = sheet.get("notes") or []
        paragraphs.append(text + ("" if not notes else " " + " ".join(notes)))
    return "\n\n".join(paragraphs)
