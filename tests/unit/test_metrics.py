"""Metrics against hand-computed toy cases and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.metrics import average_precision_score, roc_auc_score

from g2p.genepheno import metrics

# 3 genes × 4 terms. By hand (a term is predicted when score >= t):
#   t in 0.31..0.40: g1 predicts {0,1} (P=1, R=1); g2 predicts {1,2,3} (P=2/3, R=1);
#                    g3 predicts {0,3} (P=1, R=1)  → P = 8/9, R = 1, F = 16/17 ≈ 0.9412
#   t in 0.41..0.45: g2 predicts {1,3} (P=1/2, R=1/2) → P = R = 5/6, F = 0.8333
#   t in 0.46..0.50: g2 predicts {1}   (P=1,   R=1/2) → P = 1, R = 5/6, F = 0.9091
#   t in 0.21..0.30: g3 also predicts 2 (P=2/3)        → P = 7/9, R = 1, F = 0.875
#   lower and higher thresholds are worse, so Fmax = 16/17 at t = 0.31 (the lowest maximiser).
Y_TOY = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]])
S_TOY = np.array([[0.9, 0.6, 0.2, 0.1], [0.1, 0.7, 0.4, 0.45], [0.5, 0.2, 0.3, 0.8]])


def test_fmax_hand_computed():
    f, t = metrics.fmax(Y_TOY, S_TOY)
    assert f == pytest.approx(16 / 17)
    assert t == pytest.approx(0.31)


def test_fmax_ignores_genes_without_true_terms_and_accepts_sparse():
    y = np.vstack([Y_TOY, [0, 0, 0, 0]])
    s = np.vstack([S_TOY, [0.99, 0.99, 0.99, 0.99]])
    f, t = metrics.fmax(sparse.csr_matrix(y), s)
    assert (f, t) == pytest.approx((16 / 17, 0.31))


def test_fmax_precision_only_over_genes_with_a_prediction():
    # g1 = {0} scored 0.9; g2 = {1} scored 0.0 (predicted only at t = 0, with everything else).
    # t = 0:        P = (1/3 + 1/3)/2, R = 1          → F = 0.5
    # t = 0.01..0.9: only g1 predicts: P = 1, R = 1/2 → F = 2/3  (averaging P over ALL genes would
    #                give P = 1/2 and F = 1/2 instead)
    y = np.array([[1, 0, 0], [0, 1, 0]])
    s = np.array([[0.9, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert metrics.fmax(y, s) == pytest.approx((2 / 3, 0.01))


def test_fmax_threshold_boundaries_are_inclusive():
    # 0.29*100 is 28.999…; a floor-based binning would miss t = 0.29 for a score of exactly 0.29.
    y = np.array([[1, 0]])
    s = np.array([[0.29, 0.28]])
    assert metrics.fmax(y, s) == pytest.approx((1.0, 0.29))


def _random_case(seed: int, n: int = 40, m: int = 12):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, m)) < 0.3).astype(int)
    s = np.round(np.clip(0.4 * y + rng.random((n, m)) * 0.8, 0, 1), 1)  # rounded → many ties
    return y, s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_term_auc_and_ap_match_sklearn_with_ties(seed):
    y, s = _random_case(seed)
    y[:, 0] = 0  # single-class term: skipped
    auc = metrics.per_term_auc(y, s)
    assert np.isnan(auc[0])
    expected = [roc_auc_score(y[:, j], s[:, j]) for j in range(1, y.shape[1])]
    np.testing.assert_allclose(auc[1:], expected)
    assert metrics.macro_auc(y, s) == pytest.approx(np.mean(expected))
    expected_ap = [average_precision_score(y[:, j], s[:, j]) for j in range(1, y.shape[1])]
    assert metrics.aupr(y, s) == pytest.approx(np.mean(expected_ap))
    assert metrics.aupr_micro(y, s) == pytest.approx(average_precision_score(y.ravel(), s.ravel()))


def _ap_counting_each_gene_once(y: np.ndarray, s: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-term AP of a bootstrap replicate, pair by pair: the precision at positive gene i (weight w_i
    > 0) is (1 + the weight of the OTHER positives scored >= s_i) / (1 + the weight of the OTHER genes
    scored >= s_i); AP is its w-weighted mean over the positives. NaN for a one-class term."""
    ap = np.full(y.shape[1], np.nan)
    others = ~np.eye(len(y), dtype=bool)
    for j in range(y.shape[1]):
        at_or_above = (s[None, :, j] >= s[:, None, j]) & others  # [i, g]: gene g ranks at or above i
        pos_w, all_w = weights * y[:, j], weights
        drawn = (pos_w > 0)
        if not drawn.any() or not ((all_w - pos_w) > 0).any():
            continue
        precision = (1 + at_or_above @ pos_w) / (1 + at_or_above @ all_w)
        ap[j] = np.sum(pos_w[drawn] * precision[drawn]) / pos_w.sum()
    return ap


