// Result page: score, competency levels with reasons, flags, radar chart, and the essay with
// highlighted findings (click, hover, or focus + Enter shows the message and the suggestions).
import { api, TERMINAL } from "./api.js";
import { radar } from "./charts.js";
import { h } from "./dom.js";
import { collectIssues, KINDS, renderEssay } from "./highlight.js";
import { flagLabel, t } from "./i18n.js";

const COMPETENCIES = ["c1", "c2", "c3", "c4", "c5"];

function flagsOf(score) {
  const flags = new Set(score.flags || []);
  if (score.annulled) flags.add("annulled");
  if (score.needs_human_review) flags.add("needs_human_review");
  return [...flags];
}

function scoreSection(score) {
  const labels = Object.fromEntries(COMPETENCIES.map((c) => [c, t(`comp.${c}`)]));
  const levels = h(
    "dl",
    { class: "levels", id: "levels" },
    COMPETENCIES.map((c) => [
      h("dt", {}, labels[c]),
      h(
        "dd",
        { dataset: { competency: c } },
        h("strong", { class: "level" }, score.levels[c] ?? "—"),
        score.confidence && score.confidence[c] != null
          ? h("span", { class: "muted" }, ` (${t("result.confidence", { value: score.confidence[c].toFixed(2) })})`)
          : null,
        (score.reasons && score.reasons[c] && score.reasons[c].length)
          ? h("ul", { class: "reasons" }, score.reasons[c].map((r) => h("li", {}, r)))
          : null,
      ),
    ]),
  );
  const flags = flagsOf(score);
  return h(
    "section",
    { class: "score card", "aria-labelledby": "score-heading" },
    h("h2", { id: "score-heading" }, t("result.total"), ": ", h("span", { id: "total" }, score.total)),
    flags.length
      ? h(
          "ul",
          { class: "flags", id: "flags", "aria-label": t("result.flags") },
          flags.map((f) => h("li", { class: `flag flag-${f.split(":")[0]}` }, flagLabel(f))),
        )
      : null,
    h(
      "div",
      { class: "score-grid" },
      h("figure", { class: "chart" }, radar(score.levels, labels, t("result.chart")), h("figcaption", {}, t("result.chart"))),
      h("div", {}, h("h3", {}, t("result.levels")), levels),
    ),
    score.rules && score.rules.length
      ? h(
          "details",
          {},
          h("summary", {}, t("result.rules")),
          h("ul", {}, score.rules.map((r) => h("li", {}, `${r.rule}: ${r.reason}`))),
        )
      : null,
  );
}

/** A small dialog next to a highlight: the findings under it, with their suggestions. */
function popover() {
  const body = h("div", { class: "popover-body" });
  const close = h("button", { type: "button", class: "popover-close", "aria-label": t("result.close") }, "×");
  const box = h("div", { class: "popover", role: "dialog", id: "issue-popover", hidden: true, "aria-labelledby": "popover-title" }, close, body);
  let owner = null;
  const hide = (restoreFocus) => {
    box.hidden = true;
    if (restoreFocus && owner) owner.focus();
  };
  close.addEventListener("click", () => hide(true));
  const onKey = (event) => {
    if (event.key === "Escape" && !box.hidden) hide(true);
  };
  const show = (issues, mark) => {
    owner = mark;
    body.replaceChildren(
      h("p", { id: "popover-title", class: "popover-title" }, `“${mark.textContent}”`),
      ...issues.map((issue) =>
        h(
          "div",
          { class: `popover-issue kind-${issue.kind}` },
          h("p", { class: "popover-kind" }, `${t(`kind.${issue.kind}`)} · ${issue.category}`),
          h("p", { class: "popover-message" }, issue.message),
          issue.suggestions && issue.suggestions.length
            ? h(
                "div",
                {},
                h("p", { class: "popover-label" }, t("result.suggestions")),
                h("ul", { class: "suggestions" }, issue.suggestions.map((s) => h("li", {}, s))),
              )
            : h("p", { class: "muted" }, t("result.noSuggestion")),
        ),
      ),
    );
    box.hidden = false;
    const rect = mark.getBoundingClientRect();
    const host = box.offsetParent ? box.offsetParent.getBoundingClientRect() : { left: 0, top: 0 };
    box.style.left = `${Math.max(0, rect.left - host.left)}px`;
    box.style.top = `${rect.bottom - host.top + 6}px`;
  };
  return { box, show, hide, onKey };
}

