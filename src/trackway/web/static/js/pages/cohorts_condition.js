// A cohort's condition tree (docs/cohorts.md#definition) as the editor holds it, and back:
//   {type: "group", match: "all" | "any", negate, children: [...]}
//   {type: "did", negate, event, at_least, at_most, window: "within" | "dates" | "ever",
//    within_days, from_date, to_date, where}
//   {type: "profile", negate, expression}
//   {type: "cohort", negate, cohort_id}
//   {type: "users", negate, ids: "one id a line"}
// `negate` wraps the condition in {"not": ...}.

export const TYPES = [
  ["did", "Did an event"],
  ["profile", "Profile property"],
  ["cohort", "Another cohort"],
  ["users", "Listed users"],
  ["group", "Group of conditions"],
];

export function newNode(type = "did") {
  switch (type) {
    case "group": return { type, match: "all", negate: false, children: [newNode()] };
    case "profile": return { type, negate: false, expression: "" };
    case "cohort": return { type, negate: false, cohort_id: null };
    case "users": return { type, negate: false, ids: "" };
    default: return { type: "did", negate: false, event: null, at_least: 1, at_most: null, window: "within", within_days: 30, from_date: "", to_date: "", where: "" };
  }
}

export function newDefinition() {
  return { name: "", description: "", root: newNode("group") };
}

function listedIds(text) {
  return [...new Set(String(text || "").split(/[\n,]/).map((s) => s.trim()).filter(Boolean))];
}

/** The JSON condition of a node. */
export function toCondition(node) {
  let out;
  if (node.type === "group") {
    out = { [node.match]: node.children.map(toCondition) };
  } else if (node.type === "profile") {
    out = { profile: node.expression.trim() };
  } else if (node.type === "cohort") {
    out = { cohort: Number(node.cohort_id) };
  } else if (node.type === "users") {
    out = { users: listedIds(node.ids) };
  } else {
    const did = { at_least: Number(node.at_least) || 0 };
    if (node.event) did.event = node.event;
    if (node.at_most !== null && node.at_most !== "" && node.at_most !== undefined) did.at_most = Number(node.at_most);
    if (node.window === "within") did.within_days = Number(node.within_days) || 1;
    if (node.window === "dates" && node.from_date) did.from_date = node.from_date;
    if (node.window === "dates" && node.to_date) did.to_date = node.to_date;
    if (node.where && node.where.trim()) did.where = node.where.trim();
    out = { did };
  }
  return node.negate ? { not: out } : out;
}

/** The editor's node of a JSON condition. */
export function fromCondition(condition) {
  const [[kind, value]] = Object.entries(condition);
  if (kind === "not") {
    const inner = fromCondition(value);
    inner.negate = !inner.negate;
    return inner;
  }
  if (kind === "all" || kind === "any") return { type: "group", match: kind, negate: false, children: value.map(fromCondition) };
  if (kind === "profile") return { type: "profile", negate: false, expression: value };
  if (kind === "cohort") return { type: "cohort", negate: false, cohort_id: value };
  if (kind === "users") return { type: "users", negate: false, ids: value.join("\n") };
  const window = value.within_days ? "within" : value.from_date || value.to_date ? "dates" : "ever";
  return {
    ...newNode("did"), event: value.event ?? null, at_least: value.at_least ?? 1, at_most: value.at_most ?? null,
    window, within_days: value.within_days ?? 30, from_date: value.from_date ?? "", to_date: value.to_date ?? "", where: value.where ?? "",
  };
}

/** The definition the editor holds, from a saved cohort. */
export function fromSaved(saved) {
  const root = fromCondition(saved.condition);
  const group = root.type === "group" && !root.negate ? root : { type: "group", match: "all", negate: false, children: [root] };
  return { name: saved.name, description: saved.description || "", root: group };
}

/** The body of POST/PUT /cohorts. */
export function toDefinition(definition) {
  return { name: definition.name.trim(), description: definition.description.trim(), condition: toCondition(definition.root) };
}

/** What must be completed before saving, or null; `where` names the condition. */
export function incomplete(node, where = "the definition") {
  if (node.type === "group") {
    if (!node.children.length) return `Add a condition to ${where}.`;
    for (const [i, child] of node.children.entries()) {
      const found = incomplete(child, `condition ${i + 1}${where === "the definition" ? "" : ` of ${where}`}`);
      if (found) return found;
    }
    return null;
  }
  if (node.type === "profile" && !node.expression.trim()) return `Write the profile expression of ${where}.`;
  if (node.type === "cohort" && !node.cohort_id) return `Choose the cohort of ${where}.`;
  if (node.type === "users" && !listedIds(node.ids).length) return `List at least one distinct_id in ${where}.`;
  return null;
}

/** A short text of a condition, for the cohort list. */
export function summarize(condition) {
  const [[kind, value]] = Object.entries(condition);
  if (kind === "not") return `not (${summarize(value)})`;
  if (kind === "all" || kind === "any") return value.map(summarize).join(kind === "all" ? " and " : " or ");
  if (kind === "profile") return `profile: ${value}`;
  if (kind === "cohort") return `in cohort ${value}`;
  if (kind === "users") return `${value.length} listed users`;
  const times = value.at_most !== undefined && value.at_most !== null ? `${value.at_least ?? 1}–${value.at_most}×` : `≥${value.at_least ?? 1}×`;
  const when = value.within_days ? ` in the last ${value.within_days} days` : value.from_date || value.to_date ? ` ${value.from_date || "…"} to ${value.to_date || "now"}` : "";
  return `did ${value.event || "any event"} ${times}${when}`;
}
