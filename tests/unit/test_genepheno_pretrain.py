"""GoBERT-style pretraining of the GO encoder: the loss falls, held-out genes are never read, the cache is
shared, and the pretrained weights are what GenePheno starts from."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_genepheno_train import small_config, toy_dataset  # same folder (pytest puts it on sys.path)

from g2p import ranges
from g2p.genepheno import go_corpus, pretrain
from g2p.genepheno import train as train_mod
from g2p.genepheno.config import GoPretrainConfig
from g2p.genepheno.go_terms import GoVocabulary

SETTINGS = GoPretrainConfig(steps=60, batch_size=32, lr=5e-3)


def grouped_corpus(n: int = 400, seed: int = 0, accessions: list[str] | None = None) -> go_corpus.GoCorpus:
    """Proteins whose terms come in groups of five that always occur together: a hidden term can be
    told from the visible ones of its group, so a learner must beat the unigram rate."""
    rng = np.random.default_rng(seed)
    groups = [[f"GO:{9000 + 5 * g + j:07d}" for j in range(5)] for g in range(12)]
    names = accessions or [f"Q{i:05d}" for i in range(n)]
    lists = [sorted({t for g in rng.choice(len(groups), size=2, replace=False) for t in groups[g]}) for _ in names]
    return go_corpus.GoCorpus(list(names), lists, key=f"grouped-{seed}-{len(names)}")


def toy_corpus(dataset, extra: int = 200, seed: int = 1) -> go_corpus.GoCorpus:
    """The toy dataset's own genes (with their GO inputs) plus ``extra`` proteins drawn from its terms."""
    rng = np.random.default_rng(seed)
    vocab_terms = sorted({t for terms in dataset.go_inputs for t in terms})
    accessions = list(dataset.genes["accession"]) + [f"X{i:05d}" for i in range(extra)]
    lists = [list(t) for t in dataset.go_inputs] + [
        sorted(rng.choice(vocab_terms, size=3, replace=False).tolist()) for _ in range(extra)]
    return go_corpus.GoCorpus(accessions, lists, key=f"toy-{seed}")


def test_masked_term_loss_falls_below_the_unigram_rate() -> None:
    corpus = grouped_corpus()
    vocab = GoVocabulary.build(corpus.go_inputs, min_count=1)
    config = small_config(go_pretraining=dataclasses.replace(SETTINGS, steps=150))
    ids = vocab.encode(corpus.go_inputs, config.max_go_tokens)
    _, losses = pretrain.pretrain(ids, len(vocab), config)
    assert len(losses) == 150
    start, end = np.mean(losses[:10]), np.mean(losses[-20:])
    # 60 terms, each in a sixth of the proteins: guessing by frequency costs log(60) ≈ 4.1 nats; below
    # that, the encoder has used the visible terms of a hidden term's group
    assert end < 0.6 * start and end < np.log(60)


def test_hidden_terms_are_a_share_of_the_known_ones() -> None:
    ids = torch.tensor([[2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0], [2, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        [2, 5, 6, 1, 0, 0, 0, 0, 0, 0, 0, 0]])
    hidden = pretrain.hide_terms(ids, 0.3, torch.Generator().manual_seed(0))
    assert hidden.sum(1).tolist() == [3, 0, 1]  # 30 % of 10; one term is never hidden; at least one of two
    assert not hidden[ids < pretrain.N_SPECIAL].any()  # [PAD], [UNK], [CLS] are never targets


@pytest.fixture(scope="module")
def dataset():
    return toy_dataset()


def _vocab(dataset, config):
    return train_mod.prepare_inputs(dataset, config).vocab


def test_pretraining_never_reads_genes_outside_the_training_split(dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path)
    config = small_config(go_pretraining=SETTINGS)
    vocab = _vocab(dataset, config)
    corpus = toy_corpus(dataset)
    held_out = set(dataset.genes.loc[dataset.genes["split"] != "train", "accession"])
    assert held_out and pretrain.excluded_accessions(dataset) == held_out
    rows = pretrain.corpus_rows(corpus, held_out, vocab, SETTINGS)
    assert rows and not {corpus.accessions[i] for i in rows} & held_out

    def with_changed(accessions: set[str]) -> go_corpus.GoCorpus:
        terms = vocab.terms[:6]  # in the vocabulary: they would change the weights if they were read
        lists = [list(terms) if acc in accessions else t for acc, t in zip(corpus.accessions, corpus.go_inputs)]
        return go_corpus.GoCorpus(corpus.accessions, lists, key=corpus.key)  # same key: a read would show

    base = pretrain.for_training(dataset, config, vocab, corpus=corpus)
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path / "fresh")  # no cache: train again
    changed_held_out = pretrain.for_training(dataset, config, vocab, corpus=with_changed(held_out))
    assert base.state.keys() == changed_held_out.state.keys()
    assert all(torch.equal(base.state[k], changed_held_out.state[k]) for k in base.state)
    assert base.n_excluded == len(held_out)
    # the check can fail: the same change to training genes moves the weights
    train_genes = set(dataset.genes.loc[dataset.genes["split"] == "train", "accession"])
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path / "fresh2")
    changed_train = pretrain.for_training(dataset, config, vocab, corpus=with_changed(train_genes))
    assert not all(torch.equal(base.state[k], changed_train.state[k]) for k in base.state)


