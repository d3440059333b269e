"""Evaluation metrics for multi-label phenotype prediction (CAFA conventions, as in the paper).

* **Fmax** (gene-centric, CAFA): for each threshold t in 0.00, 0.01, …, 1.00 a term is predicted
  when ``score >= t``. precision(t) is averaged over the genes with at least one predicted term at t,
  recall(t) over the genes with at least one true term; F(t) = 2PR/(P+R); Fmax = max_t F(t).
  Genes without any true term (in the evaluated term set) are left out, as in the CAFA/DeepGOPlus
  evaluation code: they are not "benchmark" genes for that set.
* **macro ROC-AUC** (phenotype-centric): ROC-AUC per term, averaged over terms; terms with only one
  class among the evaluated genes are skipped.
* **AUPR**: ``aupr`` is the *macro* average precision (per term, averaged like the AUC);
  ``aupr_micro`` pools all gene × term pairs. Tables report the macro value.

Everything is vectorised over genes × terms. Per-term AUC and average precision are computed from
one sort per term and cumulative sums of gene *weights*; a bootstrap replicate is then just another
weight vector (how often each gene was drawn), so the 95% intervals cost no re-sorting. With unit
weights the numbers equal ``sklearn.metrics.roc_auc_score`` / ``average_precision_score`` per term
(the tests check this), including their handling of tied scores.

**Bootstrap intervals** (:func:`evaluate`) resample genes, for every metric. Average precision needs one
care that Fmax and AUC do not: a gene drawn k times is k *tied* copies of one positive, and sklearn's AP
credits each copy with the precision at the end of its tie group, which counts the other k-1 copies as
positives ranked above it. For a term with a few test positives that self-credit is most of the
replicate's AP (one positive below 9 negatives: AP 0.10; the same gene drawn twice: 0.18), so replicates
sat above the estimate and the percentile interval excluded it. Here the precision at a positive counts
its own gene once however often it was drawn (other genes with their weights); with unit weights nothing
changes. What bias remains is that of any nonlinear statistic of a few positives (1/(1 + negatives
above) is convex; a replicate drops the terms none of whose positives was drawn, the rarest and lowest),
so the interval is the bootstrap's percentile interval moved to sit on the estimate: its lower and upper
distances are those of the replicates' 2.5 % and 97.5 % quantiles from their median. It always contains
the estimate, keeps the replicates' skew, and covers what the method would score on another test set
of the same size: on a fixture with rare terms (tests/unit/test_bootstrap_intervals.py) 0.95 for Fmax
and AUPR and 0.87 for AUC of a nominal 0.95, where the old AUPR interval covered 0.37. BCa
(``scipy.stats.bootstrap``) was not used: its bias correction moves the interval the other way, to the
population value that the estimate itself misses by that bias (AUPR coverage 0.70 in a trial on that
fixture), and its jackknife costs one evaluation per test gene (~800 here, 8x the 100 replicates).

**Conventions.** The metrics score the predictions as given (no propagation). :func:`propagate_max`
makes them hierarchy-consistent as CAFA's evaluator does by default (a term scores the max over itself
and its descendants); :func:`evaluate` reports both when it is given the label columns' hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import sparse
from sklearn.metrics import average_precision_score

THRESHOLDS: np.ndarray = np.round(np.arange(101) * 0.01, 2)
BIN_ORDER: tuple[str, ...] = ("11-30", "31-100", "101-300", ">=301")
ALL = "All"
RESULT_COLUMNS = [
    "bin", "fmax", "fmax_lo", "fmax_hi", "auc", "auc_lo", "auc_hi", "aupr", "aupr_lo", "aupr_hi",
]
#: What :func:`evaluate` adds when given the label hierarchy: CAFA's max-propagated convention.
PROPAGATED_COLUMNS = ["fmax_propagated", "auc_propagated", "aupr_propagated"]


def _dense(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to a bool label matrix and a float64 score matrix of the same shape."""
    if sparse.issparse(y_true):
        y_true = y_true.toarray()
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    if y.ndim != 2 or s.ndim != 2:
        raise ValueError(f"y_true and y_score must be 2-D (genes × terms), got {y.shape} and {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"y_true {y.shape} and y_score {s.shape} differ in shape")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0 and 1")
    if np.isnan(s).any():
        raise ValueError("y_score contains NaN")
    return y.astype(bool), s


