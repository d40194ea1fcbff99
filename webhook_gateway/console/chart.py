"""A bar chart of the last hour as plain SVG markup (no script, no external image): accepted
requests up, rejected ones down, per minute. The numbers come from `RecentCounts`."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

from webhook_gateway.observability.recent import Minute

WIDTH, HEIGHT, AXIS = 600, 120, 60


def minutes_svg(minutes: list[Minute], *, label: str) -> Markup:
    top = max([m.accepted for m in minutes] + [m.rejected for m in minutes] + [1])
    step = WIDTH / max(len(minutes), 1)
    half = (HEIGHT - 20) / 2
    bars: list[str] = []
    for i, m in enumerate(minutes):
        x = i * step + 0.5
        when = datetime.fromtimestamp(m.start, UTC).strftime("%H:%M")
        title = f"{when} UTC: {m.accepted} accepted, {m.rejected} rejected"
        if m.accepted:
            h = max(half * m.accepted / top, 1)
            bars.append(
                f'<rect class="ok" x="{x:.1f}" y="{AXIS - h:.1f}" width="{step - 1:.1f}" '
                f'height="{h:.1f}"><title>{escape(title)}</title></rect>'
            )
        if m.rejected:
            h = max(half * m.rejected / top, 1)
            bars.append(
                f'<rect class="bad" x="{x:.1f}" y="{AXIS}" width="{step - 1:.1f}" '
                f'height="{h:.1f}"><title>{escape(title)}</title></rect>'
            )
    first = datetime.fromtimestamp(minutes[0].start, UTC).strftime("%H:%M") if minutes else ""
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}"><line class="axis" x1="0" y1="{AXIS}" x2="{WIDTH}" '
        f'y2="{AXIS}"/>{"".join(bars)}<text x="2" y="{HEIGHT - 4}">{first} UTC</text>'
        f'<text x="{WIDTH - 2}" y="{HEIGHT - 4}" text-anchor="end">now · peak {top}/min'
        "</text></svg>"
    )
    return Markup(svg)  # noqa: S704 - every interpolated text is escaped above
