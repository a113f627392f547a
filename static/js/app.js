/* lpot_ux page: start benchmarks, follow them live, read past results.
 *
 * Everything here is built with DOM calls and textContent, never innerHTML,
 * since run ids, paths and logs come from users and workers. The page obeys a
 * strict Content-Security-Policy: no inline scripts, styles or handlers.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "lpot_ux.token";
  const TERMINAL = new Set(["success", "failure", "error", "interrupted"]);
  const STATUS_LABELS = {
    queued: "queued",
    running: "running",
    success: "finished",
    failure: "failed",
    error: "rejected",
    interrupted: "interrupted",
  };
  const MODELS = [
    { key: "input_model", label: "Input model", css: "--input-model" },
    { key: "optimized_model", label: "Optimized model", css: "--optimized-model" },
  ];
  const SETTINGS = ["instances", "cores_per_instance", "batch_size", "warmup", "iterations"];
  // Delays, in ms, for re-reading a run whose finish event came before the
  // store had recorded it.
  const REFETCH_DELAYS = [300, 800, 1500, 3000];

  const state = {
    token: null,
    systemInfo: null,
    socket: null,
    runs: [],
    selectedId: null,
    view: null,
    charts: {},
    historyTimer: null,
    formStatusTimer: null,
    fileTarget: null,
    filePath: null,
    fileParent: null,
  };

  const $ = (id) => document.getElementById(id);

  /* ----- sign-in --------------------------------------------------------- */

  function takeToken() {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get("token");
    if (fromUrl !== null) {
      url.searchParams.delete("token");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
      if (fromUrl !== "") {
        sessionStorage.setItem(TOKEN_KEY, fromUrl);
        return fromUrl;
      }
    }

    return sessionStorage.getItem(TOKEN_KEY);
  }

  function showAuthProblem(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("auth-reason").textContent = reason;
    $("auth-problem").hidden = false;
    $("app").hidden = true;
    $("loading").hidden = true;
    setConnection("disconnected", "Not signed in");
    if (state.socket) {
      state.socket.disconnect();
    }
  }

  /* ----- HTTP ------------------------------------------------------------ */

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${state.token}` };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
    }

    let response;
    try {
      response = await fetch(path, {
        method: options.method || "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, "The server cannot be reached. Is lpot_ux still running?");
    }

    let payload = null;
    try {
      payload = await response.json();
    } catch (error) {
      payload = null;
    }

    if (response.status === 403) {
      showAuthProblem((payload && payload.error) || "The server refused this page's access token.");
    }
    if (!response.ok) {
      const message = (payload && payload.error) || `The server answered ${response.status}.`;
      throw new ApiError(response.status, message);
    }

    return payload;
  }

  /* ----- formatting ------------------------------------------------------ */

  const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const smallFormat = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });

  function formatNumber(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return "—";
    }

    return Math.abs(value) < 10 ? smallFormat.format(value) : numberFormat.format(value);
  }

  function formatSpeedup(ratio) {
    return ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${ratio.toFixed(2)}x (slower)`;
  }

  function speedupOf(run) {
    const input = run.perf_throughput_input_model;
    const optimized = run.perf_throughput_optimized_model;
    if (typeof input !== "number" || typeof optimized !== "number" || input <= 0) {
      return null;
    }

    return optimized / input;
  }

  function formatBytes(bytes) {
    if (typeof bytes !== "number") {
      return "—";
    }

    return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  }

  function formatTime(iso) {
    if (!iso) {
      return null;
    }
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      return iso;
    }

    return date.toLocaleString(undefined, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }

  function formatDuration(startIso, endIso) {
    const seconds = (new Date(endIso) - new Date(startIso)) / 1000;
    if (!Number.isFinite(seconds) || seconds < 0) {
      return null;
    }

    return seconds < 120 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds / 60)} min`;
  }

  function formatCores(cores) {
    if (!Array.isArray(cores) || cores.length === 0) {
      return "—";
    }
    const sorted = [...cores].sort((a, b) => a - b);
    const ranges = [];
    let start = sorted[0];
    let previous = sorted[0];
    for (const core of sorted.slice(1).concat([null])) {
      if (core !== previous + 1) {
        ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
        start = core;
      }
      previous = core;
    }

    return `${sorted.length} (${ranges.join(", ")})`;
  }

  function baseName(path) {
    if (typeof path !== "string") {
      return "";
    }
    const trimmed = path.replace(/\/+$/, "");

    return trimmed.slice(trimmed.lastIndexOf("/") + 1) || path;
  }

  /* ----- small DOM helpers ----------------------------------------------- */

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }

    return node;
  }

  function fillFacts(list, facts) {
    list.replaceChildren();
    for (const [term, value] of facts) {
      if (value === undefined || value === null || value === "") {
        continue;
      }
      list.append(element("dt", null, term), element("dd", null, String(value)));
    }
  }

  function setBadge(badge, status) {
    badge.dataset.status = status || "";
    badge.textContent = STATUS_LABELS[status] || status || "";
    badge.hidden = !status;
  }

  function setConnection(stateName, text) {
    $("connection").dataset.state = stateName;
    $("connection-text").textContent = text;
  }

  /* ----- machine --------------------------------------------------------- */

  function machineFacts(info) {
    return [
      ["Processor", info.platform],
      ["Architecture", info.arch],
      ["Sockets", info.sockets],
      ["Cores", info.cores],
      ["Threads", info.threads],
      ["Memory", formatBytes(info.memory_total)],
      ["Usable cores", formatCores(info.usable_cores)],
      ["Vector extensions", Array.isArray(info.flags) ? info.flags.join(", ") : null],
      ["System", info.system],
      ["Python", info.python],
    ];
  }

  function renderMachine(info) {
    const facts = machineFacts(info);
    if (info.version) {
      facts.push(["lpot_ux", info.version]);
    }
    fillFacts($("machine-info"), facts);

    const defaults = info.defaults || {};
    for (const name of SETTINGS) {
      const input = document.querySelector(`[data-field="${name}"]`);
      if (input && defaults[name] !== undefined && defaults[name] !== null) {
        input.placeholder = String(defaults[name]);
        input.title = `Default on this machine: ${defaults[name]}`;
      }
    }
  }

  /* ----- the form -------------------------------------------------------- */

  function suggestId() {
    const now = new Date();
    const pad = (value) => String(value).padStart(2, "0");
    const stamp =
      `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}` +
      `-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;

    const taken = new Set(state.runs.map((run) => run.id));
    if (state.view) {
      taken.add(state.view.id);
    }
    let id = `benchmark-${stamp}`;
    for (let count = 2; taken.has(id); count += 1) {
      id = `benchmark-${stamp}-${count}`;
    }

    return id;
  }

  function readForm() {
    const body = {
      id: $("f-id").value.trim(),
      input_model: {
        precision: $("f-input-precision").value.trim(),
        path: $("f-input-path").value.trim(),
        mode: ["performance"],
      },
      optimized_model: {
        precision: $("f-optimized-precision").value.trim(),
        path: $("f-optimized-path").value.trim(),
        mode: ["performance"],
      },
    };

    for (const name of SETTINGS) {
      const input = document.querySelector(`[data-field="${name}"]`);
      const text = input.value.trim();
      if (text !== "") {
        const number = Number(text);
        body[name] = Number.isFinite(number) ? number : text;
      } else if (input.validity && input.validity.badInput) {
        // A number field holding text reads as "": send it for the server to name.
        body[name] = "not a number";
      }
    }

    return body;
  }

  function clearErrors() {
    for (const node of document.querySelectorAll("[data-error-for]")) {
      node.hidden = true;
      node.textContent = "";
      node.removeAttribute("id");
    }
    for (const input of document.querySelectorAll("[data-field]")) {
      input.removeAttribute("aria-invalid");
      const described = (input.getAttribute("aria-describedby") || "")
        .split(" ")
        .filter((id) => id && !id.startsWith("error-"));
      if (described.length) {
        input.setAttribute("aria-describedby", described.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
    }
    $("form-error").hidden = true;
    $("form-error").textContent = "";
  }

  /* The server starts each message with the field path it is about, e.g.
   * "input_model.path: '/x.pb' does not exist." The longest field path that
   * the message's path starts with takes the message. */
  function fieldOfMessage(message) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)\s*:/.exec(
      message,
    );
    if (!match) {
      return null;
    }
    const path = match[1].replace(/\.mods\b/, ".mode");
    const known = [...document.querySelectorAll("[data-error-for]")].map(
      (node) => node.dataset.errorFor,
    );
    const fits = known.filter(
      (field) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`),
    );
    fits.sort((a, b) => b.length - a.length);

    return fits.length ? fits[0] : null;
  }

  function showError(message) {
    const field = fieldOfMessage(message);
    if (field === null) {
      $("form-error").textContent = message;
      $("form-error").hidden = false;
      return;
    }

    const holder = document.querySelector(`[data-error-for="${field}"]`);
    const errorId = `error-${field.replace(/[^A-Za-z0-9_-]/g, "-")}`;
    holder.id = errorId;
    holder.textContent = message;
    holder.hidden = false;

    const input =
      document.querySelector(`[data-field="${field}"]`) ||
      document.querySelector(`[data-field="${field}.path"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      const described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? `${described} ${errorId}` : errorId);
      input.focus();
    }
  }

  function showFormStatus(text) {
    const status = $("form-status");
    status.textContent = text;
    window.clearTimeout(state.formStatusTimer);
    state.formStatusTimer = window.setTimeout(() => {
      status.textContent = "";
    }, 8000);
  }

  async function submitBenchmark(event) {
    event.preventDefault();
    clearErrors();
    const body = readForm();
    const button = $("submit-button");
    button.disabled = true;
    $("form-status").textContent = "Sending…";

    try {
      const reply = await api("/api/benchmark", { method: "POST", body });
      showFormStatus(`Run ${reply.id} queued.`);
      openLocalRun({ id: reply.id, status: "queued", request: body });
      $("f-id").value = suggestId();
      scheduleHistoryRefresh();
    } catch (error) {
      $("form-status").textContent = "";
      if (error.status !== 403) {
        showError(error.message);
      }
    } finally {
      button.disabled = false;
    }
  }

  /* ----- the run panel --------------------------------------------------- */

  function modesOf(model) {
    let modes = model ? model.mode || model.mods : null;
    if (typeof modes === "string") {
      modes = [modes];
    }
    if (!Array.isArray(modes) || modes.length === 0) {
      modes = ["performance"];
    }

    return modes.map((mode) => (mode === "benchmark" ? "performance" : mode));
  }

  function parseProgress(progress) {
    const match = /^(\d+)\s*\/\s*(\d+)$/.exec(progress || "");

    return match ? { done: Number(match[1]), total: Number(match[2]) } : null;
  }

  function stepsOf(run) {
    const details = run.execution_details || {};
    const request = run.request || {};
    const steps = [];
    for (const model of MODELS) {
      const done = details[`${model.key}_benchmark`] || {};
      const modes = new Set(modesOf(request[model.key]));
      for (const mode of Object.keys(done)) {
        modes.add(mode);
      }
      for (const mode of modes) {
        steps.push({ model, mode, details: done[mode] || null });
      }
    }

    return steps;
  }

  // How far a run got, so that an older answer never overwrites a newer one.
  function rankOf(run) {
    const statusRank = TERMINAL.has(run.status) ? 2 : run.status === "running" ? 1 : 0;
    const progress = parseProgress(run.progress);

    return statusRank * 1000 + (progress ? progress.done : 0);
  }

  function openLocalRun(run) {
    state.selectedId = run.id;
    state.view = run;
    renderRun();
    renderHistory();
    refetchRun(run.id, 0);
  }

  async function openRun(id) {
    state.selectedId = id;
    state.view = { id, status: null };
    renderRun();
    renderHistory();
    try {
      const run = await api(`/api/benchmark/${encodeURIComponent(id)}`);
      if (state.selectedId === id) {
        // Events that came during the request may have told more already.
        state.view = rankOf(run) >= rankOf(state.view) ? run : Object.assign(run, state.view);
        renderRun();
      }
    } catch (error) {
      if (state.selectedId === id && error.status !== 403) {
        state.view = { id, status: "error", message: error.message };
        renderRun();
      }
    }
  }

  // Re-read the open run from the server; keep what the events told when the
  // store is behind them.
  async function refetchRun(id, attempt) {
    let run;
    try {
      run = await api(`/api/benchmark/${encodeURIComponent(id)}`);
    } catch (error) {
      return;
    }
    if (state.selectedId !== id) {
      return;
    }

    if (rankOf(run) >= rankOf(state.view)) {
      state.view = Object.assign({}, state.view, run);
      renderRun();
    } else if (attempt < REFETCH_DELAYS.length) {
      window.setTimeout(() => refetchRun(id, attempt + 1), REFETCH_DELAYS[attempt]);
    }
  }

  function renderRun() {
    const run = state.view;
    $("run-empty").hidden = run !== null;
    $("run-view").hidden = run === null;
    $("run-id").textContent = run ? run.id : "";
    setBadge($("run-status"), run ? run.status : null);
    document.title = run
      ? `${[run.id, STATUS_LABELS[run.status]].filter(Boolean).join(" ")} · lpot_ux`
      : "lpot_ux · benchmark";
    if (run === null) {
      return;
    }

    renderRunHeader(run);
    renderProgress(run);
    renderFailure(run);
    renderResults(run);
    renderRunFacts(run);

    const config = run.config_yaml;
    $("run-config").hidden = !config;
    $("run-config-text").textContent = config || "";
  }

  function modelOf(run, key) {
    const fromRequest = (run.request && run.request[key]) || run[key] || {};
    const details = performanceDetails(run, key) || {};

    return {
      precision: fromRequest.precision || details.precision || "",
      path: fromRequest.path || details.model_path || "",
    };
  }

  function performanceDetails(run, key) {
    const details = run.execution_details && run.execution_details[`${key}_benchmark`];

    return details ? details.performance || Object.values(details)[0] || null : null;
  }

  function renderRunHeader(run) {
    const line = $("run-models");
    line.replaceChildren();
    const input = modelOf(run, "input_model");
    const optimized = modelOf(run, "optimized_model");
    if (input.path || optimized.path) {
      line.append(
        element("strong", null, input.precision || "input"),
        " ",
        element("code", null, input.path || "?"),
        "  →  ",
        element("strong", null, optimized.precision || "optimized"),
        " ",
        element("code", null, optimized.path || "?"),
      );
    }

    const times = [];
    if (run.created_at) {
      times.push(`queued ${formatTime(run.created_at)}`);
    }
    if (run.started_at) {
      times.push(`started ${formatTime(run.started_at)}`);
    }
    if (run.started_at && run.finished_at) {
      const took = formatDuration(run.started_at, run.finished_at);
      if (took) {
        times.push(`took ${took}`);
      }
    }
    $("run-times").textContent = times.join(" · ");
  }

  function renderProgress(run) {
    const steps = stepsOf(run);
    const progress = parseProgress(run.progress);
    const total = progress ? Math.max(progress.total, 1) : Math.max(steps.length, 1);
    const doneCount = progress ? progress.done : steps.filter((step) => step.details).length;
    const bar = $("run-progress");
    bar.max = total;
    bar.value = Math.min(doneCount, total);
    bar.dataset.status = run.status || "";
    bar.setAttribute("aria-valuetext", `${doneCount} of ${total} steps done`);

    let text = `${doneCount}/${total} steps`;
    if (run.status === "queued") {
      text = "waiting in the queue";
    } else if (run.status === null) {
      text = "loading…";
    }
    $("run-progress-text").textContent = text;

    const list = $("run-steps");
    list.replaceChildren();
    let pendingSeen = false;
    for (const step of steps) {
      let stepState = "pending";
      if (step.details) {
        stepState = step.details.error ? "failed" : "done";
      } else if (!pendingSeen) {
        pendingSeen = true;
        stepState = firstPendingState(run, steps);
      } else if (TERMINAL.has(run.status)) {
        stepState = "skipped";
      }
      list.append(renderStep(step, stepState));
    }
  }

  function firstPendingState(run, steps) {
    if (run.status === "running") {
      return "running";
    }
    if (run.status === "interrupted") {
      return "interrupted";
    }
    const anyFailed = steps.some((step) => step.details && step.details.error);
    if ((run.status === "failure" || run.status === "error") && !anyFailed) {
      return "failed";
    }

    return TERMINAL.has(run.status) ? "skipped" : "pending";
  }

  const STEP_ICONS = { done: "✓", failed: "✕", interrupted: "!", skipped: "–" };
  const STEP_LABELS = {
    done: "done",
    failed: "failed",
    running: "running…",
    pending: "waiting",
    interrupted: "interrupted",
    skipped: "not run",
  };

  function renderStep(step, stepState) {
    const item = element("li", "step");
    item.dataset.state = stepState;

    const line = element("div", "step-line");
    line.append(
      element("span", "step-icon", STEP_ICONS[stepState] || ""),
      element("span", "step-name", `${step.model.label} · ${step.mode}`),
    );
    const details = step.details || {};
    if (details.precision) {
      line.append(element("span", "muted", details.precision));
    }
    if (typeof details.throughput === "number") {
      let result = `${formatNumber(details.throughput)} samples/s`;
      if (typeof details.latency_ms === "number") {
        result += ` · ${formatNumber(details.latency_ms)} ms`;
      }
      line.append(element("span", "step-result", result));
    }
    line.append(element("span", "step-state", STEP_LABELS[stepState]));
    item.append(line);

    if (details.command) {
      item.append(expander("Command", element("pre", "code-block", details.command)));
    }
    if (Array.isArray(details.instance_results) && details.instance_results.length) {
      item.append(expander("Instances", instanceTable(details.instance_results)));
    }

    return item;
  }

  function expander(title, content) {
    const details = element("details", "step-more");
    details.append(element("summary", null, title), content);

    return details;
  }

  function instanceTable(results) {
    const table = element("table", "instances-table");
    const head = element("tr");
    for (const title of ["Instance", "Cores", "Throughput", "Latency mean", "p50", "p90", "p99"]) {
      const cell = element(
        "th",
        title === "Instance" || title === "Cores" ? null : "number",
        title,
      );
      cell.scope = "col";
      head.append(cell);
    }
    const thead = element("thead");
    thead.append(head);
    const tbody = element("tbody");
    results.forEach((result, index) => {
      const latency = result.latency_ms || {};
      const ms = (value) => (typeof value === "number" ? `${formatNumber(value)} ms` : "—");
      const row = element("tr");
      row.append(
        element("td", null, String(index)),
        element("td", null, Array.isArray(result.affinity) ? result.affinity.join(", ") : "—"),
        element("td", "number", `${formatNumber(result.throughput)} samples/s`),
        element("td", "number", ms(latency.mean)),
        element("td", "number", ms(latency.p50)),
        element("td", "number", ms(latency.p90)),
        element("td", "number", ms(latency.p99)),
      );
      tbody.append(row);
    });
    table.append(thead, tbody);
    const wrapper = element("div", "table-scroll");
    wrapper.append(table);

    return wrapper;
  }

  function renderFailure(run) {
    const failed = run.status === "failure" || run.status === "error";
    const interrupted = run.status === "interrupted";
    $("run-failure").hidden = !(failed || interrupted || (run.message && run.status === "error"));
    let message = run.message || "";
    if (interrupted && !message) {
      message = "The server stopped while this run was going on; start it again.";
    } else if (failed && !message) {
      message = "The benchmark failed.";
    }
    $("run-message").textContent = message;

    const log = run.log_tail || "";
    $("run-log-block").hidden = !log;
    $("run-log").textContent = log;
  }

  function renderResults(run) {
    const hasInput = typeof run.perf_throughput_input_model === "number";
    const hasOptimized = typeof run.perf_throughput_optimized_model === "number";
    $("run-results").hidden = !(hasInput || hasOptimized);
    if (!(hasInput || hasOptimized)) {
      destroyCharts();
      return;
    }

    const ratio = speedupOf(run);
    $("run-speedup-block").hidden = ratio === null;
    if (ratio !== null) {
      $("run-speedup").textContent = formatSpeedup(ratio);
      $("run-speedup-block").dataset.slower = String(ratio < 1);
    }

    const body = $("results-body");
    body.replaceChildren();
    for (const model of MODELS) {
      const info = modelOf(run, model.key);
      const row = element("tr");
      const name = element("td");
      const swatch = element("span", "swatch");
      if (model.key === "optimized_model") {
        swatch.classList.add("swatch-optimized");
      }
      name.append(swatch, element("span", "model-name", model.label));
      const path = element("span", "model-path", baseName(info.path));
      path.title = info.path;
      name.append(path);
      row.append(
        name,
        element("td", null, info.precision || "—"),
        element("td", "number", formatNumber(run[`perf_throughput_${model.key}`])),
        element("td", "number", formatNumber(run[`perf_latency_${model.key}`])),
      );
      body.append(row);
    }

    renderCharts(run);
  }

  function renderRunFacts(run) {
    const request = run.request || {};
    const details =
      performanceDetails(run, "input_model") || performanceDetails(run, "optimized_model") || {};
    const defaults = (state.systemInfo && state.systemInfo.defaults) || {};
    const pick = (name) => {
      const value = details[name] !== undefined ? details[name] : request[name];
      if (value !== undefined && value !== null) {
        return value;
      }

      return defaults[name] !== undefined ? `${defaults[name]} (default)` : "default";
    };
    const facts = [
      ["Instances", pick("instances")],
      ["Cores per instance", pick("cores_per_instance")],
      ["Batch size", pick("batch_size")],
      ["Warmup", pick("warmup")],
      ["Iterations", pick("iterations")],
    ];
    if (details.framework) {
      facts.push(["Framework", details.framework]);
    }
    fillFacts($("run-settings"), facts);
    fillFacts($("run-machine"), state.systemInfo ? machineFacts(state.systemInfo) : []);
  }

  /* ----- charts ---------------------------------------------------------- */

  function destroyCharts() {
    for (const chart of Object.values(state.charts)) {
      chart.destroy();
    }
    state.charts = {};
  }

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function drawChart(key, canvas, title, values, unit) {
    const labels = MODELS.map((model) => {
      const precision = modelOf(state.view, model.key).precision;
      return precision ? `${model.label} (${precision})` : model.label;
    });
    canvas.setAttribute(
      "aria-label",
      `${title}: ` +
        labels.map((label, index) => `${label} ${formatNumber(values[index])} ${unit}`).join(", "),
    );

    const existing = state.charts[key];
    if (existing) {
      existing.data.labels = labels;
      existing.data.datasets[0].data = values;
      existing.update();
      return;
    }
    if (typeof window.Chart !== "function") {
      return;
    }

    state.charts[key] = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [
          {
            label: title,
            data: values,
            backgroundColor: MODELS.map((model) => colour(model.css)),
            borderRadius: 4,
            maxBarThickness: 90,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 300 },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: { label: (item) => `${formatNumber(item.parsed.y)} ${unit}` },
          },
        },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: unit } },
          x: { grid: { display: false } },
        },
      },
    });
  }

  function renderCharts(run) {
    if (window.Chart && !window.Chart.defaults.font.family.includes("system-ui")) {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.color = colour("--muted");
    }
    const throughput = MODELS.map((model) => run[`perf_throughput_${model.key}`] ?? null);
    drawChart("throughput", $("chart-throughput"), "Throughput", throughput, "samples/s");

    const latency = MODELS.map((model) => run[`perf_latency_${model.key}`] ?? null);
    const hasLatency = latency.some((value) => typeof value === "number");
    $("latency-figure").hidden = !hasLatency;
    if (hasLatency) {
      drawChart("latency", $("chart-latency"), "Latency", latency, "ms");
    }
  }

  /* ----- history --------------------------------------------------------- */

  async function refreshHistory() {
    try {
      const reply = await api("/api/benchmark");
      state.runs = Array.isArray(reply.runs) ? reply.runs : [];
      $("history-error").hidden = true;
    } catch (error) {
      if (error.status !== 403) {
        $("history-error").textContent = `The history cannot be read: ${error.message}`;
        $("history-error").hidden = false;
      }
      return;
    }
    renderHistory();
  }

  function scheduleHistoryRefresh() {
    window.clearTimeout(state.historyTimer);
    state.historyTimer = window.setTimeout(refreshHistory, 150);
  }

  function renderHistory() {
    const list = $("history-list");
    list.replaceChildren();
    $("history-empty").hidden = state.runs.length > 0;

    for (const run of state.runs) {
      const button = element("button", "history-item");
      button.type = "button";
      button.dataset.runId = run.id;
      if (run.id === state.selectedId) {
        button.setAttribute("aria-current", "true");
      }

      const badge = element("span", "badge");
      setBadge(badge, run.status);
      button.append(element("span", "history-id", run.id), badge);

      const meta = element("span", "history-meta");
      const input = run.input_model || {};
      const optimized = run.optimized_model || {};
      meta.append(
        element(
          "span",
          null,
          `${input.precision || "?"} ${baseName(input.path)} → ` +
            `${optimized.precision || "?"} ${baseName(optimized.path)}`,
        ),
      );
      const when = formatTime(run.created_at);
      if (when) {
        meta.append(element("span", null, when));
      }
      const ratio = speedupOf(run);
      if (ratio !== null) {
        const speedup = element("span", "history-speedup", formatSpeedup(ratio));
        speedup.dataset.slower = String(ratio < 1);
        meta.append(speedup);
      }
      button.append(meta);

      button.addEventListener("click", () => openRun(run.id));
      const item = element("li");
      item.append(button);
      list.append(item);
    }
  }

  /* ----- live events ----------------------------------------------------- */

  function onBenchmarkEvent(subject, message) {
    scheduleHistoryRefresh();
    const data = (message && message.data) || {};
    const id = data.id;
    if (!id) {
      return;
    }

    if (state.selectedId === null && subject === "benchmark_start") {
      // Nothing open yet: follow a run started elsewhere, e.g. from a notebook.
      openRun(id);
      return;
    }
    if (id !== state.selectedId) {
      return;
    }

    const view = state.view;
    if (subject === "benchmark_start") {
      state.view = { id, status: "running", request: view.request, created_at: view.created_at };
      refetchRun(id, 0);
    } else if (subject === "benchmark_progress") {
      state.view = Object.assign({}, view, data, { status: "running" });
    } else if (subject === "benchmark_finish") {
      if (message.status === "success" || TERMINAL.has(view.status) === false) {
        state.view = Object.assign({}, view, data, { status: message.status });
      }
      refetchRun(id, 0);
    }
    renderRun();
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnection("disconnected", "Live updates unavailable");
      return;
    }

    const socket = window.io({ auth: { token: state.token } });
    state.socket = socket;
    socket.on("connect", () => {
      setConnection("connected", "Live");
      refreshHistory();
      if (state.selectedId !== null) {
        refetchRun(state.selectedId, REFETCH_DELAYS.length);
      }
    });
    socket.on("disconnect", () => setConnection("disconnected", "Disconnected, retrying…"));
    socket.on("connect_error", () => setConnection("disconnected", "Cannot connect, retrying…"));
    for (const subject of ["benchmark_start", "benchmark_progress", "benchmark_finish"]) {
      socket.on(subject, (message) => onBenchmarkEvent(subject, message));
    }
  }

  /* ----- file dialog ----------------------------------------------------- */

  function folderOf(path) {
    if (!path) {
      return "";
    }

    return /\.[A-Za-z0-9]+$/.test(path) ? path.slice(0, path.lastIndexOf("/")) || "/" : path;
  }

  function openFileDialog(targetId) {
    state.fileTarget = targetId;
    const dialog = $("file-dialog");
    if (!dialog.open) {
      dialog.showModal();
    }
    browse(folderOf($(targetId).value.trim()), true);
  }

  async function browse(path, fallBackToHome) {
    $("file-error").hidden = true;
    let listing;
    try {
      listing = await api(`/api/filesystem?path=${encodeURIComponent(path)}`);
    } catch (error) {
      if (error.status === 403) {
        $("file-dialog").close();
        return;
      }
      if (fallBackToHome && path !== "") {
        browse("", false);
        return;
      }
      $("file-error").textContent = error.message;
      $("file-error").hidden = false;
      return;
    }
    renderListing(listing);
  }

  function renderListing(listing) {
    state.filePath = listing.path;
    state.fileParent = listing.parent;
    $("file-path").value = listing.path;
    $("file-up").disabled = !listing.parent;

    const list = $("file-entries");
    list.replaceChildren();
    const entries = listing.entries || [];
    const models = entries.filter((entry) => entry.type === "model").length;
    let count = `${entries.length - models} folders, ${models} models`;
    if (listing.truncated) {
      count += " (list cut short)";
    }
    $("file-count").textContent = count;

    if (entries.length === 0) {
      list.append(element("li", "file-empty", "No folders or models here."));
    }
    for (const entry of entries) {
      const button = element("button", "file-entry");
      button.type = "button";
      button.dataset.type = entry.type;
      button.dataset.path = entry.path;
      button.append(
        element("span", "file-icon", entry.type === "model" ? "M" : "▸"),
        element("span", "file-name", entry.name),
        element("span", "file-action", entry.type === "model" ? "choose" : "open"),
      );
      button.addEventListener("click", () => {
        if (entry.type === "model") {
          chooseModel(entry.path);
        } else {
          browse(entry.path, false);
        }
      });
      const item = element("li");
      item.append(button);
      list.append(item);
    }
    list.scrollTop = 0;
  }

  function chooseModel(path) {
    const input = $(state.fileTarget);
    input.value = path;
    input.removeAttribute("aria-invalid");
    $("file-dialog").close();
    input.focus();
    // Show the end of a long path: the file name tells models apart.
    input.setSelectionRange(path.length, path.length);
    input.scrollLeft = input.scrollWidth;
  }

  /* ----- start ----------------------------------------------------------- */

  function bindEvents() {
    $("benchmark-form").addEventListener("submit", submitBenchmark);
    $("history-refresh").addEventListener("click", refreshHistory);
    for (const button of document.querySelectorAll("[data-browse]")) {
      button.addEventListener("click", () => openFileDialog(button.dataset.browse));
    }
    $("file-close").addEventListener("click", () => $("file-dialog").close());
    $("file-up").addEventListener("click", () => {
      if (state.fileParent) {
        browse(state.fileParent, false);
      }
    });
    $("file-path-form").addEventListener("submit", (event) => {
      event.preventDefault();
      browse($("file-path").value.trim(), false);
    });
    $("file-dialog").addEventListener("click", (event) => {
      // A click on the backdrop lands on the dialog element itself.
      if (event.target === $("file-dialog")) {
        $("file-dialog").close();
      }
    });
  }

  async function start() {
    bindEvents();
    $("f-id").value = suggestId();
    state.token = takeToken();
    if (!state.token) {
      showAuthProblem("This page was opened without an access token.");
      return;
    }

    try {
      state.systemInfo = await api("/api/system_info");
    } catch (error) {
      if (error.status !== 403) {
        $("loading").textContent = `The server cannot be read: ${error.message}`;
      }
      return;
    }

    $("loading").hidden = true;
    $("app").hidden = false;
    renderMachine(state.systemInfo);
    renderRun();
    refreshHistory();
    connectSocket();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
