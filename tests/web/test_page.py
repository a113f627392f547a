"""The web page in Debian's Chromium, driven by Playwright, against the real server."""

import re
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed"
)
expect = sync_api.expect

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a quiet, headless Chromium that reaches nothing but the test server.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RUN_TIMEOUT_MS = 120_000  # a real run: two workers importing TensorFlow
# Run in the page: keep every text of the progress counter in window.progressSeen.
RECORD_PROGRESS = """() => {
    window.progressSeen = [];
    const counter = document.getElementById("run-progress-text");
    const keep = () => window.progressSeen.push(counter.textContent);
    new MutationObserver(keep).observe(counter, {childList: true, subtree: true});
}"""
SPEEDUP = re.compile(r"^\d+\.\d\dx (faster|\(slower\))$")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is missing: apt-get install -y chromium",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator["sync_api.Browser"]:
    """Start one headless Chromium for the module."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, tmp_path: Path) -> Iterator[Callable[[], "sync_api.Page"]]:
    """Return a function opening fresh tabs; any script error or CSP refusal fails."""
    opened = []
    problems: list[str] = []

    def keep_csp_refusal(message) -> None:
        if "Content Security Policy" in message.text:
            problems.append(message.text)

    def open_tab() -> "sync_api.Page":
        context = browser.new_context(viewport={"width": 1360, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        tab.on("console", keep_csp_refusal)
        opened.append((context, tab))
        return tab

    yield open_tab
    for index, (context, tab) in enumerate(opened):
        tab.screenshot(path=str(tmp_path / f"tab{index}.png"), full_page=True)
        context.close()
    assert problems == []


@pytest.fixture
def page(open_page) -> "sync_api.Page":
    """Open one fresh tab."""

    return open_page()


def sign_in(page, server) -> None:
    """Open the page through the URL the server prints, and wait for it to load."""
    page.goto(f"{server.url}/?token={server.token}")
    expect(page.locator("#app")).to_be_visible()


def new_id(prefix: str) -> str:
    """Return a run id no other test uses."""

    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def expected_speedup(server, workload_id: str) -> str:
    """Return the speed-up of a run as the page should print it."""
    response = requests.get(
        f"{server.url}/api/benchmark/{workload_id}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    run = response.json()
    ratio = run["perf_throughput_optimized_model"] / run["perf_throughput_input_model"]

    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{ratio:.2f}x (slower)"


def test_token_leaves_the_address_bar(page, live_server) -> None:
    sign_in(page, live_server)

    assert "token" not in page.url
    assert page.url.rstrip("/") == live_server.url
    stored = page.evaluate("() => sessionStorage.getItem('lpot_ux.token')")
    assert stored == live_server.token
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator("#machine-info")).to_contain_text("Usable cores")

    page.reload()

    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#auth-problem")).to_be_hidden()


def test_benchmark_from_the_form(open_page, live_server, tiny_models) -> None:
    # A second tab stands for anyone watching: it sees the run start elsewhere.
    watcher = open_page()
    sign_in(watcher, live_server)
    page = open_page()
    sign_in(page, live_server)
    workload_id = new_id("page")
    page.fill("#f-id", workload_id)
    page.fill("#f-input-path", str(tiny_models["fp32"]))
    page.fill("#f-warmup", "2")
    page.fill("#f-iterations", "20")

    # The optimized model is picked through the file dialog.
    page.click("[data-browse='f-optimized-path']")
    page.fill("#file-path", str(tiny_models["int8"].parent))
    page.click("#file-path-form button[type='submit']")
    page.click(f".file-entry[data-path='{tiny_models['int8']}']")
    expect(page.locator("#file-dialog")).to_be_hidden()
    expect(page.locator("#f-optimized-path")).to_have_value(str(tiny_models["int8"]))

    page.evaluate(RECORD_PROGRESS)
    page.click("#submit-button")

    expect(page.locator("#run-id")).to_have_text(workload_id)
    watched = watcher.locator(f".history-item[data-run-id='{workload_id}']")
    expect(watched).to_be_visible()
    expect(watcher.locator("#run-id")).to_have_text(workload_id)

    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "success", timeout=RUN_TIMEOUT_MS
    )
    assert "1/2 steps" in page.evaluate("() => window.progressSeen")
    expect(page.locator("#run-progress-text")).to_have_text("2/2 steps")
    assert page.eval_on_selector("#run-progress", "bar => [bar.value, bar.max]") == [
        2,
        2,
    ]
    expect(page.locator(".step[data-state='done']")).to_have_count(2)

    speedup = page.locator("#run-speedup")
    expect(speedup).to_have_text(SPEEDUP)
    assert speedup.text_content() == expected_speedup(live_server, workload_id)
    expect(page.locator("#results-body tr")).to_have_count(2)
    expect(page.locator("#run-settings")).to_contain_text("Batch size")
    expect(page.locator("#run-machine")).to_contain_text("Usable cores")

    chart = page.locator("#chart-throughput")
    expect(chart).to_have_attribute("aria-label", re.compile(r"samples/s"))
    assert page.eval_on_selector("#chart-throughput", "canvas => canvas.width") > 0
    assert page.evaluate("() => Boolean(Chart.getChart('chart-throughput'))")

    page.locator(".step").first.locator("summary", has_text="Command").click()
    command = page.locator(".step").first.locator("pre")
    expect(command).to_contain_text(f"--input-graph {tiny_models['fp32']}")

    item = page.locator(f".history-item[data-run-id='{workload_id}']")
    expect(item).to_contain_text("finished")
    expect(item).to_have_attribute("aria-current", "true")
    expect(watched).to_contain_text("finished")
    expect(watcher.locator("#run-speedup")).to_have_text(speedup.text_content())

    # Opened later from the history, the run shows its results and config.yaml.
    watcher.reload()
    watcher.locator(f".history-item[data-run-id='{workload_id}']").click()

    expect(watcher.locator("#run-status")).to_have_attribute("data-status", "success")
    expect(watcher.locator("#run-speedup")).to_have_text(speedup.text_content())
    expect(watcher.locator("#latency-figure")).to_be_visible()
    watcher.click("#run-config summary")
    expect(watcher.locator("#run-config-text")).to_contain_text("performance")


def test_bad_path_is_shown_next_to_its_field(page, live_server, tiny_models) -> None:
    sign_in(page, live_server)
    missing = tiny_models["fp32"].parent / "missing_fp32.pb"
    page.fill("#f-input-path", str(missing))
    page.fill("#f-optimized-path", str(tiny_models["int8"]))

    page.click("#submit-button")

    error = page.locator("[data-error-for='input_model.path']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("input_model.path")
    expect(error).to_contain_text(str(missing))
    expect(page.locator("#f-input-path")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-error")).to_be_hidden()
    expect(page.locator("#run-empty")).to_be_visible()


def test_bad_setting_is_shown_next_to_its_field(page, live_server, tiny_models) -> None:
    sign_in(page, live_server)
    page.fill("#f-input-path", str(tiny_models["fp32"]))
    page.fill("#f-optimized-path", str(tiny_models["int8"]))
    page.fill("#f-batch", "0")

    page.click("#submit-button")

    error = page.locator("[data-error-for='batch_size']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("batch_size")
    expect(page.locator("#f-batch")).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("query", ["?token=wrong-token", ""])
def test_wrong_or_missing_token_explains_what_to_open(
    page, live_server, query: str
) -> None:
    page.goto(f"{live_server.url}/{query}")

    problem = page.locator("#auth-problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("printed")
    expect(problem).to_contain_text("?token=")
    expect(page.locator("#app")).to_be_hidden()
    assert "token" not in page.url
