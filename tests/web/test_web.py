"""Issue 10 acceptance: the web app driven in headless Chromium against the real platform.

A real gateway (`elysia serve`) and a real `elysia worker --all` run against the real Redis,
MongoDB, S3 and Elasticsearch. Playwright (Python) drives Debian's `/usr/bin/chromium` — never a
downloaded browser. Each test saves screenshots under `test-output/web/` and fails on any browser
console error or uncaught page error.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.core.config import Settings
from tests.conftest import make_test_settings
from tests.harness import ROOT, Platform, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = os.environ.get("ELYSIA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SHOTS = ROOT / "test-output" / "web"
FINAL = {"COMPLETED", "PARTIAL", "FAILED"}
JOB_TIMEOUT_S = 150
# Predicates are functions, not bare expressions: Playwright evaluates a bare expression with
# eval() inside the page, which the app's Content-Security-Policy (no 'unsafe-eval') forbids.
JOB_FINAL_JS = (
    "() => ['COMPLETED', 'PARTIAL', 'FAILED']"
    ".includes(document.querySelector('main').dataset.jobStatus)"
)

# Two deliberate spelling/accent errors ("aprendisagem", "tem" for "têm") and a full proposal.
ESSAY = (
    "A educação pública no Brasil enfrenta desafios históricos. Segundo o IBGE, milhões de "
    "jovens abandonam a escola antes de concluir o ensino médio.\n\n"
    "Em primeiro lugar, a falta de investimento compromete a qualidade do ensino. Além disso, "
    "muitas escolas não tem bibliotecas nem laboratórios, o que limita a aprendisagem.\n\n"
    "Por outro lado, a desigualdade social agrava o problema, visto que estudantes pobres "
    "precisam trabalhar cedo. Dessa forma, a evasão escolar se perpetua.\n\n"
    "Portanto, cabe ao Ministério da Educação ampliar o investimento nas escolas, por meio de "
    "verbas federais, a fim de garantir um ensino de qualidade para todos os jovens."
)
PROMPT = "Desafios da educação pública no Brasil"


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def web_settings() -> Settings:
    return make_test_settings(queue_prefix=f"web{os.getpid()}:")


@pytest.fixture(scope="module")
async def api_key(web_settings: Settings, metadata: Any, all_servers: None) -> str:
    from services.core.apikeys import create_tenant

    _, key = await create_tenant("Escola Web")
    return key.secret


@pytest.fixture(scope="module")
def platform(
    web_settings: Settings,
    api_key: str,
    tmp_path_factory: pytest.TempPathFactory,
    object_store: Any,
    search_index: Any,
) -> Iterator[Platform]:
    """Gateway + one `worker --all`; the session fixtures remove the bucket and the indices, the
    Redis keys of this module's queue prefix are removed here."""
    running = Platform(web_settings, tmp_path_factory.mktemp("web-logs"))
    try:
        running.start_gateway()
        worker = running.start_worker(name="worker")
        worker_log = running.log_dir / "worker.log"
        # Fail fast (with the worker's log) if it cannot load its models, instead of letting
        # every page wait for jobs that nobody runs.
        wait_for(
            lambda: worker.poll() is not None or "preloaded models" in worker_log.read_text(),
            180,
            interval=0.5,
            what="the worker to load its models",
        )
        if worker.poll() is not None:
            pytest.fail(f"elysia worker --all exited: {running.log('worker')[-2000:]}")
        yield running
    finally:
        running.stop()
        import redis

        client = redis.Redis.from_url(web_settings.redis_url)
        for key in client.scan_iter(f"*{web_settings.queue_prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="module")
def http(platform: Platform, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[Any]:
    """Started after the platform: Playwright's sync API keeps an event loop running in this
    thread, so the async fixtures (tenant, metadata) must be set up before it."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class Console:
    """Every console error and uncaught exception of a page, for the final assertion."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            text = f"console.error: {message.text} @ {message.location.get('url', '')}"
            if not any(pattern in text for pattern in self.allowed):
                self.errors.append(text)

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"pageerror: {error}")


@pytest.fixture
def page(platform: Platform, browser: Any) -> Iterator[tuple[Any, Console]]:
    """A fresh browser context (own localStorage), with console errors collected and asserted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console = Console()
    tab.on("console", console.on_console)
    tab.on("pageerror", console.on_page_error)
    try:
        yield tab, console
        tab.wait_for_timeout(300)  # late errors from the last action
        assert console.errors == [], "\n".join(console.errors)
    finally:
        context.close()


CONTRAST_JS = Path(__file__).parent / "contrast.js"


def assert_contrast(tab: Any) -> None:
    """Every visible text on the page meets WCAG AA contrast (see contrast.js)."""
    source = CONTRAST_JS.read_text(encoding="utf-8")
    offenders = tab.evaluate(source[source.index("() =>") :])  # without the comment header
    assert offenders == [], offenders


def shot(tab: Any, name: str) -> None:
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(tab: Any, base_url: str, key: str) -> None:
    """Open the app at the site root and paste the API key into the header form, as a user."""
    tab.goto(f"{base_url}/")
    assert tab.url.endswith("/ui/")
    tab.get_by_label("Chave da API").fill(key)
    tab.get_by_role("button", name="Salvar").click()
    tab.locator("#key-state").get_by_text("Chave salva.").wait_for()


def submit_api(http: httpx.Client, title: str) -> dict[str, Any]:
    response = http.post("/v1/essays", json={"text": ESSAY, "title": title, "prompt_text": PROMPT})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_job(http: httpx.Client, job_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/jobs/{job_id}").json()
        return body if body["status"] in FINAL else None

    result: dict[str, Any] = wait_for(final, JOB_TIMEOUT_S, interval=0.5, what=f"job {job_id}")
    return result


def wait_indexed(http: httpx.Client, essay_ids: set[str]) -> None:
    def indexed() -> bool:
        hits = http.get("/v1/search", params={"size": 100, "facets": "false"}).json()["hits"]
        return essay_ids <= {hit["essay_id"] for hit in hits}

    wait_for(indexed, 60, interval=0.5, what=f"essays {sorted(essay_ids)} to be searchable")


# ------------------------------------------------------------------------------------ tests

STATE: dict[str, Any] = {}


def test_submit_progress_and_result(
    page: tuple[Any, Console], platform: Platform, api_key: str, http: httpx.Client
) -> None:
    tab, _ = page
    login(tab, platform.base_url, api_key)
    assert tab.locator("html").get_attribute("lang") == "pt-BR"
    assert tab.get_by_role("heading", level=1).inner_text() == "Enviar uma redação"

    tab.get_by_label("Título (opcional)").fill("Educação pública — turma A")
    tab.get_by_label("Texto da redação").fill(ESSAY)
    tab.get_by_label("Tema e textos motivadores (opcional)").fill(PROMPT)
    assert_contrast(tab)
    shot(tab, "01-submit")
    tab.get_by_role("button", name="Enviar para correção").click()

    tab.wait_for_url("**/ui/#/jobs/*")
    job_id = tab.url.rsplit("/", 1)[1]
    tab.locator("#job-actions tr").first.wait_for()
    shot(tab, "02-progress-running")
    tab.wait_for_function(
        JOB_FINAL_JS,
        timeout=JOB_TIMEOUT_S * 1000,
    )
    shot(tab, "03-progress-final")
    assert_contrast(tab)
    main = tab.locator("main")
    assert main.get_attribute("data-job-status") == "COMPLETED", platform.log("worker")
    # The live view was fed by the SSE stream (read with fetch, the key in a header).
    assert "sse" in (main.get_attribute("data-transports") or "").split()
    assert tab.locator("#job-percent").inner_text() == "100%"
    assert tab.locator("#job-progress").get_attribute("aria-valuenow") == "100"
    job = http.get(f"/v1/jobs/{job_id}").json()
    rows = tab.locator("#job-actions tr")
    assert rows.count() == len(job["actions"])
    for name in job["actions"]:
        assert tab.locator(f'#job-actions tr[data-dimension="{name}"]').get_attribute(
            "data-status"
        ) == ("DONE")

    tab.get_by_role("link", name="Abrir o resultado").click()
    tab.wait_for_url(f"**/ui/#/essays/{job['essay_id']}")
    tab.locator("#essay-text mark").first.wait_for()
    assert tab.get_by_role("heading", level=1).inner_text() == "Educação pública — turma A"
    score = job["result"]["score"]
    assert tab.locator("#total").inner_text() == str(score["total"])
    for competency, level in score["levels"].items():
        assert tab.locator(f'#levels dd[data-competency="{competency}"] .level').inner_text() == (
            str(level)
        )
    assert tab.locator("svg.radar polygon.radar-shape").count() == 1

    # The spelling error found by the grammar dimension is highlighted with its suggestion.
    text = http.get(f"/v1/essays/{job['essay_id']}/text").text
    spelling = [
        issue
        for issue in job["actions"]["grammar"]["result"]["issues"]
        if text[issue["start"] : issue["end"]] == "aprendisagem"
    ]
    assert spelling and spelling[0]["suggestions"], job["actions"]["grammar"]["result"]["issues"]
    mark = tab.locator("#essay-text mark.hl-spelling", has_text="aprendisagem")
    assert mark.count() == 1
    mark.click()
    popover = tab.locator("#issue-popover")
    popover.wait_for(state="visible")
    assert spelling[0]["message"] in popover.inner_text()
    assert spelling[0]["suggestions"][0] in popover.locator(".suggestions").inner_text()
    shot(tab, "04-result-popover")

    # Keyboard: Escape closes the dialog and gives focus back to the highlight; Enter reopens it.
    tab.keyboard.press("Escape")
    popover.wait_for(state="hidden")
    mark.focus()
    tab.keyboard.press("Enter")
    popover.wait_for(state="visible")
    tab.keyboard.press("Escape")
    popover.wait_for(state="hidden")
    assert tab.evaluate("document.activeElement.textContent") == "aprendisagem"
    assert_contrast(tab)
    shot(tab, "05-result")
    STATE["essay_id"] = job["essay_id"]


def test_progress_falls_back_to_polling(
    page: tuple[Any, Console], platform: Platform, api_key: str, http: httpx.Client
) -> None:
    """With the SSE endpoint unreachable the view still reaches 100% by polling GET /v1/jobs."""
    tab, console = page
    login(tab, platform.base_url, api_key)
    # The blocked request is reported by Chromium as a failed resource load: expected here.
    console.allowed.append("net::ERR_FAILED")
    tab.route("**/v1/jobs/*/events", lambda route: route.abort())
    accepted = submit_api(http, "Fallback")
    tab.goto(f"{platform.base_url}/ui/#/jobs/{accepted['job_id']}")
    tab.wait_for_function(
        JOB_FINAL_JS,
        timeout=JOB_TIMEOUT_S * 1000,
    )
    main = tab.locator("main")
    assert main.get_attribute("data-job-status") == "COMPLETED"
    assert "sse" not in (main.get_attribute("data-transports") or "").split()
    assert tab.locator("#job-percent").inner_text() == "100%"
    shot(tab, "06-progress-polling")
    STATE["fallback_essay_id"] = accepted["essay_id"]


def test_search_and_open_hit(
    page: tuple[Any, Console], platform: Platform, api_key: str, http: httpx.Client
) -> None:
    tab, _ = page
    essay_ids = {STATE.get("essay_id"), STATE.get("fallback_essay_id")} - {None}
    if len(essay_ids) < 2:
        for n in range(2 - len(essay_ids)):
            accepted = submit_api(http, f"Busca {n}")
            wait_job(http, accepted["job_id"])
            essay_ids.add(accepted["essay_id"])
    wait_indexed(http, essay_ids)  # type: ignore[arg-type]

    login(tab, platform.base_url, api_key)
    tab.get_by_role("link", name="Buscar").click()
    tab.get_by_label("Termos de busca").fill("bibliotecas")
    tab.get_by_role("button", name="Buscar", exact=True).click()
    tab.locator("#hits li.hit").first.wait_for()
    hits = tab.locator("#hits li.hit")
    expected = http.get("/v1/search", params={"q": "bibliotecas", "size": 100}).json()["total"]
    assert expected >= len(essay_ids)
    assert hits.count() == min(expected, 10)
    assert tab.locator("#search-summary").inner_text().startswith(f"{expected} ")
    fragment = hits.first.locator(".fragments mark.hit").first
    assert fragment.inner_text().lower() == "bibliotecas"
    # Facets come from the response: the competency levels of the hits are offered as filters.
    assert tab.locator("#facet-c1 input[type=checkbox]").count() >= 1
    assert_contrast(tab)
    shot(tab, "07-search")

    # Pagination: one hit per page, next then previous.
    tab.goto(f"{platform.base_url}/ui/#/search?q=bibliotecas&size=1")
    tab.locator("#hits li.hit").first.wait_for()
    first = tab.locator("#hits .hit-link").inner_text()
    first_href = tab.locator("#hits .hit-link").get_attribute("href")
    tab.get_by_role("button", name="Próxima").click()
    href = "document.querySelector('#hits .hit-link').getAttribute('href')"
    tab.wait_for_function(f"() => {href} !== {json.dumps(first_href)}")
    assert tab.locator("#page-prev").is_enabled()
    tab.get_by_role("button", name="Anterior").click()
    tab.wait_for_function(f"() => {href} === {json.dumps(first_href)}")

    # A facet narrows the results (and is reflected in the URL).
    tab.locator("#facet-c1 input[type=checkbox]").first.check()
    tab.wait_for_url("**min_c1=*")
    tab.locator("#hits li.hit").first.wait_for()

    # Open a hit: its result page.
    tab.goto(f"{platform.base_url}/ui/#/search?q=bibliotecas&size=1")
    link = tab.locator("#hits .hit-link")
    link.wait_for()
    assert link.inner_text() == first
    link.click()
    tab.wait_for_url("**/ui/#/essays/*")
    tab.locator("#essay-text").wait_for()
    assert tab.get_by_role("heading", level=1).inner_text() == first
    shot(tab, "08-search-hit-result")


def test_batch_page(
    page: tuple[Any, Console], platform: Platform, api_key: str, tmp_path: Path
) -> None:
    tab, _ = page
    path = tmp_path / "turmas.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "title", "turma", "text"])
        for n, turma in enumerate(["A", "A", "B"]):
            writer.writerow([f"b{n}", f"Lote {n}", turma, f"{ESSAY}\n\nRedação {n}."])
        writer.writerow(["b3", "Em branco", "B", "   "])  # refused at ingestion

    login(tab, platform.base_url, api_key)
    tab.get_by_label("Um lote (CSV)").check()
    tab.get_by_label("Arquivo CSV").set_input_files(str(path))
    tab.get_by_role("button", name="Enviar lote").click()
    tab.wait_for_url("**/ui/#/batches/*")
    batch_id = tab.url.rsplit("/", 1)[1]
    tab.wait_for_function(
        "() => ['COMPLETED','FAILED'].includes(document.querySelector('main').dataset.batchStatus)",
        timeout=JOB_TIMEOUT_S * 1000,
    )
    assert tab.locator("main").get_attribute("data-batch-status") == "COMPLETED"
    assert tab.locator("#batch-progress").evaluate("el => el.value") == 100
    # The blank row is reported with its line and the reason, not graded.
    refused = tab.locator("#rejected-rows tbody tr")
    assert refused.count() == 1
    content = path.read_text(encoding="utf-8")
    blank_line = content.count("\n", 0, content.index("b3,")) + 1  # essays span several lines
    assert refused.locator("td").nth(1).inner_text() == str(blank_line)
    total_chart = tab.locator("#total-distribution figure")
    total_chart.wait_for()
    assert total_chart.get_attribute("data-total") == "3"
    rows = tab.locator("#batch-essays tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3

    tab.get_by_label("Grupo").select_option("turma")
    tab.locator("#group-table").wait_for()
    groups = tab.locator("#group-table tbody th").all_inner_texts()
    assert sorted(groups) == ["A", "B"]
    assert_contrast(tab)
    shot(tab, "09-batch")

    with tab.expect_download() as download_info:
        tab.get_by_role("button", name="Exportar CSV").click()
    exported = Path(download_info.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(exported)))
    assert [row["external_id"] for row in table] == ["b0", "b1", "b2"]
    assert all(row["status"] == "COMPLETED" for row in table)

    rows.first.get_by_role("link").click()
    tab.wait_for_url("**/ui/#/essays/*")
    tab.locator("#essay-text").wait_for()

    # The batch is listed, and its report counts every graded essay in each distribution.
    tab.get_by_role("navigation").get_by_role("link", name="Lotes").click()
    tab.locator(f'#batch-list a[href="#/batches/{batch_id}"]').click()
    tab.locator("#distributions figure").first.wait_for()
    # One distribution per competency, each counting the three graded essays.
    totals = tab.locator("#distributions figure").evaluate_all(
        "els => els.map(e => e.dataset.total)"
    )
    assert totals == ["3"] * 5
    # ...and the export carries each essay's levels.
    for row in table:
        assert all(row.get(c) or row.get(c.lower()) for c in ("C1", "C2", "C3", "C4", "C5")), row


def test_language_keyboard_and_small_screens(
    page: tuple[Any, Console], platform: Platform, api_key: str
) -> None:
    tab, _ = page
    login(tab, platform.base_url, api_key)
    # English on demand; the choice sticks across reloads.
    tab.get_by_role("button", name="English").click()
    assert tab.locator("html").get_attribute("lang") == "en"
    assert tab.get_by_role("heading", level=1).inner_text() == "Submit an essay"
    assert tab.get_by_role("navigation").get_by_role("link", name="Search").count() == 1
    tab.reload()
    assert tab.get_by_role("heading", level=1).inner_text() == "Submit an essay"
    shot(tab, "10-submit-en")
    if "essay_id" in STATE:
        tab.goto(f"{platform.base_url}/ui/#/essays/{STATE['essay_id']}")
        tab.locator("#essay-text").wait_for()
        assert tab.get_by_role("heading", name="Essay with highlights").count() == 1
        assert tab.get_by_role("group", name="Show highlights").count() == 1
        shot(tab, "10-result-en")
        tab.goto(f"{platform.base_url}/ui/#/submit")
        tab.reload()  # a fresh document: focus starts at the top again
        tab.get_by_role("heading", name="Submit an essay").wait_for()

    # Every visible form control has an accessible label.
    unlabeled = tab.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
              .filter(el => el.offsetParent !== null)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !(el.textContent || '').trim())
              .map(el => el.outerHTML)"""
    )
    assert unlabeled == []

    # Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.className") == "skip-link"
    tab.keyboard.press("Enter")
    tab.get_by_role("button", name="Português").click()
    assert tab.get_by_role("heading", level=1).inner_text() == "Enviar uma redação"

    # Small screens: no horizontal scrolling on the submit and search pages.
    tab.set_viewport_size({"width": 390, "height": 844})
    routes = [("#/submit", "11-mobile-submit", "h1"), ("#/search", "12-mobile-search", "#hits")]
    if "essay_id" in STATE:
        routes.append((f"#/essays/{STATE['essay_id']}", "13-mobile-result", "#essay-text"))
    for route, name, ready in routes:
        tab.goto(f"{platform.base_url}/ui/{route}")
        tab.locator(ready).wait_for()
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} scrolls sideways by {overflow}px"
        shot(tab, name)


def test_static_files_are_confined(platform: Platform) -> None:
    """Only files inside the web directory are served; the API stays JSON."""
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        assert client.get("/ui/js/app.js").headers["content-type"].startswith("text/javascript")
        shell = client.get("/ui/")
        assert shell.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in shell.headers["content-security-policy"]
        for probe in ("/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/js/../../routes/web.py"):
            assert client.get(probe).status_code == 404, probe
        assert client.get("/ui/nope.js").status_code == 404
