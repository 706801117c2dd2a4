"""Small charts drawn on the server as inline SVG: no chart library reaches the browser.

Colours and sizes are SVG attributes, not inline styles, so the pages keep a strict CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

from gateway.review.schemas import PeerPosition, PersonClaim

WIDTH, STRIP_HEIGHT, PAD = 560, 46, 12
STATUS_COLOURS = {
    "denied": "#d4351c",
    "rejected": "#d4351c",
    "cancelled": "#b1b4b6",
    "pended_review": "#f47738",
    "pending_second_approval": "#f47738",
    "info_requested": "#f47738",
}


def _x(value: float, low: float, high: float) -> float:
    span = high - low or 1.0
    return PAD + (value - low) / span * (WIDTH - 2 * PAD)


def peer_strip(position: PeerPosition) -> Markup:
    """Peers' values as grey ticks on a line, the claim as a red marker with its percentile."""
    values = [*position.peer_values, position.value]
    low, high = min(values), max(values)
    ticks = "".join(
        f'<line x1="{_x(v, low, high):.1f}" y1="14" x2="{_x(v, low, high):.1f}" y2="30" '
        f'stroke="#505a5f" stroke-opacity="0.35" stroke-width="1"/>'
        for v in position.peer_values
    )
    own = _x(position.value, low, high)
    label = f"{position.label_en}: {position.value:,.2f} — percentile {position.percentile:.1f}"
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {STRIP_HEIGHT}" width="{WIDTH}" '
        f'height="{STRIP_HEIGHT}" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<line x1="{PAD}" y1="22" x2="{WIDTH - PAD}" y2="22" stroke="#b1b4b6" stroke-width="2"/>'
        f"{ticks}"
        f'<circle cx="{own:.1f}" cy="22" r="7" fill="#d4351c" stroke="#0b0c0c" stroke-width="1.5"/>'
        f'<text x="{PAD}" y="44" font-size="11" fill="#505a5f">{low:,.0f}</text>'
        f'<text x="{WIDTH - PAD}" y="44" font-size="11" fill="#505a5f" text-anchor="end">'
        f"{high:,.0f}</text>"
        f"</svg>"
    )


def person_timeline(claims: Sequence[PersonClaim], today: date, days: int = 365) -> Markup:
    """The person's claims over the last year as dots by service date; this claim is ringed."""
    start = today - timedelta(days=days)
    dots = []
    for claim in claims:
        if claim.service_date is None:
            continue
        x = _x((claim.service_date - start).days, 0, days)
        colour = STATUS_COLOURS.get(claim.status, "#1d70b8")
        ring = ' stroke="#0b0c0c" stroke-width="3"' if claim.this_claim else ""
        tip = f"{claim.service_date} {claim.hcode} {claim.claim_type} {claim.status}"
        dots.append(
            f'<circle cx="{x:.1f}" cy="24" r="{8 if claim.this_claim else 5}" fill="{colour}"'
            f"{ring}><title>{escape(tip)}</title></circle>"
        )
    months = "".join(
        f'<text x="{_x(d, 0, days):.1f}" y="50" font-size="11" fill="#505a5f" '
        f'text-anchor="{_anchor(d, days)}">{(start + timedelta(days=d)).strftime("%b %y")}</text>'
        for d in range(0, days + 1, 91)
    )
    label = f"{len(claims)} claims of this person in the last {days} days"
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} 56" width="{WIDTH}" height="56" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line x1="{PAD}" y1="24" x2="{WIDTH - PAD}" y2="24" stroke="#b1b4b6" stroke-width="2"/>'
        f"{''.join(dots)}{months}</svg>"
    )


def _anchor(day: int, days: int) -> str:
    """Labels at the ends of the axis lean inwards so that they are not cut off."""
    if day < days * 0.1:
        return "start"
    return "end" if day > days * 0.9 else "middle"
