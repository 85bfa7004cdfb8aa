// Search page: query box, sort, facets as filters, highlighted fragments, cursor pagination.
// The query and filters live in the URL (#/search?q=...&flag=...), so back/forward and links work;
// the page cursors live in memory (they are only valid for the same query).
import { api, query } from "./api.js";
import { h, highlightFragment } from "./dom.js";
import { flagLabel, t } from "./i18n.js";

const SORTS = ["relevance", "-total", "total", "-date", "date"];
// facet name in the response → filter parameter of GET /v1/search
const LIST_FACETS = { flags: "flag", error_categories: "category", prompts: "prompt", groups: "group" };
const COMPETENCIES = ["c1", "c2", "c3", "c4", "c5"];
const FILTER_PARAMS = [
  ...Object.values(LIST_FACETS),
  ...COMPETENCIES.flatMap((c) => [`min_${c}`, `max_${c}`]),
  "min_total",
  "max_total",
];

function stateFrom(params) {
  const size = Math.min(100, Math.max(1, Number(params.get("size")) || 10));
  const state = { q: params.get("q") || "", sort: params.get("sort") || "relevance", size, filters: {} };
  for (const name of FILTER_PARAMS) {
    const values = params.getAll(name);
    if (values.length) state.filters[name] = values;
  }
  return state;
}

function hashOf(state) {
  const sort = state.sort === "relevance" ? "" : state.sort;
  return `#/search${query({ q: state.q, sort, size: state.size === 10 ? "" : state.size, ...state.filters })}`;
}

function facetLabel(facet, value) {
  if (facet === "flags") return flagLabel(value);
  return value;
}

function toggle(state, param, value, on) {
  const next = { ...state, filters: { ...state.filters } };
  const values = new Set(next.filters[param] || []);
  if (on) values.add(value);
  else values.delete(value);
  if (values.size) next.filters[param] = [...values];
  else delete next.filters[param];
  return next;
}

function setRange(state, min, max, range) {
  const next = { ...state, filters: { ...state.filters } };
  const active = (next.filters[min] || [])[0] === range[0] && (next.filters[max] || [])[0] === range[1];
  delete next.filters[min];
  delete next.filters[max];
  if (!active) {
    next.filters[min] = [range[0]];
    next.filters[max] = [range[1]];
  }
  return next;
}

function facetGroup(title, id, items) {
  if (!items.length) return null;
  return h("fieldset", { class: "facet", id }, h("legend", {}, title), items);
}

function checkbox(id, text, count, checked, onchange) {
  return h(
    "div",
    { class: "facet-item" },
    h("input", { type: "checkbox", id, checked, onchange }),
    h("label", { for: id }, `${text} `, h("span", { class: "count" }, `(${count})`)),
  );
}

function facetsPanel(facets, state) {
  const go = (next) => (location.hash = hashOf(next));
  const groups = [];
  let n = 0;
  for (const [facet, param] of Object.entries(LIST_FACETS)) {
    const counts = facets[facet] || {};
    const selected = new Set(state.filters[param] || []);
    const items = Object.entries(counts).map(([value, count]) =>
      checkbox(`facet-${n++}`, facetLabel(facet, value), count, selected.has(value), (e) => go(toggle(state, param, value, e.target.checked))),
    );
    groups.push(facetGroup(t(`facet.${facet}`), `facet-${facet}`, items));
  }
  for (const c of COMPETENCIES) {
    const counts = facets[c] || {};
    const items = Object.entries(counts).map(([level, count]) => {
      const on = (state.filters[`min_${c}`] || [])[0] === level && (state.filters[`max_${c}`] || [])[0] === level;
      return checkbox(`facet-${n++}`, level, count, on, () => go(setRange(state, `min_${c}`, `max_${c}`, [level, level])));
    });
    groups.push(facetGroup(t(`comp.${c}`), `facet-${c}`, items));
  }
  const totals = Object.entries(facets.total || {}).map(([from, count]) => {
    const to = String(Math.min(1000, Number(from) + 199));
    const on = (state.filters.min_total || [])[0] === from && (state.filters.max_total || [])[0] === to;
    return checkbox(`facet-${n++}`, from === to ? from : `${from}–${to}`, count, on, () => go(setRange(state, "min_total", "max_total", [from, to])));
  });
  groups.push(facetGroup(t("facet.total"), "facet-total", totals));
  const clear = Object.keys(state.filters).length
    ? h("button", { type: "button", class: "link", onclick: () => go({ ...state, filters: {} }) }, t("search.clear"))
    : null;
  // On small screens the filters start folded so the results come first.
  const open = !window.matchMedia("(max-width: 48rem)").matches;
  return h(
    "aside",
    { class: "facets", "aria-labelledby": "facets-heading" },
    h("details", { open }, h("summary", {}, h("h2", { id: "facets-heading" }, t("search.facets"))), clear, groups),
  );
}

