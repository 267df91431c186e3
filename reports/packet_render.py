"""Claim packets rendered: a plain-text e-mail body and a printable HTML page.

Both take a :class:`reports.packet.Packet` (plain values, every figure already written as
text) and return bytes; the templates are in ``reports/templates/`` (``claim.txt``,
``claim.html``), the HTML one autoescaped.
"""

from __future__ import annotations

from functools import cache

import jinja2

from reports.packet import Packet


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_text(packet: Packet) -> bytes:
    """The e-mail body to send the vendor (UTF-8 text)."""
    return _environment().get_template("claim.txt").render(p=packet).encode("utf-8")


def render_html(packet: Packet) -> bytes:
    """The packet as a printable HTML page (UTF-8), readable on a phone."""
    return _environment().get_template("claim.html").render(p=packet).encode("utf-8")