def test_one_pretraining_is_shared_by_seeds_and_cached(dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path)
    corpus = toy_corpus(dataset)
    config = small_config(go_pretraining=SETTINGS)
    vocab = _vocab(dataset, config)
    first = pretrain.for_training(dataset, config, vocab, corpus=corpus)
    monkeypatch.setattr(pretrain, "pretrain", lambda *a, **k: pytest.fail("should come from the cache"))
    again = pretrain.for_training(dataset, dataclasses.replace(config, seed=3, lambda_ex=0.0), vocab, corpus=corpus)
    assert again.key == first.key and all(torch.equal(first.state[k], again.state[k]) for k in first.state)
    other = dataclasses.replace(config, go_pretraining=dataclasses.replace(SETTINGS, mask_frac=0.3))
    with pytest.raises(pytest.fail.Exception):  # other settings are another pretraining
        pretrain.for_training(dataset, other, vocab, corpus=corpus)


@pytest.mark.parametrize("bag", [False, True])
def test_genepheno_starts_from_the_pretrained_weights(dataset, tmp_path, monkeypatch, bag) -> None:
    """``finetune_lr_scale: 0`` freezes the pretrained weights, so the trained model must still hold them
    exactly; the rest of the network trains and the loss falls."""
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path / "cache")
    corpus = toy_corpus(dataset)
    monkeypatch.setattr(go_corpus, "release_corpus", lambda **_: corpus)
    config = small_config(epochs=3, go_pretraining=dataclasses.replace(SETTINGS, bag=bag, finetune_lr_scale=0.0))
    result = train_mod.train(dataset, config, tmp_path / "run")
    pretrained = pretrain.for_training(dataset, config, _vocab(dataset, config), corpus=corpus)
    assert any(k.startswith(pretrain.BAG_PREFIX) for k in pretrained.state) == bag
    weights = load_file(result.best_dir / "model.safetensors")
    assert all(torch.equal(weights[k], v) for k, v in pretrained.state.items())
    assert result.history["train_total"].iloc[-1] < result.history["train_total"].iloc[0]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    assert record["go_pretraining"]["key"] == pretrained.key and record["go_pretraining"]["steps"] == SETTINGS.steps


def test_load_into_sets_the_go_weights_and_nothing_else(dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pretrain.paths, "cache", tmp_path)
    config = small_config(go_pretraining=SETTINGS)
    prepared = train_mod.prepare_inputs(dataset, config)
    model = train_mod.build_model(dataset, config, prepared)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pretrained = pretrain.for_training(dataset, config, prepared.vocab, corpus=toy_corpus(dataset))
    names = pretrain.load_into(model, pretrained)
    after = model.state_dict()
    assert set(names) == set(pretrained.state) and all(n.startswith(pretrain.ENCODER_PREFIX) for n in names)
    assert all(torch.equal(after[k], pretrained.state[k]) for k in names)
    assert all(torch.equal(after[k], before[k]) for k in after if k not in pretrained.state)
    assert any(not torch.equal(before[k], pretrained.state[k]) for k in names)
    no_go = train_mod.build_model(dataset, dataclasses.replace(config, use_go=False),
                                  train_mod.prepare_inputs(dataset, dataclasses.replace(config, use_go=False)))
    with pytest.raises(ValueError, match="no place in the model"):
        pretrain.load_into(no_go, pretrained)


def test_settings_are_range_checked_naming_the_nested_field() -> None:
    with pytest.raises(ranges.RangeError) as caught:
        small_config(go_pretraining={"steps": 0})
    assert caught.value.field == "go_pretraining.steps"
    with pytest.raises(ranges.RangeError, match="go_pretraining.stpes"):
        small_config(go_pretraining={"stpes": 10})
    assert small_config(go_pretraining={"steps": 5}).go_pretraining == GoPretrainConfig(steps=5)
    # a run without pretraining keeps the key it had before the setting existed
    assert "go_pretraining" not in small_config().identity()
    assert small_config(go_pretraining={"steps": 5}).identity()["go_pretraining"]["steps"] == 5


@pytest.mark.parametrize("text, message, key", [
    ("stpes: 10", "unknown key 'stpes'", "genepheno.go_pretraining.stpes"),
    ("steps: ten", "expected an integer", "genepheno.go_pretraining.steps"),
    ("steps: 0", "steps must be at least 1", "genepheno.go_pretraining.steps"),
])
def test_a_bad_pretraining_setting_names_its_line(tmp_path, monkeypatch, text, message, key) -> None:
    from g2p import config, paths, presets
    from g2p.errors import ConfigError

    original = (paths.params / "smoke.yaml").read_text()
    assert "steps: 10," in original
    (tmp_path / "smoke.yaml").write_text(original.replace("steps: 10", text, 1))
    monkeypatch.setattr(presets.paths, "params", tmp_path)
    with pytest.raises(ConfigError) as caught:
        config.resolve("smoke")
    line = next(i for i, row in enumerate(original.splitlines(), 1) if "go_pretraining:" in row)
    assert message in str(caught.value) and caught.value.field == key and caught.value.line == line
    (tmp_path / "smoke.yaml").write_text(original.replace("go_pretraining: {", "go_pretraining: null  # {", 1))
    assert config.resolve("smoke").genepheno().go_pretraining is None
