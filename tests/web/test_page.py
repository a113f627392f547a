"""The web page in Debian's Chromium, driven by Playwright, against the real server."""

import json
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


def stored_run(server, workload_id: str) -> dict:
    """Return a run as the server stores it."""
    response = requests.get(
        f"{server.url}/api/benchmark/{workload_id}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )

    return response.json()


def expected_speedup(run: dict) -> str:
    """Return the speed-up of a run as the page should print it."""
    ratio = run["speedup"]

    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{ratio:.2f}x (slower)"


def step_details(model: str, mode: str, precision: str, round_: int) -> dict:
    """Return the execution details of one finished step of a made-up run."""
    command = f"python benchmark_model.py --input-graph /m/{model}.pb --mode {mode}"
    details = {
        "precision": precision,
        "mode": mode,
        "round": round_,
        "command": command,
        "rerun_command": f"LPOT_UX_CORES=0,1 {command}",
    }
    if mode == "accuracy":
        return {
            **details,
            "accuracy": 0.76,
            "metric": "top5",
            "samples": 50,
            "hits": 38,
        }
    latency = {"mean": 4.0, "p50": 3.9, "p90": 4.4, "p99": 5.0}
    instance = {
        "affinity": [0, 1],
        "intra_op_threads": 2,
        "inter_op_threads": 1,
        "throughput": 120.0,
        "latency_ms": latency,
        "inputs": {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}},
    }

    return {
        **details,
        "throughput": 120.0,
        "latency_ms": 4.0,
        "instance_results": [instance],
    }


def model_statistics(throughput: float, valid: bool) -> dict:
    """Return the statistics of one model of a made-up run."""
    latency = {
        "mean": 4.0,
        "std": 0.3,
        "min": 3.5,
        "p50": 3.9,
        "p90": 4.4,
        "p95": 4.6,
        "p99": 5.0,
        "max": 6.0,
    }

    return {
        "throughput": throughput,
        "throughput_unit": "samples/s",
        "latency_ms_per_batch": latency,
        "latency_ms_per_sample": {key: value / 4 for key, value in latency.items()},
        "latency_exact": True,
        "window": {"length_s": 3.01, "overlap": 0.991},
        "instance_throughputs": [throughput * 0.45, throughput * 0.55],
        "imbalance": 0.2,
        "iterations": 1200,
        "first_inference_ms": 35.2,
        "load_ms": 120.5,
        "peak_rss_bytes": {
            "per_instance": [300 * 2**20, 310 * 2**20],
            "total": 610 * 2**20,
        },
        "rule_met": True,
        "stopped_by": ["stop", "stop"],
        "verdict": {"valid": valid, "reasons": [] if valid else ["CPU 1 was busy"]},
    }