function legend(essay) {
  return h(
    "fieldset",
    { class: "legend" },
    h("legend", {}, t("result.legend")),
    KINDS.map((kind) =>
      h(
        "label",
        { class: `legend-item kind-${kind}` },
        h("input", {
          type: "checkbox",
          checked: true,
          onchange: (event) => essay.classList.toggle(`hide-${kind}`, !event.target.checked),
        }),
        " ",
        h("span", { class: `swatch hl-${kind}`, "aria-hidden": "true" }),
        " ",
        t(`kind.${kind}`),
      ),
    ),
  );
}

function issueList(issues, text, pop) {
  const shown = issues.filter((i) => i.kind !== "other" || i.end > i.start);
  return h(
    "ol",
    { class: "issue-list", id: "issue-list" },
    shown.map((issue) =>
      h(
        "li",
        { class: `kind-${issue.kind}`, dataset: { kind: issue.kind } },
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => {
              const mark = document.querySelector(`mark[data-issues~="${issue.id}"]`);
              if (mark) {
                mark.scrollIntoView({ block: "center" });
                mark.focus();
                pop.show([issue], mark);
              }
            },
          },
          issue.end > issue.start ? `“${text.slice(issue.start, issue.end).slice(0, 60)}”` : t(`kind.${issue.kind}`),
        ),
        " ",
        issue.message,
        issue.suggestions && issue.suggestions.length ? h("span", { class: "muted" }, ` → ${issue.suggestions[0]}`) : null,
      ),
    ),
  );
}

function feedbackSection(actions, language) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "feedback-heading" },
    h("h2", { id: "feedback-heading" }, t("result.feedback")),
    Object.entries(actions).map(([name, action]) =>
      action.result && action.result.feedback && action.result.feedback.length
        ? h(
            "div",
            { class: "feedback" },
            h("h3", {}, t(`dim.${name}`), action.level != null ? ` — ${action.level}` : ""),
            h("ul", { lang: language }, action.result.feedback.map((f) => h("li", {}, f))),
          )
        : null,
    ),
  );
}

export function render(main, { id }) {
  const controller = new AbortController();
  const status = h("p", { role: "status" }, t("common.loading"));
  main.append(h("h1", {}, t("result.title")), status);
  (async () => {
    const essay = await api(`/v1/essays/${id}`, { signal: controller.signal });
    main.querySelector("h1").textContent = essay.title || t("result.title");
    if (essay.batch_id) {
      main.querySelector("h1").after(h("p", {}, h("a", { href: `#/batches/${essay.batch_id}` }, t("result.batch"))));
    }
    if (!essay.job_id) {
      status.textContent = t("result.pending");
      return;
    }
    const [job, text] = await Promise.all([
      api(`/v1/jobs/${essay.job_id}`, { signal: controller.signal }),
      api(`/v1/essays/${id}/text`, { signal: controller.signal }),
    ]);
    if (TERMINAL.has(job.status)) {
      status.remove();
    } else {
      // Not final yet: show what the finished dimensions found, and where to follow the rest.
      status.className = "notice";
      status.replaceChildren(t("result.pending"), " ", h("a", { href: `#/jobs/${job.job_id}` }, t("result.followProgress")));
    }
    const score = job.result && job.result.score;
    main.dataset.jobStatus = job.status;
    main.append(score ? scoreSection(score) : h("p", { class: "notice", id: "no-score" }, t("result.noScore")));
    const issues = collectIssues(job.actions, text.length);
    const pop = popover();
    const essayEl = renderEssay(text, issues, pop.show);
    // The essay and the analysers' messages are in the essay's language, whatever the UI's.
    const language = essay.language || "pt-BR";
    essayEl.setAttribute("lang", language);
    main.append(
      h(
        "div",
        { class: "essay-layout" },
        h(
          "section",
          { class: "card essay-card", "aria-labelledby": "essay-heading" },
          h("h2", { id: "essay-heading" }, t("result.essay")),
          legend(essayEl),
          h("div", { class: "essay-wrap", onkeydown: pop.onKey }, essayEl, pop.box),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "issues-heading" },
          h("h2", { id: "issues-heading" }, t("result.issues"), ` (${issues.length})`),
          Object.assign(issueList(issues, text, pop), { lang: language }),
        ),
      ),
      feedbackSection(job.actions, language),
    );
  })().catch((err) => {
    if (err.name !== "AbortError") {
      status.className = "error";
      status.setAttribute("role", "alert");
      status.textContent = t("common.error", { message: err.message });
    }
  });
  return () => controller.abort();
}