# --------------------------------------------------------------------------------------- Fmax
@dataclass(frozen=True)
class _FmaxTable:
    """Per-gene counts at every threshold: true positives and predicted terms, plus true terms; and
    what ``_fmax_from_table`` derives from them before any gene weight enters (per-gene precision,
    recall and "predicts something"), so that a bootstrap replicate only reweights and sums."""

    tp: np.ndarray  # (genes, thresholds)
    n_pred: np.ndarray  # (genes, thresholds)
    n_true: np.ndarray  # (genes,)
    has_pred: np.ndarray  # (genes, thresholds) bool: n_pred > 0
    precision_g: np.ndarray  # (genes, thresholds) tp / n_pred (0 where nothing is predicted)
    recall_g: np.ndarray  # (genes, thresholds) tp / n_true


def _fmax_counts(tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray) -> _FmaxTable:
    has_pred = n_pred > 0
    precision_g = np.divide(tp, n_pred, out=np.zeros(tp.shape), where=has_pred)
    recall_g = tp / np.maximum(n_true, 1)[:, None]
    return _FmaxTable(tp, n_pred, n_true, has_pred, precision_g, recall_g)


def _threshold_slots(s: np.ndarray) -> np.ndarray:
    """1 + the index of the highest threshold each score reaches (0: below 0.00), as int8. searchsorted
    compares the same floats as ``s >= t`` would, so 0.29 is predicted at t = 0.29 (floor(0.29*100)
    is 28). Computed once per score matrix and sliced per frequency bin."""
    return np.searchsorted(THRESHOLDS, s, side="right").astype(np.int8)  # 0 … 101


