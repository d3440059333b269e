"""Sequence and GO encoders: k-mer features by hand, alphabet checks, HF embeddings cached on disk."""

import numpy as np
import pytest
import torch

from g2p.genepheno import encoders, go_terms, inputs


def test_kmer_features_are_normalised_counts():
    feat = encoders.KmerFeaturizer("dna", ks=(1, 2))
    x = feat.transform(["AACGT", "acgn"]).toarray()
    assert x.shape == (2, 4 + 16) == (2, feat.n_features)
    # AACGT: 1-mers A2 C1 G1 T1 over 5; 2-mers AA AC CG GT over 4
    np.testing.assert_allclose(x[0, :4], [0.4, 0.2, 0.2, 0.2])
    two = dict(zip(["".join(p) for p in __import__("itertools").product("ACGT", repeat=2)], x[0, 4:]))
    assert two["AA"] == two["AC"] == two["CG"] == two["GT"] == pytest.approx(0.25)
    assert sum(two.values()) == pytest.approx(1.0)
    # lower case accepted; N is a valid DNA letter but not counted
    np.testing.assert_allclose(x[1, :4], [0.25, 0.25, 0.25, 0.0])


def test_protein_kmer_vocabulary_size_and_invalid_letters():
    feat = encoders.KmerFeaturizer("protein")
    assert feat.n_features == 20 + 400 + 8000
    assert feat.transform(["MKVLAX*"]).shape == (1, 8420)
    with pytest.raises(ValueError, match=r"sequence 'bad' has letters not in the protein alphabet: '1@'"):
        feat.transform(["MKV", "MK1@"], names=["ok", "bad"])
    with pytest.raises(ValueError, match="not in the dna alphabet: 'EFL'"):
        encoders.check_sequence("ACGTEFL", "dna")
    with pytest.raises(ValueError, match="unknown alphabet"):
        encoders.KmerFeaturizer("rna")


def test_residue_ids_and_conv_encoder_mask():
    ids = encoders.residue_ids(["MKV", "MKVLAAAAA"], "protein", max_len=6)
    assert ids.shape == (2, 6) and (ids[0, 3:] == 0).all() and (ids[1] > 0).all()
    enc = encoders.ConvSequenceEncoder(len(encoders.ACCEPTED["protein"]) + 1, d_model=8, stride=2)
    tokens, mask = enc(torch.from_numpy(ids))
    assert tokens.shape == (2, 3, 8)
    assert mask.tolist() == [[True, True, False], [True, True, True]]


def test_go_vocabulary_cutoff_unknown_and_order(tmp_path):
    vocab = go_terms.GoVocabulary.build([["GO:1", "GO:2"], ["GO:1", "GO:3"], ["GO:1", "GO:2"]], min_count=2)
    assert vocab.terms == ["GO:1", "GO:2"] and len(vocab) == 5
    ids = vocab.encode([["GO:1", "GO:2", "GO:9"], []], max_len=6)
    # [CLS], rarest first (GO:2 then GO:1), one [UNK] for the unseen GO:9, then padding
    assert ids.tolist() == [[2, 4, 3, 1, 0, 0], [2, 0, 0, 0, 0, 0]]
    assert vocab.encode([["GO:1", "GO:2", "GO:9"]], max_len=2).tolist() == [[2, 4]]
    again = go_terms.GoVocabulary.load(vocab.save(tmp_path / "v.json"))
    assert again.terms == vocab.terms and again.id("GO:2") == 4
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json: not a GO vocabulary"):
        go_terms.GoVocabulary.load(tmp_path / "bad.json")


def test_go_encoder_handles_cls_only_genes():
    enc = go_terms.GoEncoder(vocab_size=10, d_model=8, n_heads=2)
    tokens, mask = enc(torch.tensor([[2, 5, 6], [2, 0, 0]]))
    assert tokens.shape == (2, 3, 8) and torch.isfinite(tokens[mask]).all()
    assert mask.tolist() == [[True, True, True], [True, False, False]]


