"""``proactive-ls report --out report.html``: one self-contained HTML page of what was proposed and how
it was received. The charts are inline SVG drawn here; a few lines of inline script measure what
the browser drew (``data-drawn`` on the body). Nothing is fetched when the page is viewed.
"""

from __future__ import annotations

import datetime
import html
import sys
from collections import Counter, defaultdict
from pathlib import Path

from proactive_ls.feedback.export import ExportStats, read_all
from proactive_ls.feedback.lifecycle import segments
from proactive_ls.feedback.log import FeedbackRecord
from proactive_ls.feedback.stats import compute, final_outcomes, group_of

COLORS = {"accepted": "#2e7d32", "rejected": "#c62828", "ignored": "#9e9e9e", "snoozed": "#f9a825"}
OUTCOMES = tuple(COLORS)
BUCKETS = ((0, 5), (5, 15), (15, 30), (30, 60), (60, 120), (120, 600), (600, float("inf")))

_SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var drawn = 0;
  document.querySelectorAll('svg.chart rect.bar').forEach(function (r) {
    var b = r.getBBox(); if (b.width > 0 && b.height > 0) { drawn += 1; }
  });
  document.body.setAttribute('data-drawn', String(drawn));
});
"""


def _bars(title: str, name: str, labels: list[str], series: dict[str, list[int]], colors: dict[str, str]) -> str:
    """A stacked bar chart as SVG: one bar per label, one colour per series."""
    width, height, pad, left = 640, 220, 24, 40
    bottom = 110  # rotated labels and the legend
    totals = [sum(series[s][i] for s in series) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = (width - left - pad) / max(1, len(labels))
    out = [
        f"<h2>{html.escape(title)}</h2>",
        f'<svg class="chart" data-chart="{name}" width="{width}" height="{height + bottom}"',
    ]
    out[-1] += f' viewBox="0 0 {width} {height + bottom}" role="img" aria-label="{html.escape(title)}">'
    out.append(f'<line x1="{left}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#444"/>')
    out.append(f'<text x="4" y="14" font-size="11">{top}</text>')
    for i, label in enumerate(labels):
        x, y = left + i * step + step * 0.15, float(height)
        for s, values in series.items():
            h = (height - 20) * values[i] / top
            if h <= 0:
                continue
            y -= h
            tip = f"{label}: {values[i]} {s}"
            out.append(
                f'<rect class="bar" data-series="{html.escape(s)}" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colors.get(s, "#1565c0")}"><title>{html.escape(tip)}</title></rect>'
            )
        lx, ly = x + step * 0.35, height + 8
        out.append(
            f'<text x="{lx:.1f}" y="{ly}" font-size="9" text-anchor="end" '
            f'transform="rotate(-40 {lx:.1f} {ly})">{html.escape(label[:24])}</text>'
        )
    legend_x = left
    for s in series:
        legend_y = height + bottom - 16
        out.append(f'<rect x="{legend_x}" y="{legend_y}" width="10" height="10" fill="{colors.get(s, "#1565c0")}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{height + bottom - 7}" font-size="10">{html.escape(s)}</text>')
        legend_x += 90
    out.append("</svg>")
    return "\n".join(out)


def render(records: list[FeedbackRecord]) -> str:
    answered, filtered = final_outcomes(records)
    # 1. outcomes per kind and week
    weeks = sorted({group_of(r, "week") for r in answered})
    kinds = sorted({group_of(r, "kind") for r in answered})
    labels = [f"{k} {w[-3:]}" for k in kinds for w in weeks]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in answered:
        counts[r.outcome][f"{group_of(r, 'kind')} {group_of(r, 'week')[-3:]}"] += 1
    per_kind = {o: [counts[o][label] for label in labels] for o in OUTCOMES}
    # 2. time to decision
    bucket_labels = [f"{lo:g}-{hi:g}s" if hi != float("inf") else f">{lo:g}s" for lo, hi in BUCKETS]
    times: dict[str, list[int]] = {o: [0] * len(BUCKETS) for o in ("accepted", "rejected")}
    for r in answered:
        if r.outcome in times:
            d = max(0.0, r.decided_at - r.proposed_at)
            i = next(i for i, (lo, hi) in enumerate(BUCKETS) if lo <= d < hi)
            times[r.outcome][i] += 1
    # 3. what the judge filtered, per kind
    filt = Counter(group_of(r, "kind") for r in filtered)
    filt_labels = sorted(filt)
    rows = "".join(
        f"<tr><td>{html.escape(g.name)}</td><td>{g.shown}</td><td>{g.accepted}</td><td>{g.rejected}</td>"
        f"<td>{g.ignored}</td><td>{g.filtered}</td><td>{g.late}</td></tr>"
        for g in compute(records, "kind")
    )
    span = ""
    if records:
        lo = min(r.decided_at for r in records)
        hi = max(r.decided_at for r in records)
        first = datetime.datetime.fromtimestamp(lo, datetime.UTC)
        final = datetime.datetime.fromtimestamp(hi, datetime.UTC)
        span = f"{first:%Y-%m-%d} – {final:%Y-%m-%d}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>proactive-ls report</title>
<style>body{{font-family:sans-serif;margin:24px;max-width:720px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} td:first-child{{text-align:left}}</style>
</head><body>
<h1>proactive-ls: what it proposed and how it was received</h1>
<p>{len(records)} records, {len(answered)} proposals shown, {len(filtered)} filtered by the judge. {span}</p>
<table><tr><th>kind</th><th>shown</th><th>accepted</th><th>rejected</th><th>ignored</th><th>filtered</th><th>late</th></tr>{rows}</table>
{_bars("Outcomes per kind and week", "outcomes", labels, per_kind, COLORS)}
{_bars("Time to decision", "decision", bucket_labels, times, COLORS)}
{_bars("What the judge filtered, per kind", "filtered", filt_labels, {"filtered": [filt[k] for k in filt_labels]}, {})}
<script>{_SCRIPT}</script>
</body></html>
"""


def main_report(logs: list[Path], out: Path) -> int:
    missing = [str(log) for log in logs if not segments(log)]
    if missing:
        print(f"proactive-ls report: no feedback log at {', '.join(missing)}", file=sys.stderr)
        return 2
    records = list(read_all([f for log in logs for f in segments(log)], ExportStats()))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(records), encoding="utf-8")
    except OSError as exc:
        print(f"proactive-ls report: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({len(records)} records)")
    return 0


__all__ = ["main_report", "render"]
