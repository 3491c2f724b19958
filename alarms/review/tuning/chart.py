"""The tuning page's chart, as server-rendered SVG: the metric, the current and suggested thresholds, the
anomaly band when the alarm has one, and the ALARM episodes of both settings as bands along the top.

No script, no external asset; every text that reaches the SVG is escaped (labels may carry AWS strings)."""

from __future__ import annotations

from datetime import datetime

from django.utils.html import escape

from alarms.review.tuning.replay import Band, Episode, Series

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 112, 16, 40, 28  # margins: axis labels left and bottom, episode strips on top
STRIP = 10  # height of one episode strip
COLOURS = {"metric": "#2563eb", "band": "#9ca3af", "current": "#dc2626", "suggested": "#16a34a"}


def tuning_chart(
    series: Series,
    *,
    title: str,
    current_threshold: float | None,
    suggested_threshold: float | None,
    current_episodes: list[Episode],
    suggested_episodes: list[Episode] | None,
    band: Band | None = None,
) -> str:
    """The SVG document (a string safe to embed in HTML)."""
    values = [v for v in series.values if v is not None]
    bounds = [*values, *(t for t in (current_threshold, suggested_threshold) if t is not None)]
    if band is not None:
        bounds += [v for v in (*band.lower, *band.upper) if v is not None]
    low, high = (min(bounds), max(bounds)) if bounds else (0.0, 1.0)
    if high == low:
        low, high = low - 1, high + 1
    start, end = series.start.timestamp(), series.end.timestamp()
    span = max(end - start, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: float) -> float:
        return LEFT + (moment - start) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="tuning-chart">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#e5e7eb"/>',
        _text(LEFT - 6, TOP + 4, f"{high:.4g}", anchor="end"),
        _text(LEFT - 6, TOP + plot_h, f"{low:.4g}", anchor="end"),
        _text(LEFT, HEIGHT - 8, _day(series.start), anchor="start"),
        _text(WIDTH - RIGHT, HEIGHT - 8, _day(series.end), anchor="end"),
    ]
    if band is not None:
        for bound in (band.lower, band.upper):
            parts += _polylines(series, bound, x, y, COLOURS["band"], width=1)
    parts += _polylines(series, series.values, x, y, COLOURS["metric"], width=1.2)
    for name, threshold, dash in (
        ("current", current_threshold, ""),
        ("suggested", suggested_threshold, ' stroke-dasharray="6 4"'),
    ):
        if threshold is not None:
            height = y(threshold)
            parts.append(
                f'<line class="threshold-{name}" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{height:.1f}" '
                f'y2="{height:.1f}" stroke="{COLOURS[name]}" stroke-width="1.5"{dash}/>'
            )
    for row, (name, found) in enumerate((("current", current_episodes), ("suggested", suggested_episodes))):
        top = 4 + row * (STRIP + 4)
        label = f"{name}: {len(found)} alerts" if found is not None else f"{name}: none"
        parts.append(_text(LEFT - 6, top + STRIP - 1, label, anchor="end", size=9))
        for episode in found or []:
            left = x(max(episode.start.timestamp(), start))
            right = x(min(episode.end.timestamp(), end)) if episode.end else LEFT + plot_w
            parts.append(
                f'<rect class="episode-{name}" x="{left:.1f}" y="{top}" width="{max(right - left, 1.5):.1f}" '
                f'height="{STRIP}" fill="{COLOURS[name]}" opacity="0.8">'
                f"<title>{escape(_when(episode))}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _polylines(series: Series, values, x, y, colour: str, *, width: float) -> list[str]:
    """One polyline per run of datapoints without a gap, thinned to a low and a high per pixel column."""
    step = series.step
    origin = series.start.timestamp()
    columns = max(1, WIDTH - LEFT - RIGHT)
    per_column = max(1, len(values) // columns)
    lines, run = [], []
    for first in range(0, len(values), per_column):
        chunk = [(i, v) for i, v in enumerate(values[first : first + per_column], start=first) if v is not None]
        if not chunk:
            if len(run) > 1:
                lines.append(run)
            run = []
            continue
        low, high = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
        run += [low, high] if low[0] <= high[0] else [high, low]
    if run:
        lines.append(run)
    out = []
    for points in lines:
        text = " ".join(f"{x(origin + i * step):.1f},{y(v):.1f}" for i, v in points)
        out.append(f'<polyline points="{text}" fill="none" stroke="{colour}" stroke-width="{width}"/>')
    return out


def _text(x: float, y: float, text: str, *, anchor: str, size: int = 10) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="#374151">{escape(text)}</text>'
    )


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _when(episode: Episode) -> str:
    end = _day(episode.end) if episode.end else "the end of the window"
    return f"ALARM from {_day(episode.start)} to {end}"
