// The shell: hash router, API-key form and language toggle. Each page module exports
// render(main, params) and may return a cleanup function (to stop streams on navigation).
import { getKey, setKey } from "./api.js";
import { h } from "./dom.js";
import { lang, setLang, t, translateStatic } from "./i18n.js";
import * as submit from "./submit.js";
import * as result from "./result.js";
import * as batch from "./batch.js";
import * as search from "./search.js";

const ROUTES = [
  [/^\/?$/, submit.render, "submit"],
  [/^\/submit$/, submit.render, "submit"],
  [/^\/jobs\/([\w-]+)$/, submit.renderProgress, "submit"],
  [/^\/essays\/([\w-]+)$/, result.render, null],
  [/^\/batches$/, batch.renderIndex, "batches"],
  [/^\/batches\/([\w-]+)$/, batch.render, "batches"],
  [/^\/search$/, search.render, "search"],
];

let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/submit";
  const [path, queryString = ""] = raw.split("?");
  return { path, params: new URLSearchParams(queryString) };
}

function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  const { path, params } = parseHash();
  for (const [pattern, page, section] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!getKey()) main.append(h("p", { class: "notice", role: "status" }, t("key.missing")));
    const result = page(main, { id: match[1], params });
    if (typeof result === "function") cleanup = result;
    return;
  }
  location.hash = "#/submit";
}

/** Move focus to the new page's heading so keyboard and screen-reader users land on it. */
export function focusHeading(main) {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function setupShell() {
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  const state = document.getElementById("key-state");
  input.value = getKey();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(input.value);
    state.textContent = t("key.saved");
    route();
  });
  const toggle = document.getElementById("lang-toggle");
  const refreshToggle = () => {
    toggle.textContent = t("lang.other");
    toggle.setAttribute("lang", lang() === "en" ? "pt-BR" : "en");
  };
  toggle.addEventListener("click", () => {
    setLang(lang() === "en" ? "pt-BR" : "en");
    translateStatic();
    refreshToggle();
    route();
  });
  translateStatic();
  refreshToggle();
  window.addEventListener("hashchange", () => {
    route();
    focusHeading(document.getElementById("main"));
  });
  route();
}

setupShell();
