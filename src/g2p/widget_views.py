"""Explorers that are live in Jupyter and still show something in the static book.

An ipywidgets explorer needs a kernel, and the book has none; it is also built and read offline, so
it cannot load the ipywidgets JavaScript from a CDN either. Instead, at execution time, the explorer
is driven to a few settings and each resulting view is recorded as plain HTML; the book shows these
*recorded views* behind a selector made of radio buttons and CSS alone (no script), so a reader can
step through them.

One display carries both, as two entries of one MIME bundle::

    explorer = concept_explorer(...)
    views = widget_views.record(explorer, {"gene A": lambda: pick.value = 0, ...})
    widget_views.LiveOrRecorded(explorer, views, title=..., note=...)   # last line of a cell

JupyterLab (or Notebook 7, VS Code) prefers ``application/vnd.jupyter.widget-view+json`` and shows
the live widget; the book (myst-nb, which is told to drop that MIME type in ``_config.yml``) shows the
``text/html`` entry: the recorded views.

* :func:`snapshot` — the current state of any widget tree as static HTML (controls as read-only
  values, images inline, HTML widgets as they are);
* :func:`record` — drive a widget through named steps and snapshot it after each;
* :func:`selector_html` — named HTML views behind a CSS-only selector (selectors nest);
* :class:`LiveOrRecorded` — the object to display.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
from collections.abc import Callable, Mapping
from typing import Any

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_counter = itertools.count()

# One stylesheet per selector (a page may hold one chapter's selectors only; the rules are scoped
# by class, so repeating them is harmless).
_CSS = """
.g2p-views{border:1px solid #c8ccd0;border-radius:6px;padding:.6em .8em;margin:.6em 0;background:#fff}
.g2p-views .g2p-views{border-style:dashed;margin:.4em 0}
.g2p-views>input{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.g2p-views>.g2p-title{font-weight:600;margin-bottom:.3em}
.g2p-views>.g2p-tabs>label{display:inline-block;padding:.15em .6em;margin:.1em .15em .1em 0;border:1px solid #b8bec4;
  border-radius:4px;cursor:pointer;font-size:.88em;background:#f6f8fa;user-select:none}
.g2p-views>.g2p-tabs>label:hover{background:#eaeef2}
.g2p-views>.g2p-panels>.g2p-panel{display:none;padding-top:.4em}
.g2p-views>.g2p-note{font-size:.85em;color:#57606a;margin-top:.4em}
.g2p-snapshot .g2p-row{display:flex;flex-wrap:wrap;gap:.4em;align-items:flex-start}
.g2p-snapshot .g2p-col{display:flex;flex-direction:column;align-items:flex-start;gap:.3em}
.g2p-snapshot .g2p-control{display:inline-block;font-size:.85em;padding:.1em .5em;border-radius:4px;background:#f0f3f6;
  border:1px solid #d0d7de}
.g2p-snapshot img{image-rendering:pixelated}
"""


# --------------------------------------------------------------------------------------- snapshots
def _img(data: bytes, fmt: str = "png", width: str | int = "") -> str:
    src = f"data:image/{fmt};base64,{base64.b64encode(bytes(data)).decode()}"
    size = f' width="{html.escape(str(width))}"' if width not in ("", None) else ""
    return f'<img src="{src}"{size} alt="">'


def _control_text(widget: Any) -> str:
    """A control's current value as a reader would say it (selected label, slider value, ...)."""
    import ipywidgets as widgets

    if isinstance(widget, widgets.Checkbox) or isinstance(widget, widgets.ToggleButton):
        return ("☑ " if widget.value else "☐ ") + html.escape(widget.description or "")
    if hasattr(widget, "label") and hasattr(widget, "options"):  # selection widgets
        label = widget.label
        value = ", ".join(map(str, label)) if isinstance(label, (tuple, list)) else str(label)
        value = value or "(none)"
    elif isinstance(widget.value, float):
        value = f"{widget.value:g}"
    else:
        value = str(widget.value)
    name = html.escape(widget.description or "")
    return f"{name}: <b>{html.escape(value)}</b>" if name else f"<b>{html.escape(value)}</b>"


def _output_html(outputs: Any) -> str:
    parts = []
    for out in outputs:
        data = out.get("data", {}) if isinstance(out, Mapping) else {}
        if "text/html" in data:
            parts.append(str(data["text/html"]))
        elif "image/png" in data:
            parts.append(f'<img src="data:image/png;base64,{data["image/png"]}" alt="">')
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(str(data['text/plain']))}</pre>")
        elif out.get("output_type") == "stream":
            parts.append(f"<pre>{html.escape(str(out.get('text', '')))}</pre>")
    return "".join(parts)


def _snapshot(widget: Any) -> str:
    import ipywidgets as widgets

    layout = getattr(widget, "layout", None)
    if layout is not None and (layout.display == "none" or layout.visibility == "hidden"):
        return ""
    if isinstance(widget, widgets.Box):
        inner = "".join(_snapshot(child) for child in widget.children)
        kind = "g2p-row" if isinstance(widget, widgets.HBox) else "g2p-col"
        return f'<div class="{kind}">{inner}</div>' if inner else ""
    if isinstance(widget, (widgets.HTML, widgets.HTMLMath)):
        return str(widget.value)
    if isinstance(widget, widgets.Label):
        return f"<div>{html.escape(widget.value)}</div>" if widget.value else ""
    if isinstance(widget, widgets.Image):
        return _img(widget.value, widget.format or "png", widget.width) if widget.value else ""
    if isinstance(widget, widgets.Output):
        return _output_html(widget.outputs)
    if isinstance(widget, widgets.Button):
        return ""  # an action, not a state: nothing to show without a kernel
    if isinstance(widget, widgets.ValueWidget):
        return f'<span class="g2p-control">{_control_text(widget)}</span>'
    return ""


def snapshot(widget: Any) -> str:
    """The current state of ``widget`` (and its children) as static HTML: boxes become flex rows and
    columns, controls their current values as read-only text, images inline ``data:`` URIs, HTML and
    Label widgets their content, Output widgets their captured outputs; buttons are left out."""
    return f'<div class="g2p-snapshot">{_snapshot(widget)}</div>'


def record(widget: Any, steps: Mapping[str, Callable[[], Any]], *, restore: bool = True) -> dict[str, str]:
    """``{name: snapshot}`` after running each step (a function that sets the widget's controls, or
    clicks its buttons, which runs their callbacks at once in the kernel). With ``restore`` the first
    step runs again at the end, so the live widget starts in the view the book shows first."""
    if not steps:
        raise ValueError("record needs at least one step")
    views = {}
    for name, step in steps.items():
        step()
        views[str(name)] = snapshot(widget)
    if restore:
        next(iter(steps.values()))()
    return views


def find(widget: Any, description: str | None = None, kind: type | None = None) -> Any:
    """The first widget in ``widget``'s tree (depth first) with this description and/or of this
    type; ``LookupError`` if there is none."""
    import ipywidgets as widgets

    stack = [widget]
    while stack:
        current = stack.pop(0)
        if (description is None or getattr(current, "description", None) == description) and \
                (kind is None or isinstance(current, kind)):
            return current
        if isinstance(current, widgets.Box):
            stack[:0] = list(current.children)
    raise LookupError(f"no widget{f' described {description!r}' if description else ''}"
                      f"{f' of type {kind.__name__}' if kind else ''} in this explorer")


# ------------------------------------------------------------------------------------- selector
def selector_html(views: Mapping[str, str], *, title: str = "", note: str = "", name: str | None = None,
                  shared_style: bool = True) -> str:
    """Named HTML views behind a row of labels; clicking a label shows its view. Pure HTML + CSS
    (hidden radio buttons and ``:checked`` rules scoped by a unique id), so it works in a static page
    with scripts off, and keyboard users can move between views with the arrow keys. A view may itself
    be a selector (views nest; inner ones may pass ``shared_style=False``, the outer one carries the
    shared rules)."""
    if not views:
        raise ValueError("selector_html needs at least one view")
    labels = [str(k) for k in views]
    digest = hashlib.sha1("\x00".join([title, *labels, *map(str, views.values())]).encode()).hexdigest()[:8]
    uid = name or f"g2pv{next(_counter)}-{digest}"
    rules = []
    for i in range(len(labels)):
        rules.append(f"#{uid}>#{uid}-{i}:checked~.g2p-panels>.g2p-panel-{i}{{display:block}}")
        rules.append(f"#{uid}>#{uid}-{i}:checked~.g2p-tabs>label[for={uid}-{i}]"
                     "{background:#ddeeff;border-color:#0969da;font-weight:600}")
        rules.append(f"#{uid}>#{uid}-{i}:focus-visible~.g2p-tabs>label[for={uid}-{i}]{{outline:2px solid #0969da}}")
    radios = "".join(
        f'<input type="radio" name="{uid}" id="{uid}-{i}" aria-label="{html.escape(label)}"{" checked" if i == 0 else ""}>'
        for i, label in enumerate(labels))
    tabs = "".join(f'<label for="{uid}-{i}">{html.escape(label)}</label>' for i, label in enumerate(labels))
    panels = "".join(f'<div class="g2p-panel g2p-panel-{i}" data-view="{html.escape(label)}">{body}</div>'
                     for i, (label, body) in enumerate(zip(labels, views.values())))
    head = f'<div class="g2p-title">{html.escape(title)}</div>' if title else ""
    foot = f'<div class="g2p-note">{note}</div>' if note else ""
    return (f'<div class="g2p-views" id="{uid}"><style>{_CSS if shared_style else ""}{"".join(rules)}</style>{head}{radios}'
            f'<div class="g2p-tabs" role="radiogroup">{tabs}</div><div class="g2p-panels">{panels}</div>{foot}</div>')


class LiveOrRecorded:
    """Display ``widget`` live where a widget manager runs, and ``views`` (recorded with
    :func:`record`, or any ``{name: html}``) behind :func:`selector_html` everywhere else."""

    def __init__(self, widget: Any, views: Mapping[str, str], *, title: str = "", note: str = ""):
        self.widget = widget
        self.html = selector_html(views, title=title, note=note)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.html
        return bundle
