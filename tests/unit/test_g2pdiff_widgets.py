"""The explorer builds without running the model, and a click generates into the gallery."""

from __future__ import annotations

import math

import pandas as pd
import torch

from g2p.g2pdiff.pipeline import build_pipeline
from g2p.g2pdiff.train import DiffusionTrainConfig, load_vae, make_alignment, make_conditioner, make_unet
from g2p.g2pdiff.widgets import diffusion_explorer


def test_explorer_builds_and_generates():
    torch.manual_seed(0)
    cfg = DiffusionTrainConfig(image_size=16, max_bp=40, token_pool=4, d_model=16, encoder_layers=1,
                               encoder_heads=2, unet_channels=(16, 16), attention_head_dim=4, alignment_hidden=16)
    pipe = build_pipeline(make_conditioner(cfg), make_unet(cfg), load_vae(), make_alignment(cfg))
    records = pd.DataFrame({"processid": ["P1", "P2"], "species": ["Aus bus", "Aus cus"],
                            "barcode": ["ACGT" * 10, "TTGA" * 10], "lat": [12.0, math.nan], "lon": [34.0, math.nan]})
    box = diffusion_explorer(pipe, records, num_images=2, num_inference_steps=1)
    pick, sliders, _, button, status, gallery = box.children
    assert sliders.children[0].value == 12.0 and sliders.children[1].value == 34.0  # the record's coordinates
    assert gallery.children == ()  # nothing generated while building
    button.click()
    assert len(gallery.children) == 2 and bytes(gallery.children[0].value)[:4] == b"\x89PNG"
    assert "Aus bus" in status.value and "12°" in status.value
    sliders.children[2].value = False  # sample without coordinates
    button.click()
    assert len(gallery.children) == 2 and "without coordinates" in status.value
