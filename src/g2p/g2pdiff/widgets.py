"""The diffusion explorer (ipywidgets) of chapter 06: pick a barcode and coordinates, generate samples.

Building it never runs the model, so papermill does not block; the interaction (button clicks) works in a
live Jupyter kernel, and :func:`show_diffusion_explorer` records views of it for the static book
(:mod:`g2p.widget_views`)."""

from __future__ import annotations

import io

import ipywidgets as widgets
import pandas as pd
import torch
from PIL import Image

from g2p import widget_views
from g2p.g2pdiff.config import GUIDANCE_SCALE


def _png(image: torch.Tensor, scale: int = 3) -> bytes:
    arr = (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).astype("uint8")
    pil = Image.fromarray(arr).resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def diffusion_explorer(
    pipe, records: pd.DataFrame, *, num_images: int = 4, num_inference_steps: int = 20,
    guidance_scale: float = GUIDANCE_SCALE, alignment_scale: float = 1.0, max_choices: int = 200,
) -> widgets.VBox:
    """Pick a barcode (labelled by species and processid), move latitude/longitude, press Generate.

    Unticking "use coordinates" samples the same network without the environment (the "no
    environment" input condition dropout trained).  The simulator's ground truth is not shown here on
    purpose: the explorer shows what the model predicts from DNA and coordinates alone.
    """
    recs = records.head(max_choices).reset_index(drop=True)
    options = [(f"{r.species} · {r.processid}", i) for i, r in recs.iterrows()]
    pick = widgets.Dropdown(options=options, description="barcode")
    lat = widgets.FloatSlider(value=0.0, min=-90, max=90, step=1, description="latitude")
    lon = widgets.FloatSlider(value=0.0, min=-180, max=180, step=1, description="longitude")
    use_coords = widgets.Checkbox(value=True, description="use coordinates")
    guidance = widgets.FloatSlider(value=guidance_scale, min=0, max=8, step=0.5, description="CFG scale")
    align = widgets.FloatSlider(value=alignment_scale, min=0, max=10, step=0.5, description="alignment")
    seed = widgets.IntText(value=0, description="seed")
    button = widgets.Button(description="Generate", button_style="primary")
    gallery = widgets.HBox([])
    status = widgets.Label("")

    def on_pick(change=None) -> None:
        row = recs.iloc[pick.value]
        if pd.notna(row["lat"]) and pd.notna(row["lon"]):
            lat.value, lon.value = float(row["lat"]), float(row["lon"])

    def on_generate(_=None) -> None:
        status.value = "generating…"
        row = recs.iloc[pick.value]
        coords = ([lat.value], [lon.value]) if use_coords.value else (None, None)
        images = pipe(
            [row["barcode"]], *coords, num_images_per_barcode=num_images,
            num_inference_steps=num_inference_steps, guidance_scale=guidance.value,
            alignment_scale=align.value, generator=torch.Generator().manual_seed(int(seed.value)),
        ).images
        gallery.children = [widgets.Image(value=_png(x), format="png") for x in images]
        where = f"at ({lat.value:.0f}°, {lon.value:.0f}°)" if use_coords.value else "without coordinates"
        status.value = f"{row['species']} {where}"

    pick.observe(on_pick, names="value")
    button.on_click(on_generate)
    on_pick()
    return widgets.VBox([pick, widgets.HBox([lat, lon, use_coords]), widgets.HBox([guidance, align, seed]),
                         button, status, gallery])


def record_diffusion_views(explorer: widgets.VBox, records: pd.DataFrame, *, n_barcodes: int = 3,
                           latitudes: tuple[float, ...] = (0.0, 70.0)) -> dict[str, str]:
    """Views of a :func:`diffusion_explorer` for the static book: for each of the first ``n_barcodes``
    records of its dropdown that have coordinates, the samples at the specimen's own coordinates, at
    each of ``latitudes`` (same longitude), and without coordinates. Each view presses Generate once."""
    pick = widget_views.find(explorer, "barcode")
    lat, lon = widget_views.find(explorer, "latitude"), widget_views.find(explorer, "longitude")
    use_coords = widget_views.find(explorer, "use coordinates")
    button = widget_views.find(explorer, kind=widgets.Button)
    recs = records.head(len(pick.options)).reset_index(drop=True)
    chosen = [i for i in range(len(recs)) if pd.notna(recs.at[i, "lat"]) and pd.notna(recs.at[i, "lon"])][:n_barcodes]

    def generate(i: int, latitude: float | None, coordinates: bool = True):
        def step() -> None:
            pick.value = i
            lat.value = float(recs.at[i, "lat"]) if latitude is None else latitude
            lon.value = float(recs.at[i, "lon"])
            use_coords.value = coordinates
            button.click()
        return step

    views = {}
    for i in chosen:
        steps = {f"own coordinates ({recs.at[i, 'lat']:.0f}°)": generate(i, None)}
        steps.update({f"latitude {value:.0f}°": generate(i, value) for value in latitudes})
        steps["without coordinates"] = generate(i, None, coordinates=False)
        label = dict((v, k) for k, v in pick.options)[i]
        views[label] = widget_views.selector_html(widget_views.record(explorer, steps, restore=False),
                                                  shared_style=False)
    if chosen:
        generate(chosen[0], None)()  # the live widget starts where the book's first view does
    return views


def show_diffusion_explorer(pipe, records: pd.DataFrame, *, recorded: int = 3, latitudes: tuple[float, ...] = (0.0, 70.0),
                            **explorer_options):
    """:func:`diffusion_explorer`, live in Jupyter, with :func:`record_diffusion_views` shown in the
    static book. Display the returned object (last line of a cell)."""
    explorer = diffusion_explorer(pipe, records, **explorer_options)
    views = record_diffusion_views(explorer, records, n_barcodes=recorded, latitudes=latitudes)
    note = ("Recorded when this chapter was executed: each tab is one held-out specimen, each button one "
            "setting of the explorer (Generate pressed once, same seed). Open "
            "<code>notebooks/06_generate_phenotypes.ipynb</code> in JupyterLab and run it to pick any barcode, "
            "coordinates and guidance live.")
    if not views:
        views = {"explorer": widget_views.snapshot(explorer)}
    return widget_views.LiveOrRecorded(explorer, views, title="Diffusion explorer", note=note)
