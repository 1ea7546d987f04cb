/* Drawing a replay frame: the map with its units, fog, orders, cameras, heat maps, the minimap and the charts.
   Pure functions of (canvas context, prepared replay, what to show); viewer.js owns the page and its state.
   Map coordinates have y up as in StarCraft II; canvases have y down, so every projection flips y. */
"use strict";

const ArenaRender = (() => {
  const PLAYER_COLOURS = ["#3d8bfd", "#f0483e"];
  const NEUTRAL_COLOURS = {mineral: "#7fd3ff", geyser: "#3fbf5f", beacon: "#f5d442", other: "#9aa3ad"};
  const ORDER = {NONE: 0, MOVE: 1, ATTACK_MOVE: 2, ATTACK_UNIT: 3, HOLD: 4, GATHER: 5, RETURN: 6, BUILD: 7,
    CONSTRUCT: 8};
  const ORDER_COLOURS = {1: "#4caf50", 2: "#ff5252", 3: "#ff5252", 5: "#e6d36b", 6: "#e6d36b", 7: "#ffa726",
    8: "#ffa726"};
  const POINT_ORDERS = new Set([ORDER.MOVE, ORDER.ATTACK_MOVE, ORDER.BUILD]);
  const SELECTION_COLOUR = "#5cff5c";
  const BUILD_FINISHED = 255;  // format.py: unit_build 255 is a finished unit
  const FOG_ALPHA = 165;  // of 255: how dark cells out of the player's sight are

  function ownerColour(owner, kind) {
    if (owner < PLAYER_COLOURS.length) return PLAYER_COLOURS[owner];
    return NEUTRAL_COLOURS[kind] || NEUTRAL_COLOURS.other;
  }

  /* ---- projections ---- */

  /** The map rectangle [x0, y0, x1, y1] the main canvas shows: the playable area, or one player's camera. */
  function viewRect(model, show, frame) {
    if (show.view === "map") {
      const [x0, y0, x1, y1] = model.playable;
      const whole = [Math.max(0, x0 - 1), Math.max(0, y0 - 1), Math.min(model.width, x1 + 1),
        Math.min(model.height, y1 + 1)];
      return zoomRect(whole, show.zoom, show.centre);
    }
    const [cx, cy] = model.camera(frame, show.view);
    const half = model.cameraWidth / 2 + 1;
    return [cx - half, cy - half, cx + half, cy + half];
  }

  /** The part of `rect` seen at `zoom` (1: all of it) around `centre` (null: the rectangle's centre). */
  function zoomRect(rect, zoom, centre) {
    if (!(zoom > 1)) return rect;
    const [cx, cy] = centre || [(rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2];
    const halfWidth = (rect[2] - rect[0]) / (2 * zoom), halfHeight = (rect[3] - rect[1]) / (2 * zoom);
    return [cx - halfWidth, cy - halfHeight, cx + halfWidth, cy + halfHeight];
  }

  /** Fit a map rectangle into a canvas, keeping its aspect: {scale (pixels per map unit), x0, y1, offsetX, ...}. */
  function fitView(rect, canvasWidth, canvasHeight) {
    const [x0, y0, x1, y1] = rect;
    const scale = Math.min(canvasWidth / (x1 - x0), canvasHeight / (y1 - y0));
    return {scale, x0, y1, offsetX: (canvasWidth - (x1 - x0) * scale) / 2,
      offsetY: (canvasHeight - (y1 - y0) * scale) / 2};
  }

  function project(view, x, y) {
    return [view.offsetX + (x - view.x0) * view.scale, view.offsetY + (view.y1 - y) * view.scale];
  }

  /** Canvas pixel -> map point. */
  function unproject(view, px, py) {
    return [view.x0 + (px - view.offsetX) / view.scale, view.y1 - (py - view.offsetY) / view.scale];
  }

  /** pysc2's screen pixel -> map point at the pixel's centre, for a camera centred at (cx, cy). */
  function screenToWorld(model, camera, px, py) {
    const scale = model.screenSize / model.cameraWidth;
    const half = model.screenSize / 2;
    return [camera[0] + (px + 0.5 - half) / scale, camera[1] - (py + 0.5 - half) / scale];
  }

  /** pysc2's minimap pixel -> map point (the larger map side spans the minimap). */
  function minimapToWorld(model, px, py) {
    const scale = model.minimapSize / Math.max(model.width, model.height);
    return [(px + 0.5) / scale, model.height - (py + 0.5) / scale];
  }

  /* ---- fog ---- */

  /** Uint8Array [H * W] (row y, y up): cells whose centre is within sight of one of `player`'s units
      (arena/interface/fog.py's rule). */
  function sightGrid(model, units, player) {
    const W = model.cellsX, H = model.cellsY;
    const grid = new Uint8Array(W * H);
    for (const unit of units) {
      const sight = model.typeInfo(unit.type).sight;
      if (unit.owner !== player || !(sight > 0)) continue;
      const k = Math.ceil(sight), baseX = Math.floor(unit.x), baseY = Math.floor(unit.y);
      for (let dy = -k; dy <= k; dy++) {
        const y = baseY + dy, gapY = y + 0.5 - unit.y;
        if (y < 0 || y >= H) continue;
        for (let dx = -k; dx <= k; dx++) {
          const x = baseX + dx, gapX = x + 0.5 - unit.x;
          if (x >= 0 && x < W && gapX * gapX + gapY * gapY <= sight * sight) grid[y * W + x] = 1;
        }
      }
    }
    return grid;
  }

  function fogImage(model, grid) {
    const W = model.cellsX, H = model.cellsY;
    const image = new ImageData(W, H);
    for (let row = 0; row < H; row++) {
      const y = H - 1 - row;  // image rows go down, map rows go up
      for (let x = 0; x < W; x++) image.data[(row * W + x) * 4 + 3] = grid[y * W + x] ? 0 : FOG_ALPHA;
    }
    return imageCanvas(image);
  }

  function imageCanvas(image) {
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext("2d").putImageData(image, 0, 0);
    return canvas;
  }

  /** The heat map [H][W] (0..255) as a transparent-to-yellow image. */
  function heatImage(grid) {
    const H = grid.length, W = H ? grid[0].length : 0;
    const image = new ImageData(Math.max(W, 1), Math.max(H, 1));
    for (let row = 0; row < H; row++) {
      for (let x = 0; x < W; x++) {
        const v = (grid[row][x] || 0) / 255, i = (row * W + x) * 4;
        image.data[i] = 255;
        image.data[i + 1] = Math.round(60 + 195 * v);
        image.data[i + 2] = 0;
        image.data[i + 3] = Math.round(150 * v);
      }
    }
    return imageCanvas(image);
  }

  /* ---- the main map ---- */

  function drawTerrain(ctx, view, model) {
    ctx.fillStyle = "#0b0d10";
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    fillMapRect(ctx, view, [0, 0, model.width, model.height], "#161a20");
    fillMapRect(ctx, view, model.playable, "#1f262f");
    if (view.scale < 6) return;
    ctx.strokeStyle = "#27303b";
    ctx.lineWidth = 1;
    ctx.beginPath();
    const [x0, y0, x1, y1] = model.playable;
    for (let x = Math.ceil(x0 / 4) * 4; x <= x1; x += 4) lineBetween(ctx, project(view, x, y0), project(view, x, y1));
    for (let y = Math.ceil(y0 / 4) * 4; y <= y1; y += 4) lineBetween(ctx, project(view, x0, y), project(view, x1, y));
    ctx.stroke();
  }

  function fillMapRect(ctx, view, rect, colour) {
    const [ax, ay] = project(view, rect[0], rect[3]);
    const [bx, by] = project(view, rect[2], rect[1]);
    ctx.fillStyle = colour;
    ctx.fillRect(ax, ay, bx - ax, by - ay);
  }

  function strokeMapRect(ctx, view, rect, colour, width) {
    const [ax, ay] = project(view, rect[0], rect[3]);
    const [bx, by] = project(view, rect[2], rect[1]);
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(ax, ay, bx - ax, by - ay);
  }

  function lineBetween(ctx, a, b) {
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
  }

  function drawMapImage(ctx, view, image, rect, smooth) {
    const [ax, ay] = project(view, rect[0], rect[3]);
    const [bx, by] = project(view, rect[2], rect[1]);
    ctx.imageSmoothingEnabled = smooth;
    ctx.drawImage(image, ax, ay, bx - ax, by - ay);
    ctx.imageSmoothingEnabled = true;
  }

  function cameraRect(model, frame, player) {
    const [cx, cy] = model.camera(frame, player);
    const half = model.cameraWidth / 2;
    return [cx - half, cy - half, cx + half, cy + half];
  }

  function unitRadius(view, info, dpr) {
    return Math.max(info.radius * view.scale, 2.5 * dpr);
  }

  function drawOrders(ctx, view, model, units, bySlot, dpr) {
    ctx.lineWidth = 1.2 * dpr;
    for (const unit of units) {
      const colour = ORDER_COLOURS[unit.order];
      if (!colour) continue;
      const target = unit.target >= 0 ? bySlot.get(unit.target) : undefined;
      let end = null;
      if (target) end = [target.x, target.y];
      else if (POINT_ORDERS.has(unit.order) && (unit.orderX !== 0 || unit.orderY !== 0)) {
        end = [unit.orderX, unit.orderY];
      }
      if (!end) continue;
      const a = project(view, unit.x, unit.y), b = project(view, end[0], end[1]);
      ctx.strokeStyle = colour;
      ctx.globalAlpha = 0.65;
      ctx.setLineDash(target ? [] : [4 * dpr, 3 * dpr]);
      ctx.beginPath();
      lineBetween(ctx, a, b);
      ctx.stroke();
      if (!target) crossAt(ctx, b, 3 * dpr);
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }

  function crossAt(ctx, point, size) {
    ctx.beginPath();
    lineBetween(ctx, [point[0] - size, point[1] - size], [point[0] + size, point[1] + size]);
    lineBetween(ctx, [point[0] - size, point[1] + size], [point[0] + size, point[1] - size]);
    ctx.stroke();
  }

  function unitPath(ctx, kind, x, y, r) {
    ctx.beginPath();
    if (kind === "structure") {
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
    } else if (kind === "worker") {
      const s = r * 1.15;
      ctx.moveTo(x, y - s); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s); ctx.lineTo(x - s, y); ctx.closePath();
    } else if (kind === "mineral") {
      for (let corner = 0; corner < 6; corner++) {
        const angle = Math.PI / 6 + corner * Math.PI / 3;
        ctx.lineTo(x + r * Math.cos(angle), y + r * Math.sin(angle));
      }
      ctx.closePath();
    } else {
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
  }

  function drawUnitBody(ctx, view, model, unit, dpr) {
    const info = model.typeInfo(unit.type);
    const [x, y] = project(view, unit.x, unit.y);
    const r = unitRadius(view, info, dpr);
    const colour = ownerColour(unit.owner, info.kind);
    const building = unit.build !== BUILD_FINISHED;
    ctx.globalAlpha = building ? 0.5 : 1;
    unitPath(ctx, info.kind, x, y, r);
    if (info.kind === "beacon") {
      ctx.fillStyle = colour + "40";
      ctx.fill();
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2 * dpr;
      ctx.stroke();
    } else {
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.strokeStyle = "rgba(0,0,0,0.55)";
      ctx.lineWidth = 1 * dpr;
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (building) {
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ctx.arc(x, y, r + 3 * dpr, -Math.PI / 2, -Math.PI / 2 + 2 * Math.PI * unit.build / BUILD_FINISHED);
      ctx.stroke();
    }
    return {slot: unit.slot, owner: unit.owner, type: unit.type, x, y, radius: r};
  }

  function drawSelection(ctx, view, model, unit, numPlayers, dpr) {
    const info = model.typeInfo(unit.type);
    const [x, y] = project(view, unit.x, unit.y);
    for (let player = 0; player < numPlayers; player++) {
      if (!((unit.selected >> player) & 1)) continue;
      ctx.strokeStyle = SELECTION_COLOUR;
      ctx.lineWidth = 1.5 * dpr;
      ctx.beginPath();
      ctx.arc(x, y, unitRadius(view, info, dpr) + (2.5 + 2 * player) * dpr, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  function drawBars(ctx, view, model, unit, dpr) {
    const info = model.typeInfo(unit.type);
    if (unit.owner >= PLAYER_COLOURS.length || !(info.maxHp > 0)) return;
    const [x, y] = project(view, unit.x, unit.y);
    const r = unitRadius(view, info, dpr);
    const width = Math.max(2 * r, 14 * dpr), height = 3 * dpr;
    let top = y - r - 4 * dpr - height;
    const fraction = Math.max(0, Math.min(1, unit.hp / info.maxHp));
    bar(ctx, x - width / 2, top, width, height, fraction,
      fraction > 0.6 ? "#4caf50" : fraction > 0.3 ? "#ffc107" : "#f44336");
    if (info.maxShields > 0) {
      top -= height + 1 * dpr;
      bar(ctx, x - width / 2, top, width, height, Math.max(0, Math.min(1, unit.shields / info.maxShields)), "#5ab0ff");
    }
  }

  function bar(ctx, x, y, width, height, fraction, colour) {
    ctx.fillStyle = "rgba(0,0,0,0.7)";
    ctx.fillRect(x - 1, y - 1, width + 2, height + 2);
    ctx.fillStyle = colour;
    ctx.fillRect(x, y, width * fraction, height);
  }

  /** Each player's action at this frame, where it points: a cross at a screen or minimap point, a rectangle for
      select_rect. */
  function drawActionPoints(ctx, view, model, frame, fog, dpr) {
    if (frame >= model.numSteps) return;
    for (let player = 0; player < model.numPlayers; player++) {
      if (fog !== null && player !== fog) continue;
      const points = model.actionPoints(frame, player);
      ctx.strokeStyle = PLAYER_COLOURS[player] || "#ffffff";
      ctx.lineWidth = 2 * dpr;
      if (points.length === 2) {
        strokeMapRect(ctx, view, [Math.min(points[0][0], points[1][0]), Math.min(points[0][1], points[1][1]),
          Math.max(points[0][0], points[1][0]), Math.max(points[0][1], points[1][1])], ctx.strokeStyle, 1.5 * dpr);
      } else if (points.length === 1) {
        crossAt(ctx, project(view, points[0][0], points[0][1]), 6 * dpr);
      }
    }
  }

  function drawCaption(ctx, text, dpr) {
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    const width = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(0,0,0,0.6)";
    ctx.fillRect(6 * dpr, 6 * dpr, width + 12 * dpr, 20 * dpr);
    ctx.fillStyle = "#d8dee9";
    ctx.fillText(text, 12 * dpr, 20 * dpr);
  }

  /**
   * Draw one frame on the main canvas. show: {view: "map" | player, fog: null | player, orders, cameras, actions,
   * heat: [bool per player]}. Returns the units drawn: [{slot, owner, type, x, y, radius}] in canvas pixels.
   */
  function drawMap(ctx, model, frame, show, dpr) {
    const view = fitView(viewRect(model, show, frame), ctx.canvas.width, ctx.canvas.height);
    const units = model.frameUnits(frame);
    const shown = show.fog === null ? units : units.filter((unit) => (unit.visible >> show.fog) & 1);
    drawTerrain(ctx, view, model);
    if (show.fog !== null) {
      drawMapImage(ctx, view, fogImage(model, sightGrid(model, units, show.fog)),
        [0, 0, model.cellsX, model.cellsY], false);
    }
    for (let player = 0; player < model.numPlayers; player++) {
      if (show.heat[player] && model.hasHeatmap && (show.fog === null || show.fog === player)) {
        drawMapImage(ctx, view, heatImage(model.explanations.heatmap[frame][player]), cameraRect(model, frame, player),
          true);
      }
    }
    // Under fog, only what that player knew: its own orders, selection, camera and actions.
    const own = show.fog === null ? shown : shown.filter((unit) => unit.owner === show.fog);
    if (show.orders) drawOrders(ctx, view, model, own, new Map(shown.map((unit) => [unit.slot, unit])), dpr);
    const drawn = shown.map((unit) => drawUnitBody(ctx, view, model, unit, dpr));
    for (const unit of own) drawSelection(ctx, view, model, unit, model.numPlayers, dpr);
    for (const unit of shown) drawBars(ctx, view, model, unit, dpr);
    if (show.cameras) drawCameras(ctx, view, model, frame, show.fog, dpr);
    if (show.actions) drawActionPoints(ctx, view, model, frame, show.fog, dpr);
    if (show.fog !== null) drawCaption(ctx, model.fogCaption(show.fog), dpr);
    return {view, drawn};
  }

  /* ---- the minimap ---- */

  function drawMinimap(ctx, model, frame, show, dpr) {
    const view = fitView([0, 0, model.width, model.height], ctx.canvas.width, ctx.canvas.height);
    const units = model.frameUnits(frame);
    const shown = show.fog === null ? units : units.filter((unit) => (unit.visible >> show.fog) & 1);
    ctx.fillStyle = "#0b0d10";
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    fillMapRect(ctx, view, [0, 0, model.width, model.height], "#161a20");
    fillMapRect(ctx, view, model.playable, "#242c36");
    if (show.fog !== null) {
      drawMapImage(ctx, view, fogImage(model, sightGrid(model, units, show.fog)),
        [0, 0, model.cellsX, model.cellsY], false);
    }
    for (const unit of shown) {
      const info = model.typeInfo(unit.type);
      const [x, y] = project(view, unit.x, unit.y);
      const r = Math.max(info.radius * view.scale, 1.5 * dpr);
      ctx.fillStyle = ownerColour(unit.owner, info.kind);
      ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    }
    if (show.view === "map") strokeMapRect(ctx, view, viewRect(model, show, frame), "#6b7685", 1 * dpr);
    drawCameras(ctx, view, model, frame, show.fog, dpr);
  }

  /** Each player's camera box (only `fog`'s when it is a player). */
  function drawCameras(ctx, view, model, frame, fog, dpr) {
    if (!model.hasCamera) return;
    for (let player = 0; player < model.numPlayers; player++) {
      if (fog !== null && player !== fog) continue;
      strokeMapRect(ctx, view, cameraRect(model, frame, player), PLAYER_COLOURS[player] || "#fff", 1.5 * dpr);
    }
  }

  /* ---- charts ---- */

  /** The static part of a chart: lines of series [P][F] (null: no value) over the frames, into an offscreen
      canvas of the given size. */
  function chartImage(series, width, height, dpr) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    let low = 0, high = 0;  // a loop, not Math.min(...values): long games overflow the argument list
    for (const line of series) {
      for (const value of line) {
        if (value !== null && Number.isFinite(value)) { low = Math.min(low, value); high = Math.max(high, value); }
      }
    }
    if (high === low) high = low + 1;
    const pad = 3 * dpr, frames = series.length ? series[0].length : 0;
    const xOf = (f) => pad + (frames > 1 ? f / (frames - 1) : 0.5) * (width - 2 * pad);
    const yOf = (v) => height - pad - (v - low) / (high - low) * (height - 2 * pad);
    ctx.strokeStyle = "#39414d";
    ctx.lineWidth = 1;
    ctx.beginPath();
    lineBetween(ctx, [pad, yOf(0)], [width - pad, yOf(0)]);
    ctx.stroke();
    series.forEach((line, player) => {
      ctx.strokeStyle = PLAYER_COLOURS[player] || "#ffffff";
      ctx.lineWidth = 1.5 * dpr;
      ctx.beginPath();
      let pen = false;
      line.forEach((value, f) => {
        if (value === null || !Number.isFinite(value)) { pen = false; return; }
        if (pen) ctx.lineTo(xOf(f), yOf(value)); else ctx.moveTo(xOf(f), yOf(value));
        pen = true;
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#8b95a5";
    ctx.font = `${10 * dpr}px system-ui, sans-serif`;
    ctx.fillText(formatNumber(high), pad + 2, pad + 10 * dpr);
    ctx.fillText(formatNumber(low), pad + 2, height - pad - 2);
    return {canvas, xOf, pad};
  }

  function formatNumber(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "\u2014";
    const rounded = Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
    return String(rounded);
  }

  function drawChart(ctx, image, frame, dpr) {
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.drawImage(image.canvas, 0, 0);
    const x = image.xOf(frame);
    ctx.strokeStyle = "#d8dee9";
    ctx.lineWidth = 1 * dpr;
    ctx.beginPath();
    lineBetween(ctx, [x, 0], [x, ctx.canvas.height]);
    ctx.stroke();
  }

  return {PLAYER_COLOURS, NEUTRAL_COLOURS, ORDER, screenToWorld, minimapToWorld, sightGrid, drawMap, drawMinimap,
    chartImage, drawChart, formatNumber, fitView, project, unproject, viewRect};
})();
