"""Drawing one specimen from its traits: PIL polygons and ellipses on a supersampled canvas.

Dorsal view, head up, centred, on a plain light background (:data:`BACKGROUND_RGB`), the same pixel
scale for every specimen; the body plans and the canvas are described in :mod:`g2p.g2pdiff.simulator`,
which computes the traits and calls :func:`draw_specimen`.  Geometry is in canvas pixels.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

BACKGROUND_RGB: tuple[int, int, int] = (242, 240, 235)
CLEAR_WING_RGB: tuple[int, int, int] = (228, 231, 236)


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5)


def _scale(rgb: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(int(min(255, c * f)) for c in rgb)  # type: ignore[return-value]


def _lerp(p: tuple[float, float], q: tuple[float, float], t: float) -> tuple[float, float]:
    return p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t


def _quad_point(quad: Sequence[tuple[float, float]], u: float, v: float) -> tuple[float, float]:
    """Bilinear point in a quad (root, tip, outer-trailing, inner-trailing): u along, v across."""
    lead = _lerp(quad[0], quad[1], u)
    trail = _lerp(quad[3], quad[2], u)
    return _lerp(lead, trail, v)


def _mirror(points: Sequence[tuple[float, float]], cx: float) -> list[tuple[float, float]]:
    return [(2 * cx - x, y) for x, y in points]


def _ellipse_band(cx: float, cy: float, rx: float, ry: float, y1: float, y2: float) -> list[tuple[float, float]]:
    """Polygon of the part of an ellipse between heights y1 < y2 (a band that stays inside it)."""
    ys = np.linspace(max(y1, cy - ry), min(y2, cy + ry), 8)
    half = rx * np.sqrt(np.clip(1 - ((ys - cy) / ry) ** 2, 0, 1))
    return [(cx + w, y) for y, w in zip(ys, half)] + [(cx - w, y) for y, w in zip(ys[::-1], half[::-1])]


# Fixed spot layout (u, v) on a pattern surface; density picks how many are used.
_SPOTS = ((0.55, 0.45), (0.8, 0.35), (0.35, 0.6), (0.7, 0.7), (0.25, 0.3), (0.9, 0.6))


def _pattern_on_quad(draw: ImageDraw.ImageDraw, quad, t, colour, size: float) -> None:
    if t.pattern_type == 1:
        n = 1 + int(round(t.pattern_density * 5))
        r = size * (0.05 + 0.05 * (1 - t.pattern_density))
        for u, v in _SPOTS[:n]:
            x, y = _quad_point(quad, u, v)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif t.pattern_type == 2:
        n = 1 + int(round(t.pattern_density * 3))
        width = 0.5 / (n + 1)
        for k in range(n):
            u = (k + 1) / (n + 1)
            u1, u2 = u - width / 2, u + width / 2
            draw.polygon([_quad_point(quad, u1, 0), _quad_point(quad, u2, 0),
                          _quad_point(quad, u2, 1), _quad_point(quad, u1, 1)], fill=colour)


def _pattern_on_ellipse(draw: ImageDraw.ImageDraw, box, t, colour) -> None:
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    if t.pattern_type == 1:
        n = 1 + int(round(t.pattern_density * 5))
        r = min(rx, ry) * (0.12 + 0.1 * (1 - t.pattern_density))
        for u, v in _SPOTS[:n]:
            # Spots in mirrored pairs either side of the midline, inside the ellipse.
            dx, dy = (0.2 + 0.45 * v) * rx, (u - 0.55) * 1.2 * ry
            for side in (-1, 1):
                x, y = cx + side * dx, cy + dy
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif t.pattern_type == 2:
        n = 1 + int(round(t.pattern_density * 3))
        band = 2 * ry / (2 * n + 1)
        for k in range(n):
            top = y0 + band * (2 * k + 1)
            draw.polygon(_ellipse_band(cx, cy, rx, ry, top, top + band), fill=colour)


def _legs(draw, cx, ys, body_half_width, length, colour, width, spread=(-0.6, 0.0, 0.6)) -> None:
    """Three pairs of two-segment legs from attachment heights ``ys``, angled forward → backward."""
    for y, angle in zip(ys, spread):
        for side in (-1, 1):
            x0 = cx + side * body_half_width * 0.8
            knee = (x0 + side * length * 0.55 * math.cos(angle * 0.5), y + length * 0.55 * math.sin(angle * 0.5) - length * 0.1)
            foot = (knee[0] + side * length * 0.2, knee[1] + length * 0.45 * (0.3 + angle))
            draw.line([(x0, y), knee, foot], fill=colour, width=width, joint="curve")


def _antennae(draw, cx, y_head_top, head_half_width, length, colour, width, club: bool = False) -> None:
    base_y = y_head_top + head_half_width * 0.3
    # The tip rises 0.9 × length: shorten long antennae of large specimens to stay inside the frame.
    length = min(length, (base_y - 2.5 * width) / 0.9)
    for side in (-1, 1):
        base = (cx + side * head_half_width * 0.4, base_y)
        mid = (base[0] + side * length * 0.35, base[1] - length * 0.55)
        tip = (mid[0] + side * length * 0.25, mid[1] - length * 0.35)
        draw.line([base, mid, tip], fill=colour, width=width, joint="curve")
        if club:
            r = max(width * 1.2, 1.5)
            draw.ellipse([tip[0] - r, tip[1] - r, tip[0] + r, tip[1] + r], fill=colour)


def _clear_wing(draw, quad, outline, width) -> None:
    draw.polygon(quad, fill=CLEAR_WING_RGB, outline=outline, width=max(1, width // 2))
    draw.line([_quad_point(quad, 0.0, 0.3), _quad_point(quad, 0.85, 0.35)], fill=outline, width=max(1, width // 2))


def draw_specimen(t, image_size: int) -> Image.Image:
    """One specimen, dorsal view, from its traits ``t`` (a row of :meth:`PhenotypeSimulator.traits`:
    ``plan`` and the :data:`~g2p.g2pdiff.simulator.TRAIT_NAMES` as attributes), ``image_size`` pixels square."""
    ss = 4 if image_size <= 96 else 2
    S = image_size * ss
    img = Image.new("RGB", (S, S), BACKGROUND_RGB)
    draw = ImageDraw.Draw(img)
    cx, cy = S / 2, S / 2
    L = t.body_length * S
    W = t.body_width * L
    body = _rgb(t.hue, t.saturation, t.value)
    pattern = _rgb(t.hue + t.pattern_hue, min(1.0, t.saturation + 0.2), t.value * 0.4)
    outline = _scale(body, 0.55)
    appendage = _scale(body, 0.45)
    lw = max(1, int(round(S / 90)))
    y0 = cy - L / 2
    span = t.wing_span * S

    if t.plan == "Lepidoptera":
        head = t.head_size * W
        y_root = y0 + head + 0.12 * L
        chord = span * (0.22 + 0.22 * t.wing_shape)
        fore = [(cx + W * 0.3, y_root), (cx + span / 2, y_root - 0.25 * chord),
                (cx + span / 2 * 0.88, y_root + 0.6 * chord), (cx + W * 0.3, y_root + 0.7 * chord)]
        hind_box = (cx + W * 0.2, y_root + 0.45 * chord,
                    cx + W * 0.2 + span * (0.22 + 0.1 * t.wing_shape), y_root + 0.45 * chord + chord * (0.7 + 0.5 * t.wing_shape))
        _antennae(draw, cx, y0, head / 2, t.antenna_length * L, appendage, lw, club=True)
        for mirror in (False, True):
            quad = _mirror(fore, cx) if mirror else fore
            hx0, hy0, hx1, hy1 = hind_box
            hb = (2 * cx - hx1, hy0, 2 * cx - hx0, hy1) if mirror else hind_box
            draw.ellipse(hb, fill=body, outline=outline, width=lw)
            draw.polygon(quad, fill=body, outline=outline, width=lw)
            _pattern_on_quad(draw, quad, t, pattern, chord)
        draw.ellipse([cx - W / 2, y0 + head * 0.8, cx + W / 2, y0 + L], fill=_scale(body, 0.7), outline=outline, width=lw)
        draw.ellipse([cx - head / 2, y0, cx + head / 2, y0 + head], fill=_scale(body, 0.6))
    elif t.plan == "Coleoptera":
        head_w = t.head_size * W * 0.8
        pron_h = 0.22 * L
        head_h = 0.14 * L
        elytra = (cx - W / 2, y0 + head_h + pron_h * 0.85, cx + W / 2, y0 + L)
        _antennae(draw, cx, y0, head_w / 2, t.antenna_length * L, appendage, lw)
        _legs(draw, cx, [y0 + head_h + pron_h * 0.7, elytra[1] + 0.12 * L, elytra[1] + 0.3 * L], W / 2,
              t.leg_length * L, appendage, lw)
        draw.ellipse([cx - head_w / 2, y0, cx + head_w / 2, y0 + head_h * 1.3], fill=_scale(body, 0.55))
        draw.ellipse([cx - 0.42 * W, y0 + head_h, cx + 0.42 * W, y0 + head_h + pron_h], fill=_scale(body, 0.8), outline=outline, width=lw)
        draw.ellipse(elytra, fill=body, outline=outline, width=lw)
        _pattern_on_ellipse(draw, elytra, t, pattern)
        draw.line([(cx, elytra[1] + lw), (cx, elytra[3] - lw)], fill=outline, width=lw)
    elif t.plan in ("Hymenoptera", "Diptera"):
        fly = t.plan == "Diptera"
        head = t.head_size * W * (1.0 if fly else 0.8)
        thorax_h = (0.3 if fly else 0.26) * L
        thorax = (cx - W * 0.45, y0 + head * 0.85, cx + W * 0.45, y0 + head * 0.85 + thorax_h)
        waist = 0.0 if fly else 0.08 * L
        abdomen = (cx - W / 2 * (0.9 if fly else 1.0), thorax[3] + waist - 0.02 * L, cx + W / 2 * (0.9 if fly else 1.0), y0 + L)
        y_root = thorax[1] + 0.35 * thorax_h
        chord = span * (0.14 + 0.14 * t.wing_shape)
        wings = [[(cx + W * 0.3, y_root), (cx + span / 2, y_root + 0.9 * chord + 0.15 * L),
                  (cx + span / 2 * 0.92, y_root + 1.8 * chord + 0.15 * L), (cx + W * 0.3, y_root + 0.5 * chord)]]
        if not fly:  # the smaller hind pair
            wings.append([(cx + W * 0.3, y_root + 0.4 * chord), (cx + span / 2 * 0.7, y_root + 1.3 * chord + 0.15 * L),
                          (cx + span / 2 * 0.62, y_root + 1.9 * chord + 0.15 * L), (cx + W * 0.3, y_root + 0.8 * chord)])
        _legs(draw, cx, [thorax[1] + 0.3 * thorax_h, thorax[1] + 0.6 * thorax_h, thorax[3] - 0.05 * thorax_h], W * 0.45,
              t.leg_length * L, appendage, lw)
        _antennae(draw, cx, y0, head / 2, t.antenna_length * L, appendage, lw)
        draw.ellipse(abdomen, fill=body, outline=outline, width=lw)
        _pattern_on_ellipse(draw, abdomen, t, pattern)
        if waist:
            draw.rectangle([cx - W * 0.06, thorax[3] - 0.02 * L, cx + W * 0.06, abdomen[1] + 0.03 * L], fill=_scale(body, 0.6))
        draw.ellipse(thorax, fill=_scale(body, 0.8), outline=outline, width=lw)
        draw.ellipse([cx - head / 2, y0, cx + head / 2, y0 + head], fill=_scale(body, 0.7), outline=outline, width=lw)
        eye = (140, 30, 25) if fly else _scale(body, 0.3)
        er = head * (0.3 if fly else 0.18)
        for side in (-1, 1):
            ex = cx + side * (head / 2 - er * 0.9)
            draw.ellipse([ex - er, y0 + head * 0.2, ex + er, y0 + head * 0.2 + 2 * er], fill=eye)
        for quad in wings:  # wings lie over the abdomen, as in a pinned specimen
            _clear_wing(draw, quad, outline, lw)
            _clear_wing(draw, _mirror(quad, cx), outline, lw)
    else:  # generic plan for orders without a specific body plan
        head = t.head_size * W * 0.7
        trunk = (cx - W / 2, y0 + head * 0.8, cx + W / 2, y0 + L)
        _antennae(draw, cx, y0, head / 2, t.antenna_length * L, appendage, lw)
        _legs(draw, cx, [trunk[1] + 0.1 * L, trunk[1] + 0.25 * L, trunk[1] + 0.4 * L], W / 2, t.leg_length * L, appendage, lw)
        draw.ellipse([cx - head / 2, y0, cx + head / 2, y0 + head], fill=_scale(body, 0.6))
        draw.ellipse(trunk, fill=body, outline=outline, width=lw)
        _pattern_on_ellipse(draw, trunk, t, pattern)
    return img.reduce(ss)
