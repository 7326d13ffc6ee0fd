// The behavioural reports' charts over plotly: funnel steps, a histogram, the retention
// curve and the flows Sankey. They share chart.js's look, and each is described in text.

import { formatNumber, formatPercent } from "../format.js";
import { PALETTE, baseLayout, draw } from "./chart.js";

const MUTED = "#c7cbe6";
const GREY = "#aab1c2";

/** Funnel bars: who reached each step, stacked on who had dropped off by then. */
export function funnelChart(el, { labels, counts }, { height = 340, compact = false } = {}) {
  const first = counts[0] || 0;
  const share = counts.map((c) => (first ? c / first : null));
  const traces = [
    {
      x: labels, y: counts, name: "Converted", type: "bar", marker: { color: PALETTE[0] },
      text: share.map((s) => formatPercent(s)), textposition: "inside", insidetextanchor: "start",
      textfont: { color: "#fff" },
      customdata: share.map((s) => formatPercent(s)),
      hovertemplate: "%{x}<br>%{y:,} reached (%{customdata})<extra></extra>",
    },
    {
      x: labels, y: counts.map((c) => first - c), name: "Dropped off", type: "bar", marker: { color: MUTED },
      hovertemplate: "%{x}<br>%{y:,} dropped off before this step<extra></extra>",
    },
  ];
  const layout = baseLayout({ height, compact });
  layout.barmode = "stack";
  layout.bargap = 0.35;
  layout.legend.traceorder = "normal";
  layout.hovermode = "closest";
  layout.xaxis.type = "category";
  const summary = "Funnel: " + labels.map((l, i) => `${l}: ${formatNumber(counts[i])} (${formatPercent(share[i])})`).join("; ");
  return draw(el, traces, layout, summary);
}

/** Overall conversion to each step, one group of bars per segment. */
export function segmentFunnelChart(el, { labels, segments }, { height = 340, compact = false } = {}) {
  const traces = segments.map((s, i) => ({
    x: labels,
    y: s.counts.map((c) => (s.counts[0] ? (100 * c) / s.counts[0] : 0)),
    customdata: s.counts,
    name: s.name,
    type: "bar",
    marker: { color: PALETTE[i % PALETTE.length] },
    hovertemplate: "%{y:.1f}% (%{customdata:,})<extra>%{fullData.name}</extra>",
  }));
  const layout = baseLayout({ height, compact });
  layout.barmode = "group";
  layout.xaxis.type = "category";
  if (percent) {
    layout.yaxis.ticksuffix = "%";
    layout.yaxis.range = [0, 100];
  }
  const summary = "Conversion by segment: " + segments.slice(0, 5).map((s) =>
    `${s.name}: ${formatPercent(s.counts[0] ? s.counts[s.counts.length - 1] / s.counts[0] : null)} overall`).join("; ");
  return draw(el, traces, layout, summary);
}

/** Vertical bars of labelled values (a histogram's buckets). */
export function columnChart(el, { labels, values, name = "" }, { height = 280, compact = false } = {}) {
  const traces = [{
    x: labels, y: values, name, type: "bar", marker: { color: PALETTE[1] },
    hovertemplate: "%{x}: %{y:,}<extra></extra>",
  }];
  const layout = baseLayout({ height, compact });
  layout.hovermode = "closest";
  layout.showlegend = false;
  layout.bargap = 0.08;
  layout.xaxis.type = "category";
  return draw(el, traces, layout, `${name}: ` + labels.map((l, i) => `${l}: ${formatNumber(values[i])}`).join("; "));
}

/** Percentages (or plain values, `percent: false`) over ordered categories (the retention
 * curve); null values are gaps. */
export function curveChart(el, { labels, series }, { height = 260, compact = false, title = "", percent = true } = {}) {
  const suffix = percent ? "%" : "";
  const traces = series.map((s, i) => ({
    x: labels, y: s.values, name: s.name, type: "scatter", mode: "lines+markers",
    line: { color: PALETTE[i % PALETTE.length], width: 2 },
    marker: { color: PALETTE[i % PALETTE.length], size: 6 },
    connectgaps: false,
    hovertemplate: `%{y:.1f}${suffix}<extra>%{fullData.name}</extra>`,
  }));
  const layout = baseLayout({ height, compact });
  layout.xaxis.type = "category";
  layout.xaxis.title = { text: title, standoff: 8 };
  if (percent) {
    layout.yaxis.ticksuffix = "%";
    layout.yaxis.range = [0, 100];
  }
  layout.showlegend = !compact && series.length > 1;
  const summary = series.map((s) => `${s.name}: ` + s.values.map((v, i) => `${labels[i]} ${v === null ? "–" : `${v.toFixed(1)}${suffix}`}`).join(", ")).join("; ");
  return draw(el, traces, layout, summary);
}

/**
 * A Sankey of paths: `columns` are the steps left to right, each a list of nodes
 * {key, label, count, kind: "event" | "other" | "end"}; `links` join node keys with a count.
 */
export function sankeyChart(el, { columns, links, colorOf }, { height = 440, compact = false } = {}) {
  const nodes = [];
  const index = new Map();
  const last = Math.max(columns.length - 1, 1);
  columns.forEach((column, c) => {
    const total = column.reduce((sum, n) => sum + n.count, 0) || 1;
    const gap = column.length > 1 ? 0.04 : 0;
    const usable = 1 - gap * (column.length - 1);
    let top = 0;
    for (const node of column) {
      const span = (usable * node.count) / total;
      index.set(node.key, nodes.length);
      nodes.push({ ...node, x: 0.001 + (0.998 * c) / last, y: Math.min(0.999, Math.max(0.001, top + span / 2)) });
      top += span + gap;
    }
  });
  const color = (n) => (n.kind === "end" ? "#d9dce4" : n.kind === "other" ? GREY : colorOf(n.label));
  const trace = {
    type: "sankey",
    arrangement: "fixed",
    node: {
      label: nodes.map((n) => `${n.label} (${formatNumber(n.count)})`),
      x: nodes.map((n) => n.x),
      y: nodes.map((n) => n.y),
      color: nodes.map(color),
      pad: 12,
      thickness: 16,
      line: { width: 0 },
      hovertemplate: "%{label}<extra></extra>",
    },
    link: {
      source: links.map((l) => index.get(l.source)),
      target: links.map((l) => index.get(l.target)),
      value: links.map((l) => l.count),
      color: links.map((l) => `${color(nodes[index.get(l.source)])}55`),
      hovertemplate: "%{source.label} → %{target.label}: %{value:,}<extra></extra>",
    },
  };
  const layout = baseLayout({ height, compact });
  layout.margin = compact ? { l: 4, r: 4, t: 4, b: 4 } : { l: 8, r: 8, t: 8, b: 8 };
  layout.font.size = compact ? 10 : 12;
  const summary = `Paths through ${columns.length} steps: ` +
    columns.map((col, c) => `step ${c + 1}: ` + col.map((n) => `${n.label} ${formatNumber(n.count)}`).join(", ")).join("; ");
  return draw(el, [trace], layout, summary);
}
