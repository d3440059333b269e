"""The diffusion explorer's recorded views for the static book: one tab per specimen, one view per setting."""

from __future__ import annotations

import math
import re

import pandas as pd
import torch

from g2p.g2pdiff.pipeline import build_pipeline
from g2p.g2pdiff.train import DiffusionTrainConfig, load_vae, make_alignment, make_conditioner, make_unet
from g2p.g2pdiff.widgets import show_diffusion_explorer


def test_recorded_views_generate_each_setting_and_leave_the_live_widget_at_the_first():
    torch.manual_seed(0)
    cfg = DiffusionTrainConfig(image_size=16, max_bp=40, token_pool=4, d_model=16, encoder_layers=1,
                               encoder_heads=2, unet_channels=(16, 16), attention_head_dim=4, alignment_hidden=16)
    pipe = build_pipeline(make_conditioner(cfg), make_unet(cfg), load_vae(), make_alignment(cfg))
    records = pd.DataFrame({"processid": ["P1", "P2", "P3"], "species": ["Aus bus", "Aus cus", "Aus dus"],
                            "barcode": ["ACGT" * 10, "TTGA" * 10, "GGCA" * 10], "lat": [12.0, math.nan, -40.0],
                            "lon": [34.0, math.nan, 150.0]})
    shown = show_diffusion_explorer(pipe, records, recorded=2, latitudes=(0.0,), num_images=2, num_inference_steps=1)
    html = shown._repr_mimebundle_()["text/html"]
    tabs = re.findall(r'<label for="[^"]+">([^<]+)</label>', html)
    assert tabs[:2] == ["Aus bus · P1", "Aus dus · P3"]  # the record without coordinates is skipped
    assert tabs.count("without coordinates") == 2 and tabs.count("latitude 0°") == 2
    assert html.count("data:image/png;base64,") == 2 * 3 * 2  # 2 specimens × 3 settings × 2 images
    assert "latitude: <b>0</b>" in html and "☐ use coordinates" in html
    pick, sliders, _, _, status, gallery = shown.widget.children
    assert pick.value == 0 and sliders.children[0].value == 12.0 and sliders.children[2].value is True
    assert len(gallery.children) == 2 and "Aus bus" in status.value