def made_up_run(workload_id: str, valid: bool, rounds: int) -> dict:
    """Return a finished run as GET /api/benchmark/<id> would, with all it may hold."""
    reasons = (
        []
        if valid
        else [
            f"{model} round {number}: CPU 1 was 80% busy with other work just before "
            "the run"
            for number in range(1, rounds + 1)
            for model in ("input_model", "optimized_model")
        ]
    )
    details = {
        f"{model}_benchmark": {
            "performance": step_details(model, "performance", precision, rounds),
            "accuracy": step_details(model, "accuracy", precision, 1),
        }
        for model, precision in (("input_model", "fp32"), ("optimized_model", "int8"))
    }
    run = {
        "id": workload_id,
        "status": "success",
        "progress": f"{2 * rounds + 2}/{2 * rounds + 2}",
        "created_at": "2026-01-01T10:00:00+00:00",
        "started_at": "2026-01-01T10:00:01+00:00",
        "finished_at": "2026-01-01T10:01:00+00:00",
        "request": {
            "input_model": {
                "precision": "fp32",
                "path": "/m/input_model.pb",
                "mode": ["performance", "accuracy"],
            },
            "optimized_model": {
                "precision": "int8",
                "path": "/m/optimized_model.pb",
                "mode": ["performance", "accuracy"],
            },
            "batch_size": 4,
            "rounds": rounds,
            "duration": 3.0,
            "dataset": {"path": "/data/val.npz"},
            "metric": {"topk": 5},
        },
        "perf_throughput_input_model": 100.0,
        "perf_throughput_optimized_model": 240.0,
        "perf_latency_input_model": 10.0,
        "perf_latency_optimized_model": 4.0,
        "speedup": 2.45,
        "speedup_ci95": [2.1, 2.86] if rounds > 1 else None,
        "rounds": [
            {
                "round": number,
                "perf_throughput_input_model": 100.0,
                "perf_throughput_optimized_model": 230.0 + 10 * number,
                "speedup": 2.3 + 0.1 * number,
            }
            for number in range(1, rounds + 1)
        ],
        "statistics": {
            "input_model": model_statistics(100.0, valid),
            "optimized_model": model_statistics(240.0, valid),
        },
        "verdict": {"valid": valid, "reasons": reasons},
        "acc_input_model": 0.76,
        "acc_optimized_model": 0.75,
        "accuracy_drop": 0.01,
        "accuracy_drop_relative": 0.01 / 0.76,
        "environment": {
            "cpu": "Made-up CPU",
            "arch": "x86_64",
            "cores": 2,
            "threads": 2,
            "usable_cores": [0, 1],
            "tensorflow_version": "2.99.0",
            "onednn": True,
            "variables": {"OMP_NUM_THREADS": "2"},
        },
        "execution_details": details,
    }

    return run


def serve_made_up_run(page, run: dict) -> None:
    """Answer the page's requests for the history and for the run with a made-up run."""
    summary = {key: run[key] for key in ("id", "status", "created_at", "speedup")}
    summary.update(
        input_model=run["request"]["input_model"],
        optimized_model=run["request"]["optimized_model"],
    )

    def answer(body: dict):
        return lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        )

    page.route(re.compile(r"/api/benchmark(\?.*)?$"), answer({"runs": [summary]}))
    page.route(re.compile(rf"/api/benchmark/{run['id']}(\?.*)?$"), answer(run))


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
    page.click("#advanced summary")
    page.fill("#f-max-duration", "60")

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

    run = stored_run(live_server, workload_id)
    assert run["request"]["max_duration"] == 60
    speedup = page.locator("#run-speedup")
    expect(speedup).to_have_text(SPEEDUP)
    assert speedup.text_content() == expected_speedup(run)
    expect(page.locator("#run-speedup-interval")).to_have_text(
        "One round: no interval."
    )
    expect(page.locator("#results-body tr")).to_have_count(2)
    expect(page.locator("#run-settings")).to_contain_text("Max duration60 s")
    expect(page.locator("#run-machine")).to_contain_text("Usable cores")
    expect(page.locator("#run-machine")).to_contain_text("TensorFlow")

    # The verdict, whichever it is on this machine, with its reasons when invalid.
    verdict = page.locator("#run-verdict")
    expect(verdict).to_be_visible()
    valid = run["verdict"]["valid"]
    expect(verdict).to_have_attribute("data-valid", str(valid).lower())
    expect(page.locator("#run-verdict-badge")).to_have_text(
        "✓ valid" if valid else "⚠ invalid"
    )
    expect(page.locator("#run-results")).to_have_attribute(
        "data-valid", str(valid).lower()
    )
    if not valid:
        expect(verdict).to_contain_text(run["verdict"]["reasons"][0].split(": ", 1)[1])

    # Statistics of each model, units given.
    cards = page.locator("#statistics-cards .stats-card")
    expect(cards).to_have_count(2)
    for card in (cards.nth(0), cards.nth(1)):
        expect(card).to_be_visible()
        expect(card).to_contain_text("samples/s")
        expect(card).to_contain_text("First inference")
        expect(card).to_contain_text("Peak memory")
        expect(card.locator(".latency-table tbody tr")).to_have_count(8)
    expect(cards.nth(0).locator(".latency-table")).to_contain_text("p99")

    chart = page.locator("#chart-throughput")
    expect(chart).to_have_attribute("aria-label", re.compile(r"samples/s"))
    assert page.eval_on_selector("#chart-throughput", "canvas => canvas.width") > 0
    assert page.evaluate("() => Boolean(Chart.getChart('chart-throughput'))")

    # A finished run folds its steps away; they open on demand.
    expect(page.locator("#run-steps-summary")).to_have_text("Steps: 2 of 2 done")
    page.click("#run-steps-summary")
    page.locator(".step").first.locator("summary", has_text="Command").click()
    command = page.locator(".step").first.locator("pre")
    expect(command).to_contain_text(f"--input-graph {tiny_models['fp32']}")

    page.click("#run-reproduce summary")
    expect(page.locator("#run-commands pre")).to_have_count(2)
    expect(page.locator("#run-commands pre").first).to_contain_text("LPOT_UX_CORES=")

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
    expect(watcher.locator("#run-verdict")).to_be_visible()
    expect(watcher.locator("#latency-figure")).to_be_visible()
    watcher.click("#run-config summary")
    expect(watcher.locator("#run-config-text")).to_contain_text("performance")


