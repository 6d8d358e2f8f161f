"""The report's figures as Altair charts, rendered to SVG strings by vl-convert (no browser, no network).

Marks link to their rows in the sources table under the figure: each frame passed in carries an `href`
column ("#src-<figure>-<n>") and the chart encodes it, so a click on a point jumps to its citation.
"""
from __future__ import annotations

import re

import altair as alt
import pandas as pd

# A font both vl-convert (which measures labels) and the browser (which draws them) are likely to have;
# the padding absorbs what is left of the difference.
FONT = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
WIDTH = 860
INK, MUTED, TRIAL = "#1f2933", "#616e7c", "#fde68a"
CONFIG = {
    "font": FONT,
    "padding": {"left": 36, "right": 36, "top": 6, "bottom": 6},
    "view": {"stroke": None},
    "axis": {"labelColor": MUTED, "titleColor": INK, "gridColor": "#e4e7eb", "domainColor": "#9aa5b1",
             "labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": 600},
    "legend": {"labelColor": INK, "titleColor": INK, "labelFontSize": 11, "titleFontSize": 12,
               "labelLimit": 0, "columnPadding": 24},
    "header": {"labelFontSize": 13, "labelFontWeight": 600, "labelColor": INK, "titleFontSize": 0},
}
# Vega resolves a relative link against its loader's base URL; a report must keep links in the page.
_BASE_HREF = re.compile(r'(xlink:href|href)="[a-z]+://[^"#]*#')


def unit_colours(units) -> alt.Scale:
    """One colour per unit or agency, the same in every figure."""
    domain = sorted({str(u) for u in units if u is not None and u == u})
    return alt.Scale(domain=domain, scheme="tableau10" if len(domain) <= 10 else "tableau20")


def to_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    # Frames are aggregated and capped before they get here; Altair's 5,000-row guard would only turn a
    # long but legitimate chart (many months x accounts) into a failure.
    with alt.data_transformers.enable("default", max_rows=None):
        spec = chart.to_dict()
    # allowed_base_urls=[]: the data is inline, so nothing may be fetched while rendering.
    svg = vlc.vegalite_to_svg(spec, config=CONFIG, allowed_base_urls=[])
    return _BASE_HREF.sub(r'\1="#', svg)


