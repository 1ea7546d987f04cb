/* The league's page: plain JavaScript, no build step, nothing fetched beyond this page's own server.
   Every few seconds it asks api/league for the league's state and redraws; an error (a damaged store, a server that
   went away) shows in the error panel and the page keeps asking. window.arenaLeague is its state, for tests. */
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(200, Number(params.get("poll")) || 2000);
  const COLORS = ["#3d8bfd", "#f0483e", "#4caf50", "#ffb300", "#ab47bc", "#26c6da", "#ff7043", "#9ccc65",
                  "#ec407a", "#8d6e63", "#78909c", "#d4e157"];
  const SVG = "http://www.w3.org/2000/svg";
  const state = { ready: false, updates: 0, lastDocument: null, lastError: null, curvePlayer: null,
                  curveChosen: false };
  window.arenaLeague = state;

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function svgEl(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    return node;
  }

  const fmt = {
    int: (v) => (v === null || v === undefined ? "-" : Math.round(v).toLocaleString("en-US")),
    num: (v, digits = 2) => (v === null || v === undefined || !isFinite(v) ? "-" : Number(v).toFixed(digits)),
    time: (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "-"),
    minutes: (seconds) => (seconds / 60).toFixed(1) + " min",
  };

  function colorOf(names, name) {
    const index = names.indexOf(name);
    return COLORS[(index < 0 ? 0 : index) % COLORS.length];
  }

  function showError(message) {
    const box = $("error");
    box.hidden = !message;
    box.textContent = message || "";
  }

  // ---- the panels ----
  function drawHeader(doc) {
    const league = doc.league, stats = doc.stats || {};
    $("title").textContent = `Arena league: ${league.scenario}, ${league.kind}`;
    $("summary").textContent = `${doc.folder} · ${fmt.int(stats.matches || 0)} matches · ` +
      `${fmt.int(stats.games || 0)} games · ${fmt.int(stats.agent_steps || 0)} agent steps · ` +
      `${fmt.minutes(stats.match_seconds || 0)} of play`;
    const badge = $("state");
    badge.textContent = doc.running ? "running" : "stopped";
    badge.className = "badge " + (doc.running ? "running" : "stopped");
  }

  function evaluationCell(record) {
    if (!record) return el("td", { text: "-" });
    return el("td", { text: `${fmt.num(record.win_rate)} (${record.games})`,
                      title: `${record.wins} won, ${record.draws} drawn, ${record.losses} lost after match ` +
                             `${record.match}, at ${fmt.int(record.steps)} steps` });
  }

  function drawPlayers(doc) {
    const body = $("players").tBodies[0];
    body.replaceChildren();
    for (const p of doc.players) {
      const interval = p.elo_all_games;
      const skill = p.trueskill;
      const row = el("tr", { "data-player": p.name },
        el("td", { text: p.name }), el("td", { text: p.learning ? p.role.replace(/_/g, " ") : `snapshot of ${p.parent}` }),
        el("td", { text: fmt.int(p.steps), "data-field": "steps" }),
        el("td", { text: p.learning ? String(p.snapshots) : "-" }), el("td", { text: p.learning ? String(p.resets) : "-" }),
        el("td", { text: p.elo === null ? "-" : fmt.int(p.elo), "data-field": "elo" }),
        el("td", { text: interval ? `${fmt.int(interval.elo)} [${fmt.int(interval.low)}, ${fmt.int(interval.high)}]` : "-" }),
        el("td", { text: skill ? `${fmt.num(skill.mu, 1)} ± ${fmt.num(skill.sigma, 1)}` : "-" }),
        evaluationCell(p.vs_random), evaluationCell(p.vs_scripted));
      body.append(row);
    }
  }

  function heat(rate) {  // 0 red, 0.5 grey, 1 green
    const t = Math.max(0, Math.min(1, rate));
    const r = Math.round(t < 0.5 ? 230 : 230 - (t - 0.5) * 2 * 150);
    const g = Math.round(t < 0.5 ? 80 + t * 2 * 120 : 200);
    const b = Math.round(t < 0.5 ? 80 + t * 2 * 80 : 160 - (t - 0.5) * 2 * 60);
    return `rgb(${r},${g},${b})`;
  }

  function drawPayoff(doc) {
    const table = $("payoff");
    const { names, win_rate: rates, games } = doc.payoff;
    const head = el("tr", {}, el("th", { text: "" }));
    for (const name of names) head.append(el("th", { class: "col", text: name }));
    const rows = [el("thead", {}, head)];
    const body = el("tbody");
    names.forEach((home, i) => {
      const row = el("tr", {}, el("th", { text: home }));
      names.forEach((away, j) => {
        const rate = rates[i][j];
        const cell = rate === null
          ? el("td", { class: "empty", text: "", title: i === j ? home : `${home} has not played ${away}` })
          : el("td", { text: rate.toFixed(2), style: `background:${heat(rate)}`,
                       title: `${home} vs ${away}: ${rate.toFixed(3)} over ${games[i][j].toFixed(1)} decayed games` });
        cell.dataset.home = home;
        cell.dataset.away = away;
        row.append(cell);
      });
      body.append(row);
    });
    rows.push(body);
    table.replaceChildren(...rows);
  }

  function drawMatchmaking(doc) {
    const box = $("matchmaking");
    box.replaceChildren();
    for (const [name, mm] of Object.entries(doc.matchmaking)) {
      box.append(el("h3", { class: "muted", text: name }));
      if (mm.error) { box.append(el("p", { class: "muted", text: mm.error })); continue; }
      for (const choice of mm.choices) {
        box.append(el("div", { class: "bar" },
          el("span", { class: "label", text: `${choice.opponent} (${choice.branch.replace(/_/g, " ")})` }),
          el("span", { class: "fill", style: `width:${Math.max(2, choice.probability * 240)}px` }),
          el("span", { text: `${(100 * choice.probability).toFixed(1)} %` })));
      }
    }
    const list = $("in-flight");
    list.replaceChildren();
    const flight = doc.in_flight;
    if (!flight.running) list.append(el("li", { class: "muted", text: "none: the league is not running" }));
    else if (!flight.matches.length) list.append(el("li", { class: "muted", text: "none right now (between matches)" }));
    for (const m of flight.matches) {
      const seconds = Math.max(0, doc.time - m.started);
      list.append(el("li", { text: `${m.home} vs ${m.away} (${m.branch.replace(/_/g, " ")}), ` +
                                   `for ${seconds.toFixed(0)} s` }));
    }
  }

  function tick(value, span, digits) {  // enough digits to tell the ticks apart
    const needed = span > 0 ? Math.max(digits, Math.ceil(-Math.log10(span)) + 1) : digits;
    return Math.abs(value) >= 1e4 ? value.toExponential(2) : value.toFixed(Math.min(needed, 6));
  }

  // A line chart: series {name: [[x, y], ...]}, vertical markers [{x, kind, label}].
  function lineChart(svg, series, colors, { markers = [], xLabel = (x) => x, yDigits = 0 } = {}) {
    svg.replaceChildren();
    const width = svg.clientWidth || 420, height = svg.clientHeight || 200;
    const pad = { left: 44, right: 8, top: 8, bottom: 18 };
    const points = Object.values(series).flat();
    if (!points.length) {
      svg.append(Object.assign(svgEl("text", { x: pad.left, y: height / 2 }), { textContent: "no data yet" }));
      return;
    }
    let [x0, x1] = [Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0]))];
    let [y0, y1] = [Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1]))];
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    const margin = (y1 - y0) * 0.05;
    y0 -= margin; y1 += margin;
    const sx = (x) => pad.left + (x - x0) / (x1 - x0) * (width - pad.left - pad.right);
    const sy = (y) => height - pad.bottom - (y - y0) / (y1 - y0) * (height - pad.top - pad.bottom);
    for (const value of [y0 + margin, (y0 + y1) / 2, y1 - margin]) {
      svg.append(svgEl("line", { x1: pad.left, x2: width - pad.right, y1: sy(value), y2: sy(value),
                                 stroke: "#2c333e" }));
      svg.append(Object.assign(svgEl("text", { x: 2, y: sy(value) + 3 }), { textContent: tick(value, y1 - y0, yDigits) }));
    }
    svg.append(Object.assign(svgEl("text", { x: pad.left, y: height - 4 }), { textContent: xLabel(x0) }));
    svg.append(Object.assign(svgEl("text", { x: width - pad.right, y: height - 4, "text-anchor": "end" }),
                             { textContent: xLabel(x1) }));
    for (const marker of markers) {
      const line = svgEl("line", { x1: sx(marker.x), x2: sx(marker.x), y1: pad.top, y2: height - pad.bottom,
                                   stroke: marker.kind === "reset" ? "#ff5252" : "#8b95a5",
                                   "stroke-dasharray": marker.kind === "reset" ? "1,3" : "4,3",
                                   class: `marker ${marker.kind}` });
      line.append(Object.assign(svgEl("title"), { textContent: marker.label }));
      svg.append(line);
    }
    for (const [name, data] of Object.entries(series)) {
      if (!data.length) continue;
      const path = data.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
      const line = svgEl("path", { d: path, fill: "none", stroke: colors[name], "stroke-width": 1.5,
                                   "data-series": name });
      line.append(Object.assign(svgEl("title"), { textContent: name }));
      svg.append(line);
      if (data.length === 1) svg.append(svgEl("circle", { cx: sx(data[0][0]), cy: sy(data[0][1]), r: 2.5,
                                                          fill: colors[name] }));
    }
  }

  function drawRatings(doc) {
    const names = doc.players.map((p) => p.name);
    const start = Math.min(...doc.lineage.map((e) => e.time), doc.time);
    const minutes = (t) => (t - start) / 60;
    const colors = Object.fromEntries(names.map((n) => [n, colorOf(names, n)]));
    const toMinutes = (series) => Object.fromEntries(Object.entries(series).map(
      ([name, points]) => [name, points.map((p) => [minutes(p[0]), p[1]])]));
    const markers = doc.lineage.filter((e) => e.kind === "snapshot" || e.kind === "reset").map((e) => ({
      x: minutes(e.time), kind: e.kind,
      label: e.kind === "snapshot" ? `${e.detail} taken from ${e.player} at ${e.steps} steps`
                                   : `${e.player} reset at ${e.steps} steps` }));
    const options = { markers, xLabel: (x) => `${x.toFixed(1)} min` };
    lineChart($("elo-chart"), toMinutes(doc.ratings.elo), colors, options);
    lineChart($("trueskill-chart"), toMinutes(doc.ratings.trueskill), colors, { ...options, yDigits: 1 });
    $("legend").replaceChildren(...names.filter((n) => n in doc.ratings.elo || n in doc.ratings.trueskill)
      .map((n) => el("span", { style: `--swatch:${colors[n]}`, text: n })));
  }

  function drawLineage(doc) {
    const tree = $("lineage-tree");
    tree.replaceChildren();
    const learning = doc.players.filter((p) => p.learning);
    for (const player of learning) {
      const children = el("ul");
      for (const event of doc.lineage.filter((e) => e.player === player.name && e.kind !== "created")) {
        children.append(el("li", { class: event.kind,
          text: event.kind === "snapshot" ? `${event.detail}: snapshot at ${fmt.int(event.steps)} steps, ${fmt.time(event.time)}`
                                          : `reset at ${fmt.int(event.steps)} steps, ${fmt.time(event.time)}` }));
      }
      tree.append(el("li", {}, el("strong", { text: player.name }),
                     el("span", { class: "muted", text: ` ${player.role.replace(/_/g, " ")}, ${fmt.int(player.steps)} steps` }),
                     children));
    }
    const initial = doc.players.filter((p) => !p.learning && !doc.lineage.some((e) => e.kind === "snapshot" && e.detail === p.name));
    if (initial.length) tree.append(el("li", { class: "muted", text: `from the start: ${initial.map((p) => p.name).join(", ")}` }));
    const body = $("lineage").tBodies[0];
    body.replaceChildren(...doc.lineage.slice().reverse().map((e) => el("tr", {},
      el("td", { text: fmt.time(e.time) }), el("td", { text: e.player }), el("td", { text: e.kind }),
      el("td", { text: e.detail }), el("td", { text: fmt.int(e.steps) }))));
  }

  function drawCurves(doc) {
    const select = $("curve-player");
    const players = Object.keys(doc.curves);
    if (select.options.length !== players.length || [...select.options].some((o, i) => o.value !== players[i])) {
      select.replaceChildren(...players.map((p) => el("option", { value: p, text: p })));
    }
    if (!state.curveChosen || !players.includes(state.curvePlayer)) state.curvePlayer = players[0] || null;
    select.value = state.curvePlayer || "";
    const box = $("curves");
    box.replaceChildren();
    if (!state.curvePlayer) { box.append(el("p", { class: "muted", text: "no learning statistics yet" })); return; }
    const names = doc.players.map((p) => p.name);
    for (const [statistic, points] of Object.entries(doc.curves[state.curvePlayer])) {
      const svg = svgEl("svg", { "data-statistic": statistic });
      box.append(el("figure", {}, el("figcaption", { text: `${statistic} (last ${fmt.num(points[points.length - 1][1], 3)})` }), svg));
      lineChart(svg, { [state.curvePlayer]: points }, { [state.curvePlayer]: colorOf(names, state.curvePlayer) },
                { xLabel: (x) => `${fmt.int(x)} steps`, yDigits: 2 });
    }
  }

  function replayLabel(name) {  // "<home>-vs-<away>-seed12.replay.npz": the seed tells the games apart
    const seed = /-seed(\d+)/.exec(name);
    return seed ? `seed ${seed[1]}` : name;
  }

  function drawReplays(doc) {
    const body = $("replay-list").tBodies[0];
    body.replaceChildren(...doc.replays.map((r) => el("tr", {},
      el("td", { text: String(r.match) }), el("td", { text: r.home }), el("td", { text: r.away }),
      el("td", { text: r.outcome }), el("td", { text: r.branch.replace(/_/g, " ") }),
      el("td", {}, el("a", { href: `replays/?replay=${encodeURIComponent(r.name)}`, target: "_blank",
                             rel: "noopener", title: r.name, text: `watch (${replayLabel(r.name)})` })))));
    $("no-replays").hidden = doc.replays.length > 0;
  }

  function drawLadder(doc) {
    const box = $("ladder");
    const ladder = doc.ladder;
    if (!ladder) {
      box.replaceChildren(el("p", { class: "muted", text: "No ladder yet. Rank the league's snapshots with " }),
        el("code", { text: `arena ladder run --players league:${doc.folder} scripted random --out ${doc.folder}/ladder` }));
      return;
    }
    if (ladder.error) { box.replaceChildren(el("p", { class: "error", text: ladder.error })); return; }
    const table = el("table", { class: "grid", id: "ladder-table" },
      el("thead", {}, el("tr", {}, ...["rank", "player", "kind", "games", "Elo [95%]", "TrueSkill", "Nash"].map(
        (h) => el("th", { text: h })))));
    const body = el("tbody");
    ladder.players.forEach((p, i) => body.append(el("tr", {},
      el("td", { text: String(i + 1) }), el("td", { text: p.name }), el("td", { text: p.kind || "" }),
      el("td", { text: fmt.int(p.games) }),
      el("td", { text: `${fmt.int(p.elo)} [${fmt.int(p.elo_low)}, ${fmt.int(p.elo_high)}]` }),
      el("td", { text: `${fmt.num(p.trueskill_mu, 1)} ± ${fmt.num(p.trueskill_sigma, 1)}` }),
      el("td", { text: fmt.num(p.nash_probability, 3) }))));
    table.append(body);
    box.replaceChildren(el("p", { class: "muted", text: `${ladder.title || ""}: ${fmt.int(ladder.games)} games, ` +
                                                     `${ladder.created || ""}` }), table);
  }

  // Each panel and the parts of the state it draws: a panel is redrawn only when they changed, so a link or a
  // menu is not replaced under the pointer at every look (null: drawn every time, for the clocks in it).
  const PANELS = [
    [drawHeader, null], [drawPlayers, ["players"]], [drawPayoff, ["payoff"]], [drawMatchmaking, null],
    [drawRatings, ["players", "ratings", "lineage"]], [drawLineage, ["players", "lineage"]],
    [drawCurves, ["players", "curves"]], [drawReplays, ["replays"]], [drawLadder, ["ladder", "folder"]],
  ];
  const drawnFrom = new Map();

  function draw(doc) {
    const failures = [];
    for (const [panel, keys] of PANELS) {
      const source = keys && JSON.stringify(keys.map((key) => doc[key]));
      if (source && drawnFrom.get(panel) === source) continue;
      try {
        panel(doc);
        if (source) drawnFrom.set(panel, source);
      } catch (error) {
        failures.push(`${panel.name}: ${error}`);
        drawnFrom.delete(panel);
        console.warn(error);
      }
    }
    return failures;
  }

  // ---- the loop ----
  async function look() {
    let doc;
    try {
      const response = await fetch("api/league", { cache: "no-store" });
      doc = await response.json();
      if (!response.ok) throw new Error(doc.error || `the server answered ${response.status}`);
    } catch (error) {
      state.lastError = `cannot reach the league's server: ${error.message || error}`;
      showError(state.lastError);
      $("state").textContent = "no connection";
      $("state").className = "badge failed";
      return;
    }
    if (doc.error) {
      state.lastError = `the league in ${doc.folder} cannot be read: ${doc.error}`;
      showError(state.lastError);
      $("state").textContent = "unreadable";
      $("state").className = "badge failed";
    } else {
      const failures = draw(doc);
      state.lastError = failures.length ? failures.join("\n") : null;
      showError(state.lastError && `part of the page could not be drawn:\n${state.lastError}`);
      state.lastDocument = doc;
    }
    state.updates += 1;
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  async function loop() {
    await look();
    state.ready = true;
    setTimeout(loop, POLL_MS);
  }

  $("curve-player").addEventListener("change", (event) => {
    state.curvePlayer = event.target.value;
    state.curveChosen = true;  // from now on the menu keeps the reader's choice
    if (state.lastDocument) drawCurves(state.lastDocument);
  });
  loop();
})();