def test_an_invalid_run_lists_its_reasons_and_marks_its_numbers(
    page, live_server
) -> None:
    run = made_up_run(new_id("judged"), valid=False, rounds=3)
    serve_made_up_run(page, run)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server)

    page.click(f".history-item[data-run-id='{run['id']}']")

    verdict = page.locator("#run-verdict")
    expect(verdict).to_have_attribute("data-valid", "false")
    expect(page.locator("#run-verdict-badge")).to_have_text("⚠ invalid")
    expect(page.locator("#run-verdict-title")).to_contain_text(
        "do not trust these numbers"
    )
    # Three groups of reasons show, the other three fold away.
    labels = verdict.locator(".verdict-reason-label:visible")
    expect(labels).to_have_count(3)
    expect(labels.first).to_have_text("Input model, round 1")
    expect(verdict).to_contain_text(
        "CPU 1 was 80% busy with other work just before the run"
    )
    verdict.locator("summary", has_text="3 more reasons").click()
    expect(verdict.locator(".verdict-reason-label:visible")).to_have_count(6)

    # The numbers stay, marked as invalid.
    expect(page.locator("#run-results")).to_have_attribute("data-valid", "false")
    expect(page.locator("#run-speedup-block .invalid-mark")).to_be_visible()
    expect(page.locator("#run-speedup")).to_have_text("2.45x faster")
    expect(page.locator("#run-speedup-interval")).to_have_text(
        "95% interval 2.10x – 2.86x, geometric mean of 3 rounds"
    )
    expect(page.locator("#rounds-body tr")).to_have_count(3)
    expect(page.locator("#rounds-body tr").last).to_contain_text("2.60x")
    expect(page.locator("#run-accuracy")).to_have_text("76.00% → 75.00%")
    expect(page.locator("#run-accuracy-metric")).to_have_text("top-5")
    expect(page.locator("#run-accuracy-drop")).to_have_text(
        "drop of 1.00 points (1.32% relative)"
    )
    expect(page.locator("#results-body tr").first).to_contain_text("3.90")  # p50

    cards = page.locator("#statistics-cards .stats-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_have_attribute("data-valid", "false")
    expect(cards.first).to_contain_text("45.00 + 55.00 samples/s")
    expect(cards.first).to_contain_text("99.1% of the run")
    expect(cards.first).to_contain_text(
        "610.0 MiB in all; 300.0 MiB, 310.0 MiB per instance"
    )
    expect(cards.first.locator(".latency-table thead")).to_contain_text(
        "per sample, ms"
    )

    # Every round and the accuracy steps; the last round of each has its details.
    steps = page.locator("#run-steps .step")
    expect(steps).to_have_count(8)
    expect(page.locator("#run-steps .step[data-state='done']")).to_have_count(8)
    expect(steps.nth(4)).to_contain_text("Input model · performance · round 3/3")
    expect(steps.nth(6)).to_contain_text("76.00% top-5 · 38 of 50 samples")

    page.click("#run-reproduce summary")
    expect(page.locator("#run-environment")).to_contain_text("OMP_NUM_THREADS=2")
    expect(page.locator("#run-commands pre")).to_have_count(4)
    page.locator("#run-commands .copy-button").first.click()
    expect(page.locator("#run-commands .copy-button").first).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert (
        copied
        == run["execution_details"]["input_model_benchmark"]["performance"][
            "rerun_command"
        ]
    )

    # On a phone, nothing runs off the side of the page (once the charts resize).
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")


def test_a_valid_run_of_one_round_says_so(page, live_server) -> None:
    run = made_up_run(new_id("valid"), valid=True, rounds=1)
    serve_made_up_run(page, run)
    sign_in(page, live_server)

    page.click(f".history-item[data-run-id='{run['id']}']")

    expect(page.locator("#run-verdict")).to_have_attribute("data-valid", "true")
    expect(page.locator("#run-verdict-badge")).to_have_text("✓ valid")
    expect(page.locator("#run-verdict-reasons li")).to_have_count(0)
    expect(page.locator("#run-speedup-block .invalid-mark")).to_be_hidden()
    expect(page.locator("#run-speedup-interval")).to_have_text(
        "One round: no interval."
    )
    expect(page.locator("#run-rounds-block")).to_be_hidden()
    expect(
        page.locator("#statistics-cards .stats-card[data-valid='true']")
    ).to_have_count(2)


def test_advanced_settings_and_accuracy_reach_the_server(
    page, live_server, tiny_models
) -> None:
    sign_in(page, live_server)
    page.fill("#f-input-path", str(tiny_models["fp32"]))
    page.fill("#f-optimized-path", str(tiny_models["int8"]))
    expect(page.locator("#accuracy-fields")).to_be_hidden()
    page.click("#advanced summary")
    page.fill("#f-input-shapes", "input=-1,32,32,3\nnot a shape")
    page.click("#advanced summary")
    expect(page.locator("#f-input-shapes")).to_be_hidden()

    page.click("#submit-button")

    # The error about an advanced setting opens the disclosure that hides it.
    expect(page.locator("#advanced")).to_have_attribute("open", "")

    shapes_error = page.locator("[data-error-for='input_shapes']")
    expect(shapes_error).to_contain_text("'not a shape' is not NAME=D,D")
    expect(page.locator("#f-input-shapes")).to_have_attribute("aria-invalid", "true")

    # Fixed shapes go; the server then asks for the dataset that accuracy needs.
    page.fill("#f-input-shapes", "input=-1,32,32,3")
    page.check("#f-optimized-accuracy")
    expect(page.locator("#accuracy-fields")).to_be_visible()
    page.select_option("#f-optimized-framework", "onnxrt")
    page.click("#submit-button")

    framework_error = page.locator("[data-error-for='optimized_model.framework']")
    expect(framework_error).to_contain_text("not onnxrt")
    expect(page.locator("#advanced")).to_have_attribute("open", "")
    page.select_option("#f-optimized-framework", "")
    page.click("#submit-button")

    dataset_error = page.locator("[data-error-for='dataset']")
    expect(dataset_error).to_contain_text("accuracy needs a labelled dataset")
    page.fill("#f-dataset", str(tiny_models["fp32"].parent / "missing.npz"))
    page.click("#submit-button")

    expect(page.locator("[data-error-for='dataset.path']")).to_contain_text(
        "missing.npz"
    )
    expect(page.locator("#f-dataset")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#run-empty")).to_be_visible()


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