def _fmax_table(y: np.ndarray, s: np.ndarray | None = None, slot: np.ndarray | None = None) -> _FmaxTable:
    n_genes, n_terms = y.shape
    n_t = len(THRESHOLDS)
    slot = (_threshold_slots(s) if slot is None else slot).astype(np.int64)
    base = np.arange(n_genes)[:, None] * (n_t + 1)
    hist_all = np.bincount((base + slot).ravel(), minlength=n_genes * (n_t + 1))
    hist_pos = np.bincount((base + slot)[y], minlength=n_genes * (n_t + 1))
    hist_all = hist_all.reshape(n_genes, n_t + 1)
    hist_pos = hist_pos.reshape(n_genes, n_t + 1)
    # Terms with level >= k ↔ slots >= k+1: reverse cumulative sum, drop slot 0 (below every t).
    n_pred = np.cumsum(hist_all[:, ::-1], axis=1)[:, ::-1][:, 1:]
    tp = np.cumsum(hist_pos[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return _fmax_counts(tp, n_pred, y.sum(axis=1))


def _fmax_from_table(table: _FmaxTable, weights: np.ndarray | None = None) -> tuple[float, float]:
    w = np.ones(len(table.n_true)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.where(table.n_true > 0, w, 0.0)  # only genes with a true term are evaluated
    if w.sum() == 0:
        return float("nan"), float("nan")
    w_pred = (w[:, None] * table.has_pred).sum(axis=0)
    precision = np.divide((w[:, None] * table.precision_g).sum(axis=0), w_pred,
                          out=np.zeros(len(THRESHOLDS)), where=w_pred > 0)
    recall = (w[:, None] * table.recall_g).sum(axis=0) / w.sum()
    denom = precision + recall
    f = np.divide(2 * precision * recall, denom, out=np.zeros(len(THRESHOLDS)), where=denom > 0)
    best = int(np.argmax(f))
    return float(f[best]), float(THRESHOLDS[best])


def fmax(y_true, y_score) -> tuple[float, float]:
    """CAFA gene-centric Fmax and the threshold that attains it (the lowest one on ties)."""
    y, s = _dense(y_true, y_score)
    return _fmax_from_table(_fmax_table(y, s))


# ----------------------------------------------------------------------------- per-term ranks
@dataclass(frozen=True)
class _RankTable:
    """Each term's genes sorted by descending score (term-major: one contiguous row per term, so every
    cumulative sum runs along memory), and for every positive (term, gene) pair the flat positions in
    that terms × genes array that bound its tie group."""

    order: np.ndarray  # (terms, genes) gene index at each sorted position
    y_sorted: np.ndarray  # (terms, genes) bool
    pos_term: np.ndarray  # (P,) term of each positive pair
    pos_flat: np.ndarray  # (P,) its own flat sorted position
    pos_last: np.ndarray  # (P,) flat position of the last member of its tie group
    pos_before: np.ndarray  # (P,) flat position just before its tie group (-1: none)
    # How many positives (in pos_flat order) lie at or before pos_last / pos_before, and where each
    # positive's term starts in that order: fixed by the sort, so no replicate searches for them.
    upto_last: np.ndarray  # (P,)
    upto_before: np.ndarray  # (P,)
    term_start: np.ndarray  # (P,)


def _rank_table(y: np.ndarray, s: np.ndarray) -> _RankTable:
    n, m = s.shape
    st, yt = np.ascontiguousarray(s.T), np.ascontiguousarray(y.T)
    order = np.argsort(-st, axis=1, kind="stable")
    s_sorted = np.take_along_axis(st, order, axis=1)
    y_sorted = np.take_along_axis(yt, order, axis=1)
    pos = np.arange(n)[None, :]
    new_group = np.ones_like(s_sorted, dtype=bool)
    new_group[:, 1:] = s_sorted[:, 1:] != s_sorted[:, :-1]
    end_group = np.ones_like(s_sorted, dtype=bool)
    end_group[:, :-1] = new_group[:, 1:]
    group_first = np.maximum.accumulate(np.where(new_group, pos, 0), axis=1)
    group_last = np.minimum.accumulate(np.where(end_group, pos, n)[:, ::-1], axis=1)[:, ::-1]
    terms, ranks = np.nonzero(y_sorted)
    first = group_first[terms, ranks]
    pos_flat = terms * n + ranks
    pos_last = terms * n + group_last[terms, ranks]
    pos_before = np.where(first > 0, terms * n + first - 1, -1)
    return _RankTable(
        order=order,
        y_sorted=y_sorted,
        pos_term=terms,
        pos_flat=pos_flat,
        pos_last=pos_last,
        pos_before=pos_before,
        upto_last=np.searchsorted(pos_flat, pos_last, side="right"),
        upto_before=np.searchsorted(pos_flat, np.maximum(pos_before, 0), side="right"),
        term_start=np.searchsorted(terms, terms, side="left"),
    )


def _per_term_auc_ap(table: _RankTable, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-term ROC-AUC and average precision under gene weights (NaN where a class is absent).

    For a positive gene i of a term (weight w_i): AUC counts the negatives scored below it plus half
    the tied ones; AP takes the precision at the end of its tie group (sklearn's step-wise AP), with
    gene i itself counted once whatever its weight (a bootstrap replicate's copies of one gene do not
    raise each other's precision).

    Only the positives' positions are needed. The weight above a position comes from one running sum
    of all genes' weights per term (the one pass over the whole terms × genes table), and the positives'
    weight above it from a running sum over the positives alone (a few percent of the table). Bootstrap
    weights are whole numbers, so the running sum is done in int32 (half the memory traffic of
    float64) and every sum is exact: the result is bit-for-bit the one of the dense float computation.
    """
    m, n = table.order.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    whole = bool(np.all(w == np.floor(w))) and w.min() >= 0 and w.sum() < 2**31
    w_sorted = (w.astype(np.int32) if whole else w)[table.order]
    if whole:  # torch's row-wise integer cumsum is 2-3x numpy's on a terms × genes table (exact either way)
        cum_all = torch.cumsum(torch.from_numpy(w_sorted), dim=1, dtype=torch.int32).numpy().ravel()
    else:
        cum_all = np.cumsum(w_sorted, axis=1).ravel()
    total_all = cum_all[n - 1::n].astype(np.float64)
    # positives are in (term, rank) order: a running sum of their weights, restarted per term
    wi = w_sorted.ravel()[table.pos_flat].astype(np.float64)
    cum_pos = np.concatenate([[0.0], np.cumsum(wi)])
    start = table.term_start

    def positives_at_or_above(upto: np.ndarray) -> np.ndarray:
        return cum_pos[np.maximum(upto, start)] - cum_pos[start]

    total_pos = np.bincount(table.pos_term, wi, minlength=m)
    total_neg = total_all - total_pos
    pos_at_or_above = positives_at_or_above(table.upto_last)
    neg_at_or_above = cum_all[table.pos_last] - pos_at_or_above
    # A gene drawn k times is k tied copies; its precision counts the gene once (see the module doc):
    # the k-1 extra copies leave the positives and the genes at or above it. Unit weights: no change.
    extra_copies = np.maximum(wi - 1.0, 0.0)
    before = np.maximum(table.pos_before, 0)
    neg_above = np.where(table.pos_before >= 0, cum_all[before] - positives_at_or_above(table.upto_before), 0.0)
    neg_below = total_neg[table.pos_term] - neg_at_or_above
    auc_num = np.bincount(table.pos_term, wi * (neg_below + 0.5 * (neg_at_or_above - neg_above)), minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num((pos_at_or_above - extra_copies)
                                  / (pos_at_or_above - extra_copies + neg_at_or_above))
        ap_num = np.bincount(table.pos_term, wi * precision, minlength=m)
        auc = auc_num / (total_pos * total_neg)
        ap = ap_num / total_pos
    valid = (total_pos > 0) & (total_neg > 0)
    return np.where(valid, auc, np.nan), np.where(valid, ap, np.nan)


def per_term_auc(y_true, y_score) -> np.ndarray:
    """ROC-AUC of each term (NaN for terms with one class), equal to ``roc_auc_score`` per column."""
    y, s = _dense(y_true, y_score)
    return _per_term_auc_ap(_rank_table(y, s))[0]


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def macro_auc(y_true, y_score) -> float:
    """Macro ROC-AUC over terms that have both classes; NaN if no term has."""
    return _nanmean(per_term_auc(y_true, y_score))


def aupr(y_true, y_score) -> float:
    """Macro AUPR: per-term average precision (sklearn's step-wise AP), averaged over terms with
    both classes. This is the value reported in the tables; see :func:`aupr_micro` for the pooled one."""
    y, s = _dense(y_true, y_score)
    return _nanmean(_per_term_auc_ap(_rank_table(y, s))[1])


def aupr_micro(y_true, y_score) -> float:
    """Micro AUPR: average precision over all gene × term pairs pooled."""
    y, s = _dense(y_true, y_score)
    if not y.any() or y.all():
        return float("nan")
    return float(average_precision_score(y.ravel(), s.ravel()))


# ------------------------------------------------------------------------- exclusive violations
def exclusive_violation_rate(y_score, pairs: np.ndarray, threshold: float) -> float:
    """Fraction of (gene, exclusive pair) combinations in which BOTH terms score >= ``threshold``.

    ``pairs`` is an (E, 2) array of column indices (``CuratedDataset.exclusive_index()``).
    """
    s = np.asarray(y_score, dtype=np.float64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0 or s.shape[0] == 0:
        return float("nan")
    if pairs.max() >= s.shape[1] or pairs.min() < 0:
        raise ValueError(f"exclusive pair index out of range for {s.shape[1]} terms")
    predicted = s >= threshold
    both = predicted[:, pairs[:, 0]] & predicted[:, pairs[:, 1]]
    return float(both.mean())


# ------------------------------------------------------------------------ binned + bootstrap
def bin_labels(bins: Sequence[str] | np.ndarray | pd.Series) -> list[str]:
    """``All`` followed by the frequency bins present, in the paper's order (others appended)."""
    present = list(dict.fromkeys(str(b) for b in np.asarray(bins)))
    ordered = [b for b in BIN_ORDER if b in present] + sorted(b for b in present if b not in BIN_ORDER)
    return [ALL, *ordered]


class _BinnedMetrics:
    """Fmax, macro AUC and macro AUPR of one score matrix for All terms and each bin, under any gene
    weights: the sorts and threshold tables are built once, so a bootstrap replicate only reweights."""

    def __init__(self, y: np.ndarray, s: np.ndarray, bins: np.ndarray) -> None:
        self.labels = bin_labels(bins)
        self.masks = {b: (np.ones(len(bins), bool) if b == ALL else bins == b) for b in self.labels}
        slots = _threshold_slots(s)
        self.fmax_tables = {b: _fmax_table(y[:, mk], slot=slots[:, mk]) for b, mk in self.masks.items()}
        self.ranks = _rank_table(y, s)

    def __call__(self, weights: np.ndarray | None = None) -> dict[str, tuple[float, float, float, float]]:
        """bin → (Fmax, its threshold, macro AUC, macro AUPR)."""
        auc_t, ap_t = _per_term_auc_ap(self.ranks, weights)
        out = {}
        for b, mk in self.masks.items():
            f, t = _fmax_from_table(self.fmax_tables[b], weights)
            out[b] = (f, t, _nanmean(auc_t[mk]), _nanmean(ap_t[mk]))
        return out


def _checked_bins(bins, n_terms: int) -> np.ndarray:
    bins = np.asarray([str(b) for b in np.asarray(bins)])
    if len(bins) != n_terms:
        raise ValueError(f"bins has {len(bins)} entries but there are {n_terms} terms")
    return bins


def bootstrap(y_true, y_score, bins: Sequence[str] | np.ndarray | pd.Series, n_boot: int = 100,
              seed: int = 0) -> dict[str, np.ndarray]:
    """Bootstrap replicates over genes: bin → an (``n_boot``, 3) array of (Fmax, macro AUC, macro AUPR).

    Each replicate draws the test genes with replacement (seeded; the same genes for every bin); a
    replicate's AP counts each drawn gene once in its own precision (module doc). NaN where a bin has
    no evaluable gene or term in that replicate."""
    y, s = _dense(y_true, y_score)
    return _replicates(_BinnedMetrics(y, s, _checked_bins(bins, y.shape[1])), y.shape[0], n_boot, seed)


def _replicates(binned: _BinnedMetrics, n_genes: int, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    boot: dict[str, list] = {b: [] for b in binned.labels}
    for _ in range(int(n_boot)):
        draw = rng.integers(0, n_genes, size=n_genes)
        weights = np.bincount(draw, minlength=n_genes).astype(np.float64)
        for b, (f, _t, a, p) in binned(weights).items():
            boot[b].append((f, a, p))
    return {b: np.asarray(reps, dtype=np.float64).reshape(-1, 3) for b, reps in boot.items()}


def evaluate(
    y_true,
    y_score,
    bins: Sequence[str] | np.ndarray | pd.Series,
    n_boot: int = 100,
    seed: int = 0,
    ci: float = 0.95,
    descendants: sparse.csr_matrix | None = None,
) -> pd.DataFrame:
    """Fmax, macro AUC and macro AUPR for All terms and each frequency bin, with bootstrap intervals.

    The intervals (``ci``) come from :func:`bootstrap` (``n_boot`` replicates, seeded): the percentile
    interval moved to sit on the estimate (module doc), so it always contains it. With ``n_boot=0`` (or
    no evaluable replicate) the bounds are NaN. Extra columns: ``threshold`` (the Fmax threshold),
    ``n_genes`` (genes with a true term in the bin) and ``n_terms``. Given ``descendants`` (the label
    columns' hierarchy, :func:`propagate_max`), also ``fmax_propagated``, ``auc_propagated`` and
    ``aupr_propagated``: the point values of the same scores max-propagated as CAFA evaluates them
    (no intervals); without it these columns are absent.
    """
    y, s = _dense(y_true, y_score)
    bins = _checked_bins(bins, y.shape[1])
    binned = _BinnedMetrics(y, s, bins)
    point = binned()
    boot = _replicates(binned, y.shape[0], n_boot, seed)
    propagated = None
    if descendants is not None:
        consistent = propagate_max(s, descendants)
        # Already hierarchy-consistent scores (label frequencies, neighbour votes) score the same.
        propagated = point if np.array_equal(consistent, s) else _BinnedMetrics(y, consistent, bins)()
    quantiles = (100 * (1 - ci) / 2, 50.0, 100 * (1 + ci) / 2)

    rows = []
    for b in binned.labels:
        f, t, a, p = point[b]
        estimate = (f, a, p)
        bounds = []
        for k in range(3):
            col = boot[b][:, k][~np.isnan(boot[b][:, k])]
            if col.size:  # the percentile interval moved to sit on the estimate (module doc)
                lo, mid, hi = np.percentile(col, quantiles)
                # clipped: every metric lies in [0, 1] (a moved interval near 1 could pass it)
                bounds.append((max(estimate[k] - (mid - lo), 0.0), min(estimate[k] + (hi - mid), 1.0)))
            else:
                bounds.append((np.nan, np.nan))
        mk = binned.masks[b]
        row = {
            "bin": b,
            "fmax": f, "fmax_lo": bounds[0][0], "fmax_hi": bounds[0][1],
            "auc": a, "auc_lo": bounds[1][0], "auc_hi": bounds[1][1],
            "aupr": p, "aupr_lo": bounds[2][0], "aupr_hi": bounds[2][1],
            "threshold": t,
            "n_genes": int((y[:, mk].sum(axis=1) > 0).sum()),
            "n_terms": int(mk.sum()),
        }
        if propagated is not None:
            pf, _pt, pa, pp = propagated[b]
            row.update(fmax_propagated=pf, auc_propagated=pa, aupr_propagated=pp)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ hierarchy-consistent scores
def propagate_max(y_score, descendants: sparse.spmatrix) -> np.ndarray:
    """Scores made hierarchy-consistent: each term's score becomes the max over itself and its
    descendants (CAFA's default ``max`` propagation), so that no term scores below a more specific one.

    ``descendants`` is the (terms × terms) matrix whose row j marks the descendants of label column j
    among the label columns (transitively, across terms that are not columns), e.g.
    :func:`g2p.genepheno.hierarchy.label_descendants`. Returns a new float64 array.
    """
    s = np.asarray(y_score, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"y_score must be 2-D (genes × terms), got {s.shape}")
    d = sparse.csr_matrix(descendants)
    if d.shape != (s.shape[1], s.shape[1]):
        raise ValueError(f"descendants {d.shape} does not match {s.shape[1]} terms")
    out = s.copy()
    # Every descendant (not only the children) is listed, so each term is one max over its own
    # columns of the *original* scores, in any order.
    for j in np.flatnonzero(np.diff(d.indptr)):
        below = d.indices[d.indptr[j]:d.indptr[j + 1]]
        out[:, j] = np.maximum(s[:, j], s[:, below].max(axis=1))
    return out
