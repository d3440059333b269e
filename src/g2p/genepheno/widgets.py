"""The concept-intervention explorer of notebook 04: pick a gene, switch GO concepts off or on, see
which phenotype scores move.

The phenotype head is linear in the concept activations, so an intervention is exact arithmetic on
a :class:`~g2p.genepheno.bottleneck.Bottleneck` (no model call): the explorer answers at once in a
live kernel. For the static book, :func:`show_concept_explorer` records the explorer's views for a
few genes (every single-concept flip of each) with :mod:`g2p.widget_views`, and displays the live
widget and the recorded views in one output.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np

from g2p import widget_views
from g2p.genepheno.bottleneck import Bottleneck

MODEL, OFF, ON = "model", "off", "on"
TABLE_ID = "g2p-concept-explorer-table"  # the browser test looks for it


def _bar(value: float, color: str) -> str:
    width = max(0.0, min(1.0, float(value))) * 100
    return (f'<div style="display:flex;align-items:center;gap:.3em"><div style="width:70px;height:.7em;'
            f'background:#eaeef2;border-radius:2px"><div style="width:{width:.0f}%;height:100%;background:{color};'
            f'border-radius:2px"></div></div><span>{value:.3f}</span></div>')


def _change(delta: float) -> str:
    if abs(delta) < 5e-4:
        return '<span style="color:#6e7781">0</span>'
    color = "#1a7f37" if delta > 0 else "#cf222e"
    return f'<span style="color:{color};font-weight:600">{delta:+.3f}</span>'


class ConceptExplorer:
    """A gene dropdown, one off/model/on switch per concept that drives the gene's predictions most,
    and a table of phenotype scores before and after the switches.

    ``genes`` are row indices of ``bottleneck`` (the dropdown lists them in this order);
    ``n_concepts`` switches per gene: the concepts with the largest total |activation × weight| over
    the gene's ``top_k`` highest-scoring phenotypes.
    """

    def __init__(self, bottleneck: Bottleneck, genes: Sequence[int], *, n_concepts: int = 6, top_k: int = 10,
                 labels: Sequence[str] | None = None):
        if len(genes) == 0:
            raise ValueError("the explorer needs at least one gene")
        self.bottleneck, self.top_k, self.n_concepts = bottleneck, top_k, n_concepts
        symbols = bottleneck.genes.get("symbol", bottleneck.genes["gene_id"])
        labels = list(labels) if labels is not None else [str(symbols.iat[int(g)]) for g in genes]
        self.gene = widgets.Dropdown(options=list(zip(labels, [int(g) for g in genes])), description="gene")
        self.switches: dict[int, widgets.ToggleButtons] = {}
        self.switch_box = widgets.VBox([])
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.widget = widgets.VBox([
            self.gene,
            widgets.HTML("<b>Concept switches</b> (model: the activation the model computed; off / on: forced)"),
            self.switch_box, self.status, self.table,
        ])
        self.gene.observe(lambda _: self._build_switches(), names="value")
        self._build_switches()

    # ------------------------------------------------------------------ state
    def concepts_for(self, gene: int) -> list[int]:
        """The concepts whose switch can move the gene's top phenotypes most: Σ_j |w_jk| over its
        ``top_k`` phenotypes × the largest change a switch can make to the concept's activation."""
        bn = self.bottleneck
        top = np.argsort(-bn.probabilities(rows=gene)[0], kind="stable")[: self.top_k]
        off, on = bn.switch_values()
        acts = bn.activations[gene]
        reach = np.abs(bn.weights[top]).sum(axis=0) * np.maximum(np.abs(acts - off), np.abs(on - acts))
        return [int(k) for k in np.argsort(-reach, kind="stable")[: self.n_concepts]]

    def flip_state(self, concept: int) -> str:
        """The switch position that flips ``concept`` for the current gene: off if it is on, else on."""
        off, on = self.bottleneck.switch_values()
        value = self.bottleneck.activations[self.gene.value][concept]
        return OFF if value >= (off[concept] + on[concept]) / 2 else ON

    def settings(self) -> dict[int, float]:
        off, on = self.bottleneck.switch_values()
        return {k: float(off[k] if s.value == OFF else on[k]) for k, s in self.switches.items() if s.value != MODEL}

    def set(self, concept: int, state: str) -> None:
        self.switches[int(concept)].value = state

    def reset(self) -> None:
        for switch in self.switches.values():
            switch.value = MODEL  # unchanged values fire nothing; update once below
        self.update()

    # ------------------------------------------------------------------ views
    def _build_switches(self) -> None:
        bn, gene = self.bottleneck, self.gene.value
        annotated = np.asarray(bn.concept_labels[gene].toarray()).ravel() > 0
        self.switches = {}
        rows = []
        for k in self.concepts_for(gene):
            name = str(bn.concepts["name"].iat[k])
            short = name if len(name) <= 38 else name[:37] + "…"
            switch = widgets.ToggleButtons(
                options=[MODEL, OFF, ON], value=MODEL, description=f"{short}{' ✓' if annotated[k] else ''}",
                tooltips=[f"activation {bn.activations[gene][k]:.2f} (as computed)", "forced off", "forced on"],
                style={"description_width": "300px", "button_width": "60px"},
                layout=widgets.Layout(width="auto"),
            )
            switch.observe(lambda _: self.update(), names="value")
            self.switches[k] = switch
            rows.append(switch)
        self.switch_box.children = rows
        self.update()

    def update(self) -> None:
        bn, gene = self.bottleneck, self.gene.value
        before = bn.probabilities(rows=gene)[0]
        settings = self.settings()
        acts = bn.activations[gene].copy()
        for k, value in settings.items():
            acts[k] = value
        after = bn.probabilities(acts, rows=gene)[0]
        observed = np.asarray(bn.labels[gene].toarray()).ravel() > 0
        delta = after - before
        shown = list(np.argsort(-after, kind="stable")[: self.top_k])
        moved = [int(j) for j in np.argsort(-np.abs(delta), kind="stable")[:5] if abs(delta[j]) >= 5e-4]
        head = ("<tr><th style='text-align:left'>phenotype</th><th>observed</th><th>model</th>"
                "<th>after switches</th><th>change</th></tr>")

        def row(j: int) -> str:
            return (f"<tr><td>{html.escape(str(bn.terms['name'].iat[j]))}</td>"
                    f"<td style='text-align:center'>{'✓' if observed[j] else ''}</td>"
                    f"<td>{_bar(before[j], '#8c959f')}</td><td>{_bar(after[j], '#0969da')}</td>"
                    f"<td style='text-align:right'>{_change(delta[j])}</td></tr>")

        style = "border-collapse:collapse;font-size:.85em"
        parts = [f"<div id='{TABLE_ID}'><table style='{style}'>"
                 f"<caption style='text-align:left'>Top {self.top_k} phenotypes after the switches</caption>",
                 head, *(row(j) for j in shown), "</table>"]
        if moved:
            parts += [f"<table style='{style};margin-top:.5em'><caption style='text-align:left'>Moved most</caption>",
                      head, *(row(j) for j in moved), "</table>"]
        parts.append("</div>")
        self.table.value = "".join(parts)
        if settings:
            names = ", ".join(f"{bn.concepts['name'].iat[k]} {self.switches[k].value}" for k in settings)
            top = moved[0] if moved else int(np.argmax(np.abs(delta)))
            self.status.value = (f"<div>Switched: {html.escape(names)}. Largest change: "
                                 f"<b>{html.escape(str(bn.terms['name'].iat[top]))}</b> ({delta[top]:+.3f}).</div>")
        else:
            self.status.value = "<div>All concepts as the model computed them; switch one to see what moves.</div>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)


