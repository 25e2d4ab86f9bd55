"""Reviewers print: the summary page printed to PDF by headless Chromium is A4 and has the headline figures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from helpers.publish import tables

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
A4_POINTS = (595.0, 842.0)  # 210 x 297 mm

needs_tools = pytest.mark.skipif(
    CHROMIUM is None or not POPPLER,
    reason="printing to PDF needs headless Chromium and poppler-utils (pdftotext, pdfinfo): "
           "apt-get install chromium poppler-utils (.ci/run installs them)")


def print_to_pdf(html_path, pdf_path) -> None:
    """Print an HTML page to PDF as a reviewer's browser would (no header or footer lines)."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                           f"--print-to-pdf={pdf_path}", html_path.as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert pdf_path.exists() and pdf_path.stat().st_size > 0, f"chromium did not print {html_path}:\n{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def summary_pdf(pipeline_run, tmp_path_factory):
    """The 2025 summary page printed to PDF: (its text, pdfinfo output, summary.json)."""
    folder = pipeline_run.out_dir / "2025"
    pdf = tmp_path_factory.mktemp("print") / "07_summary.pdf"
    print_to_pdf(folder / "07_summary.html", pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return text, info, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


@needs_tools
def test_printed_summary_has_the_headline_figures(summary_pdf):
    text, _, summary = summary_pdf
    bt = summary["business_travel"]
    for figure in (summary["annual_total_kgco2e"], summary["daily_total_kgco2e"], bt["total_kgco2e"],
                   bt["long_trips_kgco2e"]):
        assert tables.fmt_kg(figure) in text
    assert f"{summary['mean_intensity_kgco2e_per_pkm']:.4f}" in text


@needs_tools
def test_printed_summary_is_a4_with_link_targets(summary_pdf):
    text, info, _ = summary_pdf
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (width, height) == pytest.approx(A4_POINTS, abs=2)
    assert "<summary.json>" in re.sub(r"\s+", "", text)  # a printed link says where it points (wrapping aside)
