"""`foil report`: an offline HTML report of the published sample, drawn and checked in headless Chromium;
the report's headline numbers in `foil status` against SQL on the published file."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, run_foil

# The figures the report promises (issue 17): one section and one chart each.
FIGURES = ("accounts", "searches-by-unit", "searches-by-account", "contacts", "referrals", "personal",
           "redactions", "changes")
CHROMIUM_TIMEOUT = 120


@pytest.fixture(scope="module")
def report(published_sample, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report") / "out"
    proc = run_foil("report", "--warehouse", str(published_sample["warehouse"]), "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    index = out / "index.html"
    return {"out": out, "index": index, "html": index.read_text(encoding="utf-8"), "stdout": proc.stdout,
            "warehouse": published_sample["warehouse"]}


def _sections(html: str) -> dict[str, str]:
    parts = re.split(r'(?=<section class="figure" id=")', html)
    found = {}
    for part in parts[1:]:
        fig = re.match(r'<section class="figure" id="([^"]+)"', part).group(1)
        found[fig] = part.split("</section>", 1)[0]
    return found


def test_report_is_written_where_it_says(report):
    assert report["index"].is_file()
    assert str(report["index"]) in report["stdout"], report["stdout"]
    assert "[drawing 8/8]" in report["stdout"], "no progress shown while drawing"


def test_report_needs_no_network(report):
    html = report["html"]
    # Anything the browser would fetch: attributes, CSS url() and @import.
    fetched = re.findall(r'(?:src|href|xlink:href|action|poster|data)\s*=\s*["\']\s*((?:https?:)?//[^"\']*)', html, re.I)
    fetched += re.findall(r'url\(\s*["\']?\s*((?:https?:)?//[^)"\']*)', html, re.I)
    fetched += re.findall(r'@import\s+["\']?([^;"\']+)', html, re.I)
    assert not fetched, fetched[:10]
    assert "<script src" not in html and "<link" not in html


def test_every_figure_has_an_inline_chart_and_cited_sources(report):
    sections = _sections(report["html"])
    assert set(FIGURES) <= set(sections), sorted(sections)
    ids = set(re.findall(r'\bid="([^"]+)"', report["html"]))
    for fig in FIGURES:
        body = sections[fig]
        assert re.search(r'<div class="chart" id="chart-' + re.escape(fig) + r'"><svg ', body), f"{fig}: no inline SVG"
        assert "What this shows:" in body, fig
        assert re.search(r'<details class="sources" id="src-' + re.escape(fig) + '"', body), f"{fig}: no sources table"
        assert re.search(r'id="src-' + re.escape(fig) + r'-1"', body), f"{fig}: sources rows have no anchors"
        # every link a chart mark carries points at a row (or table) that exists in the page
        links = set(re.findall(r'href="#([^"]+)"', body.split("<details", 1)[0]))
        assert links, f"{fig}: the chart links to no sources row"
        assert links <= ids, f"{fig}: links to missing anchors {sorted(links - ids)[:5]}"


def test_sources_carry_the_published_citations(report):
    sections = _sections(report["html"])
    with duckdb.connect(str(report["warehouse"]), read_only=True) as con:
        account_cites = [r[0] for r in con.execute("select citation from accounts").fetchall()]
        referral_cites = [r[0] for r in con.execute("select citation from referrals").fetchall()]
        log_files = [r[0] for r in con.execute(
            "select distinct documents.source_path from searches join documents using (document_id) "
            "where searches.source_kind = 'search_log'").fetchall()]
    import html as htmllib
    for cite in account_cites:
        assert htmllib.escape(cite, quote=False) in sections["accounts"], cite
    for cite in referral_cites:
        assert htmllib.escape(cite, quote=False) in sections["referrals"], cite
    for path in log_files:
        assert path in sections["searches-by-unit"], path


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, errs = proc.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, errs = proc.communicate()
        pytest.fail(f"chromium timed out after {CHROMIUM_TIMEOUT} s: {errs.decode(errors='replace')[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out.decode(errors="replace"), errs.decode(errors="replace"))


# Added to a copy of the page only: after layout, record per figure how many chart marks the browser
# drew with a non-empty box, and the page height (for a full-page screenshot).
_PROBE = """<script>
window.addEventListener("load", function () {
  var result = {height: document.documentElement.scrollHeight, figures: {}};
  document.querySelectorAll("section[data-figure]").forEach(function (s) {
    var svg = s.querySelector(".chart svg"), drawn = 0;
    if (svg) svg.querySelectorAll("g[class*='role-mark'] > *").forEach(function (m) {
      var b = m.getBoundingClientRect(); if (b.width > 0 || b.height > 0) drawn++;
    });
    result.figures[s.dataset.figure] = {svgs: s.querySelectorAll(".chart svg").length, drawn: drawn,
      width: svg ? svg.getBoundingClientRect().width : 0};
  });
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def test_report_renders_in_chromium(report, tmp_path):
    browser = _chromium()
    if not browser:
        pytest.skip("chromium is not installed: apt-get install chromium (.ci/run installs it in CI)")
    probe = report["out"] / "probe.html"
    probe.write_text(report["html"].replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    try:
        dom = _run_chromium(browser, tmp_path / "profile-dom", "--window-size=1400,1000",
                            "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"the page did not finish loading in chromium:\n{dom.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    for fig in FIGURES:
        got = result["figures"].get(fig)
        assert got and got["svgs"] == 1, (fig, got)
        assert got["drawn"] > 0 and got["width"] > 100, f"{fig}: chromium drew no marks: {got}"

    # A chart's link to a cited row opens the (collapsed) sources table that holds it.
    fig = "referrals"
    link = re.search(r'href="#(src-' + fig + r'-\d+)"', _sections(report["html"])[fig].split("<details", 1)[0]).group(1)
    opened = _run_chromium(browser, tmp_path / "profile-link", "--window-size=1400,1000", "--virtual-time-budget=3000",
                           "--dump-dom", report["index"].as_uri() + "#" + link)
    tables = dict(re.findall(r'<details class="sources" id="src-([^"]+)"([^>]*)>', opened.stdout))
    assert set(tables) == set(FIGURES), tables
    assert {f for f, attrs in tables.items() if "open" in attrs} == {fig}, tables

    shot = tmp_path / "report.png"
    height = min(int(result["height"]) + 20, 16000)
    proc = _run_chromium(browser, tmp_path / "profile-shot", f"--window-size=1400,{height}",
                         "--virtual-time-budget=5000", f"--screenshot={shot}", report["index"].as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000, proc.stderr[-2000:]
    from PIL import Image
    with Image.open(shot) as img:
        assert img.size == (1400, height)
        colours = img.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is None or len(colours) > 50, "the screenshot is nearly one colour"
    keep = os.environ.get("FOIL_KEEP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")


def test_status_shows_the_headline_numbers(published_sample):
    warehouse = published_sample["warehouse"]
    proc = run_foil("status", "--warehouse", str(warehouse), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    headline = json.loads(proc.stdout)["headline"]
    q01 = (REPO / "dbt_project" / "analyses" / "q01_accounts_after_trial.sql").read_text()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        expected = {
            "accounts": one("select count(*) from accounts"),
            "accounts_after_trial": one(f"select count(*) from ({q01})"),
            "searches_logged": one("select count(*) from searches where source_kind = 'search_log' and date_quality = 'ok'"),
            "referrals": one("select count(*) from referrals"),
            "referrals_provisioned": one("select count(*) from referrals where is_confirmed_by_provisioning"),
            "personal_access_accounts": one("select count(*) from accounts where agency = 'nypd' "
                                            "and (is_personal_email or device = 'personal')"),
            "vendor_contacts": one("""
                select count(*) from contacts
                where (from_org in (select org_id from organizations where kind = 'vendor'))
                   <> (to_org in (select org_id from organizations where kind = 'vendor'))"""),
            "redaction_marks": one("select count(*) from redactions where release_id in "
                                   "(select release_id from events where event_type = 'email_message')"),
            "releases": one("select count(*) from releases"),
        }
    assert {k: headline[k] for k in expected} == expected
    assert headline["accounts_after_trial"] > 0 and headline["searches_logged"] > 0  # the sample has both

    text = run_foil("status", "--warehouse", str(warehouse))
    assert text.returncode == 0, text.stderr[-2000:]
    assert f"accounts: {expected['accounts']} ({expected['accounts_after_trial']} agency accounts created after the trial" in text.stdout
    assert f"searches logged: {expected['searches_logged']:,}" in text.stdout
    assert f"referrals: {expected['referrals']} ({expected['referrals_provisioned']} provisioned)" in text.stdout


def test_report_errors_say_what_to_do(tmp_path, published_sample):
    missing = run_foil("report", "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "run `foil build` first" in missing.stderr, missing.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    clash = run_foil("report", "--warehouse", str(published_sample["warehouse"]), "--out", str(a_file))
    assert clash.returncode == 2 and "give a folder" in clash.stderr, clash.stderr
    for proc in (missing, clash):
        assert "Traceback" not in proc.stderr