def recorded_views(explorer: ConceptExplorer, genes: Sequence[int] | None = None) -> dict[str, str]:
    """For each of ``genes`` (default: every gene of the dropdown): a selector of the explorer's views
    with all concepts as computed and with each switch flipped alone."""
    options = [(label, row) for label, row in explorer.gene.options if genes is None or row in set(genes)]
    first = explorer.gene.value
    views = {}
    for label, row in options:
        explorer.gene.value = row  # rebuilds the switches
        steps = {"as the model computes": explorer.reset}
        for k in list(explorer.switches):
            state = explorer.flip_state(k)
            name = str(explorer.bottleneck.concepts["name"].iat[k])
            steps[f"{name}: {state}"] = (lambda k=k, state=state: (explorer.reset(), explorer.set(k, state)))
        views[label] = widget_views.selector_html(widget_views.record(explorer.widget, steps), shared_style=False)
    explorer.gene.value = first
    explorer.reset()
    return views


def show_concept_explorer(bottleneck: Bottleneck, genes: Sequence[int], recorded: Sequence[int] | None = None, *,
                          n_concepts: int = 6, top_k: int = 10, labels: Sequence[str] | None = None):
    """The explorer, live in Jupyter, with recorded views (for ``recorded`` genes, default: all) shown
    in the static book. Display the returned object (last line of a cell)."""
    explorer = ConceptExplorer(bottleneck, genes, n_concepts=n_concepts, top_k=top_k, labels=labels)
    views = recorded_views(explorer, recorded)
    note = ("Recorded when this chapter was executed: each tab is one gene, each button one concept "
            "switched alone (✓ in a switch's name: the gene is annotated with that concept). "
            "Open <code>notebooks/04_interpretability.ipynb</code> in JupyterLab and run it to combine "
            "switches freely and pick other genes.")
    return widget_views.LiveOrRecorded(explorer.widget, views, title="Concept-intervention explorer", note=note)
