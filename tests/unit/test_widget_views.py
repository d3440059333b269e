"""g2p.widget_views (recorded views of a widget behind a CSS-only selector) and the concept explorer."""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest

from g2p import widget_views
from g2p.genepheno import interventions as interpret  # intervene moved from interpret
from g2p.genepheno.widgets import OFF, ON, TABLE_ID, ConceptExplorer, recorded_views, show_concept_explorer
from test_interpret import make_bottleneck  # same folder (pytest puts it on sys.path)

PNG = bytes.fromhex("89504e470d0a1a0a")  # enough for an <img> data URI


def test_snapshot_renders_values_images_and_html_but_not_buttons():
    pick = widgets.Dropdown(options=[("first", 1), ("second", 2)], value=2, description="gene")
    box = widgets.VBox([
        widgets.Label("a label"), pick, widgets.FloatSlider(value=12.5, description="lat"),
        widgets.Checkbox(value=True, description="use coordinates"),
        widgets.HBox([widgets.Image(value=PNG, format="png"), widgets.HTML("<table id='t'></table>")]),
        widgets.Button(description="Generate"),
    ])
    html = widget_views.snapshot(box)
    assert "a label" in html and "gene: <b>second</b>" in html and "lat: <b>12.5</b>" in html
    assert "☑ use coordinates" in html
    assert "data:image/png;base64," in html and "<table id='t'></table>" in html
    assert "Generate" not in html
    assert 'class="g2p-row"' in html and 'class="g2p-col"' in html


def test_record_runs_each_step_then_restores_the_first():
    label = widgets.Label("start")
    calls = []

    def setter(text):
        return lambda: (calls.append(text), setattr(label, "value", text))

    views = widget_views.record(widgets.VBox([label]), {"A": setter("alpha"), "B": setter("beta")})
    assert list(views) == ["A", "B"]
    assert "alpha" in views["A"] and "beta" in views["B"] and "beta" not in views["A"]
    assert calls == ["alpha", "beta", "alpha"] and label.value == "alpha"
    widget_views.record(widgets.VBox([label]), {"A": setter("alpha"), "B": setter("beta")}, restore=False)
    assert label.value == "beta"
    with pytest.raises(ValueError):
        widget_views.record(label, {})


def test_find_walks_the_tree():
    lat = widgets.FloatSlider(description="latitude")
    button = widgets.Button(description="Generate")
    box = widgets.VBox([widgets.HBox([widgets.Label("x"), lat]), button])
    assert widget_views.find(box, "latitude") is lat
    assert widget_views.find(box, kind=widgets.Button) is button
    with pytest.raises(LookupError):
        widget_views.find(box, "longitude")


def test_selector_has_one_radio_and_panel_per_view_first_checked_and_css_rules():
    html = widget_views.selector_html({"one": "<p>1</p>", "two <b>": "<p>2</p>"}, title="T", note="N")
    uid = re.search(r'<div class="g2p-views" id="([^"]+)"', html).group(1)
    radios = re.findall(r'<input type="radio" name="([^"]+)" id="([^"]+)"[^>]*?( checked)?>', html)
    assert [r[1] for r in radios] == [f"{uid}-0", f"{uid}-1"]
    assert radios[0][2] == " checked" and radios[1][2] == ""
    assert html.count('class="g2p-panel ') == 2
    for i in range(2):  # each radio shows its own panel
        assert f"#{uid}>#{uid}-{i}:checked~.g2p-panels>.g2p-panel-{i}{{display:block}}" in html
    assert "two &lt;b&gt;" in html and "<script" not in html
    other = widget_views.selector_html({"one": "<p>1</p>", "two <b>": "<p>2</p>"})
    assert re.search(r'id="([^"]+)"', other).group(1) != uid  # two selectors on one page never clash


def test_live_or_recorded_bundle_has_the_widget_view_and_the_html():
    bundle = widget_views.LiveOrRecorded(widgets.Label("x"), {"v": "<p>recorded</p>"})._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "recorded" in bundle["text/html"] and "text/plain" in bundle


def _table_scores(html: str) -> list[str]:
    return re.findall(r"<span>(\d\.\d{3})</span>", html)


def test_concept_explorer_switch_changes_the_scores_as_interpret_computes():
    bn = make_bottleneck(n_genes=5, seed=2)
    explorer = ConceptExplorer(bn, [3, 1], n_concepts=2, top_k=5)
    assert explorer.gene.value == 3 and len(explorer.switches) == 2
    before = explorer.table.value
    assert TABLE_ID in before and "switch one" in explorer.status.value
    k = next(iter(explorer.switches))
    explorer.set(k, OFF)
    after = explorer.table.value
    assert after != before and "Switched" in explorer.status.value
    expected = interpret.intervene(bn, 3, {k: 0.0})
    shown = sorted(float(v) for v in _table_scores(after))
    top = sorted(np.round(np.sort(expected)[-5:], 3))
    assert all(any(abs(v - t) < 1.5e-3 for v in shown) for t in top)
    explorer.set(k, ON)
    assert explorer.settings() == {k: 1.0}
    explorer.reset()
    assert explorer.settings() == {} and explorer.table.value == before
    explorer.gene.value = 1  # a new gene gets its own switches, all at "model"
    assert all(s.value == "model" for s in explorer.switches.values())


def test_recorded_views_cover_each_gene_and_each_single_flip():
    bn = make_bottleneck(n_genes=4, seed=5)
    explorer = ConceptExplorer(bn, [0, 2, 3], n_concepts=2, top_k=3, labels=["g0", "g2", "g3"])
    views = recorded_views(explorer, genes=[0, 2])
    assert list(views) == ["g0", "g2"]
    for html in views.values():
        assert html.count('class="g2p-panel ') == 3  # as computed + 2 flips
    assert explorer.gene.value == 0 and explorer.settings() == {}
    shown = show_concept_explorer(bn, [0, 2], n_concepts=2, top_k=3)
    assert "Concept-intervention explorer" in shown._repr_mimebundle_()["text/html"]
