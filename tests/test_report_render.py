"""The HTML report renders in a real browser: every image decodes and the tables hold numbers.

Needs Debian's `chromium` (`.ci/run` installs it); skipped with a reason when it is absent.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from golden_run import golden_run  # noqa: F401  (the fixture)
from test_report import CHARTS

from codecurate.report import build_report

CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

# Runs after every image has loaded (or failed) and writes what the page shows into a <pre> for --dump-dom.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => ({w: i.naturalWidth, h: i.naturalHeight, alt: i.alt}));
  const tables = [...document.querySelectorAll("table")].map(t => [...t.querySelectorAll("td")].map(c => c.innerText));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({imgs, tables, title: document.title, height: document.body.scrollHeight});
  document.body.appendChild(out);
});
</script>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"]  # fmt: skip
        return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


def probe(page: Path) -> dict:
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    # Virtual time lets the load event fire before the DOM is dumped, without a real sleep.
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri()).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"probe did not run; chromium printed: {dom[:500]}"
    return json.loads(html.unescape(found.group(1)))


def test_report_renders_in_chromium(golden_run: Path, tmp_path: Path) -> None:  # noqa: F811
    run_dir = Path(shutil.copytree(golden_run, tmp_path / "run", symlinks=True))
    html_path, _ = build_report(run_dir)
    result = probe(html_path)
    assert result["title"] == "Run report: run"
    assert len(result["imgs"]) == len(CHARTS)
    broken = [i["alt"] for i in result["imgs"] if i["w"] == 0 or i["h"] == 0]
    assert not broken, f"images that did not decode: {broken}"
    assert len(result["tables"]) >= 10
    for cells in result["tables"]:
        assert any(re.search(r"\d", c) for c in cells), f"table without numbers: {cells}"
    eval_cells = result["tables"][-1]
    assert "100.0% [100.0, 100.0]" in eval_cells and any(c.startswith("+50.0 pp") for c in eval_cells)


def test_broken_image_is_detected(tmp_path: Path) -> None:
    # The probe itself must be able to fail: a page with an undecodable image reports width 0.
    page = tmp_path / "page.html"
    page.write_text('<html><body><img src="data:image/png;base64,AAAA" alt="bad"><table><tr><td>x</td></tr></table>'
                    "</body></html>")  # fmt: skip
    result = probe(page)
    assert result["imgs"] == [{"w": 0, "h": 0, "alt": "bad"}]


def test_bar_charts_stay_readable_at_demo_scale():
    """Dozens of cluster sizes get thinned tick labels; a funnel spanning orders of magnitude gets a log axis."""
    from codecurate.report_plots import bar_figure

    sizes = [(str(k), 1) for k in range(40)]
    ax = bar_figure(sizes, "clusters", vertical=True, xlabel="cluster size").axes[0]
    assert 2 <= len(ax.get_xticks()) <= 16
    funnel = [("mined", 14476), ("kept", 2779), ("written", 5), ("validated", 0)]
    ax = bar_figure(funnel, "records").axes[0]
    assert ax.get_xscale() == "symlog" and "log scale" in ax.get_xlabel()
    ax = bar_figure([("a", 10), ("b", 4)], "records").axes[0]
    assert ax.get_xscale() == "linear"
