// "Delivery success over time": stacked bars of successful and failed attempts per time bucket,
// drawn as inline SVG (no library, no network).

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

const MINUTE = 60_000;
// The chart spans the smallest of these windows (ending now) that holds the oldest attempt shown.
const WINDOWS = [15, 60, 6 * 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60].map((m) => m * MINUTE);

// Groups attempts (Svix MessageAttemptOut: {timestamp, status}) into `buckets` equal time slices.
export function bucketAttempts(attempts, buckets = 12, now = Date.now()) {
  const times = attempts.map((a) => new Date(a.timestamp).getTime()).filter((t) => !Number.isNaN(t));
  const end = Math.max(now, ...times);
  const oldest = times.length ? Math.min(...times) : end;
  const span = WINDOWS.find((w) => end - oldest < w) || end - oldest + MINUTE;
  const start = end - span;
  const size = span / buckets;
  const slots = Array.from({ length: buckets }, (_, i) => ({
    from: start + i * size,
    to: start + (i + 1) * size,
    success: 0,
    fail: 0,
  }));
  for (const attempt of attempts) {
    const t = new Date(attempt.timestamp).getTime();
    if (Number.isNaN(t)) continue;
    const slot = slots[Math.min(buckets - 1, Math.max(0, Math.floor((t - start) / size)))];
    if (attempt.status === 0) slot.success += 1;
    else if (attempt.status === 2) slot.fail += 1;
  }
  return slots;
}

function timeLabel(ms, span) {
  const date = new Date(ms);
  if (span > 24 * 60 * MINUTE) return date.toLocaleDateString();
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function successChart(attempts, { buckets = 12, width = 360, height = 120, title = "" } = {}) {
  const slots = bucketAttempts(attempts, buckets);
  const success = slots.reduce((n, s) => n + s.success, 0);
  const fail = slots.reduce((n, s) => n + s.fail, 0);
  const max = Math.max(1, ...slots.map((s) => s.success + s.fail));
  const pad = { top: 8, right: 6, bottom: 20, left: 26 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const barW = plotW / buckets;
  const label = `${title ? `${title}: ` : ""}${success} successful, ${fail} failed attempts`;
  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    "data-success": success,
    "data-fail": fail,
  });
  chart.append(svg("title", {}, label));
  chart.append(svg("line", { x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH, class: "axis" }));
  chart.append(svg("text", { x: pad.left - 4, y: pad.top + 8, class: "tick", "text-anchor": "end" }, max));
  chart.append(svg("text", { x: pad.left - 4, y: pad.top + plotH, class: "tick", "text-anchor": "end" }, 0));
  slots.forEach((slot, i) => {
    const x = pad.left + i * barW + 1;
    const w = Math.max(1, barW - 2);
    const okH = (slot.success / max) * plotH;
    const failH = (slot.fail / max) * plotH;
    const group = svg("g", { class: "bar" });
    const when = `${new Date(slot.from).toLocaleTimeString()}–${new Date(slot.to).toLocaleTimeString()}`;
    group.append(svg("title", {}, `${when}: ${slot.success} ok, ${slot.fail} failed`));
    if (okH) group.append(svg("rect", { x, y: pad.top + plotH - okH, width: w, height: okH, class: "bar-ok" }));
    if (failH) {
      group.append(svg("rect", { x, y: pad.top + plotH - okH - failH, width: w, height: failH, class: "bar-fail" }));
    }
    chart.append(group);
  });
  const first = slots[0].from;
  const last = slots[slots.length - 1].to;
  chart.append(svg("text", { x: pad.left, y: height - 5, class: "tick" }, timeLabel(first, last - first)));
  chart.append(svg("text", { x: width - pad.right, y: height - 5, class: "tick", "text-anchor": "end" }, "now"));
  return chart;
}
