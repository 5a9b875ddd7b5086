"""A per-frame line plot drawn with Pillow (no plotting library): the warping error of each clip
over the frames, on a logarithmic axis, so that the source and a clip many times above it both
show."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

COLOURS = ("#555555", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 34


def line_plot(
    frames: list[int],
    series: dict[str, list[float]],
    title: str,
    *,
    size: tuple[int, int] = (900, 380),
) -> Image.Image:
    """One line per entry of ``series`` (values per frame of ``frames``, > 0; 0 is drawn at the
    bottom) over a log10 y axis with decade ticks; a legend in the top right corner."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    positive = [v for values in series.values() for v in values if v > 0]
    low = math.floor(math.log10(min(positive))) if positive else -6
    high = math.ceil(math.log10(max(positive))) if positive else 0
    high = max(high, low + 1)
    x0, x1, y0, y1 = _LEFT, width - _RIGHT, height - _BOTTOM, _TOP
    first, last = (frames[0], frames[-1]) if frames else (0, 1)
    span = max(last - first, 1)

    def x(frame: float) -> float:
        return x0 + (frame - first) / span * (x1 - x0)

    def y(value: float) -> float:
        level = math.log10(value) if value > 0 else low
        return y0 - (level - low) / (high - low) * (y0 - y1)

    draw.rectangle((x0, y1, x1, y0), outline="black")
    for decade in range(low, high + 1):
        ty = y(10.0**decade)
        draw.line((x0, ty, x1, ty), fill="#dddddd")
        draw.text((4, ty - 6), f"1e{decade}", fill="black")
    step = _nice_step(span)
    tick = math.ceil(first / step) * step
    while tick <= last:
        draw.line((x(tick), y0, x(tick), y0 + 4), fill="black")
        draw.text((x(tick) - 8, y0 + 6), str(tick), fill="black")
        tick += step
    draw.text((x0, 8), title, fill="black")
    draw.text(((x0 + x1) // 2 - 16, height - 14), "frame", fill="black")
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = [(x(f), y(v)) for f, v in zip(frames, values)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            draw.ellipse((points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2), fill=colour)
        ly = y1 + 6 + 14 * k
        draw.line((x1 - 230, ly + 6, x1 - 210, ly + 6), fill=colour, width=3)
        draw.text((x1 - 204, ly), name[-34:], fill="black")
    return image


def _nice_step(span: int) -> int:
    """A tick step of 1, 2 or 5 times a power of ten giving about 5 to 10 ticks."""
    for power in range(0, 8):
        for base in (1, 2, 5):
            step = base * 10**power
            if span / step <= 10:
                return step
    return 10**8
