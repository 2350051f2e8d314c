"""Check-in QR codes: the booking's check-in code as an SVG image (no Pillow needed)."""

from __future__ import annotations

import segno


def checkin_qr_svg(code: str, *, scale: int = 6) -> str:
    """An SVG data URI of a QR code holding ``code`` (the front desk scans it)."""
    return str(segno.make(code, error="m", micro=False).svg_data_uri(scale=scale, border=2))
