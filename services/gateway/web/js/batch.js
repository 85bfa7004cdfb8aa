// Batch pages: the list of recent batches, and one batch's progress, report (distributions per
// competency, means by group), its essays and the CSV export.
import { api, query } from "./api.js";
import { bars } from "./charts.js";
import { h } from "./dom.js";
import { flagLabel, fmt, t } from "./i18n.js";

const MEASURES = ["c1", "c2", "c3", "c4", "c5"];
const LEVELS = ["0", "40", "80", "120", "160", "200"];
const FINAL = new Set(["COMPLETED", "FAILED"]);

/** A measure of a report block, whichever case the server spells competencies in (c1 / C1). */
function measure(scores, name) {
  return (scores || {})[name] || (scores || {})[name.toUpperCase()] || {};
}

export function renderIndex(main) {
  const controller = new AbortController();
  const input = h("input", { id: "batch-id", type: "text", required: true, spellcheck: "false" });
  const form = h(
    "form",
    { class: "inline-form" },
    h("label", { for: "batch-id" }, t("batches.id")),
    input,
    h("button", { type: "submit" }, t("batches.go")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = `#/batches/${encodeURIComponent(input.value.trim())}`;
  });
  const list = h("div", { role: "status" }, t("common.loading"));
  main.append(h("h1", {}, t("batches.title")), h("h2", {}, t("batches.open")), form, list);
  api("/v1/batches?limit=50", { signal: controller.signal })
    .then((batches) => {
      list.replaceChildren(
        batches.length
          ? h(
              "ul",
              { class: "batch-list", id: "batch-list" },
              batches.map((b) =>
                h(
                  "li",
                  {},
                  h("a", { href: `#/batches/${b.id}` }, b.filename || b.id),
                  ` — ${t(`status.${b.status}`) || b.status}, ${b.essays_completed}/${b.rows_accepted} (${fmt(b.progress_percent)}%)`,
                ),
              ),
            )
          : t("common.none"),
      );
    })
    .catch((err) => {
      if (err.name !== "AbortError") list.textContent = t("common.error", { message: err.message });
    });
  return () => controller.abort();
}

/** Minimal RFC 4180 reader for the results export (quoted fields, doubled quotes, newlines). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

async function download(batchId, signal) {
  const response = await api(`/v1/batches/${batchId}/results.csv`, { raw: true, signal });
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `batch-${batchId}-results.csv`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function totalDistribution(report) {
  const counts = measure(report.scores, "total").distribution || {};
  const order = Object.keys(counts).sort((a, b) => Number(a) - Number(b));
  return h("div", { id: "total-distribution" }, bars(counts, t("batch.totalDistribution"), { order }));
}

function distributions(report) {
  const scores = report.scores || {};
  return h(
    "div",
    { class: "charts-grid", id: "distributions" },
    MEASURES.map((m) =>
      bars(measure(scores, m).distribution || {}, t("batch.distribution", { comp: t(`comp.${m}`) }), { order: LEVELS }),
    ),
  );
}

function groupTable(groups, column) {
  return h(
    "table",
    { class: "data", id: "group-table" },
    h("caption", {}, `${t("batch.groups")}: ${column}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("batch.group")),
        h("th", { scope: "col" }, t("batch.count")),
        h("th", { scope: "col" }, `${t("batch.mean")} total`),
        MEASURES.map((m) => h("th", { scope: "col" }, `${t("batch.mean")} ${m.toUpperCase()}`)),
      ),
    ),
    h(
      "tbody",
      {},
      groups.map((g) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, g.value ?? "—"),
          h("td", {}, g.essays),
          h("td", {}, measure(g.scores, "total").mean ?? "—"),
          MEASURES.map((m) => h("td", {}, measure(g.scores, m).mean ?? "—")),
        ),
      ),
    ),
  );
}

/** A results.csv cell for people: statuses and flags in words. */
function cell(column, value) {
  if (column === "flags") return (value || "").split("|").filter(Boolean).map(flagLabel).join("; ");
  if (column === "status" && value) return t(`status.${value}`);
  return value;
}

