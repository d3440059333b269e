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
    parts = losses.genepheno_loss(s, y, c, yc, pairs, loss="contrastive", reduction="sum", tau=0.7,
                                  lambda_ex=0.3, lambda_go=0.2)
    assert parts.mlc.item() == pytest.approx(losses.contrastive_multilabel_loss(s, y, 0.7).item())
    assert parts.go.item() == pytest.approx(losses.contrastive_multilabel_loss(c, yc, 0.7).item())
    assert parts.total.item() == pytest.approx((parts.mlc + 0.3 * parts.ex + 0.2 * parts.go).item())
    bce = losses.genepheno_loss(s, y, c, yc, pairs, loss="bce", reduction="sum", lambda_ex=0.0, lambda_go=0.0)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(s, y, reduction="sum") / 3
    assert bce.total.item() == pytest.approx(expected.item(), rel=1e-6)
    mean_bce = losses.genepheno_loss(s, y, c, yc, pairs, loss="bce", lambda_ex=0.0, lambda_go=0.0)
    assert mean_bce.total.item() == pytest.approx(expected.item() / 5, rel=1e-6)
    with pytest.raises(ValueError, match="unknown loss"):
        losses.genepheno_loss(s, y, c, yc, pairs, loss="hinge")


# --------------------------------------------------------------------------- the anchored variant
def _anchored_reference(s: list[float], y: list[int], tau: float) -> tuple[float, float]:
    """L+ and L− of the anchored form written as double sums with an explicit zero-logit anchor."""
    pos = [v for v, t in zip(s, y) if t]
    neg = [v for v, t in zip(s, y) if not t]
    l_pos = sum(math.log(1 + math.exp(-si / tau) + sum(math.exp((sj - si) / tau) for sj in neg)) for si in pos)
    l_neg = sum(math.log(1 + math.exp(sj / tau) + sum(math.exp((sj - si) / tau) for si in pos)) for sj in neg)
    return l_pos, l_neg


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_anchored_loss_matches_a_hand_computation(tau):
    s = [[2.0, -1.0, 0.5, 0.0, -3.0], [0.3, 0.2, -0.4, 1.5, 0.0], [0.1, -0.2, 0.3, 0.0, 1.0]]
    y = [[1, 0, 1, 0, 0], [0, 1, 0, 1, 1], [0, 0, 0, 0, 0]]  # the last gene has no positive
    l_pos, l_neg = losses.contrastive_multilabel_terms(torch.tensor(s), torch.tensor(y), tau, anchored=True)
    for row in range(3):
        ref_pos, ref_neg = _anchored_reference(s[row], y[row], tau)
        assert l_pos[row].item() == pytest.approx(ref_pos, rel=1e-5, abs=1e-7)
        assert l_neg[row].item() == pytest.approx(ref_neg, rel=1e-5)
    # by hand for one gene, one positive (s=1) and one negative (s=0), tau=1:
    # L+ = log(1 + e^{-1} + e^{-1}), L− = log(1 + e^{0} + e^{-1})
    l_pos, l_neg = losses.contrastive_multilabel_terms(torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]]), anchored=True)
    assert l_pos.item() == pytest.approx(math.log(1 + 2 * math.exp(-1)))
    assert l_neg.item() == pytest.approx(math.log(2 + math.exp(-1)))
    # "mean" divides L+ by |Ω+| and L− by |Ω−|
    mean_pos, mean_neg = losses.contrastive_multilabel_terms(torch.tensor(s), torch.tensor(y), tau, anchored=True,
                                                             reduction="mean")
    ref_pos, ref_neg = _anchored_reference(s[0], y[0], tau)
    assert mean_pos[0].item() == pytest.approx(ref_pos / 2, rel=1e-5)
    assert mean_neg[0].item() == pytest.approx(ref_neg / 3, rel=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_paper_loss_is_shift_invariant_and_the_anchored_one_is_not(reduction):
    """Adding a constant to all of a gene's logits leaves L_MLC unchanged (so it cannot learn how many
    terms a gene has); the anchored loss changes, and its gradient has a non-zero sum per gene."""
    torch.manual_seed(0)
    s = torch.randn(4, 30)
    y = (torch.rand(4, 30) < 0.2).float()
    y[:, 0] = 1
    for shift in (-3.0, 2.5):
        paper = [losses.label_loss(x, y, "contrastive", reduction=reduction) for x in (s, s + shift)]
        anchored = [losses.label_loss(x, y, "anchored", reduction=reduction) for x in (s, s + shift)]
        assert paper[0].item() == pytest.approx(paper[1].item(), rel=1e-5)
        assert abs(anchored[0].item() - anchored[1].item()) > 1e-2
    for kind, vanishes in (("contrastive", True), ("anchored", False)):
        x = s.clone().requires_grad_(True)
        losses.label_loss(x, y, kind, reduction=reduction).backward()
        per_gene = x.grad.sum(-1).abs()
        assert (per_gene.max().item() < 1e-5) == vanishes


def test_mean_reduction_puts_the_three_terms_on_one_scale():
    """On a fixture shaped like MPO (4,000 terms, ~1.4% positives; 400 concepts, ~10% positive; 300
    exclusive pairs) with untrained logits ~ N(0, 1): summed as the paper writes them, L_MLC is over
    ten times L_GO and fifty times L_ex, so λ1 and λ2 weigh next to nothing; averaged per term set
    (means over Ω+, Ω−, concepts and pairs) the three are O(1) and within a factor of 20."""
    torch.manual_seed(0)
    s, c = torch.randn(32, 4000), torch.randn(32, 400)
    y = (torch.rand(32, 4000) < 0.014).float()
    yc = (torch.rand(32, 400) < 0.1).float()
    pairs = torch.randint(0, 4000, (300, 2))
    summed = losses.genepheno_loss(s, y, c, yc, pairs, loss="contrastive", reduction="sum")
    assert summed.mlc.item() > 10 * summed.go.item() and summed.mlc.item() > 50 * summed.ex.item()
    for kind in losses.LABEL_LOSSES:
        parts = losses.genepheno_loss(s, y, c, yc, pairs, loss=kind, reduction="mean")
        values = [parts.mlc.item(), parts.ex.item(), parts.go.item()]
        assert all(0.01 < v < 20 for v in values), (kind, values)
        assert max(values) / min(values) < 20, (kind, values)


@pytest.mark.parametrize("kind", ["contrastive", "anchored", "zlpr", "anchored+bce"])
def test_far_separated_classes_give_finite_loss_and_gradient(kind):
    """Positives 200 above the negatives (a trained model can get there): the masked log-sum-exp must not
    compute exp of an excluded entry far above its peak (inf · 0 = NaN)."""
    s = torch.tensor([[100.0, 90.0, -100.0, -110.0], [-100.0, 100.0, -90.0, 95.0]], requires_grad=True)
    y = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 1]])
    for reduction in ("sum", "mean"):
        loss = losses.label_loss(s, y, kind, reduction=reduction)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(s.grad).all(), (kind, reduction)
        s.grad = None


@pytest.mark.parametrize("anchored", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_written_out_gradient_matches_autograd_through_the_terms(anchored, reduction):
    """contrastive_multilabel_loss differentiates by hand (one autograd.Function); it must give the value
    and gradient of autograd through contrastive_multilabel_terms, also for genes with no positive or
    no negative and for τ ≠ 1."""
    torch.manual_seed(3)
    s = (torch.randn(6, 40) * 3).requires_grad_()
    y = (torch.rand(6, 40) < 0.2).float()
    y[0], y[1] = 0.0, 1.0
    l_pos, l_neg = losses.contrastive_multilabel_terms(s, y, 0.7, anchored=anchored, reduction=reduction)
    reference = (l_pos + l_neg).mean()
    (reference_grad,) = torch.autograd.grad(reference, s)
    loss = losses.contrastive_multilabel_loss(s, y, 0.7, anchored=anchored, reduction=reduction)
    (grad,) = torch.autograd.grad(loss, s)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-6)
    assert torch.allclose(grad, reference_grad, rtol=1e-5, atol=1e-7)
    assert grad.abs().sum() > 0
