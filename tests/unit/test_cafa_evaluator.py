"""``metrics.fmax`` against the official CAFA evaluator (``cafaeval`` 1.3.0, a dev extra) on a small
ontology, under both conventions: predictions scored as given, and max-propagated up the ontology
(CAFA's default), which ``metrics.propagate_max`` reproduces with ``hierarchy.label_descendants``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from g2p.data import readers
from g2p.data.ontology import Ontology
from g2p.genepheno import hierarchy, metrics

cafaeval = pytest.importorskip("cafaeval.evaluation", reason="cafaeval is a dev extra (pip install -e '.[dev]')")

# R is the root (CAFA drops it with no_orphans, as our datasets drop their root); C has two parents.
PARENTS = {"T:A": ["T:R"], "T:B": ["T:R"], "T:A1": ["T:A"], "T:A2": ["T:A"], "T:B1": ["T:B"],
           "T:C": ["T:A", "T:B"], "T:C1": ["T:C"]}
TERMS = list(PARENTS)


def _write_obo(path: Path) -> None:
    stanzas = ["format-version: 1.2\n"]
    for term in ["T:R", *TERMS]:
        lines = ["[Term]", f"id: {term}", f"name: {term.lower()}", "namespace: biological_process"]
        lines += [f"is_a: {parent} ! {parent.lower()}" for parent in PARENTS.get(term, [])]
        stanzas.append("\n".join(lines) + "\n")
    path.write_text("\n".join(stanzas))


def _fixture(tmp_path: Path, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Path]:
    """Labels true-path propagated (every gene has one), scores at threshold midpoints (x.xx5, so no
    score sits on one of the two evaluators' thresholds and float rounding cannot split them) and
    above 0, so CAFA's ``fill`` propagation leaves them as given."""
    obo = tmp_path / "fixture.obo"
    _write_obo(obo)
    ontology = Ontology(readers.read_obo(obo), ("is_a",))
    descendants = hierarchy.label_descendants(TERMS, ontology)
    rng = np.random.default_rng(seed)
    n_genes = 60
    leaves = rng.random((n_genes, len(TERMS))) < 0.25
    leaves[np.arange(n_genes), rng.integers(0, len(TERMS), n_genes)] = True
    y = (leaves.astype(int) @ descendants.T.toarray().astype(int) + leaves) > 0  # a gene has its leaves' ancestors
    scores = np.round(rng.uniform(0.01, 0.97, y.shape) + 0.35 * y, 2).clip(0.01, 0.98) + 0.005
    return y, scores, descendants.toarray(), obo


def _cafa_fmax(tmp_path: Path, obo: Path, y: np.ndarray, scores: np.ndarray, prop: str) -> float:
    genes = [f"g{i}" for i in range(len(y))]
    gt = tmp_path / "gt.tsv"
    gt.write_text("".join(f"{genes[i]}\t{TERMS[j]}\n" for i, j in zip(*np.nonzero(y))))
    pred_dir = tmp_path / f"pred_{prop}"
    pred_dir.mkdir()
    (pred_dir / "model.tsv").write_text("".join(
        f"{genes[i]}\t{TERMS[j]}\t{scores[i, j]:.3f}\n" for i in range(len(y)) for j in range(len(TERMS))))
    _, best = cafaeval.cafa_eval(str(obo), str(pred_dir), str(gt), no_orphans=True, prop=prop)
    return float(best["f"]["f"].iloc[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fmax_equals_cafaeval_on_scores_as_given(tmp_path: Path, seed: int) -> None:
    y, scores, _, obo = _fixture(tmp_path, seed)
    ours, _ = metrics.fmax(y, scores)
    assert ours == pytest.approx(_cafa_fmax(tmp_path, obo, y, scores, prop="fill"), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fmax_of_max_propagated_scores_equals_cafaeval_default(tmp_path: Path, seed: int) -> None:
    y, scores, descendants, obo = _fixture(tmp_path, seed)
    propagated = metrics.propagate_max(scores, descendants)
    ours, _ = metrics.fmax(y, propagated)
    assert ours == pytest.approx(_cafa_fmax(tmp_path, obo, y, scores, prop="max"), abs=1e-12)
    # The fixture's scores are not hierarchy-consistent, so the two conventions must differ somewhere:
    # otherwise the test above could not tell whether propagation happened at all.
    assert (propagated > scores).any()
