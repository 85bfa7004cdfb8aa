// Turn per-dimension issues (offsets into the ORIGINAL text) into highlighted, focusable spans.
// Spans may overlap (a spelling error inside a proposal element): the text is cut at every
// boundary and each piece knows all the issues covering it; the innermost decides its colour.
import { h } from "./dom.js";

const SPELLING = new Set(["spelling", "accent", "orthography", "typo", "hyphen", "capitalization"]);

/** The highlight family of an issue: spelling, grammar, cohesion, proposal or other. */
export function kindOf(dimension, category) {
  if (category.startsWith("proposal.")) return "proposal";
  if (category.startsWith("connective.") || category.startsWith("cohesion.")) return "cohesion";
  if (dimension === "grammar") return SPELLING.has(category) ? "spelling" : "grammar";
  return "other";
}

export const KINDS = ["spelling", "grammar", "cohesion", "proposal", "other"];

/** All issues of a job, flattened, numbered, clipped to the text, sorted by position. */
export function collectIssues(actions, textLength) {
  const out = [];
  for (const [dimension, action] of Object.entries(actions || {})) {
    for (const issue of (action.result && action.result.issues) || []) {
      const start = Math.max(0, Math.min(issue.start, textLength));
      const end = Math.max(start, Math.min(issue.end, textLength));
      out.push({ ...issue, start, end, dimension, kind: kindOf(dimension, issue.category) });
    }
  }
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  out.forEach((issue, i) => (issue.id = i));
  return out;
}

/** Pieces of the text: [{start, end, issues: [..]}], covering it entirely and in order. */
export function segments(textLength, issues) {
  const cuts = new Set([0, textLength]);
  for (const issue of issues) {
    if (issue.end > issue.start) {
      cuts.add(issue.start);
      cuts.add(issue.end);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    const covering = issues.filter((x) => x.start <= start && x.end >= end && x.end > x.start);
    pieces.push({ start, end, issues: covering });
  }
  return pieces;
}

/** The issue that gives a piece its colour: the shortest (most specific) covering it. */
function primary(issues) {
  return issues.reduce((best, x) => (x.end - x.start < best.end - best.start ? x : best));
}

/**
 * Render the essay: plain text nodes plus <mark> elements that are keyboard-focusable buttons.
 * `onActivate(issues, mark)` is called on click, Enter/Space and focus.
 */
export function renderEssay(text, issues, onActivate) {
  const container = h("div", { class: "essay-text", id: "essay-text" });
  for (const piece of segments(text.length, issues)) {
    const slice = text.slice(piece.start, piece.end);
    if (!piece.issues.length) {
      container.append(slice);
      continue;
    }
    const main = primary(piece.issues);
    const mark = h(
      "mark",
      {
        class: `hl hl-${main.kind}`,
        tabindex: "0",
        role: "button",
        "aria-haspopup": "dialog",
        "aria-label": `${slice} — ${piece.issues.map((x) => x.message).join("; ")}`,
        dataset: {
          kind: main.kind,
          kinds: [...new Set(piece.issues.map((x) => x.kind))].join(" "),
          issues: piece.issues.map((x) => x.id).join(" "),
          category: main.category,
        },
      },
      slice,
    );
    const activate = () => onActivate(piece.issues, mark);
    mark.addEventListener("click", activate);
    mark.addEventListener("mouseenter", activate);
    mark.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        activate();
      }
    });
    container.append(mark);
  }
  return container;
}