def _utc(series: pd.Series) -> pd.Series:
    """ISO strings in UTC: Vega-Lite then needs no time zone of the machine that renders."""
    return pd.to_datetime(series, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _period_band(periods: pd.DataFrame, y_top: float | None = None) -> alt.Chart:
    bands = periods.assign(start=periods["starts_on"].astype(str),
                           end=(pd.to_datetime(periods["ends_on"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"),
                           label=periods["phase"].astype(str) + " period")
    base = alt.Chart(bands)
    rect = base.mark_rect(color=TRIAL, opacity=0.55).encode(
        x=alt.X("start:T", scale=alt.Scale(type="utc")), x2="end:T",
        tooltip=[alt.Tooltip("label:N", title="period"), alt.Tooltip("starts_on:N", title="from"),
                 alt.Tooltip("ends_on:N", title="to")])
    text = base.mark_text(align="left", baseline="top", dx=4, dy=4, color="#92400e", fontWeight=600).encode(
        x=alt.X("start:T", scale=alt.Scale(type="utc")), y=alt.value(0), text="label:N")
    return rect + text


def accounts_over_time(accounts: pd.DataFrame, periods: pd.DataFrame, colours: alt.Scale) -> alt.TopLevelMixin:
    data = accounts.assign(created=_utc(accounts["created_at"]), n=range(1, len(accounts) + 1))
    base = alt.Chart(data)
    x = alt.X("created:T", title="account created", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%b %Y"))
    y = alt.Y("n:Q", title="accounts created (cumulative)")
    line = base.mark_line(interpolate="step-after", color="#9aa5b1").encode(x=x, y=y)
    points = base.mark_circle(size=70, opacity=0.9, stroke="white", strokeWidth=0.8).encode(
        x=x, y=y, color=alt.Color("unit:N", title="unit / agency", scale=colours),
        href="href:N",
        tooltip=[alt.Tooltip("vendor_account_ref:N", title="account"), alt.Tooltip("holder_email:N", title="holder"),
                 "unit:N", alt.Tooltip("created:T", title="created (UTC)", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("created_phase:N", title="phase"), alt.Tooltip("citation:N")])
    layers = ([_period_band(periods)] if len(periods) else []) + [line, points]
    return alt.layer(*layers).properties(width=WIDTH, height=300)


def searches_by_unit(by_unit: pd.DataFrame, periods: pd.DataFrame, colours: alt.Scale) -> alt.TopLevelMixin:
    data = by_unit.assign(start=by_unit["month"] + "-01", href="#src-searches-by-unit-1")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("start:T", title="month (UTC)", timeUnit="utcyearmonth", axis=alt.Axis(format="%b %Y")),
        y=alt.Y("sum(searches):Q", title="logged searches"),
        color=alt.Color("unit:N", title="unit / agency", scale=colours),
        order=alt.Order("unit:N"), href="href:N",
        tooltip=["month:N", "unit:N", alt.Tooltip("sum(searches):Q", title="searches")])
    layers = ([_period_band(periods)] if len(periods) else []) + [bars]
    return alt.layer(*layers).properties(width=WIDTH, height=300)


def searches_by_account(by_account: pd.DataFrame, hundred: pd.DataFrame) -> alt.TopLevelMixin:
    totals = by_account.groupby("account")["searches"].sum().sort_values(ascending=False)
    order = list(totals.index)
    data = by_account.assign(label=by_account["account"] + " · " + by_account["unit"])
    labels = dict(zip(data["account"], data["label"]))
    sort = [labels[a] for a in order]
    y = alt.Y("label:N", title=None, sort=sort, axis=alt.Axis(labelLimit=320))
    x = alt.X("month:O", title="month (UTC)", axis=alt.Axis(labelAngle=-45))
    cells = alt.Chart(data).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, y=y, href="href:N",
        color=alt.Color("searches:Q", title="searches in month", scale=alt.Scale(scheme="blues", type="sqrt")),
        tooltip=[alt.Tooltip("account:N"), "unit:N", "month:N", "searches:Q"])
    marks = hundred.assign(label=hundred["vendor_account_ref"].map(labels)).dropna(subset=["label"])
    star = alt.Chart(marks).mark_point(shape="diamond", size=90, filled=True, color="#dc2626",
                                       stroke="white", strokeWidth=1).encode(
        x=x, y=y, href="href:N",
        tooltip=[alt.Tooltip("vendor_account_ref:N", title="account"),
                 alt.Tooltip("reached_100_at:N", title="100th search"), alt.Tooltip("days_to_100:Q", title="days")])
    return alt.layer(cells, star).properties(width=WIDTH - 260, height=max(120, 15 * len(order)))


def vendor_matrix(contacts: pd.DataFrame) -> alt.TopLevelMixin:
    cells = (contacts.assign(i=range(len(contacts)))
             .groupby(["counterpart", "counterpart_kind", "vendor_person", "direction"], as_index=False)
             .agg(contacts=("i", "size"), meetings=("channel", lambda c: int((c == "meeting").sum())),
                  href=("href", "first")))
    order = list(cells.groupby("counterpart")["contacts"].sum().sort_values(ascending=False).index)
    y = alt.Y("counterpart:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x = alt.X("vendor_person:N", title=None, axis=alt.Axis(labelAngle=0, orient="top"))
    base = alt.Chart().encode(x=x, y=y)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("contacts:Q", title="contacts", scale=alt.Scale(scheme="purples")), href="href:N",
        tooltip=["counterpart:N", alt.Tooltip("counterpart_kind:N", title="kind"), "vendor_person:N",
                 "direction:N", "contacts:Q", "meetings:Q"])
    text = base.mark_text(fontSize=11).encode(
        text="contacts:Q", href="href:N",
        color=alt.condition(alt.datum.contacts >= 3, alt.value("white"), alt.value(INK)))
    return (alt.layer(rect, text, data=cells)
            .properties(width=alt.Step(90), height=alt.Step(17))
            .facet(column=alt.Column("direction:N", sort=["to the vendor", "from the vendor"], title=None)))


def referral_chain(referrals: pd.DataFrame) -> alt.TopLevelMixin:
    """Referrer (agency) -> vendor -> referred person (other agency), one row per referral."""
    n = len(referrals)
    mid = (n - 1) / 2
    rows = referrals.assign(y=range(n), mid=mid,
                            provisioned=referrals["confirmed_by_provisioning"].map(
                                {True: "vendor provisioned an account", False: "no account found"}).fillna("unknown"),
                            when=_utc(referrals["occurred_at"]).str[:10],
                            left=referrals["referrer_name"].fillna(referrals["nypd_email"]) + "  (" + _utc(referrals["occurred_at"]).str[:10] + ")",
                            right=referrals["referred_name"].fillna(referrals["other_party_email"]) + "  · " + referrals["other_org"].fillna("?"))
    tip = [alt.Tooltip("nypd_email:N", title="referred by"), alt.Tooltip("other_party_email:N", title="referred"),
           alt.Tooltip("other_org:N", title="org"), alt.Tooltip("when:N", title="date"), "provisioned:N",
           alt.Tooltip("citation:N")]
    scale_x = alt.Scale(domain=[-0.05, 2.05])
    scale_y = alt.Scale(domain=[-0.6, max(n - 0.4, 0.6)], reverse=True)
    X = lambda f: alt.X(f"{f}:Q", scale=scale_x, axis=None)  # noqa: E731
    Y = lambda f: alt.Y(f"{f}:Q", scale=scale_y, axis=None)  # noqa: E731
    dash = alt.StrokeDash("provisioned:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical"), scale=alt.Scale(
        domain=["vendor provisioned an account", "no account found", "unknown"], range=[[1, 0], [5, 4], [1, 3]]))
    rows = rows.assign(x0=0, x1=1, x2=2)
    base = alt.Chart(rows)
    to_vendor = base.mark_rule(color="#9aa5b1", strokeWidth=2).encode(x=X("x0"), y=Y("y"), x2="x1:Q", y2="mid:Q")
    onward = base.mark_rule(strokeWidth=2.5).encode(
        x=X("x1"), y=Y("mid"), x2="x2:Q", y2="y:Q", strokeDash=dash, href="href:N", tooltip=tip,
        color=alt.Color("other_org:N", scale=alt.Scale(scheme="set1"), legend=None))  # the labels name the org
    referrer = base.mark_circle(size=160, color="#1d4ed8", opacity=1).encode(x=X("x0"), y=Y("y"), href="href:N", tooltip=tip)
    referred = base.mark_circle(size=160, opacity=1).encode(x=X("x2"), y=Y("y"), href="href:N", tooltip=tip,
                                                             color=alt.Color("other_org:N"))
    left = base.mark_text(align="right", dx=-12, fontSize=12, color=INK).encode(x=X("x0"), y=Y("y"), text="left:N")
    right = base.mark_text(align="left", dx=12, fontSize=12, color=INK).encode(x=X("x2"), y=Y("y"), text="right:N")
    vendor = alt.Chart(pd.DataFrame({"x": [1], "y": [mid], "t": ["vendor"]}))
    hub = vendor.mark_square(size=500, color=INK).encode(x=X("x"), y=Y("y"))
    hub_label = vendor.mark_text(dy=-22, fontWeight=700, color=INK).encode(x=X("x"), y=Y("y"), text="t:N")
    heads = pd.DataFrame({"x": [0, 1, 2], "t": ["agency officer (date)", "vendor", "referred person · org"]})
    head = alt.Chart(heads).mark_text(fontWeight=600, color=MUTED, baseline="bottom").encode(
        x=X("x"), y=alt.value(-8), text="t:N")
    return (alt.layer(to_vendor, onward, referrer, referred, left, right, hub, hub_label, head)
            .resolve_scale(color="shared").properties(width=WIDTH - 360, height=max(140, 46 * n)))


def personal_accounts(personal: pd.DataFrame) -> alt.TopLevelMixin:
    data = personal[personal["row_kind"] == "account"].copy()
    email = data["is_personal_email"].fillna(False).astype(bool)
    device = data["device"].eq("personal")
    data["reason"] = (email & device).map({True: "personal address and device"}).fillna(
        email.map({True: "personal address"})).fillna(device.map({True: "personal device"})).fillna("other")
    data["label"] = data["vendor_account_ref"].fillna("?") + " · " + data["holder_email"].fillna("?")
    y = alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=360))
    bars = alt.Chart(data).mark_bar(height=14).encode(
        x=alt.X("total_searches:Q", title="logged searches"), y=y, href="href:N",
        color=alt.Color("reason:N", title=None, scale=alt.Scale(
            domain=["personal address and device", "personal address", "personal device"],
            range=["#b91c1c", "#f97316", "#fbbf24"])),
        tooltip=[alt.Tooltip("vendor_account_ref:N", title="account"), alt.Tooltip("holder_email:N", title="login"),
                 "unit:N", "device:N", "reason:N", alt.Tooltip("total_searches:Q", title="searches"), "citation:N"])
    mark = alt.Chart(pd.DataFrame({"x": [100]})).mark_rule(color="#dc2626", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, mark).properties(width=WIDTH - 380, height=max(80, 22 * len(data)))


def redaction_heatmap(rates: pd.DataFrame, release_order: list[str]) -> alt.TopLevelMixin:
    data = rates.assign(share=rates["share_of_messages_marked"].astype(float),
                        code=rates["code"].fillna("(no code)"))
    base = alt.Chart(data).encode(
        x=alt.X("code:N", title="exemption (NY POL §87(2))", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("release_id:N", title=None, sort=release_order, axis=alt.Axis(labelLimit=300)))
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("share:Q", title="share of messages marked", scale=alt.Scale(scheme="orangered", domain=[0, 1]),
                        legend=alt.Legend(format="%")),
        href="href:N",
        tooltip=["release_id:N", "code:N", "ground:N", "marks:Q", "messages:Q", "messages_with_code:Q",
                 alt.Tooltip("share:Q", format=".1%", title="share of messages marked"),
                 alt.Tooltip("marks_per_message:Q", title="marks per message")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("marks:Q"), href="href:N",
        color=alt.condition(alt.datum.share > 0.45, alt.value("white"), alt.value(INK)))
    return alt.layer(rect, text).properties(width=alt.Step(110), height=alt.Step(30))


def release_changes(summary: pd.DataFrame) -> alt.TopLevelMixin:
    order = list(summary["release_id"])
    long = summary.melt(id_vars=["release_id", "href"],
                        value_vars=["new_messages", "reproduced_messages", "marks_lifted", "marks_added"],
                        var_name="measure", value_name="count")
    long["count"] = pd.to_numeric(long["count"], errors="coerce").fillna(0).astype(int)
    names = {"new_messages": "new messages", "reproduced_messages": "re-produced messages",
             "marks_lifted": "redaction marks lifted", "marks_added": "redaction marks added"}
    long["measure"] = long["measure"].map(names)
    long["panel"] = long["measure"].map(lambda m: "messages" if "messages" in m else "redaction marks on re-produced messages")
    y = alt.Y("release_id:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))

    def panel(name: str, domain: list[str], colours: list[str]) -> alt.Chart:
        return alt.Chart(long[long["panel"] == name]).mark_bar(height=16).encode(
            x=alt.X("count:Q", title=name), y=y, href="href:N",
            color=alt.Color("measure:N", title=None, scale=alt.Scale(domain=domain, range=colours),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["release_id:N", "measure:N", "count:Q"]).properties(width=300, height=alt.Step(26))

    left = panel("messages", ["new messages", "re-produced messages"], ["#2563eb", "#93c5fd"])
    right = panel("redaction marks on re-produced messages", ["redaction marks lifted", "redaction marks added"],
                  ["#16a34a", "#dc2626"])
    return alt.hconcat(left, right.encode(y=alt.Y("release_id:N", sort=order, axis=None))).resolve_scale(color="independent")