function hitCard(hit) {
  const fragments = Object.entries(hit.highlights || {}).flatMap(([, list]) => list);
  return h(
    "li",
    { class: "hit card" },
    h(
      "h3",
      {},
      h("a", { href: `#/essays/${hit.essay_id}`, class: "hit-link" }, hit.title || t("hit.untitled")),
    ),
    h(
      "p",
      { class: "hit-meta" },
      hit.total != null ? h("strong", {}, t("hit.total", { total: hit.total })) : null,
      " ",
      COMPETENCIES.filter((c) => hit.levels[c] != null).map((c) => h("span", { class: "pill" }, `${c.toUpperCase()} ${hit.levels[c]}`)),
      (hit.flags || []).map((f) => h("span", { class: `flag flag-${f.split(":")[0]}` }, flagLabel(f))),
    ),
    fragments.length
      ? h("ul", { class: "fragments" }, fragments.map((f) => h("li", {}, "… ", highlightFragment(f), " …")))
      : null,
  );
}

export function render(main, { params }) {
  const controller = new AbortController();
  const state = stateFrom(params);
  const input = h("input", { id: "search-q", type: "search", name: "q", value: state.q, "aria-describedby": "search-help" });
  const sort = h(
    "select",
    { id: "search-sort", name: "sort" },
    SORTS.map((value) => h("option", { value, selected: value === state.sort }, t(`sort.${value}`))),
  );
  const form = h(
    "form",
    { role: "search", class: "search-form", id: "search-form" },
    h("div", { class: "field grow" }, h("label", { for: "search-q" }, t("search.query")), input, h("p", { class: "help", id: "search-help" }, t("search.help"))),
    h("div", { class: "field" }, h("label", { for: "search-sort" }, t("search.sort")), sort),
    h("button", { type: "submit", class: "primary" }, t("search.go")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = hashOf({ ...state, q: input.value.trim(), sort: sort.value });
  });
  const summary = h("p", { id: "search-summary", role: "status" });
  const results = h("div", { class: "search-results" });
  const layout = h("div", { class: "search-layout" }, h("div", { id: "facets-slot" }), results);
  main.append(h("h1", {}, t("search.title")), form, summary, layout);

  const cursors = [null];
  const load = async (page) => {
    summary.textContent = t("common.loading");
    const body = await api(
      `/v1/search${query({ q: state.q, sort: state.sort, size: state.size, cursor: cursors[page], ...state.filters })}`,
      { signal: controller.signal },
    );
    if (body.next) cursors[page + 1] = body.next;
    summary.textContent = body.total ? t("search.results", { total: body.total }) : t("search.empty");
    layout.firstChild.replaceWith(h("div", { id: "facets-slot" }, facetsPanel(body.facets || {}, state)));
    const prev = h("button", { type: "button", id: "page-prev", disabled: page === 0, onclick: () => run(page - 1) }, t("common.previous"));
    const next = h("button", { type: "button", id: "page-next", disabled: !body.next, onclick: () => run(page + 1) }, t("common.next"));
    results.replaceChildren(
      h("ol", { class: "hits", id: "hits", start: String(page * state.size + 1) }, body.hits.map(hitCard)),
      h("nav", { class: "pager", "aria-label": t("search.page", { page: page + 1 }) }, prev, h("span", {}, t("search.page", { page: page + 1 })), next),
    );
  };
  const run = (page) =>
    load(page).catch((err) => {
      if (err.name !== "AbortError") {
        summary.textContent = t("common.error", { message: err.message });
      }
    });
  run(0);
  return () => controller.abort();
}
