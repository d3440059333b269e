"""The GenePheno paper's reported numbers, as data, to show beside ours.

Source: Yan et al., GenePheno (AAAI-26), Table 1 (All terms), Table 2 (ablation) and the per-bin
numbers quoted in ``/work/shared/papers/genepheno.md``. The paper reports percentages; here every
value is a fraction in [0, 1] like our metrics. The paper's datasets are its own curation (not
released) of other data versions, so the label :data:`SOURCE` goes with every row.
"""

from __future__ import annotations

import pandas as pd

SOURCE = "paper (different data version)"
DATASETS = ("mpo", "hpo", "gwas", "cafa2_wppi")

# Table 1, All terms: method → {dataset: (Fmax %, AUC %)}.
_TABLE1: dict[str, dict[str, tuple[float, float]]] = {
    "max-BLAST": {"mpo": (16.65, 50.59), "hpo": (25.77, 51.74), "gwas": (23.15, 49.95), "cafa2_wppi": (20.21, 49.94)},
    "w-BLAST": {"mpo": (22.73, 53.10), "hpo": (31.03, 54.22), "gwas": (31.08, 51.54), "cafa2_wppi": (26.37, 51.24)},
    "kmer2vec+LR": {"mpo": (28.75, 55.45), "hpo": (40.11, 54.47), "gwas": (35.68, 53.53), "cafa2_wppi": (36.07, 53.13)},
    "DeepGOPlus*": {"mpo": (28.51, 52.58), "hpo": (40.18, 51.24), "gwas": (37.24, 53.45), "cafa2_wppi": (37.18, 53.32)},
    "SPROF-GO*": {"mpo": (12.33, 52.06), "hpo": (23.71, 51.63), "gwas": (31.08, 52.03), "cafa2_wppi": (21.30, 49.24)},
    "InterLabelGO*": {"mpo": (29.66, 57.61), "hpo": (40.45, 57.84), "gwas": (37.83, 52.37), "cafa2_wppi": (35.47, 53.31)},
    "DeepPheno": {"mpo": (28.80, 59.89), "hpo": (40.37, 58.17), "gwas": (36.87, 52.12), "cafa2_wppi": (37.55, 55.35)},
    "GenePheno": {"mpo": (31.14, 67.86), "hpo": (43.17, 71.44), "gwas": (40.54, 56.34), "cafa2_wppi": (37.94, 62.53)},
    "GraphPheno": {"cafa2_wppi": (36.02, 58.11)},
    "HPOFiller": {"cafa2_wppi": (23.32, 48.87)},
    "HPODNets": {"cafa2_wppi": (31.21, 49.39)},
    "SSLpheno": {"cafa2_wppi": (31.66, 56.19)},
}

# Table 2, All terms: variant → {dataset: (Fmax %, AUC %)}.
_TABLE2: dict[str, dict[str, tuple[float, float]]] = {
    "w/o GO input": {"hpo": (39.96, 56.60), "mpo": (28.21, 54.19), "gwas": (36.82, 52.59), "cafa2_wppi": (35.65, 53.83)},
    "w/o sequence input": {"hpo": (40.99, 60.23), "mpo": (29.13, 64.72), "gwas": (36.23, 51.10), "cafa2_wppi": (36.39, 59.33)},
    "w/o contrastive loss": {"hpo": (41.83, 65.75), "mpo": (29.99, 64.64), "gwas": (36.05, 52.25), "cafa2_wppi": (37.06, 50.86)},
    "w/o exclusive loss": {"hpo": (43.07, 65.22), "mpo": (29.92, 62.92), "gwas": (39.04, 56.01), "cafa2_wppi": (37.13, 61.04)},
    "w/o bottleneck loss": {"hpo": (42.94, 68.17), "mpo": (30.13, 64.67), "gwas": (39.02, 54.36), "cafa2_wppi": (36.59, 61.39)},
    "complete": {"hpo": (43.17, 71.44), "mpo": (31.14, 67.86), "gwas": (40.54, 56.34), "cafa2_wppi": (37.94, 62.53)},
}

# Per frequency bin (11-30 / 31-100 / 101-300 / >=301): (dataset, method) → [(Fmax %, AUC %)] × 4.
BINS = ("11-30", "31-100", "101-300", ">=301")
_PER_BIN: dict[tuple[str, str], list[tuple[float, float]]] = {
    ("mpo", "GenePheno"): [(13.86, 68.02), (16.12, 69.73), (19.49, 68.09), (36.06, 61.43)],
    ("mpo", "DeepPheno"): [(8.45, 58.09), (13.98, 64.05), (18.03, 61.94), (33.84, 60.59)],
    ("hpo", "GenePheno"): [(22.02, 72.79), (26.34, 73.09), (31.65, 69.03), (51.95, 65.82)],
}

COLUMNS = ["table", "dataset", "method", "bin", "fmax", "auc", "source"]


def _rows(table: str, data: dict[str, dict[str, tuple[float, float]]]) -> list[dict]:
    return [
        {"table": table, "dataset": ds, "method": method, "bin": "All", "fmax": f / 100, "auc": a / 100, "source": SOURCE}
        for method, per_ds in data.items() for ds, (f, a) in per_ds.items()
    ]


def table1() -> pd.DataFrame:
    """Table 1 (methods × datasets, All terms) as tidy rows with Fmax and AUC fractions."""
    return pd.DataFrame(_rows("table1", _TABLE1), columns=COLUMNS)


def table2() -> pd.DataFrame:
    """Table 2 (ablation variants × datasets, All terms); ``method`` holds the paper's variant label."""
    return pd.DataFrame(_rows("table2", _TABLE2), columns=COLUMNS)


def per_bin() -> pd.DataFrame:
    """The per-frequency-bin numbers the paper gives (MPO: GenePheno, DeepPheno; HPO: GenePheno)."""
    rows = [
        {"table": "per_bin", "dataset": ds, "method": method, "bin": b, "fmax": f / 100, "auc": a / 100, "source": SOURCE}
        for (ds, method), values in _PER_BIN.items() for b, (f, a) in zip(BINS, values)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def all_numbers() -> pd.DataFrame:
    """Every published number in one tidy frame (``table`` says where it comes from)."""
    return pd.concat([table1(), table2(), per_bin()], ignore_index=True)


def paper_key(dataset: str) -> str | None:
    """The column of the paper's tables that our dataset ``dataset`` (a row of the dataset table, e.g.
    ``cafa2``) stands for (``cafa2_wppi``); None for a dataset the paper has no column for."""
    from g2p.data import specs

    spec = specs.SPECS.get(specs.base_name(dataset))
    if spec is not None:
        return spec.paper_key
    return dataset if dataset in DATASETS else None


def for_dataset(numbers: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The rows of ``numbers`` (from :func:`all_numbers` or a table) for our dataset ``dataset``."""
    return numbers[numbers["dataset"] == paper_key(dataset)]


def lookup(dataset: str, label: str | None, bin: str = "All") -> tuple[float, float] | None:
    """(Fmax, AUC) the paper reports on our dataset ``dataset`` for a Table 1 method or Table 2 variant
    label, if any."""
    if label is None:
        return None
    numbers = for_dataset(all_numbers(), dataset)
    hit = numbers[(numbers["method"] == label) & (numbers["bin"] == bin)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    return float(row["fmax"]), float(row["auc"])
