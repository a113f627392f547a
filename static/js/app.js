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
  const ADVANCED_SETTINGS = ["duration", "warmup_duration", "max_duration", "rounds"];
  const PERCENTILE_ROWS = ["mean", "std", "min", "p50", "p90", "p95", "p99", "max"];
  // Reasons of an invalid verdict listed before the rest fold away.
  const VERDICT_GROUPS_SHOWN = 3;
  // Steps listed before the list scrolls within itself (long runs of rounds).
  const STEPS_BEFORE_SCROLL = 10;
  const STOPPED_BY = {
    rule: "its stop rule",
    stop: "the stop rule, met by every instance",
    cap: "the max duration cap",
  };
  // Longest text of a failed step's message repeated among the verdict's reasons.
  const REASON_CHARS = 180;
  const ANSI_ESCAPES = /\u001b\[[0-9;?]*[A-Za-z]/g;
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
    runningStep: null,
    stepsKey: null,
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

  const numberFormat = new Intl.NumberFormat("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const smallFormat = new Intl.NumberFormat("en-US", {
    minimumSignificantDigits: 3,
    maximumSignificantDigits: 3,
  });
  const countFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const secondsFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

  function formatNumber(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return "—";
    }

    return Math.abs(value) < 10 ? smallFormat.format(value) : numberFormat.format(value);
  }

  function isNumber(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  function formatCount(value) {
    return isNumber(value) ? countFormat.format(value) : "—";
  }

  function formatSpeedup(ratio) {
    return ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${ratio.toFixed(2)}x (slower)`;
  }

  function formatRatio(ratio) {
    if (!isNumber(ratio)) {
      return "—";
    }

    // Two decimals, or two significant digits for the tiny bound of a wide interval.
    return `${Math.abs(ratio) < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}x`;
  }

  // The server's speed-up (the geometric mean over rounds) when it sent one,
  // else the ratio of the two throughputs.
  function speedupOf(run) {
    if (isNumber(run.speedup) && run.speedup > 0) {
      return run.speedup;
    }
    const input = run.perf_throughput_input_model;
    const optimized = run.perf_throughput_optimized_model;
    if (!isNumber(input) || !isNumber(optimized) || input <= 0) {
      return null;
    }

    return optimized / input;
  }

  function formatBytes(bytes) {
    if (!isNumber(bytes)) {
      return "—";
    }
    if (bytes >= 2 ** 30) {
      return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
    }

    return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  }

  function formatMs(value) {
    return isNumber(value) ? `${formatNumber(value)} ms` : "—";
  }

  function formatPercent(share, digits = 1) {
    return isNumber(share) ? `${(share * 100).toFixed(digits)}%` : "—";
  }

  function formatSeconds(value) {
    return isNumber(value) ? `${secondsFormat.format(value)} s` : null;
  }

  function formatShape(shape) {
    return Array.isArray(shape) ? shape.map((size) => (size === null ? -1 : size)).join(",") : "";
  }

  function formatMetric(metric) {
    const match = /^top(\d+)$/.exec(metric || "");

    return match ? `top-${match[1]}` : metric || "";
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

  function factList(facts) {
    const list = element("dl", "facts");
    fillFacts(list, facts);

    return list;
  }

  function table(className, caption, headers, rows) {
    const node = element("table", className);
    if (caption) {
      node.append(element("caption", "visually-hidden", caption));
    }
    const head = element("tr");
    for (const [title, css] of headers) {
      const cell = element("th", css || null, title);
      cell.scope = "col";
      head.append(cell);
    }
    const thead = element("thead");
    thead.append(head);
    const tbody = element("tbody");
    for (const cells of rows) {
      const row = element("tr");
      cells.forEach(([text, css], index) => {
        const cell = element(index === 0 ? "th" : "td", css || null, text);
        if (index === 0) {
          cell.scope = "row";
        }
        row.append(cell);
      });
      tbody.append(row);
    }
    node.append(thead, tbody);
    const wrapper = element("div", "table-scroll");
    wrapper.append(node);

    return wrapper;
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

  // The machine as the run recorded it when it ran: what its numbers belong to.
  function environmentFacts(environment) {
    let onednn = null;
    if (typeof environment.onednn === "boolean") {
      onednn = environment.onednn ? "on" : "off";
    }

    return [
      ["Processor", environment.cpu],
      ["Architecture", environment.arch],
      ["Cores", environment.cores],
      ["Threads", environment.threads],
      ["Usable cores", formatCores(environment.usable_cores)],
      ["System", environment.system],
      ["Python", environment.python],
      ["lpot_ux", environment.lpot_ux_version],
      ["TensorFlow", environment.tensorflow_version],
      ["Runtime", environment.runtime_version],
      ["oneDNN", onednn],
    ];
  }

  function renderMachine(info) {
    const facts = machineFacts(info);
    if (info.version) {
      facts.push(["lpot_ux", info.version]);
    }
    fillFacts($("machine-info"), facts);

    const defaults = info.defaults || {};
    for (const name of SETTINGS.concat(ADVANCED_SETTINGS)) {
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

  class FormError extends Error {}

  // A number field's value: a number, the text for the server to name when it
  // is not one, or undefined when blank.
  function readNumber(input) {
    const text = input.value.trim();
    if (text !== "") {
      const number = Number(text);
      return Number.isFinite(number) ? number : text;
    }
    if (input.validity && input.validity.badInput) {
      // A number field holding text reads as "": send it for the server to name.
      return "not a number";
    }

    return undefined;
  }

  /* "input=-1,224,224,3" lines (or ";"-separated) into {"input": [-1, 224, 224, 3]}.
   * The name ends at the last "=", since tensor names may hold ":" but no "=". */
  function parseInputShapes(text) {
    const shapes = {};
    const entries = text
      .split(/[\n;]/)
      .map((entry) => entry.trim())
      .filter(Boolean);
    for (const entry of entries) {
      const cut = entry.lastIndexOf("=");
      const name = cut > 0 ? entry.slice(0, cut).trim() : "";
      const sizes = cut > 0 ? entry.slice(cut + 1).split(/[,x×\s]+/).filter(Boolean) : [];
      const shape = sizes.map((size) => (/^-?\d+$/.test(size) ? Number(size) : NaN));
      if (!name || shape.length === 0 || shape.some((size) => !(size >= 1 || size === -1))) {
        throw new FormError(
          `input_shapes: '${entry}' is not NAME=D,D,… with sizes of at least 1, ` +
            "or -1 for the batch dimension; e.g. input=-1,224,224,3.",
        );
      }
      shapes[name] = shape;
    }

    return shapes;
  }

  function readModel(key, short) {
    const model = {
      precision: $(`f-${short}-precision`).value.trim(),
      path: $(`f-${short}-path`).value.trim(),
      mode: $(`f-${short}-accuracy`).checked ? ["performance", "accuracy"] : ["performance"],
    };
    const framework = $(`f-${short}-framework`).value;
    if (framework) {
      model.framework = framework;
    }
    const signature = $(`f-${short}-signature`).value.trim();
    if (signature) {
      model.signature = signature;
    }

    return model;
  }

  function wantsAccuracy() {
    return $("f-input-accuracy").checked || $("f-optimized-accuracy").checked;
  }

  function readForm() {
    const body = {
      id: $("f-id").value.trim(),
      input_model: readModel("input_model", "input"),
      optimized_model: readModel("optimized_model", "optimized"),
    };

    for (const name of SETTINGS.concat(ADVANCED_SETTINGS)) {
      const value = readNumber(document.querySelector(`[data-field="${name}"]`));
      if (value !== undefined) {
        body[name] = value;
      }
    }

    const shapes = parseInputShapes($("f-input-shapes").value);
    if (Object.keys(shapes).length) {
      body.input_shapes = shapes;
    }

    // Without a path the server says that accuracy needs a dataset.
    const dataset = $("f-dataset").value.trim();
    if (wantsAccuracy() && dataset) {
      body.dataset = { path: dataset };
      const topk = readNumber($("f-topk"));
      if (topk !== undefined) {
        body.metric = { topk };
      }
    }

    return body;
  }

  function showAccuracyFields() {
    $("accuracy-fields").hidden = !wantsAccuracy();
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
    // An error about an advanced setting must not hide in a closed disclosure.
    const disclosure = holder.closest("details");
    if (disclosure) {
      disclosure.open = true;
    }

    const input =
      document.querySelector(`[data-field="${field}"]`) ||
      document.querySelector(`[data-field^="${field}."]`);
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
    let body;
    try {
      body = readForm();
    } catch (error) {
      if (!(error instanceof FormError)) {
        throw error;
      }
      showError(error.message);
      return;
    }
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

  function modesByModel(run) {
    const details = run.execution_details || {};
    const request = run.request || {};

    return MODELS.map((model) => {
      const modes = new Set(modesOf(request[model.key]));
      for (const mode of Object.keys(details[`${model.key}_benchmark`] || {})) {
        modes.add(mode);
      }
      return { model, modes };
    });
  }

  // Rounds asked for; when the request is not known yet, read from the progress.
  function roundsOf(run, plan) {
    const asked = run.request && run.request.rounds;
    if (Number.isInteger(asked) && asked >= 1) {
      return asked;
    }
    const progress = parseProgress(run.progress);
    const performance = plan.filter((entry) => entry.modes.has("performance")).length;
    const accuracy = plan.filter((entry) => entry.modes.has("accuracy")).length;
    if (progress && performance) {
      return Math.max(1, Math.round((progress.total - accuracy) / performance));
    }

    return Math.max(1, Array.isArray(run.rounds) ? run.rounds.length : 1);
  }

  /* The steps in the server's order: every round of performance, the two
   * models taking turns, then accuracy. The details of a mode hold its last
   * round only; earlier rounds are known by their throughputs in run.rounds. */
  function stepsOf(run) {
    const details = run.execution_details || {};
    const plan = modesByModel(run);
    const rounds = roundsOf(run, plan);
    const steps = [];
    for (let round = 1; round <= rounds; round += 1) {
      for (const { model, modes } of plan) {
        if (modes.has("performance")) {
          steps.push({ model, mode: "performance", round, rounds });
        }
      }
    }
    for (const { model, modes } of plan) {
      for (const mode of modes) {
        if (mode !== "performance") {
          steps.push({ model, mode, round: 1, rounds: 1 });
        }
      }
    }

    for (const step of steps) {
      const found = (details[`${step.model.key}_benchmark`] || {})[step.mode] || null;
      const round = found && isNumber(found.round) ? found.round : step.rounds;
      step.details = found && round === step.round ? found : null;
      const earlier = (run.rounds || []).find((entry) => entry.round === step.round);
      step.throughput = step.details
        ? step.details.throughput
        : earlier && earlier[`perf_throughput_${step.model.key}`];
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
    renderReproduce(run);

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

  /* ----- steps ----------------------------------------------------------- */

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
    renderStepsSummary(run, steps, doneCount);

    // Keep the <details> a reader opened open across re-renders.
    const list = $("run-steps");
    const opened = new Set(
      [...list.querySelectorAll("details[open]")].map((node) => node.dataset.key),
    );
    list.replaceChildren();
    list.classList.toggle("steps-long", steps.length > STEPS_BEFORE_SCROLL);
    let pendingSeen = false;
    let current = null;
    steps.forEach((step, index) => {
      let stepState = "pending";
      if (step.details && step.details.error) {
        stepState = "failed";
      } else if (index < doneCount) {
        stepState = "done";
      } else if (!pendingSeen) {
        pendingSeen = true;
        stepState = firstPendingState(run, steps);
      } else if (TERMINAL.has(run.status)) {
        stepState = "skipped";
      }
      const item = renderStep(step, stepState, opened);
      if (stepState === "running") {
        current = item;
      }
      list.append(item);
    });
    followRunningStep(list, current);
  }

  /* The steps show while a run goes on or when it failed; a run that succeeded
   * folds them away under its results, until the reader opens them. */
  function renderStepsSummary(run, steps, doneCount) {
    const block = $("run-steps-block");
    const key = `${run.id}:${run.status === "success"}`;
    if (key !== state.stepsKey) {
      state.stepsKey = key;
      block.open = run.status !== "success";
    }
    const failed = steps.filter((step) => step.details && step.details.error).length;
    let summary = `Steps: ${Math.min(doneCount, steps.length)} of ${steps.length} done`;
    if (failed) {
      summary += `, ${failed} failed`;
    }
    $("run-steps-summary").textContent = summary;
  }

  // In a long list, bring the running step into the list's view once it moves.
  function followRunningStep(list, item) {
    const key = item ? item.dataset.key : null;
    if (!item || key === state.runningStep || !list.classList.contains("steps-long")) {
      state.runningStep = key;
      return;
    }
    state.runningStep = key;
    list.scrollTop = item.offsetTop - list.offsetTop - list.clientHeight / 3;
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

  function stepName(step) {
    let name = `${step.model.label} · ${step.mode}`;
    if (step.mode === "performance" && step.rounds > 1) {
      name += ` · round ${step.round}/${step.rounds}`;
    }

    return name;
  }

  function stepResult(step) {
    const details = step.details || {};
    if (step.mode === "accuracy" && isNumber(details.accuracy)) {
      let result = `${formatPercent(details.accuracy, 2)} ${formatMetric(details.metric)}`;
      if (isNumber(details.samples)) {
        result += ` · ${details.hits ?? "?"} of ${details.samples} samples`;
      }
      return result.trim();
    }
    if (!isNumber(step.throughput)) {
      return null;
    }
    let result = `${formatNumber(step.throughput)} samples/s`;
    if (isNumber(details.latency_ms)) {
      result += ` · ${formatNumber(details.latency_ms)} ms`;
    }

    return result;
  }

  function renderStep(step, stepState, opened) {
    const item = element("li", "step");
    item.dataset.state = stepState;
    item.dataset.key = `${step.model.key}-${step.mode}-${step.round}`;

    const line = element("div", "step-line");
    line.append(
      element("span", "step-icon", STEP_ICONS[stepState] || ""),
      element("span", "step-name", stepName(step)),
    );
    const details = step.details || {};
    const precision = details.precision || modelOf(state.view, step.model.key).precision;
    if (precision) {
      line.append(element("span", "muted", precision));
    }
    const result = stepResult(step);
    if (result) {
      line.append(element("span", "step-result", result));
    }
    if (details.verdict && details.verdict.valid === false) {
      const mark = element("span", "chip chip-invalid", "invalid");
      mark.title = (details.verdict.reasons || []).join("\n");
      line.append(mark);
    }
    line.append(element("span", "step-state", STEP_LABELS[stepState]));
    item.append(line);

    // The run's own message already says what the first failure was.
    if (details.error && details.error !== state.view.message) {
      item.append(element("p", "step-error", details.error));
    }
    const more = [];
    const command = details.rerun_command || details.command;
    if (command) {
      more.push(["Command", () => commandBlock(command)]);
    }
    if (Array.isArray(details.instance_results) && details.instance_results.length) {
      more.push(["Instances", () => instanceTable(details.instance_results)]);
    }
    if (details.log_tail) {
      more.push(["Worker log", () => element("pre", "code-block", cleanLog(details.log_tail))]);
    }
    for (const [title, build] of more) {
      const key = `${item.dataset.key}-${title}`;
      item.append(expander(title, build(), key, opened.has(key)));
    }

    return item;
  }

  function expander(title, content, key, open) {
    const details = element("details", "step-more");
    details.dataset.key = key || title;
    details.open = Boolean(open);
    details.append(element("summary", null, title), content);

    return details;
  }

  function cleanLog(text) {
    return String(text || "").replace(ANSI_ESCAPES, "");
  }

  // A command in a code block, with a button that copies it.
  function commandBlock(command) {
    const block = element("div", "command");
    const code = element("pre", "code-block", command);
    const button = element("button", "button button-ghost button-small copy-button", "Copy");
    button.type = "button";
    button.addEventListener("click", () => copyText(command, code, button));
    block.append(code, button);

    return block;
  }

  async function copyText(text, code, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (error) {
      // No clipboard (an insecure origin, say): select it for Ctrl+C instead.
      window.getSelection().selectAllChildren(code);
      button.textContent = "Selected: press Ctrl+C";
    }
    window.setTimeout(() => {
      button.textContent = "Copy";
    }, 2000);
  }

  function describeInputs(inputs) {
    if (!inputs || typeof inputs !== "object") {
      return "—";
    }

    return Object.entries(inputs)
      .map(([name, spec]) => {
        const shape = formatShape(spec.shape).replace(/,/g, "×");
        return `${name} ${shape} ${spec.dtype || ""}`.trim();
      })
      .join("; ");
  }

  function instanceTable(results) {
    const headers = [
      ["Instance"],
      ["Cores"],
      ["Threads", "number"],
      ["Throughput", "number"],
      ["Latency mean", "number"],
      ["p50", "number"],
      ["p90", "number"],
      ["p99", "number"],
      ["Inputs fed"],
    ];
    const rows = results.map((result, index) => {
      const latency = result.latency_ms || {};
      let threads = "—";
      if (isNumber(result.intra_op_threads)) {
        threads = `${result.intra_op_threads} + ${result.inter_op_threads ?? "?"}`;
      }
      return [
        [String(index)],
        [Array.isArray(result.affinity) ? result.affinity.join(", ") : "—"],
        [threads, "number"],
        [`${formatNumber(result.throughput)} samples/s`, "number"],
        [formatMs(latency.mean), "number"],
        [formatMs(latency.p50), "number"],
        [formatMs(latency.p90), "number"],
        [formatMs(latency.p99), "number"],
        [describeInputs(result.inputs), "inputs"],
      ];
    });
    const wrapper = table("instances-table", "Each instance of the step", headers, rows);
    wrapper.append(
      element("p", "hint", "Threads: intra-op + inter-op. Latency per batch, in ms."),
    );

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

    const log = cleanLog(run.log_tail);
    $("run-log-block").hidden = !log;
    $("run-log").textContent = log;
  }

  /* ----- results --------------------------------------------------------- */

  function hasAccuracy(run) {
    return MODELS.some((model) => isNumber(run[`acc_${model.key}`]));
  }

  function statisticsOf(run, key) {
    return (run.statistics && run.statistics[key]) || null;
  }

  function renderResults(run) {
    const hasThroughput = MODELS.some((model) => isNumber(run[`perf_throughput_${model.key}`]));
    const shown = hasThroughput || hasAccuracy(run);
    $("run-results").hidden = !shown;
    if (!shown) {
      destroyCharts();
      return;
    }

    const valid = renderVerdict(run);
    $("run-results").dataset.valid = valid === null ? "" : String(valid);
    renderSpeedup(run);
    renderAccuracy(run);
    renderRounds(run);
    renderResultsTable(run);
    $("charts").hidden = !hasThroughput;
    if (hasThroughput) {
      renderCharts(run);
    } else {
      destroyCharts();
    }
    renderStatistics(run);
  }

  /* "input_model round 2: CPU 1 was busy" → ["Input model, round 2", "CPU 1 was busy"].
   * A failed step's message is told in full above: here it is cut short. */
  function splitReason(reason) {
    const failed = /^a step failed: (.*)$/s.exec(reason);
    if (failed) {
      const text = failed[1].replace(/\s+/g, " ");
      const short = text.length > REASON_CHARS ? `${text.slice(0, REASON_CHARS)}…` : text;
      return ["Failed steps", short];
    }
    const match = /^(input_model|optimized_model) round (\d+): (.*)$/s.exec(reason);
    if (!match) {
      return ["", reason];
    }
    const model = MODELS.find((entry) => entry.key === match[1]);

    return [`${model.label}, round ${match[2]}`, match[3]];
  }

  function reasonGroups(reasons) {
    const groups = new Map();
    for (const reason of reasons) {
      const [label, text] = splitReason(String(reason));
      if (!groups.has(label)) {
        groups.set(label, []);
      }
      groups.get(label).push(text);
    }

    return [...groups.entries()];
  }

  function reasonItem(label, texts) {
    const item = element("li", "verdict-reason");
    if (label) {
      item.append(element("strong", "verdict-reason-label", label));
    }
    const list = element("ul");
    for (const text of texts) {
      list.append(element("li", null, text));
    }
    item.append(list);

    return item;
  }

  // Show the run's verdict; return whether it is valid, null when there is none.
  function renderVerdict(run) {
    const verdict = run.verdict;
    const block = $("run-verdict");
    if (!verdict || typeof verdict.valid !== "boolean") {
      block.hidden = true;
      return null;
    }

    const soFar = !TERMINAL.has(run.status);
    block.hidden = false;
    block.dataset.valid = String(verdict.valid);
    $("run-verdict-badge").textContent = verdict.valid ? "✓ valid" : "⚠ invalid";
    const reasons = Array.isArray(verdict.reasons) ? verdict.reasons : [];
    if (verdict.valid) {
      $("run-verdict-title").textContent = soFar ? "Valid so far" : "The measurement is valid";
      $("run-verdict-note").textContent =
        "The instances measured together, met their stop rule, ran steadily, " +
        "on cores that nothing else was using.";
    } else {
      $("run-verdict-title").textContent = soFar
        ? "Invalid so far: do not trust these numbers yet"
        : "The measurement is invalid: do not trust these numbers";
      const count = reasons.length === 1 ? "One reason" : `${reasons.length} reasons`;
      $("run-verdict-note").textContent =
        `They are shown as measured, marked invalid. ${count}; fix them and run again:`;
    }

    const list = $("run-verdict-reasons");
    list.replaceChildren();
    const groups = reasonGroups(reasons);
    groups.slice(0, VERDICT_GROUPS_SHOWN).forEach(([label, texts]) => {
      list.append(reasonItem(label, texts));
    });
    const rest = groups.slice(VERDICT_GROUPS_SHOWN);
    if (rest.length) {
      const more = element("details", "verdict-more");
      const count = rest.reduce((sum, [, texts]) => sum + texts.length, 0);
      more.append(element("summary", null, `${count} more ${count === 1 ? "reason" : "reasons"}`));
      const moreList = element("ul", "verdict-reasons");
      rest.forEach(([label, texts]) => moreList.append(reasonItem(label, texts)));
      more.append(moreList);
      const item = element("li", "verdict-reason");
      item.append(more);
      list.append(item);
    }

    return verdict.valid;
  }

  function renderSpeedup(run) {
    const ratio = speedupOf(run);
    $("run-speedup-block").hidden = ratio === null;
    if (ratio === null) {
      return;
    }
    $("run-speedup").textContent = formatSpeedup(ratio);
    $("run-speedup-block").dataset.slower = String(ratio < 1);

    const rounds = Array.isArray(run.rounds) ? run.rounds.length : 0;
    const interval = Array.isArray(run.speedup_ci95) ? run.speedup_ci95 : null;
    const running = !TERMINAL.has(run.status);
    let intervalText = "";
    let note = "";
    if (interval && isNumber(interval[0]) && isNumber(interval[1])) {
      const [low, high] = interval;
      intervalText =
        `95% interval ${formatRatio(low)} – ${formatRatio(high)}, ` +
        `geometric mean of ${rounds} rounds${running ? " so far" : ""}`;
      if (low <= 1 && high >= 1) {
        note = "The interval holds 1.00x: these rounds cannot tell the two models apart.";
      } else if (low > 1) {
        note = "The whole interval is above 1.00x: the optimized model is faster.";
      } else {
        note = "The whole interval is below 1.00x: the optimized model is slower.";
      }
    } else if (rounds === 1 && !running) {
      intervalText = "One round: no interval.";
      note = "Set Rounds to 3 or more under Advanced to get a 95% interval.";
    } else if (running && run.request && run.request.rounds > 1) {
      intervalText = "The interval comes once two rounds are done.";
    }
    $("run-speedup-interval").textContent = intervalText;
    $("run-speedup-interval").hidden = !intervalText;
    $("run-speedup-note").textContent = note;
    $("run-speedup-note").hidden = !note;
  }

  function accuracyMetric(run) {
    for (const model of MODELS) {
      const details = (run.execution_details || {})[`${model.key}_benchmark`] || {};
      if (details.accuracy && details.accuracy.metric) {
        return formatMetric(details.accuracy.metric);
      }
    }
    const topk = run.request && run.request.metric && run.request.metric.topk;

    return topk ? `top-${topk}` : "";
  }

  function renderAccuracy(run) {
    const shown = hasAccuracy(run);
    $("run-accuracy-block").hidden = !shown;
    if (!shown) {
      return;
    }
    const before = run.acc_input_model;
    const after = run.acc_optimized_model;
    $("run-accuracy-metric").textContent = accuracyMetric(run);
    if (isNumber(before) && isNumber(after)) {
      $("run-accuracy").textContent = `${formatPercent(before, 2)} → ${formatPercent(after, 2)}`;
    } else {
      const model = isNumber(before) ? "input model" : "optimized model";
      $("run-accuracy").textContent = `${formatPercent(isNumber(before) ? before : after, 2)}`;
      $("run-accuracy-drop").textContent = `of the ${model} only`;
      return;
    }

    const drop = run.accuracy_drop;
    const relative = run.accuracy_drop_relative;
    let text = "no drop";
    if (isNumber(drop) && drop !== 0) {
      text = `${drop > 0 ? "drop" : "gain"} of ${Math.abs(drop * 100).toFixed(2)} points`;
      if (isNumber(relative)) {
        text += ` (${Math.abs(relative * 100).toFixed(2)}% relative)`;
      }
    }
    $("run-accuracy-drop").textContent = text;
    $("run-accuracy-block").dataset.drop = String(isNumber(drop) && drop > 0);
  }

  function renderRounds(run) {
    const rounds = Array.isArray(run.rounds) ? run.rounds : [];
    const asked = (run.request && run.request.rounds) || rounds.length;
    $("run-rounds-block").hidden = !(rounds.length && asked > 1);
    const body = $("rounds-body");
    body.replaceChildren();
    for (const entry of rounds) {
      const row = element("tr");
      const round = element("th", null, String(entry.round));
      round.scope = "row";
      const speedup = element("td", "number", formatRatio(entry.speedup));
      speedup.dataset.slower = String(isNumber(entry.speedup) && entry.speedup < 1);
      row.append(
        round,
        element("td", "number", formatNumber(entry.perf_throughput_input_model)),
        element("td", "number", formatNumber(entry.perf_throughput_optimized_model)),
        speedup,
      );
      body.append(row);
    }
  }

  function modelCell(run, model) {
    const info = modelOf(run, model.key);
    const cell = element("td");
    const swatch = element("span", "swatch");
    if (model.key === "optimized_model") {
      swatch.classList.add("swatch-optimized");
    }
    cell.append(swatch, element("span", "model-name", model.label));
    const path = element("span", "model-path", baseName(info.path));
    path.title = info.path;
    cell.append(path);

    return cell;
  }

  const RESULT_LABELS = [
    "Model",
    "Precision",
    "Throughput, samples/s",
    "Latency mean, ms/batch",
    "Latency p50, ms",
    "Latency p99, ms",
    "Accuracy",
  ];

  function renderResultsTable(run) {
    const withAccuracy = hasAccuracy(run);
    $("results-accuracy-head").hidden = !withAccuracy;
    const body = $("results-body");
    body.replaceChildren();
    for (const model of MODELS) {
      const latency = (statisticsOf(run, model.key) || {}).latency_ms_per_batch || {};
      const mean = isNumber(run[`perf_latency_${model.key}`])
        ? run[`perf_latency_${model.key}`]
        : latency.mean;
      const row = element("tr");
      const cells = [
        modelCell(run, model),
        element("td", null, modelOf(run, model.key).precision || "—"),
        element("td", "number", formatNumber(run[`perf_throughput_${model.key}`])),
        element("td", "number", formatNumber(mean)),
        element("td", "number", formatNumber(latency.p50)),
        element("td", "number", formatNumber(latency.p99)),
      ];
      if (withAccuracy) {
        const accuracy = formatPercent(run[`acc_${model.key}`], 2);
        cells.push(element("td", "number accuracy-cell", accuracy));
      }
      // Narrow screens show each row as a card that labels its own cells.
      cells.forEach((cell, index) => {
        cell.dataset.label = RESULT_LABELS[index];
      });
      row.append(...cells);
      body.append(row);
    }

    const rounds = Array.isArray(run.rounds) ? run.rounds.length : 0;
    const note = $("results-note");
    note.hidden = rounds < 2;
    note.textContent =
      rounds < 2
        ? ""
        : `Throughput: the median of ${rounds} rounds. Latency and the statistics below: ` +
          "the last round.";
  }

  /* ----- statistics per model -------------------------------------------- */

  function renderStatistics(run) {
    const cards = $("statistics-cards");
    cards.replaceChildren();
    const present = MODELS.filter((model) => statisticsOf(run, model.key));
    $("run-statistics").hidden = present.length === 0;
    if (present.length === 0) {
      return;
    }

    const instances = Math.max(
      ...present.map((model) => (statisticsOf(run, model.key).instance_throughputs || []).length),
    );
    for (const model of present) {
      cards.append(statisticsCard(run, model, instances));
    }

    const rounds = Array.isArray(run.rounds) ? run.rounds.length : 0;
    $("statistics-note").hidden = rounds < 2;
    $("statistics-note").textContent =
      rounds < 2 ? "" : `Figures of round ${rounds}, the last of ${rounds}.`;
  }

  function statisticsCard(run, model, instances) {
    const figures = statisticsOf(run, model.key);
    const card = element("article", "stats-card");
    const verdict = figures.verdict;
    card.dataset.valid = verdict && typeof verdict.valid === "boolean" ? String(verdict.valid) : "";

    const head = element("header", "stats-head");
    const swatch = element("span", "swatch");
    if (model.key === "optimized_model") {
      swatch.classList.add("swatch-optimized");
    }
    const title = element("h4", "stats-title");
    title.append(swatch, model.label);
    head.append(title);
    const precision = modelOf(run, model.key).precision;
    if (precision) {
      head.append(element("span", "chip", precision));
    }
    if (verdict && typeof verdict.valid === "boolean") {
      const chip = element(
        "span",
        `chip ${verdict.valid ? "chip-valid" : "chip-invalid"}`,
        verdict.valid ? "valid" : "invalid",
      );
      chip.title = (verdict.reasons || []).join("\n");
      head.append(chip);
    }
    card.append(head);

    card.append(factList(statisticsFacts(figures, instances)));
    card.append(latencyTable(run, figures));

    return card;
  }

  function statisticsFacts(figures, instances) {
    const unit = figures.throughput_unit || "samples/s";
    const window = figures.window || {};
    const memory = figures.peak_rss_bytes || {};
    const perInstance = Array.isArray(memory.per_instance) ? memory.per_instance : [];
    const stoppedBy = [...new Set(figures.stopped_by || [])].map(
      (reason) => STOPPED_BY[reason] || reason,
    );
    let measured = null;
    if (isNumber(figures.iterations)) {
      measured = `${formatCount(figures.iterations)} iterations`;
      if (isNumber(window.length_s)) {
        measured += ` in ${formatSeconds(window.length_s)}`;
      }
    }
    const facts = [
      [
        "Throughput",
        isNumber(figures.throughput) ? `${formatNumber(figures.throughput)} ${unit}` : "—",
      ],
    ];
    if (instances > 1) {
      const rates = (figures.instance_throughputs || []).map(formatNumber);
      facts.push(["Per instance", rates.length ? `${rates.join(" + ")} ${unit}` : "—"]);
      facts.push([
        "Imbalance",
        isNumber(figures.imbalance)
          ? `${formatPercent(figures.imbalance)} between the slowest and the fastest`
          : "—",
      ]);
    }
    facts.push(
      ["Measured", measured || "—"],
      [
        "Overlap",
        isNumber(window.overlap)
          ? `${formatPercent(window.overlap)} of the run, by all instances at once`
          : "—",
      ],
      [
        "Stopped by",
        stoppedBy.length
          ? `${stoppedBy.join(", ")}${figures.rule_met === false ? " (rule not met)" : ""}`
          : "—",
      ],
      ["First inference", formatMs(figures.first_inference_ms)],
      ["Model load", formatMs(figures.load_ms)],
      [
        "Peak memory",
        perInstance.length > 1
          ? `${formatBytes(memory.total)} in all; ` +
              `${perInstance.map(formatBytes).join(", ")} per instance`
          : `${formatBytes(memory.total)} (one instance)`,
      ],
    );

    return facts;
  }

  function latencyTable(run, figures) {
    const perBatch = figures.latency_ms_per_batch || {};
    const perSample = figures.latency_ms_per_sample || {};
    const batch = (run.request && run.request.batch_size) || null;
    const twoColumns = batch !== 1;
    const headers = [
      ["Latency"],
      [twoColumns ? "per batch, ms" : "per batch = per sample, ms", "number"],
    ];
    if (twoColumns) {
      headers.push(["per sample, ms", "number"]);
    }
    const rows = PERCENTILE_ROWS.map((name) => {
      const row = [[name], [formatNumber(perBatch[name]), "number"]];
      if (twoColumns) {
        row.push([formatNumber(perSample[name]), "number"]);
      }
      return row;
    });
    const wrapper = table("latency-table", "Latency statistics", headers, rows);
    if (figures.latency_exact === false) {
      wrapper.append(
        element(
          "p",
          "hint",
          "Percentiles pooled from the instances' own summaries of a thinned timeline: " +
            "close, not exact.",
        ),
      );
    }

    return wrapper;
  }

  /* ----- settings, machine and how to re-run ----------------------------- */

  function frameworkFact(request) {
    const describe = (model) => {
      if (!model || !model.framework) {
        return null;
      }
      const format = model.model_format ? ` (${model.model_format.replace(/_/g, " ")})` : "";
      return `${model.framework}${format}`;
    };
    const input = describe(request.input_model);
    const optimized = describe(request.optimized_model);
    if (!input && !optimized) {
      return null;
    }

    return input === optimized ? input : `${input || "?"} → ${optimized || "?"}`;
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
      ["Iterations", request.iterations === null && request.duration ? "—" : pick("iterations")],
      ["Duration", formatSeconds(request.duration)],
      ["Warmup duration", formatSeconds(request.warmup_duration)],
      ["Max duration", formatSeconds(request.max_duration)],
      ["Rounds", request.rounds],
    ];
    const shapes = request.input_shapes || {};
    if (Object.keys(shapes).length) {
      facts.push([
        "Input shapes",
        Object.entries(shapes)
          .map(([name, shape]) => `${name}=${formatShape(shape)}`)
          .join("; "),
      ]);
    }
    if (request.dataset && request.dataset.path) {
      facts.push(["Dataset", request.dataset.path]);
      facts.push(["Accuracy metric", accuracyMetric(run)]);
    }
    facts.push(["Framework", frameworkFact(request) || details.framework]);
    for (const model of MODELS) {
      const signature = request[model.key] && request[model.key].signature;
      if (signature) {
        facts.push([`${model.label} signature`, signature]);
      }
    }
    fillFacts($("run-settings"), facts);

    const environment = run.environment;
    const note = $("run-machine-note");
    if (environment) {
      fillFacts($("run-machine"), environmentFacts(environment));
      note.hidden = true;
    } else {
      fillFacts($("run-machine"), state.systemInfo ? machineFacts(state.systemInfo) : []);
      note.hidden = !TERMINAL.has(run.status) || !state.systemInfo;
      note.textContent = "This server's machine now: the run recorded none of its own.";
    }
  }

  function renderReproduce(run) {
    const environment = run.environment || {};
    // Two steps of one command (the same model twice, say) share one entry.
    const labels = new Map();
    for (const step of stepsOf(run)) {
      const command = step.details && (step.details.rerun_command || step.details.command);
      if (command) {
        const name = `${step.model.label} · ${step.mode}`;
        labels.set(command, (labels.get(command) || []).concat(name));
      }
    }
    const commands = [...labels].map(([command, names]) => [names.join(", "), command]);
    $("run-reproduce").hidden = !(run.environment || commands.length);

    const variables = Object.entries(environment.variables || {});
    const facts = environmentFacts(environment);
    facts.push([
      "Variables",
      variables.length
        ? variables.map(([name, value]) => `${name}=${value}`).join("\n")
        : "none set",
    ]);
    fillFacts($("run-environment"), facts);

    const list = $("run-commands");
    list.replaceChildren();
    for (const [label, command] of commands) {
      const item = element("li");
      item.append(element("p", "command-label", label), commandBlock(command));
      list.append(item);
    }
    if (!commands.length) {
      list.append(element("li", "muted", "No step has run yet."));
    }
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
      const verdict = run.verdict;
      if (verdict && verdict.valid === false) {
        meta.append(element("span", "chip chip-invalid", "invalid"));
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
    for (const box of document.querySelectorAll("[data-accuracy-for]")) {
      box.addEventListener("change", showAccuracyFields);
    }
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
    showAccuracyFields();
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
