"""The recovery-code PDF, made with fpdf2."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1; anything else is replaced rather than failing.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_recovery_codes(*, site_name, account, codes, date) -> bytes:
    """A one-page A4 PDF: site, account, each code in large monospace type, date, use-once note."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(_("Recovery codes")))
    pdf.set_creator("drf-twostep")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width, 12, _latin1(site_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.cell(
        width, 9, _latin1(_("2-Step Verification recovery code")), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(
        width,
        8,
        _latin1(_("Account: %(account)s") % {"account": account}),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        width,
        8,
        _latin1(_("Created: %(date)s") % {"date": date_format(date, "DATE_FORMAT")}),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(8)
    # Every code fits on the one page: one column up to 8 codes, then two, rows shrinking to fit
    # between here and the use-once note (30 mm) above the 20 mm bottom margin.
    columns = 1 if len(codes) <= 8 else 2
    rows = -(-len(codes) // columns)
    top = pdf.get_y()
    pitch = min(16.0, (pdf.h - 20 - 30 - top) / rows)
    size = 22 if len(codes) <= 4 else 16 if columns == 1 else 13
    pdf.set_font("Courier", "B", min(size, (pitch - 2) / 25.4 * 72))
    column_width = width / columns
    for index, code in enumerate(codes):
        column, row = divmod(index, rows)
        pdf.set_xy(pdf.l_margin + column * column_width, top + row * pitch)
        pdf.cell(column_width - 2 * (columns - 1), pitch - 2, code, border=1, align="C")
    pdf.set_xy(pdf.l_margin, top + rows * pitch)
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(
        width,
        6,
        _latin1(
            _(
                "Each code works once. Use it to sign in if you lose access to your 2-Step "
                "Verification methods; a new code is then shown in its place. Keep this page "
                "somewhere safe and private."
            )
        ),
    )
    return bytes(pdf.output())
