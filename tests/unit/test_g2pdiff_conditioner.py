"""K-mer tokenizer, DNA conditioner and environment enhancement (tiny configs, no downloads)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from g2p.g2pdiff.conditioner import (
    DNAConditioner,
    KmerTokenizer,
    coordinates_to_sphere,
    dropout_masks,
    validate_barcodes,
    validate_coordinates,
)


def test_kmer_ids_by_hand():
    tok = KmerTokenizer(k=2, max_bp=10)
    assert tok.vocab_size == 5 + 16
    # AC → A=0,C=1 → 0*4+1 = 1 → +5 specials = 6; CG → 1*4+2 = 6 → 11; GN → [UNK]; NT → [UNK]
    assert tok.encode("acgnt") == [tok.cls_id, 6, 11, tok.unk_id, tok.unk_id]
    assert tok.vocab["AC"] == 6 and tok.vocab["CG"] == 11


def test_padding_and_truncation():
    tok = KmerTokenizer(k=3, max_bp=20)
    batch = tok(["ACGTACGT", "A" * 50])
    assert batch["input_ids"].shape == (2, 1 + 20 - 3 + 1)
    assert batch["attention_mask"].sum(1).tolist() == [1 + 6, 1 + 18]
    assert (batch["input_ids"][0, 7:] == tok.pad_id).all()
    fixed = tok(["ACGT"], padding="max_length")
    assert fixed["input_ids"].shape == (1, tok.max_tokens)


def test_kmer_profile_counts():
    tok = KmerTokenizer(k=1)
    prof = tok.kmer_profile(["AACGN"])
    assert prof.tolist() == [[2, 1, 1, 0]]


@pytest.mark.parametrize("bad, needle", [("ACGX", "barcode 1"), ("", "empty"), ("AC-GT", "'-'")])
def test_bad_barcodes(bad, needle):
    with pytest.raises(ValueError, match=needle):
        validate_barcodes(["ACGT", bad])


def test_bad_coordinates():
    with pytest.raises(ValueError, match="latitude 91"):
        validate_coordinates([0.0, 91.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="longitude -181"):
        validate_coordinates([0.0], [-181.0])
    lat, lon = validate_coordinates([math.nan], [math.nan])
    assert np.isnan(lat).all() and np.isnan(lon).all()


def test_sphere_mapping():
    v = coordinates_to_sphere(torch.tensor([0.0, 90.0]), torch.tensor([90.0, 0.0]))
    assert torch.allclose(v, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), atol=1e-6)


def _tiny(**kw) -> DNAConditioner:
    torch.manual_seed(0)
    return DNAConditioner(k=3, max_bp=40, d_model=16, n_layers=1, n_heads=2, ff_dim=32, env_hidden=8, **kw)


def test_conditioner_shapes_and_environment():
    cond = _tiny()
    out = cond.encode(["ACGT" * 10, "ACGTAC"], lat=[10.0, math.nan], lon=[20.0, math.nan])
    # 1 [CLS] + 38 k-mers + 1 environment token
    assert out.tokens.shape == (2, 40, 16) and out.pooled.shape == (2, 16) and out.vector.shape == (2, 32)
    assert out.mask[1].sum() == 1 + 4 + 1
    # the environment changes the conditioning (tokens and global vector), not the pooled DNA embedding;
    # missing coordinates use the learned no-env vector
    moved = cond.encode(["ACGT" * 10], lat=[-40.0], lon=[20.0])
    assert not torch.allclose(moved.vector[0], out.vector[0]) and not torch.allclose(moved.tokens[0], out.tokens[0])
    assert torch.allclose(moved.pooled[0], out.pooled[0])
    with torch.no_grad():
        cond.no_env.fill_(3.0)
    assert torch.allclose(cond.encode(["ACGTAC"], [math.nan], [math.nan]).tokens[0, -1], torch.full((16,), 3.0))


def test_conditioner_without_environment():
    cond = _tiny(use_environment=False)
    out = cond.encode(["ACGT" * 10])
    assert out.tokens.shape == (1, 39, 16) and out.vector.shape == (1, 16) and cond.global_dim == 16
    assert not hasattr(cond, "env_mlp")


def test_dropping_the_barcode_or_the_environment_gives_the_null_embeddings():
    cond = _tiny()
    barcodes, lat, lon = ["ACGT" * 10, "TTGA" * 10], [10.0, -30.0], [20.0, 5.0]
    full = cond.encode(barcodes, lat, lon)
    no_dna = cond.encode(barcodes, lat, lon, drop_dna=True)
    no_env = cond.encode(barcodes, lat, lon, drop_env=True)
    null = cond.encode(barcodes, lat, lon, drop_dna=True, drop_env=True)
    d = 16
    # the barcode → the learned null token, in every DNA token, the pooled embedding and the vector
    assert torch.equal(no_dna.pooled, cond.null_token.expand(2, d))
    assert torch.allclose(no_dna.tokens[:, :-1] - no_dna.tokens[:, -1:], cond.null_token.expand(2, 39, d))
    assert torch.equal(no_dna.vector[:, d:], full.vector[:, d:])  # environment kept
    # the environment → the "no environment" vector, exactly what missing coordinates give
    missing = cond.encode(barcodes, [math.nan] * 2, [math.nan] * 2)
    assert torch.equal(no_env.tokens, missing.tokens) and torch.equal(no_env.vector, missing.vector)
    assert torch.equal(no_env.vector[:, :d], full.vector[:, :d])  # barcode kept
    assert torch.equal(no_env.tokens[:, -1], cond.no_env.expand(2, d))
    # both dropped: one context whatever the barcode and the coordinates
    assert torch.equal(null.vector[0], null.vector[1]) and torch.equal(null.tokens[0], null.tokens[1])
    assert not torch.allclose(full.vector[0], full.vector[1])


def test_condition_dropout_rates():
    n = 40_000
    drop_dna, drop_env = dropout_masks(n, p_uncond=0.1, p_drop_env=0.2, p_drop_dna=0.05,
                                       generator=torch.Generator().manual_seed(0))
    assert drop_dna.float().mean().item() == pytest.approx(0.15, abs=0.01)
    assert drop_env.float().mean().item() == pytest.approx(0.30, abs=0.01)
    assert (drop_dna & drop_env).float().mean().item() == pytest.approx(0.10, abs=0.01)
    with pytest.raises(ValueError, match="sum to at most 1"):
        dropout_masks(4, 0.5, 0.4, 0.2)


def test_condition_dropout_produces_the_null_embedding_at_the_stated_rate():
    cond = _tiny()
    n = 2_000
    rng = np.random.default_rng(0)
    barcodes = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(n)]
    batch = cond.tokenize(barcodes)
    lat = torch.as_tensor(rng.uniform(-60, 60, n), dtype=torch.float32)
    lon = torch.as_tensor(rng.uniform(-180, 180, n), dtype=torch.float32)
    drop_dna, drop_env = dropout_masks(n, 0.1, 0.15, 0.0, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = cond(batch["input_ids"], batch["attention_mask"], lat, lon, drop_dna=drop_dna, drop_env=drop_env)
    null_dna = (out.pooled == cond.null_token).all(dim=1)
    null_env = (out.vector[:, 16:] == cond.no_env).all(dim=1)
    assert torch.equal(null_dna, drop_dna) and torch.equal(null_env, drop_env)
    assert null_dna.float().mean().item() == pytest.approx(0.10, abs=0.02)
    assert null_env.float().mean().item() == pytest.approx(0.25, abs=0.025)


def test_frozen_hugging_face_encoder(tmp_path):
    from transformers import BertConfig, BertModel

    tok = KmerTokenizer(k=3, max_bp=40)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=8, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=16, max_position_embeddings=64)
    BertModel(config).save_pretrained(tmp_path / "tiny-bert")
    cond = _tiny(pretrained_encoder=str(tmp_path / "tiny-bert"))
    out = cond.encode(["ACGT" * 10], [0.0], [0.0])
    assert out.tokens.shape == (1, 40, 16)
    assert not any(p.requires_grad for p in cond.hf_encoder.parameters())
    assert cond.project.weight.requires_grad


def test_a_pretrained_encoder_that_is_not_local_is_one_line_at_once(tmp_path, monkeypatch):
    """The conditioner loads its pretrained DNA encoder through g2p.hf_models.local_model: an unknown hub
    id, offline, fails in well under the seconds a connection attempt takes, in one line naming the
    model, the setting and how to get it (the CLI prints exactly that line); transformers' own
    multi-line OSError never surfaces."""
    import time

    from g2p import cli
    from g2p.errors import InputError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        _tiny(pretrained_encoder="g2p-tests/no-such-dna-model")
    assert time.monotonic() - start < 5
    line, code = cli.describe(info.value)
    assert "\n" not in line and code == 1
    assert "'g2p-tests/no-such-dna-model' is not in the local Hugging Face cache" in line
    assert "field 'pretrained_encoder'" in line and "hf download g2p-tests/no-such-dna-model" in line
    with pytest.raises(InputError, match="local Hugging Face model folder does not exist"):
        _tiny(pretrained_encoder=str(tmp_path / "no-folder"))


def test_token_pooling_shortens_the_context():
    cond = _tiny(token_pool=4)
    out = cond.encode(["ACGT" * 10, "ACGTAC"], lat=[1.0, 2.0], lon=[3.0, 4.0])
    # 39 tokens → ceil(39 / 4) = 10 windows, + 1 environment token; "ACGTAC" has 5 tokens → 2 windows
    assert out.tokens.shape == (2, 11, 16)
    assert out.mask[1].tolist() == [1, 1] + [0] * 8 + [1]
