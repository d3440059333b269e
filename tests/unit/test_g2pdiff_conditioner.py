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
    drop_conditioning,
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
    assert out.tokens.shape == (2, 40, 16) and out.pooled.shape == (2, 16)
    assert out.mask[1].sum() == 1 + 4 + 1
    # the environment changes the conditioning; missing coordinates use the learned no-env vector
    moved = cond.encode(["ACGT" * 10], lat=[-40.0], lon=[20.0])
    assert not torch.allclose(moved.pooled[0], out.pooled[0])
    with torch.no_grad():
        cond.no_env.fill_(3.0)
    assert torch.allclose(cond.encode(["ACGTAC"], [math.nan], [math.nan]).tokens[0, -1], torch.full((16,), 3.0))


def test_conditioner_without_environment():
    cond = _tiny(use_environment=False)
    out = cond.encode(["ACGT" * 10])
    assert out.tokens.shape == (1, 39, 16)
    assert not hasattr(cond, "env_mlp")


def test_condition_dropout_uses_null_token():
    cond = _tiny()
    out = cond.encode(["ACGT" * 10, "ACGT" * 10], [1.0, 1.0], [2.0, 2.0])
    mixed = drop_conditioning(out, cond.null_conditioning(out), torch.tensor([True, False]))
    assert torch.equal(mixed.tokens[0], cond.null_token.expand(40, 16))
    assert torch.equal(mixed.tokens[1], out.tokens[1])


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


def test_token_pooling_shortens_the_context():
    cond = _tiny(token_pool=4)
    out = cond.encode(["ACGT" * 10, "ACGTAC"], lat=[1.0, 2.0], lon=[3.0, 4.0])
    # 39 tokens → ceil(39 / 4) = 10 windows, + 1 environment token; "ACGTAC" has 5 tokens → 2 windows
    assert out.tokens.shape == (2, 11, 16)
    assert out.mask[1].tolist() == [1, 1] + [0] * 8 + [1]
