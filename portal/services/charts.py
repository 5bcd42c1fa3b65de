"""Server-rendered SVG bar charts: the geometry, computed here; the template draws the shapes."""

import math

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP, RIGHT = 48, 28, 12, 8


def nice_ceiling(value):
    """A round number at or above value (1, 2, 5 × 10^n), so the axis reads well."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def bar_chart(points, width=WIDTH, height=HEIGHT):
    """Bars for [(label, value)], scaled to the plot area, with three axis ticks.

    Returns {"width", "height", "bars": [{x, y, w, h, label, value}], "ticks": [{y, value}],
    "baseline", "left", "right", "labels": [{x, text}]} (a label every few bars so they fit).
    """
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    top = nice_ceiling(max((value for _, value in points), default=0))
    slot = plot_w / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_h = plot_h * max(value, 0) / top
        bars.append(
            {
                "x": round(LEFT + index * slot + slot * 0.15, 1),
                "y": round(TOP + plot_h - bar_h, 1),
                "w": round(slot * 0.7, 1),
                "h": round(bar_h, 1),
                "label": label,
                "value": value,
            }
        )
    every = max(1, math.ceil(len(points) / 8))
    labels = [{"x": round(bar["x"] + bar["w"] / 2, 1), "text": bar["label"]} for bar in bars[::every]]
    ticks = [{"y": round(TOP + plot_h * (1 - f), 1), "value": top * f} for f in (0, 0.5, 1)]
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "ticks": ticks,
        "labels": labels,
        "baseline": TOP + plot_h,
        "left": LEFT,
        "right": width - RIGHT,
    }
