// Hand-drawn SVG charts (no library, no build step): a radar of the five competencies and
// horizontal bars for distributions. Every chart also carries a text alternative.
import { s, h } from "./dom.js";

const LEVELS = [0, 40, 80, 120, 160, 200];

/** Radar chart of levels {c1..c5} (0..200) with a <title>/<desc> for screen readers. */
export function radar(levels, labels, title) {
  const keys = ["c1", "c2", "c3", "c4", "c5"];
  const size = 280;
  const c = size / 2;
  const r = 100;
  const point = (i, value) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / keys.length;
    const d = (r * value) / 200;
    return [c + d * Math.cos(angle), c + d * Math.sin(angle)];
  };
  const desc = keys.map((k) => `${labels[k]}: ${levels[k] ?? "—"}`).join("; ");
  const svg = s("svg", {
    viewBox: `0 0 ${size} ${size}`,
    class: "radar",
    role: "img",
    "aria-labelledby": "radar-title radar-desc",
  });
  svg.append(s("title", { id: "radar-title" }, title), s("desc", { id: "radar-desc" }, desc));
  for (const level of LEVELS.slice(1)) {
    const ring = keys.map((_, i) => point(i, level).join(",")).join(" ");
    svg.append(s("polygon", { points: ring, class: "radar-grid" }));
  }
  keys.forEach((k, i) => {
    const [x, y] = point(i, 200);
    svg.append(s("line", { x1: c, y1: c, x2: x, y2: y, class: "radar-axis" }));
    const [lx, ly] = point(i, 232);
    svg.append(s("text", { x: lx, y: ly, class: "radar-label", "text-anchor": "middle" }, k.toUpperCase()));
  });
  const shape = keys.map((k, i) => point(i, levels[k] || 0).join(",")).join(" ");
  svg.append(s("polygon", { points: shape, class: "radar-shape" }));
  keys.forEach((k, i) => {
    const [x, y] = point(i, levels[k] || 0);
    svg.append(s("circle", { cx: x, cy: y, r: 3.5, class: "radar-dot" }));
  });
  return svg;
}

/** Horizontal bars of {label: count}: a figure with an SVG and a table fallback. */
export function bars(counts, caption, { order } = {}) {
  const entries = (order || Object.keys(counts)).map((k) => [k, counts[k] || 0]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rowH = 22;
  const width = 320;
  const labelW = 70;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${entries.length * rowH + 4}`,
    class: "bars",
    "aria-hidden": "true",
    focusable: "false",
  });
  entries.forEach(([label, n], i) => {
    const y = i * rowH + 2;
    const w = ((width - labelW - 40) * n) / max;
    svg.append(
      s("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", class: "bar-label" }, label),
      s("rect", { x: labelW, y: y + 3, width: Math.max(w, n ? 2 : 0), height: rowH - 8, class: "bar" }),
      s("text", { x: labelW + w + 4, y: y + 15, class: "bar-value" }, String(n)),
    );
  });
  const table = h(
    "table",
    { class: "visually-hidden" },
    h("caption", {}, caption),
    h("tbody", {}, entries.map(([label, n]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, n)))),
  );
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return h("figure", { class: "chart", dataset: { total: String(total) } }, svg, table, h("figcaption", {}, caption));
}
