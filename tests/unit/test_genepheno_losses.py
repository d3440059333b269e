"""GenePheno losses against hand computations, the ZLPR limit, edge cases and memory at scale."""

import math

import pytest
import torch

from g2p.genepheno import losses


def _pairwise_reference(s: list[float], y: list[int], tau: float) -> tuple[float, float]:
    """L+ and L− written exactly as the paper's double sums."""
    pos = [v for v, t in zip(s, y) if t]
    neg = [v for v, t in zip(s, y) if not t]
    l_pos = sum(math.log(1 + sum(math.exp((sj - si) / tau) for sj in neg)) for si in pos)
    l_neg = sum(math.log(1 + sum(math.exp((sj - si) / tau) for si in pos)) for sj in neg)
    return l_pos, l_neg


@pytest.mark.parametrize("tau", [1.0, 0.5, 2.0])
def test_contrastive_terms_match_the_double_sums(tau):
    s = [[2.0, -1.0, 0.5, 0.0, -3.0], [0.3, 0.2, -0.4, 1.5, 0.0]]
    y = [[1, 0, 1, 0, 0], [0, 1, 0, 1, 1]]
    l_pos, l_neg = losses.contrastive_multilabel_terms(torch.tensor(s), torch.tensor(y), tau)
    for row in range(2):
        ref_pos, ref_neg = _pairwise_reference(s[row], y[row], tau)
        assert l_pos[row].item() == pytest.approx(ref_pos, rel=1e-5)
        assert l_neg[row].item() == pytest.approx(ref_neg, rel=1e-5)
    total = losses.contrastive_multilabel_loss(torch.tensor(s), torch.tensor(y), tau)
    expected = sum(sum(_pairwise_reference(s[r], y[r], tau)) for r in range(2)) / 2
    assert total.item() == pytest.approx(expected, rel=1e-5)


def test_tiny_case_by_hand():
    # one positive (s=1), one negative (s=0), tau=1: L+ = log(1+e^{-1}), L− = log(1+e^{-1})
    l_pos, l_neg = losses.contrastive_multilabel_terms(torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]]))
    assert l_pos.item() == pytest.approx(math.log(1 + math.exp(-1)))
    assert l_neg.item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_reduces_to_zlpr_with_a_zero_anchor():
    """τ = 1 and the anchor logit replaced by 0: L+ of a zero-logit positive over the negatives is ZLPR's
    log(1 + Σ_neg e^s), and L− of a zero-logit negative over the positives is log(1 + Σ_pos e^{−s})."""
    torch.manual_seed(0)
    s = torch.randn(4, 7) * 2
    y = (torch.rand(4, 7) < 0.4).float()
    y[:, 0], y[:, 1] = 1, 0  # every gene has both classes
    neg_part, pos_part = [], []
    for i in range(4):
        negatives, positives = s[i, y[i] == 0], s[i, y[i] == 1]
        # anchor positive with logit 0 against the negatives → L+ of that anchor
        logits = torch.cat([negatives, torch.zeros(1)]).unsqueeze(0)
        targets = torch.cat([torch.zeros(len(negatives)), torch.ones(1)]).unsqueeze(0)
        neg_part.append(losses.contrastive_multilabel_terms(logits, targets)[0])
        # anchor negative with logit 0 against the positives → L− of that anchor
        logits = torch.cat([positives, torch.zeros(1)]).unsqueeze(0)
        targets = torch.cat([torch.ones(len(positives)), torch.zeros(1)]).unsqueeze(0)
        pos_part.append(losses.contrastive_multilabel_terms(logits, targets)[1])
    neg_part, pos_part = torch.cat(neg_part), torch.cat(pos_part)
    assert (neg_part + pos_part).mean().item() == pytest.approx(losses.zlpr_loss(s, y).item(), rel=1e-5)
    by_hand = torch.log1p((s.exp() * (1 - y)).sum(1)) + torch.log1p(((-s).exp() * y).sum(1))
    assert losses.zlpr_loss(s, y).item() == pytest.approx(by_hand.mean().item(), rel=1e-5)


def test_gene_without_positives_or_negatives_contributes_zero_and_no_nan():
    s = torch.tensor([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0], [1.0, -1.0, 0.0]], requires_grad=True)
    y = torch.tensor([[1, 1, 1], [0, 0, 0], [1, 0, 0]])
    l_pos, l_neg = losses.contrastive_multilabel_terms(s, y)
    assert l_pos[:2].tolist() == [0.0, 0.0] and l_neg[:2].tolist() == [0.0, 0.0]
    losses.contrastive_multilabel_loss(s, y).backward()
    assert torch.isfinite(s.grad).all()
    assert s.grad[:2].abs().sum() == 0 and s.grad[2].abs().sum() > 0


def test_large_logits_are_stable():
    s = torch.tensor([[500.0, -500.0, 80.0]], requires_grad=True)
    y = torch.tensor([[0, 1, 1]])
    loss = losses.contrastive_multilabel_loss(s, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    # L+ = log(1+e^{1000}) + log(1+e^{420}) ≈ 1420, L− = log(1+e^{1000}+e^{420}) ≈ 1000 (exact in float64)
    assert loss.item() == pytest.approx(2420.0, rel=1e-6)


def test_memory_is_linear_in_terms_for_b64_t4000():
    """B=64, T=4000, ~5% positives: a B×P×N pair tensor would hold ~48M numbers; every tensor autograd
    keeps for the backward pass must stay O(B·T)."""
    torch.manual_seed(0)
    s = torch.randn(64, 4000, requires_grad=True)
    y = (torch.rand(64, 4000) < 0.05).float()
    saved: list[int] = []

    def pack(tensor):
        saved.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = losses.contrastive_multilabel_loss(s, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    assert saved and max(saved) <= 64 * 4000


def test_exclusive_loss_by_hand_and_empty_pairs():
    s = torch.tensor([[1.0, 2.0, -1.0], [0.0, 0.0, 3.0]])
    pairs = torch.tensor([[0, 1], [1, 2]])
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    expected = ((sp(3.0) + sp(1.0)) + (sp(0.0) + sp(3.0))) / 2
    assert losses.exclusive_loss(s, pairs).item() == pytest.approx(expected, rel=1e-6)
    assert losses.exclusive_loss(s, torch.zeros((0, 2), dtype=torch.long)).item() == 0.0


def test_total_loss_combines_parts_and_bce_option():
    torch.manual_seed(1)
    s, c = torch.randn(3, 5), torch.randn(3, 4)
    y, yc = (torch.rand(3, 5) < 0.5).float(), (torch.rand(3, 4) < 0.5).float()
    pairs = torch.tensor([[0, 1]])
    parts = losses.genepheno_loss(s, y, c, yc, pairs, tau=0.7, lambda_ex=0.3, lambda_go=0.2)
    assert parts.mlc.item() == pytest.approx(losses.contrastive_multilabel_loss(s, y, 0.7).item())
    assert parts.go.item() == pytest.approx(losses.contrastive_multilabel_loss(c, yc, 0.7).item())
    assert parts.total.item() == pytest.approx((parts.mlc + 0.3 * parts.ex + 0.2 * parts.go).item())
    bce = losses.genepheno_loss(s, y, c, yc, pairs, loss="bce", lambda_ex=0.0, lambda_go=0.0)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(s, y, reduction="sum") / 3
    assert bce.total.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="unknown loss"):
        losses.genepheno_loss(s, y, c, yc, pairs, loss="hinge")
