// The Flows result: a Sankey of the paths, left to right in time (before the anchor, the
// earliest step comes first), and the same nodes as a table.

import { PALETTE, purgeCharts } from "../components/chart.js";
import { sankeyChart } from "../components/report_charts.js";
import { showEmpty } from "../components/status.js";
import { field, h, replace, select } from "../dom.js";
import { formatNumber, formatPercent } from "../format.js";

const RANK = { event: 0, other: 1, end: 2 };

function kindOf(event) {
  return event === "$end" ? "end" : event === "$other" ? "other" : "event";
}

function nodeLabel(event, direction) {
  if (event === "$other") return "Other events";
  if (event === "$end") return direction === "before" ? "Start" : "Drop-off";
  return event;
}

/** One colour per event name, the same in every column: the most common names first. */
function colorsOf(nodes) {
  const totals = new Map();
  for (const n of nodes) totals.set(n.event, (totals.get(n.event) || 0) + n.count);
  const order = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
  return (name) => PALETTE[Math.max(0, order.indexOf(name)) % PALETTE.length];
}

/** The columns (earliest step first) and the links, in time order. */
export function sankeyData(result) {
  const before = result.direction === "before";
  const steps = [...new Set(result.nodes.map((n) => n.step))].sort((a, b) => a - b);
  const columns = steps.map((step) => result.nodes
    .filter((n) => n.step === step)
    .map((n) => ({ key: `${n.step}|${n.event}`, step: n.step, event: n.event, label: nodeLabel(n.event, result.direction), count: n.count, kind: kindOf(n.event) }))
    .sort((a, b) => RANK[a.kind] - RANK[b.kind] || b.count - a.count));
  const links = result.links.map((l) => {
    const from = `${l.step}|${l.source}`;
    const to = `${before ? l.step - 1 : l.step + 1}|${l.target}`;
    return before ? { source: to, target: from, count: l.count } : { source: from, target: to, count: l.count };
  });
  return { columns, links };
}

/** Draw `result` (POST /flows) into `el`. */
export function renderFlows(el, result, state, view) {
  if (!result.total) {
    showEmpty(el, "No one did the anchor event in this date range.");
    return;
  }
  const chart = h("div", { class: "chart-area sankey-area" });
  if (view.compact) {
    replace(el, chart);
    sankeyChart(chart, { ...sankeyData(result), colorOf: colorsOf(result.nodes) }, { compact: true, height: 240 });
    return;
  }
  // With a breakdown, one segment's paths at a time (all of them first).
  const parts = [{ name: "All", part: result }, ...(result.segments || []).map((seg) => ({
    name: seg.segment.map((v) => (v === "$other" ? "Other" : v)).join(" · ") || "(none)",
    part: { ...seg, direction: result.direction },
  }))];
  const picker = parts.length > 1
    ? field("Segment", select(parts.map((p, i) => [String(i), `${p.name} (${formatNumber(p.part.total)})`]), "0", { name: "segment" }), { class: "flow-segment" })
    : null;
  const table = h("div");
  const draw = () => {
    const part = parts[picker ? Number(picker.querySelector("select").value) : 0].part;
    const data = sankeyData(part);
    replace(table, nodesTable(part, data));
    purgeCharts(chart);
    sankeyChart(chart, { ...data, colorOf: colorsOf(result.nodes) }, { height: 420 });
  };
  picker?.addEventListener("change", draw);
  replace(el, h("p", { class: "help flow-help" },
    `${formatNumber(result.total)} paths. Each column is a step ${result.direction} the anchor; `,
    `the ${Number(state.top) || 6} most common events of a step are shown, the others add up to “Other events”; `,
    result.direction === "before" ? "“Start”: paths with no earlier event." : "“Drop-off”: paths with no later event."),
  picker, chart, table);
  draw();
}

function stepName(step) {
  if (step === 0) return "Anchor";
  return step > 0 ? `Step +${step}` : `Step ${step}`;
}

function nodesTable(result, data) {
  return h("details", { class: "flow-table" },
    h("summary", {}, "The paths as a table"),
    h("div", { class: "scroll" },
      h("table", { class: "data-table", "data-table": "flow-nodes" },
        h("caption", { class: "visually-hidden" }, "Paths at each step"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Step"), h("th", { scope: "col" }, "Event"),
          h("th", { scope: "col", class: "num" }, "Paths"), h("th", { scope: "col", class: "num" }, "Share"))),
        h("tbody", {}, data.columns.flat().map((n) => h("tr", { "data-step": n.step, "data-event": n.event },
          h("th", { scope: "row" }, stepName(n.step)),
          h("td", {}, n.label),
          h("td", { class: "num", "data-value": n.count }, formatNumber(n.count)),
          h("td", { class: "num" }, formatPercent(n.count / result.total))))))));
}