@pytest.fixture
def tiny_protein_lm(tmp_path):
    """A 2-layer random BERT over single residues with its own tokenizer, saved locally (no download)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    letters = list(encoders.ACCEPTED["protein"])
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=False)
    config = BertConfig(vocab_size=len(letters) + 5, hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    folder = tmp_path / "tiny-bert"
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_hf_embeddings_are_mean_pooled_and_cached(tiny_protein_lm, tmp_path, monkeypatch):
    import transformers

    seqs = ["MKVLA", "GGHHW", "MKVLA"]
    first = encoders.embed_sequences(seqs, str(tiny_protein_lm), cache_root=tmp_path / "cache", device="cpu")
    assert first.shape == (3, 16) and np.isfinite(first).all()
    tok = transformers.AutoTokenizer.from_pretrained(tiny_protein_lm)
    assert tok.unk_token_id not in tok([" ".join("MKVLA")])["input_ids"][0]  # the fixture is sound
    np.testing.assert_allclose(first[0], first[2])
    assert not np.allclose(first[0], first[1])
    cached = list((tmp_path / "cache").rglob("*.npy"))
    assert len(cached) == 2  # one file per distinct sequence

    # mean pooling over real tokens: compare with running the model by hand on one sequence
    model = transformers.AutoModel.from_pretrained(tiny_protein_lm).eval()
    text = " ".join("GGHHW") if len(tok.tokenize("MKV")) != 3 else "GGHHW"
    with torch.no_grad():
        hidden = model(**tok([text], return_tensors="pt")).last_hidden_state[0]
    np.testing.assert_allclose(first[1], hidden.mean(0).numpy(), rtol=1e-5, atol=1e-6)

    def no_model(*args, **kwargs):
        raise AssertionError("the model must not be loaded when every embedding is cached")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_model)
    second = encoders.embed_sequences(seqs[::-1], str(tiny_protein_lm), cache_root=tmp_path / "cache")
    np.testing.assert_allclose(second, first[::-1])


def test_kmer_counts_match_scikit_learn_on_random_proteins():
    """The numpy k-mer counter equals CountVectorizer with the fixed k-mer vocabulary, ambiguous letters,
    sequences shorter than k and a terminal * included."""
    import itertools

    from sklearn.feature_extraction.text import CountVectorizer

    rng = np.random.default_rng(0)
    letters = list(encoders.STANDARD["protein"]) + ["X", "B"]
    seqs = ["".join(rng.choice(letters, size=int(n))) for n in rng.integers(1, 60, size=40)] + ["M", "MK*"]
    feat = encoders.KmerFeaturizer("protein")
    ours = feat.transform(seqs).toarray()
    clean = [encoders.check_sequence(s) for s in seqs]
    blocks = []
    for k in feat.ks:
        vocab = ["".join(p) for p in itertools.product(encoders.STANDARD["protein"], repeat=k)]
        counts = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False, vocabulary=vocab).transform(clean)
        blocks.append(counts.toarray() / np.maximum([len(s) - k + 1 for s in clean], 1)[:, None])
    np.testing.assert_allclose(ours, np.hstack(blocks), rtol=1e-6)
    assert feat.feature_names()[:2] == ["A", "C"] and len(feat.feature_names()) == feat.n_features


def test_segments_cover_the_sequence_in_order():
    feat = encoders.KmerFeaturizer("dna", ks=(1,))
    pieces = feat.transform_segments(["AAAACCCC", "GT"], n_segments=2).toarray()
    assert pieces.shape == (4, 4)
    np.testing.assert_allclose(pieces[0], [1, 0, 0, 0])  # AAAA
    np.testing.assert_allclose(pieces[1], [0, 1, 0, 0])  # CCCC
    np.testing.assert_allclose(pieces[2], [0, 0, 1, 0])  # G
    np.testing.assert_allclose(pieces[3], [0, 0, 0, 1])  # T


def test_projection_is_whitened_on_train_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=int(n))) for n in rng.integers(50, 300, 60)]
    spec = inputs.InputSpec(kmer_ks=(1, 2), seq_dim=8, seq_segments=3)
    projection = spec.fit_projection(seqs)
    train = projection.transform(spec.raw_features(seqs))
    assert train.shape == (60, 8)
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(0, ddof=1), 1, rtol=1e-3)
    # sparse and dense inputs give the same projection
    raw = spec.raw_features(seqs[:5])
    np.testing.assert_allclose(projection.transform(raw), projection.transform(raw.toarray()), rtol=1e-4, atol=1e-5)
    loaded = encoders.SequenceProjection.load(projection.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(loaded.transform(raw), projection.transform(raw))
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="bad.npz: not a sequence projection"):
        encoders.SequenceProjection.load(tmp_path / "bad.npz")


def test_encode_genes_batches_tokens_and_the_whole_go_bag():
    seqs = ["MKVLLAAGHW" * 3, "WWWPPPKKKDDD" * 2, "MK"]
    spec = inputs.InputSpec(encoder="kmer", alphabet="protein", kmer_ks=(1,), max_go_tokens=2, seq_dim=2,
                              seq_segments=4)
    go = [["GO:1"], ["GO:1", "GO:2", "GO:3"], []]
    vocab = go_terms.GoVocabulary.build(go, min_count=1)
    genes = inputs.encode_genes(seqs, go, spec, vocab, projection=spec.fit_projection(seqs))
    batch = genes.batch(np.array([0, 1, 2]))
    assert batch["seq_features"].shape == (3, 5, 2)  # whole sequence + 4 segments
    # "MK" has only 2 residues: two of its four segments are empty and masked out
    assert batch["seq_mask"].tolist()[2] == [True, False, True, True, False]
    assert batch["go_ids"].shape == (3, 2)  # truncated at max_go_tokens ([CLS] + 1 term) …
    assert batch["go_counts"].tolist() == [1.0, 3.0, 0.0]  # … but the bag holds every term
    assert batch["go_bag_offsets"].tolist() == [0, 1, 4] and len(batch["go_bag_ids"]) == 4
    bag = go_terms.GoBag(len(vocab), 4)
    out = bag(batch["go_bag_ids"], batch["go_bag_offsets"], batch["go_counts"])
    assert out.shape == (3, 5)
    assert out[2, :4].abs().sum() == 0 and out[:, 4].tolist() == pytest.approx(np.log1p([1, 3, 0]).tolist())
    with pytest.raises(ValueError, match="needs hf_model"):
        inputs.InputSpec(encoder="hf")
    with pytest.raises(ValueError, match="needs a fitted SequenceProjection"):
        inputs.encode_genes(seqs, None, spec, None)


def test_a_missing_pretrained_model_is_one_line_at_once(tmp_path, monkeypatch):
    """Nothing is downloaded at run time: a hub id that is not in the local cache, or a local folder that
    does not exist, is an InputError naming the model, where it was looked for and how to get it, in
    well under the seconds a connection attempt would take (offline flags unset)."""
    import re
    import time

    from huggingface_hub import constants

    from g2p.errors import InputError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(InputError, match=r"'g2p-tests/absent' is not in the local Hugging Face cache \(looked in "
                                         + re.escape(str(constants.HF_HUB_CACHE))) as info:
        encoders.embed_sequences(["MKTAYIAK"], "g2p-tests/absent", cache_root=tmp_path / "cache")
    assert "hf download g2p-tests/absent" in str(info.value) and info.value.field == "hf_model"
    with pytest.raises(InputError, match="local Hugging Face model folder does not exist"):
        encoders.embed_sequences(["MKTAYIAK"], str(tmp_path / "esm"), cache_root=tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        encoders.embed_sequences(["MKTAYIAK"], str(tmp_path / "empty"), cache_root=tmp_path / "cache")
    assert time.monotonic() - start < 5
