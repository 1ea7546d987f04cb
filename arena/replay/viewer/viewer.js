/* The arena replay viewer: plain JavaScript, no build step, nothing fetched beyond this page's own server.
   Without ?replay= the page lists the served folder's replays; with ?replay=NAME it plays that replay.
   window.arenaViewer is a small hook for tests and the console:
     ready, mode ("listing" | "replay"), frame, numFrames, playing, speed, fog (null or a player), errors, lastError,
     setFrame(f), step(delta), play(), pause(), togglePlay(), setSpeed(s), toggleFog(player), setView("map" | player),
     toggleHeat(player), unitCanvasPosition(slot), drawnSlots(). */
"use strict";

(() => {
  const APM_WINDOW_SECONDS = 60;  // APM over the last minute of game time...
  const APM_MIN_SECONDS = 5;  // ...but never over less than 5 s, so a game's first action is not 1000 APM
  const DEFAULT_LOOPS_PER_SECOND = 22.4;  // "faster" speed (pysc2)
  const WORKER_NAMES = new Set(["scv", "drone", "probe"]);  // lower case: the recorder writes "Scv"
  const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

  const viewer = {
    ready: false, mode: null, frame: 0, numFrames: 0, playing: false, speed: 1, fog: null, errors: [],
    lastError: null, replay: null, drawn: [],
    setFrame, step, play, pause, togglePlay, toggleFog, setView, toggleHeat,
    unitCanvasPosition, drawnSlots: () => viewer.drawn.map((unit) => unit.slot),
  };
  window.arenaViewer = viewer;

  const MAX_ZOOM = 16;
  const show = {view: "map", zoom: 1, centre: null, fog: null, orders: true, cameras: true, actions: true, heat: []};
  let model = null;
  let charts = [];
  let lastView = null;
  let playClock = {loop: 0, time: 0};

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "class") node.className = value; else node.setAttribute(key, value);
    }
    for (const child of [].concat(children)) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function dpr() { return window.devicePixelRatio || 1; }

  /* ---- errors: always shown in the page ---- */

  function recordError(message) {
    viewer.lastError = message;
    viewer.errors.push(message);
    const box = $("error");
    box.textContent = box.textContent ? `${box.textContent}\n${message}` : message;
    box.hidden = false;
  }

  window.addEventListener("error", (event) => recordError(`viewer error: ${event.message}`));
  window.addEventListener("unhandledrejection", (event) =>
    recordError(`viewer error: ${event.reason && event.reason.message ? event.reason.message : event.reason}`));

  async function fetchJson(url) {
    let response;
    try {
      response = await fetch(url, {cache: "no-store"});
    } catch (error) {
      throw new Error(`cannot reach the replay server (${error.message}): is "arena replay" still running?`);
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new Error(`${url}: the server answered HTTP ${response.status} without JSON`);
    }
    if (!response.ok) {
      throw new Error(body.file ? `${body.file}: ${body.error}` : body.error || `${url}: HTTP ${response.status}`);
    }
    return body;
  }

  /* ---- outcome words ---- */

  function resultText(outcome, player, numPlayers) {
    const result = outcome && outcome.result ? outcome.result[player] : undefined;
    if (result === undefined || result === null) return "unfinished";
    if (numPlayers === 1) return `score ${ArenaRender.formatNumber(result)}`;
    return result > 0 ? "win" : result < 0 ? "loss" : "draw";
  }

  function outcomeText(outcome, players) {
    if (!outcome || !Array.isArray(outcome.result) || outcome.result.length === 0) return "unfinished";
    const ended = {truncated: " (time limit)", stopped: " (stopped early)"}[outcome.ended] || "";
    if (players.length <= 1) return `${resultText(outcome, 0, 1)}${ended}`;
    const winner = outcome.result.findIndex((result) => result > 0);
    return (winner >= 0 ? `${players[winner] || `player ${winner + 1}`} (P${winner + 1}) wins` : "draw") + ended;
  }

  /* ---- the listing ---- */

  async function showListing() {
    viewer.mode = "listing";
    const listing = await fetchJson("api/replays");
    $("folder").textContent = listing.folder;
    document.title = `Replays - ${listing.folder}`;
    const body = document.querySelector("#replays tbody");
    for (const entry of listing.replays) body.append(listingRow(entry));
    $("empty").hidden = listing.replays.length > 0;
    $("listing").hidden = false;
  }

  function listingRow(entry) {
    const link = el("a", {href: `?replay=${encodeURIComponent(entry.name)}`}, entry.name);
    if (entry.error) {
      const problem = el("td", {colspan: "5"}, `cannot be read: ${entry.error}`);
      return el("tr", {class: "broken"}, [el("td", {}, link), problem]);
    }
    const players = entry.players || [];
    const outcome = entry.outcome || {};
    const cells = [entry.scenario, players.join(" vs "), outcomeText(outcome, players), outcome.steps ?? "?",
      entry.seed ?? "?"];
    return el("tr", {}, [el("td", {}, link), ...cells.map((cell) => el("td", {}, cell))]);
  }

  /* ---- the replay model: the JSON document with lookups ---- */

  function describeType(id, info) {
    info = info || {};
    const name = info.name || `unit type ${id}`;
    let kind = "unit";
    if (info.structure) kind = "structure";
    if (/mineral/i.test(name)) kind = "mineral";
    else if (/vespene|geyser/i.test(name)) kind = "geyser";
    else if (/beacon/i.test(name)) kind = "beacon";
    else if (info.worker || WORKER_NAMES.has(name.toLowerCase())) kind = "worker";
    return {name, kind, radius: Number(info.radius) || 0.5, sight: Number(info.sight) || 0,
      maxHp: Number(info.max_hp) || 0, maxShields: Number(info.max_shields) || 0};
  }

  /** Game loops per frame, increasing (a replay whose loops do not increase gets step_mul loops a frame). */
  function frameLoops(gameLoop, numFrames, stepMul) {
    const loops = Array.isArray(gameLoop) ? gameLoop.map(Number) : [];
    const increasing = loops.length === numFrames && loops.every((loop, f) => f === 0 || loop >= loops[f - 1]);
    if (increasing && loops[numFrames - 1] > loops[0]) return loops;
    return Array.from({length: numFrames}, (_, f) => f * (stepMul || 8));
  }

  /** [F]: non-no_op actions per minute over the trailing window; action t counts from frame t + 1 on. */
  function apmSeries(actions, loops, player, loopsPerSecond) {
    const window = APM_WINDOW_SECONDS * loopsPerSecond, floor = APM_MIN_SECONDS * loopsPerSecond;
    const series = new Array(loops.length).fill(0);
    let count = 0, oldest = 0;
    for (let f = 1; f < loops.length; f++) {
      if (actions[f - 1][player][0] !== 0) count++;
      while (oldest < f && loops[oldest] <= loops[f] - window) {
        if (actions[oldest][player][0] !== 0) count--;
        oldest++;
      }
      const span = Math.max(Math.min(window, loops[f] - loops[0]), floor);
      series[f] = count * 60 * loopsPerSecond / span;
    }
    return series;
  }

  function cumulative(values) {
    let total = 0;
    return values.map((value) => (total += Number(value) || 0));
  }

  function column(frames, name, numFrames) {
    const values = frames[name];
    return Array.isArray(values) && values.length === numFrames ? values : null;
  }

  function prepareReplay(doc) {
    const header = doc.header || {}, frames = doc.frames || {}, offsets = doc.frame_offsets || [];
    const numFrames = offsets.length - 1;
    if (!(numFrames >= 1)) throw new Error(`${doc.name}: the replay holds no frames`);
    for (const name of ["slot", "type", "owner", "x", "y"]) {
      if (!doc.units || !Array.isArray(doc.units[name])) {
        throw new Error(`${doc.name}: the units have no ${name} column`);
      }
    }
    const actions = doc.actions || [];
    const players = header.players || [];
    const numPlayers = actions.length ? actions[0].length : Math.max(players.length, 1);
    const map = header.map || {}, iface = header.interface || {};
    const width = Number(map.width) || 64, height = Number(map.height) || 64;
    const loopsPerSecond = Number(header.game_loops_per_second) || DEFAULT_LOOPS_PER_SECOND;
    const camera = column(frames, "camera", numFrames);
    const explanations = doc.explanations || {};
    const types = new Map(Object.entries(header.unit_types || {})
      .map(([id, info]) => [Number(id), describeType(id, info)]));
    const m = {
      name: doc.name, header, outcome: doc.outcome || {}, numFrames, numSteps: actions.length, numPlayers,
      width, height, cellsX: Math.ceil(width), cellsY: Math.ceil(height),
      playable: Array.isArray(map.playable) && map.playable.length === 4 ? map.playable.map(Number)
        : [0, 0, width, height],
      cameraWidth: Number(iface.camera_width) || 24, screenSize: Number(iface.screen_size) || 64,
      minimapSize: Number(iface.minimap_size) || 64, loopsPerSecond,
      loops: frameLoops(frames.game_loop, numFrames, header.step_mul), actions,
      actionFields: doc.action_fields || [], functions: doc.functions || {}, actionResults: doc.action_results || {},
      frames, units: doc.units, offsets, explanations, hasCamera: camera !== null,
      hasHeatmap: Array.isArray(explanations.heatmap), hasExplanations: Object.keys(explanations).length > 0,
      playerName: (p) => (players[p] && players[p].name) || `player ${p + 1}`,
      typeInfo: (type) => types.get(type) || describeType(type, null),
      camera: (f, p) => (camera && camera[f] && camera[f][p]) || [(m.playable[0] + m.playable[2]) / 2,
        (m.playable[1] + m.playable[3]) / 2],
    };
    m.frameUnits = memoLast((f) => frameUnits(m, f));
    m.actionPoints = (f, p) => actionPoints(m, f, p);
    m.fogCaption = (p) => fogCaption(m, p);
    m.apm = range(numPlayers).map((p) => apmSeries(actions, m.loops, p, loopsPerSecond));
    const reward = column(frames, "reward", numFrames);
    m.cumulativeReward = range(numPlayers).map((p) =>
      cumulative(reward ? reward.map((row) => row[p]) : new Array(numFrames).fill(0)));
    return m;
  }

  function range(n) { return Array.from({length: n}, (_, i) => i); }

  function memoLast(compute) {
    let key = null, value = null;
    return (argument) => {
      if (argument !== key) { value = compute(argument); key = argument; }
      return value;
    };
  }

  function frameUnits(m, f) {
    const u = m.units, units = [];
    const get = (name, i, fallback) => (u[name] ? u[name][i] : fallback);
    for (let i = m.offsets[f]; i < m.offsets[f + 1]; i++) {
      units.push({slot: u.slot[i], type: u.type[i], owner: u.owner[i], x: u.x[i], y: u.y[i], hp: get("hp", i, 0),
        shields: get("shields", i, 0), order: get("order", i, 0), target: get("target", i, -1),
        orderX: get("order_x", i, 0), orderY: get("order_y", i, 0), build: get("build", i, 255),
        selected: get("selected", i, 0), visible: get("visible", i, 255)});
    }
    return units;
  }

  function actionValue(m, f, p, name) {
    const index = m.actionFields.indexOf(name);
    return index >= 0 ? m.actions[f][p][index] : undefined;
  }

  function describeFunction(m, id) {
    return m.functions[String(id)] || {name: `function ${id}`, arguments: []};
  }

  /** "Move_screen(queued=0, screen=(12, 30))" */
  function actionText(m, f, p) {
    if (f >= m.numSteps) return "\u2014 (the last frame)";
    const fn = describeFunction(m, m.actions[f][p][0]);
    const args = fn.arguments.map(([argument, columns]) => {
      const values = columns.map((name) => actionValue(m, f, p, name));
      return `${argument}=${values.length > 1 ? `(${values.join(", ")})` : values[0]}`;
    });
    return `${fn.name}(${args.join(", ")})`;
  }

  /** The map points of player p's action at frame f: [] none, [point] or [corner, corner] for select_rect. */
  function actionPoints(m, f, p) {
    if (f >= m.numSteps || !m.hasCamera) return [];
    const fn = describeFunction(m, m.actions[f][p][0]);
    const names = fn.arguments.map(([argument]) => argument);
    const cam = m.camera(f, p);
    const point = (x, y) => ArenaRender.screenToWorld(m, cam, actionValue(m, f, p, x), actionValue(m, f, p, y));
    if (names.includes("screen2")) return [point("screen_x", "screen_y"), point("screen2_x", "screen2_y")];
    if (names.includes("screen")) return [point("screen_x", "screen_y")];
    if (names.includes("minimap")) {
      return [ArenaRender.minimapToWorld(m, actionValue(m, f, p, "minimap_x"), actionValue(m, f, p, "minimap_y"))];
    }
    return [];
  }

  function fogCaption(m, p) {
    const limits = m.header.limits;
    const fogless = (limits && limits.fog === false) || m.header.fog === false;
    const noFog = fogless ? " (this game had no fog: it saw every unit)" : "";
    return `what P${p + 1} ${m.playerName(p)} saw${noFog}`;
  }

  /* ---- the replay page ---- */

  async function showReplay(name) {
    viewer.mode = "replay";
    const doc = await fetchJson(`api/replay?name=${encodeURIComponent(name)}`);
    model = prepareReplay(doc);
    viewer.replay = model;
    viewer.numFrames = model.numFrames;
    show.heat = range(model.numPlayers).map(() => false);
    buildPage(model);
    $("viewer").hidden = false;
    $("keys").hidden = false;
    resizeCanvases();
    setFrame(0);
  }

  function buildPage(m) {
    const scenario = m.header.scenario || {};
    const players = range(m.numPlayers).map((p) => m.playerName(p));
    $("title").textContent = `${scenario.name || scenario.id || "?"} \u2014 ${players.join(" vs ")} \u2014 ${m.name}`;
    document.title = `${scenario.name || "Replay"}: ${players.join(" vs ")}`;
    $("scrub").max = String(m.numFrames - 1);
    const viewSelect = $("view");
    viewSelect.append(el("option", {value: "map"}, "whole map"));
    if (m.hasCamera) {
      for (const p of range(m.numPlayers)) viewSelect.append(el("option", {value: String(p)}, `P${p + 1} camera`));
    }
    $("summary").append(summaryList(m));
    for (const p of range(m.numPlayers)) $("players").append(playerCard(m, p));
    buildCharts(m);
    wireControls();
  }

  function summaryList(m) {
    const h = m.header, o = m.outcome, scenario = h.scenario || {};
    const seconds = (m.loops[m.numFrames - 1] - m.loops[0]) / m.loopsPerSecond;
    const rows = [
      ["scenario", `${scenario.id || scenario.name || "?"}`],
      ["outcome", outcomeText(o, range(m.numPlayers).map((p) => m.playerName(p)))],
      ["length", `${m.numSteps} steps, ${o.game_loops ?? m.loops[m.numFrames - 1]} game loops, ${clockText(seconds)}`],
      ["seed", `${h.seed ?? "?"}, step_mul ${h.step_mul ?? "?"}`],
      ["engine", `${h.engine_version ?? "?"}`],
    ];
    if (h.limits) rows.push(["limits", limitsText(h.limits, m.loopsPerSecond)]);
    return el("dl", {}, rows.flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]));
  }

  function limitsText(limits, loopsPerSecond) {
    const caps = (limits.apm_caps || []).map(([actions, loops]) =>
      `${actions} actions / ${ArenaRender.formatNumber(loops / loopsPerSecond)} s`);
    return [caps.length ? `APM caps ${caps.join(", ")}` : "no APM cap", `delay ${limits.delay_loops ?? 0} loops`,
      limits.fog === false ? "no fog" : "fog"].join("; ");
  }

  function clockText(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function playerCard(m, p) {
    const colour = ArenaRender.PLAYER_COLOURS[p] || "#fff";
    const result = resultText(m.outcome, p, m.numPlayers);
    const fog = el("input", {type: "checkbox", id: `fog-${p}`});
    fog.addEventListener("change", () => toggleFog(p));
    const toggles = [el("label", {title: "hide what this player did not see"}, [fog, " fog: what it saw"])];
    if (m.hasHeatmap) {
      const heat = el("input", {type: "checkbox", id: `heat-${p}`});
      heat.addEventListener("change", () => toggleHeat(p));
      toggles.push(el("label", {title: "the policy's spatial argument over its camera"}, [heat, " heat map"]));
    }
    return el("div", {class: "player", id: `player-${p}`}, [
      el("h2", {}, [el("span", {class: "chip", style: `background:${colour}`}), `P${p + 1} ${m.playerName(p)}`,
        el("span", {class: `result ${result === "win" ? "win" : result === "loss" ? "loss" : ""}`}, result)]),
      el("div", {class: "stats", id: `stats-${p}`}),
      el("div", {class: "action", id: `action-${p}`}),
      el("div", {class: "explain", id: `explain-${p}`}),
      el("div", {class: "toggles"}, toggles),
    ]);
  }

  function buildCharts(m) {
    const specs = [["APM (non-no_op actions per minute)", m.apm], ["Score", seriesOf(m.frames.score, m)],
      ["Reward (cumulative)", m.cumulativeReward]];
    if (Array.isArray(m.explanations.value)) specs.push(["Value estimate", seriesOf(m.explanations.value, m)]);
    charts = specs.filter(([, series]) => series !== null).map(([title, series]) => {
      const canvas = el("canvas", {"aria-label": title});
      $("charts").append(el("div", {class: "chart"}, [el("h3", {}, title), canvas]));
      const seek = (event) => {
        const box = canvas.getBoundingClientRect();
        setFrame(Math.round((event.clientX - box.left) / box.width * (m.numFrames - 1)));
      };
      canvas.addEventListener("mousedown", seek);
      canvas.addEventListener("mousemove", (event) => { if (event.buttons & 1) seek(event); });
      return {canvas, series, image: null};
    });
  }

  function seriesOf(values, m) {
    if (!Array.isArray(values) || values.length !== m.numFrames) return null;
    return range(m.numPlayers).map((p) => values.map((row) => (row[p] === null ? null : Number(row[p]))));
  }

  function wireControls() {
    const click = (id, action) => $(id).addEventListener("click", (event) => { action(); event.currentTarget.blur(); });
    click("play", togglePlay);
    click("step-back", () => { pause(); step(-1); });
    click("step-forward", () => { pause(); step(1); });
    $("scrub").addEventListener("input", (event) => setFrame(Number(event.target.value)));
    $("speed").addEventListener("change", (event) => setSpeed(Number(event.target.value)));
    $("view").addEventListener("change", (event) => setView(event.target.value));
    for (const name of ["orders", "cameras", "actions"]) {
      $(`show-${name}`).addEventListener("change", (event) => { show[name] = event.target.checked; render(); });
    }
    wirePanAndZoom($("map"), $("minimap"));
    document.addEventListener("keydown", onKey);
    document.addEventListener("keyup", (event) => { if (event.key === " ") event.preventDefault(); });
    window.addEventListener("resize", () => { resizeCanvases(); render(); });
  }

  /** Canvas CSS pixels of a mouse event -> canvas pixels. */
  function canvasPoint(canvas, event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height];
  }

  /** The whole-map view zooms with the wheel around the pointer, pans by dragging, and shows all on a double
      click; a click on the minimap centres it there. */
  function wirePanAndZoom(map, minimap) {
    map.addEventListener("wheel", (event) => {
      if (show.view !== "map" || !lastView) return;
      event.preventDefault();
      const point = ArenaRender.unproject(lastView, ...canvasPoint(map, event));
      const zoom = Math.max(1, Math.min(MAX_ZOOM, show.zoom * Math.pow(1.2, -event.deltaY / 100)));
      const centre = ArenaRender.unproject(lastView, map.width / 2, map.height / 2);
      const keep = show.zoom / zoom;  // the point under the pointer stays there
      show.centre = zoom > 1 ? [point[0] + (centre[0] - point[0]) * keep, point[1] + (centre[1] - point[1]) * keep]
        : null;
      show.zoom = zoom;
      render();
    }, {passive: false});
    let drag = null;
    map.addEventListener("mousedown", (event) => {
      drag = show.view === "map" && show.zoom > 1 ? canvasPoint(map, event) : null;
    });
    window.addEventListener("mouseup", () => { drag = null; });
    map.addEventListener("mousemove", (event) => {
      if (!drag || !(event.buttons & 1)) return;
      const [x, y] = canvasPoint(map, event);
      const centre = ArenaRender.unproject(lastView, map.width / 2 - (x - drag[0]), map.height / 2 - (y - drag[1]));
      show.centre = centre;
      drag = [x, y];
      render();
    });
    map.addEventListener("dblclick", () => { show.zoom = 1; show.centre = null; render(); });
    minimap.addEventListener("mousedown", (event) => {
      if (show.view !== "map" || !model) return;
      const [x, y] = canvasPoint(minimap, event);
      const view = ArenaRender.fitView([0, 0, model.width, model.height], minimap.width, minimap.height);
      show.centre = ArenaRender.unproject(view, x, y);
      show.zoom = Math.max(show.zoom, 2);
      render();
    });
  }

  function onKey(event) {
    if (!model || event.altKey || event.ctrlKey || event.metaKey || event.target instanceof HTMLSelectElement) return;
    if (event.key === " ") {
      event.preventDefault();  // no page scroll, no click of a focused button
      if (!event.repeat) togglePlay();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();  // the slider would move a second time
      pause();
      step(event.key === "ArrowLeft" ? -1 : 1);
    }
  }

  function resizeCanvases() {
    const ratio = dpr();
    for (const canvas of [$("map"), $("minimap"), ...charts.map((chart) => chart.canvas)]) {
      canvas.width = Math.max(1, Math.round(canvas.clientWidth * ratio));
      canvas.height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    }
    for (const chart of charts) {
      chart.image = ArenaRender.chartImage(chart.series, chart.canvas.width, chart.canvas.height, ratio);
    }
  }

  /* ---- per-frame updates ---- */

  function render() {
    if (!model) return;
    const f = viewer.frame, ratio = dpr();
    const result = ArenaRender.drawMap($("map").getContext("2d"), model, f, show, ratio);
    viewer.drawn = result.drawn;
    lastView = result.view;
    ArenaRender.drawMinimap($("minimap").getContext("2d"), model, f, show, ratio);
    for (const chart of charts) ArenaRender.drawChart(chart.canvas.getContext("2d"), chart.image, f, ratio);
    $("scrub").value = String(f);
    const seconds = (model.loops[f] - model.loops[0]) / model.loopsPerSecond;
    $("clock").textContent =
      `frame ${f} / ${model.numFrames - 1} \u00b7 loop ${model.loops[f]} \u00b7 ${clockText(seconds)}`;
    $("play").innerHTML = viewer.playing ? "&#10074;&#10074;" : "&#9654;";
    for (const p of range(model.numPlayers)) updatePlayer(model, f, p);
  }

  function frameValue(m, name, f, p) {
    const values = column(m.frames, name, m.numFrames);
    return values && values[f] ? values[f][p] : undefined;
  }

  function updatePlayer(m, f, p) {
    const fmt = ArenaRender.formatNumber;
    const stats = [["score", fmt(frameValue(m, "score", f, p))],
      ["reward", `${fmt(frameValue(m, "reward", f, p))} (total ${fmt(m.cumulativeReward[p][f] ?? 0)})`],
      ["APM", fmt(m.apm[p][f])]];
    const minerals = frameValue(m, "minerals", f, p), vespene = frameValue(m, "vespene", f, p);
    if (minerals || vespene) stats.push(["resources", `${fmt(minerals)} minerals, ${fmt(vespene)} gas`]);
    const supply = frameValue(m, "supply", f, p);
    if (supply && supply[1] > 0) stats.push(["supply", `${fmt(supply[0])} / ${fmt(supply[1])}`]);
    const windowCount = frameValue(m, "apm_window", f, p);
    if (m.header.limits && windowCount !== undefined) stats.push(["APM cap window", fmt(windowCount)]);
    const code = frameValue(m, "action_result", f, p);
    if (code) stats.push(["last action", m.actionResults[String(code)] || `result ${code}`]);
    $(`stats-${p}`).replaceChildren(...stats.flatMap(([key, value]) => [el("span", {}, key), el("span", {}, value)]));
    $(`action-${p}`).textContent = `action: ${actionText(m, f, p)}`;
    $(`explain-${p}`).replaceChildren(...explanationNodes(m, f, p));
  }

  function explanationNodes(m, f, p) {
    const e = m.explanations, nodes = [];
    if (Array.isArray(e.value)) nodes.push(el("div", {}, `value estimate: ${ArenaRender.formatNumber(e.value[f][p])}`));
    if (!Array.isArray(e.top_functions) || !Array.isArray(e.top_probs)) return nodes;
    const colour = ArenaRender.PLAYER_COLOURS[p] || "#fff";
    const bars = e.top_functions[f][p].map((id, k) => [id, e.top_probs[f][p][k]]).filter(([id]) => id >= 0)
      .map(([id, prob]) => el("div", {class: "bar"}, [el("span", {class: "name"}, describeFunction(m, id).name),
        el("span", {class: "track"}, el("span", {class: "fill",
          style: `width:${(100 * (prob || 0)).toFixed(1)}%;background:${colour}`})),
        el("span", {class: "p"}, `${Math.round(100 * (prob || 0))}%`)]));
    nodes.push(el("div", {class: "bars"}, bars));
    return nodes;
  }

  /* ---- the hook's actions ---- */

  function setFrame(f) {
    if (!model) return;
    const frame = Math.max(0, Math.min(model.numFrames - 1, Math.round(Number(f)) || 0));
    viewer.frame = frame;
    playClock = {loop: model.loops[frame], time: performance.now()};
    render();
  }

  function step(delta) { setFrame(viewer.frame + delta); }

  function play() {
    if (!model || viewer.playing) return;
    if (viewer.frame >= model.numFrames - 1) viewer.frame = 0;
    viewer.playing = true;
    playClock = {loop: model.loops[viewer.frame], time: performance.now()};
    render();
    requestAnimationFrame(tick);
  }

  function pause() {
    if (!viewer.playing) return;
    viewer.playing = false;
    render();
  }

  function togglePlay() { if (viewer.playing) pause(); else play(); }

  function tick(now) {
    if (!viewer.playing || !model) return;
    const loop = playClock.loop + Math.max(0, now - playClock.time) / 1000 * model.loopsPerSecond * viewer.speed;
    let f = viewer.frame;
    while (f + 1 < model.numFrames && model.loops[f + 1] <= loop) f++;
    if (f !== viewer.frame) {
      viewer.frame = f;
      render();
    }
    if (f >= model.numFrames - 1) { pause(); return; }
    requestAnimationFrame(tick);
  }

  function setSpeed(speed) {
    if (!SPEEDS.includes(speed)) throw new Error(`speed ${speed} is not one of ${SPEEDS.join(", ")}`);
    playClock = {loop: model ? model.loops[viewer.frame] : 0, time: performance.now()};
    viewer.speed = speed;
    $("speed").value = String(speed);
  }
  viewer.setSpeed = setSpeed;

  function toggleFog(player) {
    if (!model) return;
    if (!(player >= 0 && player < model.numPlayers)) {
      throw new Error(`no player ${player}: the replay has ${model.numPlayers}`);
    }
    show.fog = show.fog === player ? null : player;
    viewer.fog = show.fog;
    for (const p of range(model.numPlayers)) $(`fog-${p}`).checked = show.fog === p;
    render();
  }

  function toggleHeat(player) {
    if (!model || !model.hasHeatmap) return;
    show.heat[player] = !show.heat[player];
    $(`heat-${player}`).checked = show.heat[player];
    render();
  }

  function setView(view) {
    show.view = view === "map" ? "map" : Number(view);
    $("view").value = String(view);
    render();
  }

  /** Where a unit of this frame is on the main canvas (canvas pixels), and whether it is drawn (fog hides some). */
  function unitCanvasPosition(slot) {
    if (!model || !lastView) return null;
    const unit = model.frameUnits(viewer.frame).find((u) => u.slot === slot);
    if (!unit) return null;
    const [x, y] = ArenaRender.project(lastView, unit.x, unit.y);
    const drawn = viewer.drawn.find((d) => d.slot === slot);
    return {x, y, radius: drawn ? drawn.radius : 0, drawn: Boolean(drawn)};
  }

  /* ---- start ---- */

  async function main() {
    const name = new URLSearchParams(location.search).get("replay");
    $("loading").hidden = false;
    try {
      if (name === null) await showListing(); else await showReplay(name);
    } catch (error) {
      recordError(error && error.message ? error.message : String(error));
    } finally {
      $("loading").hidden = true;
      viewer.ready = true;
    }
  }

  main();
})();
