// Submit page (one essay or a CSV batch) and the live progress view of one job.
import { api, TERMINAL, watchJob } from "./api.js";
import { announce, h } from "./dom.js";
import { fmt, t } from "./i18n.js";

function field(id, label, control, help) {
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    help ? h("p", { class: "help", id: helpId }, help) : null,
    control,
  );
}

function errorBox() {
  return h("div", { class: "error", role: "alert", id: "form-error", hidden: true });
}

function showError(box, message) {
  box.hidden = false;
  box.textContent = t("common.error", { message });
}

function essayForm() {
  const error = errorBox();
  const text = h("textarea", { id: "essay-text-input", name: "text", rows: "16", required: true });
  const file = h("input", { id: "essay-file", type: "file", accept: ".txt,text/plain" });
  file.addEventListener("change", async () => {
    if (file.files.length) text.value = await file.files[0].text();
  });
  const title = h("input", { id: "essay-title", name: "title", type: "text", maxlength: "500" });
  const promptId = h("input", { id: "prompt-id", name: "prompt_id", type: "text", maxlength: "200", list: "known-prompts" });
  const known = h("datalist", { id: "known-prompts" });
  // Offer the prompts this tenant already used (the search facet), without blocking the form.
  api("/v1/search?size=1&highlight=false")
    .then((body) => known.replaceChildren(...Object.keys((body.facets || {}).prompts || {}).map((p) => h("option", { value: p }))))
    .catch(() => {});
  const promptText = h("textarea", { id: "prompt-text", name: "prompt_text", rows: "4" });
  const button = h("button", { type: "submit", class: "primary", id: "submit-essay" }, t("submit.send"));
  const form = h(
    "form",
    { id: "essay-form", novalidate: true },
    error,
    field("essay-title", t("submit.essayTitle"), title),
    field("essay-text-input", t("submit.text"), text, t("submit.textHelp")),
    field("essay-file", t("submit.file"), file),
    h(
      "fieldset",
      {},
      h("legend", {}, t("submit.prompt")),
      field("prompt-id", t("submit.promptId"), promptId),
      known,
      field("prompt-text", t("submit.promptText"), promptText, t("submit.promptHelp")),
    ),
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!text.value.trim()) {
      showError(error, t("submit.blank"));
      text.focus();
      return;
    }
    button.disabled = true;
    button.textContent = t("submit.sending");
    try {
      const body = { text: text.value };
      if (title.value.trim()) body.title = title.value.trim();
      if (promptId.value.trim()) body.prompt_id = promptId.value.trim();
      if (promptText.value.trim()) body.prompt_text = promptText.value.trim();
      const accepted = await api("/v1/essays", { method: "POST", json: body });
      location.hash = `#/jobs/${accepted.job_id}`;
    } catch (err) {
      showError(error, err.message);
      button.disabled = false;
      button.textContent = t("submit.send");
    }
  });
  return form;
}

function batchForm() {
  const error = errorBox();
  const file = h("input", { id: "batch-file", type: "file", accept: ".csv,text/csv", required: true });
  const button = h("button", { type: "submit", class: "primary", id: "submit-batch" }, t("submit.sendBatch"));
  const form = h(
    "form",
    { id: "batch-form", novalidate: true },
    error,
    field("batch-file", t("submit.csv"), file, t("submit.csvHelp")),
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!file.files.length) {
      showError(error, t("submit.noCsv"));
      file.focus();
      return;
    }
    button.disabled = true;
    try {
      const data = new FormData();
      data.append("file", file.files[0]);
      const batch = await api("/v1/batches", { method: "POST", body: data });
      location.hash = `#/batches/${batch.id}`;
    } catch (err) {
      showError(error, err.message);
      button.disabled = false;
    }
  });
  return form;
}

export function render(main) {
  const holder = h("div", {}, essayForm());
  const choose = (mode) => holder.replaceChildren(mode === "batch" ? batchForm() : essayForm());
  const radio = (value, label, checked) =>
    h(
      "label",
      { class: "choice" },
      h("input", {
        type: "radio",
        name: "mode",
        value,
        checked,
        onchange: () => choose(value),
      }),
      " ",
      label,
    );
  main.append(
    h("h1", {}, t("submit.title")),
    h(
      "fieldset",
      { class: "mode" },
      h("legend", {}, t("submit.mode")),
      radio("essay", t("submit.mode.essay"), true),
      radio("batch", t("submit.mode.batch"), false),
    ),
    holder,
  );
}

function ms(value) {
  if (value == null) return "—";
  return value < 1000 ? `${fmt(value)} ms` : `${fmt(value / 1000, 1)} s`;
}

function statusBadge(status) {
  return h("span", { class: `badge status-${(status || "").toLowerCase()}` }, t(`status.${status}`));
}

/** Live progress of one job: a progress bar and one row per dimension. */
export function renderProgress(main, { id }) {
  const controller = new AbortController();
  const bar = h("progress", { id: "job-progress", max: "100", value: "0", "aria-labelledby": "progress-label" });
  const percent = h("span", { id: "job-percent", class: "percent" }, "0%");
  const status = h("p", { id: "job-status", role: "status" });
  const transport = h("p", { id: "job-transport", class: "muted" });
  const rows = h("tbody", { id: "job-actions" });
  const actionsBox = h("div", { id: "job-open" });
  const error = errorBox();
  main.append(
    h("h1", {}, t("progress.title")),
    error,
    h(
      "div",
      { class: "progress-block" },
      h("span", { id: "progress-label" }, t("progress.label")),
      bar,
      percent,
    ),
    status,
    transport,
    h(
      "table",
      { class: "dims" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, t("progress.dimension")),
          h("th", { scope: "col" }, t("progress.state")),
          h("th", { scope: "col" }, t("progress.time")),
          h("th", { scope: "col" }, t("progress.level")),
        ),
      ),
      rows,
    ),
    actionsBox,
  );
  let announced = false;
  const seen = new Set();
  const update = (job, how) => {
    seen.add(how);
    main.dataset.transports = [...seen].join(" ");
    const pct = job.progress ? job.progress.percent : 0;
    bar.value = pct;
    bar.setAttribute("aria-valuenow", String(pct));
    percent.textContent = `${fmt(pct, pct % 1 ? 1 : 0)}%`;
    main.dataset.jobStatus = job.status;
    status.replaceChildren(t("progress.status", { status: "" }), statusBadge(job.status));
    transport.textContent = t("progress.transport", { transport: t(`transport.${how}`) });
    transport.dataset.transport = how;
    rows.replaceChildren(
      ...Object.entries(job.actions || {}).map(([name, action]) =>
        h(
          "tr",
          { dataset: { dimension: name, status: action.status } },
          h("th", { scope: "row" }, t(`dim.${name}`)),
          h("td", {}, statusBadge(action.status)),
          h("td", {}, ms(action.elapsed_ms)),
          h("td", {}, action.level ?? "—"),
        ),
      ),
    );
    if (TERMINAL.has(job.status) && !announced) {
      announced = true;
      announce(t("progress.done", { status: t(`status.${job.status}`) }));
      actionsBox.replaceChildren(
        h("a", { href: `#/essays/${job.essay_id}`, class: "button primary", id: "open-result" }, t("progress.open")),
      );
    }
  };
  watchJob(id, update, { signal: controller.signal }).catch((err) => {
    if (err.name !== "AbortError") showError(error, err.message);
  });
  return () => controller.abort();
}
