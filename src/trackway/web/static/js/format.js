// Numbers, times and durations as the app shows them.

const numbers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "number" ? numbers.format(value) : String(value);
}

/** A timestamp (ms) as date and time in a time zone. */
export function formatTime(ms, timeZone = "UTC", withSeconds = true) {
  if (ms === null || ms === undefined) return "–";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    day: "2-digit",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
    hour12: false,
  }).format(new Date(ms));
}

/** A duration (ms) as "350 ms", "4.2 s", "3 min", "2 h 5 min", "3 d". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h ${min % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function today(timeZone = "UTC") {
  const parts = { timeZone, year: "numeric", month: "2-digit", day: "2-digit" };
  return new Intl.DateTimeFormat("en-CA", parts).format(new Date());
}

/** A date (YYYY-MM-DD) plus `days` calendar days. */
export function addDays(isoDate, days) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** A segment label list as one string: ["Chrome", "FR"] → "Chrome / FR". */
export function segmentLabel(segment) {
  return segment && segment.length ? segment.join(" / ") : "";
}

/** A ratio (0.3125) as a percentage ("31.3%"); "–" when unknown. */
export function formatPercent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "–";
  const text = (100 * ratio).toFixed(digits).replace(/\.0+$/, "");
  return `${text}%`;
}

/** A duration in one short unit, for axis labels: "0", "45 s", "12 min", "3.5 h", "2 d". */
export function formatShortDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms === 0) return "0";
  const round = (value) => (value < 10 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value)));
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${round(ms / 3_600_000)} h`;
  return `${round(ms / 86_400_000)} d`;
}