def test_bootstrap_weights_count_copies_except_in_their_own_precision():
    y, s = _random_case(5)
    weights = np.array([0, 2, 1, 3] * 10, dtype=float)
    rows = np.repeat(np.arange(len(y)), weights.astype(int))
    auc_w, ap_w = metrics._per_term_auc_ap(metrics._rank_table(y.astype(bool), s), weights)
    auc_d, ap_d = metrics._per_term_auc_ap(metrics._rank_table(y[rows].astype(bool), s[rows]))
    # AUC and Fmax of a replicate are those of the duplicated rows ...
    np.testing.assert_allclose(auc_w, auc_d)
    f_w = metrics._fmax_from_table(metrics._fmax_table(y.astype(bool), s), weights)
    assert f_w == pytest.approx(metrics.fmax(y[rows], s[rows]))
    # ... AP is not: the duplicated rows' AP credits each copy with its twins (tied positives) and
    # reads higher; the replicate's AP counts a gene once in its own precision.
    np.testing.assert_allclose(ap_w, _ap_counting_each_gene_once(y, s, weights))
    assert (ap_d > ap_w + 1e-9).mean() > 0.5
    # Unit weights: the plain AP (sklearn's), unchanged.
    ones = np.ones(len(y))
    np.testing.assert_allclose(metrics._per_term_auc_ap(metrics._rank_table(y.astype(bool), s), ones)[1],
                               [average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1])])


def test_evaluate_bins_and_intervals():
    rng = np.random.default_rng(0)
    n, m = 120, 30
    y = (rng.random((n, m)) < 0.25).astype(int)
    s = np.clip(0.3 * y + rng.random((n, m)) * 0.7, 0, 1)
    bins = np.array(["11-30"] * 10 + [">=301"] * 12 + ["31-100"] * 8)
    table = metrics.evaluate(y, s, bins, n_boot=50, seed=1)
    assert list(table["bin"]) == ["All", "11-30", "31-100", ">=301"]
    assert set(metrics.RESULT_COLUMNS) <= set(table.columns)
    for name in ("fmax", "auc", "aupr"):
        assert (table[f"{name}_lo"] <= table[name]).all()
        assert (table[name] <= table[f"{name}_hi"]).all()
        assert (table[f"{name}_lo"] < table[f"{name}_hi"]).all()
    # The "All" row equals the plain functions; a bin row equals them on its columns.
    all_row = table.set_index("bin").loc["All"]
    assert all_row["fmax"] == pytest.approx(metrics.fmax(y, s)[0])
    assert all_row["auc"] == pytest.approx(metrics.macro_auc(y, s))
    mk = bins == "31-100"
    assert table.set_index("bin").loc["31-100", "auc"] == pytest.approx(metrics.macro_auc(y[:, mk], s[:, mk]))
    # Signal in the scores: AUC well above chance.
    assert all_row["auc"] > 0.7
    # Same seed → same intervals.
    again = metrics.evaluate(y, s, bins, n_boot=50, seed=1)
    np.testing.assert_allclose(again["fmax_lo"], table["fmax_lo"])


def test_exclusive_violation_rate():
    s = np.array([[0.9, 0.8, 0.1], [0.9, 0.1, 0.7], [0.2, 0.6, 0.6]])
    pairs = np.array([[0, 1], [1, 2]])
    # at t=0.5: gene1 violates (0,1); gene2 none; gene3 violates (1,2) → 2 of 6
    assert metrics.exclusive_violation_rate(s, pairs, 0.5) == pytest.approx(2 / 6)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        metrics.fmax(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="0 and 1"):
        metrics.fmax(np.full((2, 2), 2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bins"):
        metrics.evaluate(np.zeros((2, 3)), np.zeros((2, 3)), ["11-30"], n_boot=0)


def test_propagate_max_and_the_propagated_columns():
    # term 0 is the parent of 1, term 1 the parent of 2 (so 0 is above 2 too); term 3 stands alone
    descendants = sparse.csr_matrix(np.array([[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], bool))
    s = np.array([[0.1, 0.2, 0.9, 0.3], [0.5, 0.4, 0.1, 0.0]])
    out = metrics.propagate_max(s, descendants)
    np.testing.assert_allclose(out, [[0.9, 0.9, 0.9, 0.3], [0.5, 0.4, 0.1, 0.0]])
    np.testing.assert_allclose(s[0], [0.1, 0.2, 0.9, 0.3])  # the input is left alone
    y = np.array([[1, 1, 1, 0], [1, 0, 0, 1]])
    table = metrics.evaluate(y, s, ["11-30"] * 4, n_boot=0, descendants=descendants).set_index("bin")
    assert table.loc["All", "fmax_propagated"] == pytest.approx(metrics.fmax(y, out)[0])
    assert table.loc["All", "fmax_propagated"] != pytest.approx(table.loc["All", "fmax"])
    assert "fmax_propagated" not in metrics.evaluate(y, s, ["11-30"] * 4, n_boot=0).columns
    with pytest.raises(ValueError, match="does not match"):
        metrics.propagate_max(s, sparse.csr_matrix((3, 3)))
