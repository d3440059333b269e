"""The interpretability modules (bottleneck, concept_weights, interventions, cross_attention, exclusive_pairs) on hand-made bottlenecks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from g2p.data.curated import CuratedDataset
from g2p.genepheno import bottleneck, concept_weights, cross_attention, exclusive_pairs, interventions


def make_bottleneck(n_genes: int = 4, seed: int = 0, activation: str = "sigmoid") -> bottleneck.Bottleneck:
    rng = np.random.default_rng(seed)
    n_terms, n_concepts = 5, 3
    weights = rng.normal(size=(n_terms, n_concepts)).astype(np.float32)
    weights[2, 0] = 6.0  # concept 0 drives term 2 far more than anything else
    labels = sp.csr_matrix((rng.random((n_genes, n_terms)) < 0.4).astype(np.float32))
    concept_labels = sp.csr_matrix((rng.random((n_genes, n_concepts)) < 0.5).astype(np.float32))
    return bottleneck.Bottleneck(
        genes=pd.DataFrame({"gene_id": [f"G{g}" for g in range(n_genes)], "symbol": [f"g{g}" for g in range(n_genes)]}),
        terms=pd.DataFrame({"term_id": [f"T{j}" for j in range(n_terms)], "name": [f"term {j}" for j in range(n_terms)],
                            "bin": ["11-30", "11-30", "31-100", "31-100", "31-100"]}),
        concepts=pd.DataFrame({"go_id": [f"GO:{k}" for k in range(n_concepts)], "name": [f"concept {k}" for k in range(n_concepts)],
                               "namespace": ["biological_process", "molecular_function", "cellular_component"]}),
        weights=weights, concept_logits=rng.normal(size=(n_genes, n_concepts)).astype(np.float32),
        base_logits=np.tile(rng.normal(size=n_terms).astype(np.float32), (n_genes, 1)),
        labels=labels, concept_labels=concept_labels, activation=activation,
    )


def test_logits_are_linear_in_the_activations():
    bn = make_bottleneck()
    acts = 1 / (1 + np.exp(-bn.concept_logits))
    assert np.allclose(bn.logits(), acts @ bn.weights.T + bn.base_logits, atol=1e-6)
    # switching concept 1 of gene 0 from a to v moves logit j by w_j1 (v - a), exactly
    probs = interventions.intervene(bn, 0, {1: 0.0})
    expected = bn.logits(rows=0)[0] + bn.weights[:, 1] * (0.0 - acts[0, 1])
    assert np.allclose(probs, 1 / (1 + np.exp(-expected)), atol=1e-6)


def test_contributions_are_activation_times_weight_with_annotations():
    bn = make_bottleneck()
    table = concept_weights.contributions(bn, gene=1, term=2)
    acts = bn.activations[1]
    for row in table.itertuples():
        k = int(row.go_id.split(":")[1])
        assert row.contribution == pytest.approx(acts[k] * bn.weights[2, k])
        assert row.annotated == bool(bn.concept_labels[1, k])
    assert list(table["contribution"].abs()) == sorted(table["contribution"].abs(), reverse=True)
    # the contributions and the bias rebuild the logit
    assert table["contribution"].sum() + bn.base_logits[1, 2] == pytest.approx(bn.logits(rows=1)[0, 2], abs=1e-5)


def test_flip_targets_switch_each_concept_to_the_other_state():
    bn = make_bottleneck()
    targets = interventions.flip_targets(bn)
    on = bn.activations >= 0.5
    assert np.array_equal(targets, np.where(on, 0.0, 1.0))
    ident = make_bottleneck(activation="identity")
    low, high = ident.concept_logits.min(axis=0), ident.concept_logits.max(axis=0)
    t = interventions.flip_targets(ident)
    assert np.all((t == low) | (t == high))


def test_intervention_effects_match_one_flip_at_a_time():
    bn = make_bottleneck(n_genes=6)
    # concept 0 is on (σ(1) ≈ 0.73) and term 2 sits at logit ≈ 0, where its weight of 6 moves it most
    bn.weights[:] = np.clip(bn.weights, -0.5, 0.5)
    bn.weights[2, 0] = 6.0
    bn.concept_logits[:, 0] = 1.0
    bn.base_logits[:] = 0.0
    bn.base_logits[:, 2] = -6.0 / (1 + np.exp(-1.0))
    related = np.zeros((3, 5), dtype=bool)
    related[0, 2] = True
    result = interventions.intervention_effects(bn, related, max_elements=7)  # one concept per block
    assert np.array_equal(interventions.intervention_effects(bn, related).top_term, result.top_term)
    targets = interventions.flip_targets(bn)
    before = bn.probabilities()
    for g in range(bn.n_genes):
        for k in range(3):
            change = interventions.intervene(bn, g, {k: targets[g, k]}) - before[g]
            j = int(np.argmax(np.abs(change)))
            assert result.top_term[g, k] == j
            assert result.top_change[g, k] == pytest.approx(change[j], abs=1e-5)
    assert (result.top_term[:, 0] == 2).all()  # weight 6 dominates
    assert result.hit[:, 0].all() and not result.hit[:, 1:].any()
    assert result.chance == pytest.approx([0.2, 0.0, 0.0])
    # the moved phenotype (2) is related to 1 of 3 concepts wherever it is the top term
    assert np.allclose(result.shuffled[result.top_term == 2], 1 / 3)
    stat = interventions.intervention_statistic(result, n_boot=50)
    assert stat["hit_rate"] == pytest.approx(1 / 3)
    assert stat["n_flips"] == 18 and stat["n_genes"] == 6 and stat["n_concepts"] == 3
    assert stat["hit_rate_lo"] <= stat["hit_rate"] <= stat["hit_rate_hi"]


def test_benjamini_hochberg_by_hand():
    adjusted = interventions.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    assert adjusted == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


def tiny_dataset(n_train: int = 60, seed: int = 0) -> CuratedDataset:
    rng = np.random.default_rng(seed)
    n = n_train + 10
    concept = (rng.random((n, 2)) < 0.5).astype(np.float32)
    labels = (rng.random((n, 3)) < 0.3).astype(np.float32)
    labels[:, 0] = concept[:, 0]  # term 0 goes with concept 0, exactly
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n)], "symbol": [f"g{i}" for i in range(n)],
                          "split": ["train"] * n_train + ["test"] * 10, "sequence": ["MKV"] * n})
    return CuratedDataset(
        name="tiny", genes=genes,
        terms=pd.DataFrame({"term_id": ["T0", "T1", "T2"], "name": ["t0", "t1", "t2"], "bin": ["11-30"] * 3}),
        labels=sp.csr_matrix(labels), concepts=pd.DataFrame({"go_id": ["GO:1", "GO:2"], "name": ["c1", "c2"],
                                                             "namespace": ["biological_process"] * 2}),
        concept_labels=sp.csr_matrix(concept), go_inputs=[[] for _ in range(n)],
        exclusive_pairs=pd.DataFrame({"term_a": ["T1"], "name_a": ["t1"], "term_b": ["T2"], "name_b": ["t2"]}),
    )


def test_related_pairs_find_the_planted_enrichment_in_training_genes_only():
    dataset = tiny_dataset()
    related = interventions.related_pairs(dataset, "train", fdr=0.05)
    assert related.shape == (2, 3)
    assert related[0, 0]
    assert related.sum() <= 2  # independent random pairs are (almost always) not enriched
    # the test genes do not enter: breaking the link there changes nothing
    labels = dataset.labels.toarray()
    test = dataset.split_index("test")
    labels[test, 0] = 1 - labels[test, 0]
    changed = dataclasses.replace(dataset, labels=sp.csr_matrix(labels))
    assert np.array_equal(interventions.related_pairs(changed, "train", fdr=0.05), related)


def test_related_pairs_equal_exact_tests_on_every_pair():
    from scipy.stats import hypergeom

    rng = np.random.default_rng(3)
    n, n_concepts, n_terms = 300, 12, 40
    concept = (rng.random((n, n_concepts)) < rng.uniform(0.05, 0.5, n_concepts)).astype(np.float32)
    labels = (rng.random((n, n_terms)) < 0.1).astype(np.float32)
    for j in range(0, n_terms, 3):  # plant enrichments of varied strength
        k = j % n_concepts
        labels[:, j] = np.maximum(labels[:, j], concept[:, k] * (rng.random(n) < 0.1 + 0.02 * j))
    dataset = dataclasses.replace(
        tiny_dataset(), genes=pd.DataFrame({"gene_id": range(n), "split": ["train"] * n}),
        labels=sp.csr_matrix(labels), concept_labels=sp.csr_matrix(concept))
    x = concept.T @ labels
    p = hypergeom.sf(x - 1, n, concept.sum(0)[:, None], labels.sum(0)[None, :])
    for fdr in (0.01, 0.05, 0.2):
        expected = interventions.benjamini_hochberg(p) < fdr
        assert 0 < expected.sum() < expected.size
        assert np.array_equal(interventions.related_pairs(dataset, fdr=fdr), expected), fdr


def test_pick_case_genes_orders_by_average_precision():
    bn = make_bottleneck(n_genes=12, seed=3)
    bn.labels = sp.csr_matrix(np.ones((12, 5), dtype=np.float32) * (np.arange(5) < 3))
    cases = concept_weights.pick_case_genes(bn, min_true=3)
    ap = concept_weights.per_gene_average_precision(bn)
    assert list(cases["role"])[0] == "best" and list(cases["role"])[-1] == "worst"
    eligible = np.flatnonzero(np.asarray(bn.concept_labels.sum(axis=1)).ravel() >= 1)
    assert ap[cases["row"].iloc[0]] == pytest.approx(ap[eligible].max())
    assert ap[cases["row"].iloc[-1]] == pytest.approx(ap[eligible].min())


def test_figure3_selection_takes_the_best_terms_of_each_bin_and_their_largest_weights():
    bn = make_bottleneck(n_genes=40, seed=1)
    terms, concepts = concept_weights.figure3_selection(bn, per_bin=1, min_positives=1, concepts_per_term=1)
    assert len(terms) == 2  # one per bin
    assert bn.terms["bin"].iloc[terms].nunique() == 2
    for j in terms:
        assert int(np.argmax(bn.weights[j])) in concepts
    table = concept_weights.weight_table(bn, terms, concepts)
    assert table.shape == (len(concepts), len(terms))  # rows: concepts
    for a, k in enumerate(concepts):
        for b, j in enumerate(terms):
            assert table.iloc[a, b] == pytest.approx(bn.weights[j, k])


def test_exclusive_cooccurrence_counts_pairs_with_both_terms_above_t():
    dataset = tiny_dataset()
    test = dataset.split_index("test")
    scores = np.zeros((len(test), 3))
    scores[:4, 1] = 0.9
    scores[:2, 2] = 0.6  # genes 0, 1: both terms of the pair >= 0.5
    frame = exclusive_pairs.exclusive_cooccurrence(dataset, {"a": [scores]}, thresholds=[0.5, 0.7])
    assert frame.set_index("threshold")["rate"].to_dict() == {0.5: pytest.approx(0.2), 0.7: 0.0}
    summary = exclusive_pairs.exclusive_summary(pd.concat([frame, frame.assign(model="b", rate=frame["rate"] + 0.1)]))
    assert summary["a_at"] == pytest.approx(0.2) and summary["b_at"] == pytest.approx(0.3)
    assert summary["lower_share"] == 1.0
    assert "lowers the co-occurrence in every seed" in exclusive_pairs.exclusive_verdict(summary, "a", "b")
    assert "does not lower" in exclusive_pairs.exclusive_verdict(summary, "b", "a")
    # seeds that overlap: no claim either way
    two = pd.concat([frame, frame.assign(seed=1, rate=frame["rate"] + 0.15),
                     frame.assign(model="b", rate=frame["rate"] + 0.1)])
    assert "no difference beyond the spread" in exclusive_pairs.exclusive_verdict(exclusive_pairs.exclusive_summary(two), "a", "b")


def test_attention_table_keeps_cls_and_the_most_attended_terms():
    bn = make_bottleneck(n_genes=1)
    bn.go_tokens = [["[CLS]", "GO:a", "GO:b", "GO:c"]]
    bn.attention = np.array([[[0.1, 0.2, 0.6, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25, 0.0]]])
    table = cross_attention.attention_table(bn, 0, {"GO:b": "term b"}, max_terms=3)
    assert list(table.columns) == ["[CLS]", "term b (GO:b)", "GO:a (GO:a)"]
    assert list(table.index) == ["whole sequence", "segment 1"]
    summary = cross_attention.attention_summary(bn, {"GO:a": 5, "GO:b": 1, "GO:c": 9})
    assert summary["cls_share"] == pytest.approx(0.1)
    assert 0 < summary["entropy"] < 1