function essayTable(rows) {
  if (rows.length < 2) return h("p", {}, t("common.none"));
  const [header, ...data] = rows;
  const lower = header.map((name) => name.toLowerCase());
  const col = (name) => lower.indexOf(name.toLowerCase());
  const show = ["row", "external_id", "title", "status", "C1", "C2", "C3", "C4", "C5", "total", "flags"].filter((c) => col(c) >= 0);
  return h(
    "table",
    { class: "data", id: "batch-essays" },
    h("caption", { class: "visually-hidden" }, t("batch.essays")),
    h("thead", {}, h("tr", {}, show.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      data.map((r) =>
        h(
          "tr",
          {},
          show.map((c) =>
            c === "title" || (c === "external_id" && col("title") < 0)
              ? h("td", {}, h("a", { href: `#/essays/${r[col("essay_id")]}` }, r[col(c)] || r[col("essay_id")]))
              : h("td", {}, cell(c, r[col(c)])),
          ),
        ),
      ),
    ),
  );
}

export function render(main, { id }) {
  const controller = new AbortController();
  const signal = controller.signal;
  const bar = h("progress", { id: "batch-progress", max: "100", value: "0", "aria-labelledby": "batch-progress-label" });
  const info = h("p", { id: "batch-info", role: "status" }, t("common.loading"));
  const report = h("section", { class: "card", "aria-labelledby": "report-heading", id: "batch-report" });
  const essays = h("section", { class: "card", id: "batch-essays-section" });
  const rejected = h("section", { class: "card", id: "batch-rejected", hidden: true, "aria-labelledby": "rejected-heading" });
  const exportButton = h("button", { type: "button", id: "batch-export", onclick: () => download(id, signal).catch((e) => (info.textContent = e.message)) }, t("batch.export"));
  main.append(
    h("h1", {}, t("batch.title", { id })),
    h("div", { class: "progress-block" }, h("span", { id: "batch-progress-label" }, t("batch.progress")), bar),
    info,
    exportButton,
    rejected,
    report,
    essays,
  );
  let timer = null;
  let groupBy = null;

  const showReport = async (batch) => {
    const body = await api(`/v1/batches/${id}/report${query({ group_by: groupBy })}`, { signal });
    const select = batch.group_columns.length
      ? h(
          "div",
          { class: "field" },
          h("label", { for: "group-by" }, t("batch.group")),
          h(
            "select",
            {
              id: "group-by",
              onchange: (e) => {
                groupBy = e.target.value || null;
                showReport(batch).catch(() => {});
              },
            },
            h("option", { value: "" }, "—"),
            batch.group_columns.map((g) => h("option", { value: g, selected: g === groupBy }, g)),
          ),
        )
      : null;
    report.replaceChildren(
      h("h2", { id: "report-heading" }, t("batch.report")),
      h("p", {}, `${t("batch.count")}: ${body.essays ?? 0} · ${t("batch.mean")} total: ${((body.scores || {}).total || {}).mean ?? "—"}`),
      totalDistribution(body),
      distributions(body),
      select,
      body.groups ? groupTable(body.groups, body.group_by) : null,
    );
    const csv = await api(`/v1/batches/${id}/results.csv`, { signal });
    essays.replaceChildren(h("h2", {}, t("batch.essays")), essayTable(parseCsv(csv)));
  };

  const showRejected = async (batch) => {
    if (!batch.rows_rejected) return;
    const page = await api(`/v1/batches/${id}/errors?limit=100`, { signal });
    rejected.replaceChildren(
      h("h2", { id: "rejected-heading" }, t("batch.rejected", { count: batch.rows_rejected })),
      h(
        "table",
        { class: "data", id: "rejected-rows" },
        h("caption", { class: "visually-hidden" }, t("batch.rejected", { count: batch.rows_rejected })),
        h("thead", {}, h("tr", {}, [t("batch.row"), t("batch.line"), t("batch.field"), t("batch.problem")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.map((e) => h("tr", {}, h("td", {}, e.row), h("td", {}, e.line), h("td", {}, e.field || "—"), h("td", {}, e.message)))),
      ),
    );
    rejected.hidden = false;
  };

  const tick = async () => {
    const batch = await api(`/v1/batches/${id}`, { signal });
    bar.value = batch.progress_percent;
    main.dataset.batchStatus = batch.status;
    const eta = batch.eta_seconds != null && !FINAL.has(batch.status) ? ` — ${t("batch.eta", { seconds: fmt(batch.eta_seconds) })}` : "";
    info.textContent = `${t(`status.${batch.status}`)} — ${batch.essays_completed}/${batch.rows_accepted} (${fmt(batch.progress_percent)}%)${eta}${batch.error ? ` — ${batch.error}` : ""}`;
    if (FINAL.has(batch.status)) {
      await showRejected(batch);
      await showReport(batch);
    } else {
      timer = setTimeout(() => tick().catch(fail), 1500);
    }
  };
  const fail = (err) => {
    if (err.name !== "AbortError") info.textContent = t("common.error", { message: err.message });
  };
  tick().catch(fail);
  return () => {
    controller.abort();
    if (timer) clearTimeout(timer);
  };
}
