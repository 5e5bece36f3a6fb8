// Keypoints and curves: named points and spline curves (Catmull-Rom through the placed points)
// on one frame, in the schema's colours. Each label is placed, off (not in the image) or blurred
// (present, not labellable). Points move by dragging; delete, undo; zoom with buttons, Ctrl+wheel
// or a pinch; pan a zoomed image by dragging it or with the wheel. Coordinates are kept and sent
// in image pixels, mapped from the screen by geometry.js (the only screen-to-image mapping).

import { clientToImage, containedRect } from "../geometry.js";
import { CineGroup, CineView, el } from "../player.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_ZOOM = 8;
// A press that moves less than this is a click (place a point); more is a drag (pan when zoomed).
const CLICK_SLOP_PX = 5;
const HANDLE_RADIUS_PX = 7;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

// Catmull-Rom through the points, as cubic Bezier segments.
export function splinePath(points) {
  if (points.length === 0) return "";
  if (points.length === 1) return `M${points[0][0]},${points[0][1]}`;
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 0; i < points.length - 1; i += 1) {
    const p0 = points[i - 1] || points[i];
    const p1 = points[i];
    const p2 = points[i + 1];
    const p3 = points[i + 2] || p2;
    const c1 = [p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6];
    const c2 = [p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6];
    d += ` C${c1[0]},${c1[1]} ${c2[0]},${c2[1]} ${p2[0]},${p2[1]}`;
  }
  return d;
}

export function mount(root, { task, config, onChange, announce }) {
  const item = task.items[0];
  const { width, height } = item.clip;
  const schema = config.schema;
  const defs = [
    ...(schema.points || []).map((p) => ({ ...p, shape: "point", min: 1 })),
    ...(schema.curves || []).map((c) => ({ ...c, shape: "curve", min: c.min_points || 2 })),
  ];
  let labels = Object.fromEntries(defs.map((d) => [d.key, { state: null, points: [] }]));
  let chosenFrame = item.frame_index ?? null;
  let active = defs[0].key;
  const history = [];
  const cursor = [width / 2, height / 2];
  const zoom = { scale: 1, tx: 0, ty: 0 };

  const view = new CineView(item.clip, { label: "Echo frame to label" });
  const group = new CineGroup([view], { label: "Clip", startFrame: item.frame_index ?? 0 });
  const overlay = svg("svg", {
    class: "kp-overlay",
    viewBox: `0 0 ${width} ${height}`,
    // The same "contain" fit as the canvas (object-fit: contain): circles stay round and the
    // overlay lies exactly over the image.
    preserveAspectRatio: "xMidYMid meet",
    tabindex: "0",
    role: "application",
    "aria-label": "Image to label. Arrow keys move the cross, Enter places the chosen label there.",
    "data-own-keys": "",
  });
  const layer = svg("g");
  const cross = svg("g", { class: "kp-cross", "pointer-events": "none" });
  overlay.append(layer, cross);
  const zoomBox = el("div", { class: "kp-zoom" }, [view.canvas, overlay]);
  const viewport = el("div", { class: "kp-viewport" }, [zoomBox]);
  // The box takes the image's aspect ratio, so the frame fills it with no bars (see unity.css).
  viewport.style.setProperty("--img-w", String(width));
  viewport.style.setProperty("--img-h", String(height));
  const frameNote = el("p", { class: "kp-frame-note", "aria-live": "polite" });
  const outsideNote = el("p", { class: "kp-outside", role: "status", hidden: "" });
  const backToFrame = el("button", { type: "button", class: "kp-back", text: "Back to the labelled frame" });
  const useFrame = el("button", { type: "button", class: "kp-use-frame", text: "Label this frame instead" });
  const tool = (text, cls, handler, label) => {
    const button = el("button", { type: "button", class: cls, text });
    if (label) button.setAttribute("aria-label", label);
    button.addEventListener("click", handler);
    return button;
  };
  const tools = el("div", { class: "kp-tools", role: "group", "aria-label": "Labelling tools" }, [
    tool("Undo", "kp-undo", () => undo(), "Undo (Ctrl+Z)"),
    tool("Remove last point", "kp-delete", () => removeLast()),
    tool("+", "kp-zoom-in", () => zoomBy(1.5), "Zoom in"),
    tool("−", "kp-zoom-out", () => zoomBy(1 / 1.5), "Zoom out"),
    tool("Fit", "kp-zoom-reset", () => setZoom(1, 0, 0), "Fit image (reset zoom)"),
  ]);
  const list = el("ul", { class: "kp-labels", "aria-label": "Labels" });
  const rows = new Map();
  defs.forEach((def, index) => {
    const name = el("button", { type: "button", class: "kp-name", "aria-pressed": "false" });
    name.append(
      index < 9 ? el("kbd", { "aria-hidden": "true", class: "kbd-hint", text: `${index + 1}` }) : "",
      el("span", { text: `${def.name} (${def.shape})` }),
    );
    name.addEventListener("click", () => select(def.key, true));
    const status = el("span", { class: "kp-status" });
    const states = el("div", { class: "kp-states", role: "group", "aria-label": `${def.name}: state` });
    for (const [value, text] of [
      ["placed", "Placed"],
      ["off", "Off"],
      ["blurred", "Blurred"],
    ]) {
      const button = el("button", { type: "button", "data-state": value, "aria-pressed": "false", text });
      button.setAttribute("aria-label", `${def.name}: ${text.toLowerCase()}`);
      button.addEventListener("click", () => setState(def.key, value));
      states.append(button);
    }
    const li = el("li", { class: "kp-label" }, [name, status, states]);
    li.style.setProperty("--c", def.colour);
    li.dataset.key = def.key;
    list.append(li);
    rows.set(def.key, { li, name, status, states });
  });

  root.append(
    el("div", { class: "mode-keypoints" }, [
      el("div", { class: "cine" }, [viewport, outsideNote, group.controls, tools, frameNote, backToFrame, useFrame]),
      el("div", { class: "kp-side" }, [el("h2", { class: "kp-h", text: "Labels" }), list]),
    ]),
  );

  const snapshot = () => JSON.stringify({ labels, chosenFrame });
  function remember() {
    history.push(snapshot());
    if (history.length > 200) history.shift();
  }
  function undo() {
    const previous = history.pop();
    if (!previous) return announce("Nothing to undo.");
    ({ labels, chosenFrame } = JSON.parse(previous));
    changed("Undone.");
  }
  function changed(message) {
    render();
    onChange();
    if (message) announce(message);
  }
  function select(key, focusImage = false) {
    active = key;
    render();
    const def = defs.find((d) => d.key === key);
    announce(`${def.name} chosen.`);
    if (focusImage) overlay.focus({ preventScroll: true });
  }
  function setState(key, state) {
    remember();
    const label = labels[key];
    label.state = state;
    if (state !== "placed") label.points = [];
    changed(`${defs.find((d) => d.key === key).name}: ${state}.`);
  }
  function removeLast() {
    const label = labels[active];
    if (!label.points.length) return;
    remember();
    label.points.pop();
    if (!label.points.length) label.state = null;
    changed("Point removed.");
  }
  function complete(def) {
    const label = labels[def.key];
    if (label.state === "off" || label.state === "blurred") return true;
    return label.state === "placed" && label.points.length >= def.min;
  }
  let outsideTimer = 0;
  function place(point) {
    if (!point) {
      outsideNote.hidden = false;
      outsideNote.textContent = "That is outside the image: nothing was placed.";
      announce(outsideNote.textContent);
      clearTimeout(outsideTimer);
      outsideTimer = setTimeout(() => (outsideNote.hidden = true), 4000);
      return;
    }
    outsideNote.hidden = true;
    const def = defs.find((d) => d.key === active);
    remember();
    if (chosenFrame === null || !anyPlaced()) chosenFrame = view.frame;
    const label = labels[active];
    label.state = "placed";
    const p = [clamp(point[0], 0, width), clamp(point[1], 0, height)].map((v) => Math.round(v * 100) / 100);
    if (def.shape === "point") label.points = [p];
    else label.points.push(p);
    if (def.shape === "point") {
      const next = defs.find((d) => !complete(d));
      if (next) active = next.key;
    }
    changed(`${def.name}: point ${label.points.length} placed at ${Math.round(p[0])}, ${Math.round(p[1])}.`);
  }
  const anyPlaced = () => Object.values(labels).some((l) => l.points.length);
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

  // Image pixels under a pointer, or null outside the image.
  function toImage(event) {
    const p = clientToImage(overlay.getBoundingClientRect(), width, height, event.clientX, event.clientY);
    return p.inside ? [p.x, p.y] : null;
  }
  // Handles keep one size on screen whatever the zoom: the radius in image pixels.
  function handleRadius() {
    const { scale } = containedRect(overlay.getBoundingClientRect(), width, height);
    return HANDLE_RADIUS_PX / Math.max(scale, 1e-6);
  }

  function render() {
    layer.innerHTML = "";
    const radius = handleRadius();
    for (const def of defs) {
      const label = labels[def.key];
      if (def.shape === "curve" && label.points.length > 1) {
        layer.append(
          svg("path", {
            d: splinePath(label.points),
            fill: "none",
            stroke: def.colour,
            "stroke-width": "2.5",
            "vector-effect": "non-scaling-stroke",
            "pointer-events": "none",
          }),
        );
      }
      label.points.forEach((p, index) => {
        const handle = svg("circle", {
          cx: p[0],
          cy: p[1],
          r: radius * (def.key === active ? 1.2 : 1),
          fill: def.colour,
          stroke: "#fff",
          "stroke-width": "1.5",
          "vector-effect": "non-scaling-stroke",
          class: "kp-handle",
          "data-key": def.key,
          "data-index": String(index),
        });
        const title = svg("title");
        title.textContent = `${def.name} ${index + 1}`;
        handle.append(title);
        layer.append(handle);
      });
    }
    cross.innerHTML = "";
    const arm = radius * 2.2;
    const colour = (defs.find((d) => d.key === active) || defs[0]).colour;
    for (const [x1, y1, x2, y2] of [
      [cursor[0] - arm, cursor[1], cursor[0] + arm, cursor[1]],
      [cursor[0], cursor[1] - arm, cursor[0], cursor[1] + arm],
    ]) {
      cross.append(svg("line", { x1, y1, x2, y2, stroke: colour, "stroke-width": "2", "vector-effect": "non-scaling-stroke" }));
    }
    for (const def of defs) {
      const row = rows.get(def.key);
      const label = labels[def.key];
      row.li.classList.toggle("active", def.key === active);
      row.name.setAttribute("aria-pressed", String(def.key === active));
      row.li.dataset.state = label.state || "";
      row.status.textContent = label.state === "placed" ? ` ${label.points.length} point${label.points.length === 1 ? "" : "s"}${complete(def) ? "" : ` (needs ${def.min})`}` : label.state ? ` ${label.state}` : " not done";
      for (const button of row.states.querySelectorAll("button")) {
        button.setAttribute("aria-pressed", String(button.dataset.state === label.state));
      }
    }
    const onFrame = chosenFrame === null || view.frame === chosenFrame;
    layer.style.opacity = onFrame ? "1" : "0.3";
    frameNote.textContent =
      chosenFrame === null
        ? `Labels go on the frame shown when you place the first point.`
        : `Labels are on frame ${chosenFrame}.${onFrame ? "" : ` You are looking at frame ${view.frame}.`}`;
    backToFrame.hidden = onFrame;
    useFrame.hidden = onFrame || chosenFrame === null;
    root.dataset.chosenFrame = chosenFrame === null ? "" : String(chosenFrame);
  }
  backToFrame.addEventListener("click", () => group.seek(chosenFrame));
  useFrame.addEventListener("click", () => {
    remember();
    chosenFrame = view.frame;
    changed(`Labels moved to frame ${chosenFrame}.`);
  });
  view.onFrame(() => render());

  // --- pointer: place, move, pinch ----------------------------------------------------------
  const pointers = new Map();
  let moving = null;
  let pinch = null;
  overlay.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, [event.clientX, event.clientY]);
    overlay.setPointerCapture(event.pointerId);
    if (pointers.size === 2) {
      moving = null;
      const [a, b] = [...pointers.values()];
      pinch = { distance: Math.hypot(a[0] - b[0], a[1] - b[1]), mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], ...zoom };
      return;
    }
    if (event.button !== 0 && event.pointerType === "mouse") return;
    const handle = event.target.closest && event.target.closest(".kp-handle");
    if (handle) {
      remember();
      moving = { key: handle.dataset.key, index: Number(handle.dataset.index) };
      active = moving.key;
    } else {
      moving = null;
      pending = { clientX: event.clientX, clientY: event.clientY, tx: zoom.tx, ty: zoom.ty };
    }
  });
  // A press on the image: placed on release if it did not move; a drag pans a zoomed image.
  let pending = null;
  let panning = false;
  overlay.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    pointers.set(event.pointerId, [event.clientX, event.clientY]);
    if (pinch && pointers.size === 2) {
      pending = null;
      const [a, b] = [...pointers.values()];
      const distance = Math.hypot(a[0] - b[0], a[1] - b[1]);
      const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const scale = clamp((pinch.scale * distance) / Math.max(pinch.distance, 1), 1, MAX_ZOOM);
      const box = viewport.getBoundingClientRect();
      // Keep the image point under the fingers' first midpoint under their current midpoint.
      const ox = (pinch.mid[0] - box.left - pinch.tx) / pinch.scale;
      const oy = (pinch.mid[1] - box.top - pinch.ty) / pinch.scale;
      setZoom(scale, mid[0] - box.left - ox * scale, mid[1] - box.top - oy * scale);
      return;
    }
    if (moving) {
      const p = clientToImage(overlay.getBoundingClientRect(), width, height, event.clientX, event.clientY);
      labels[moving.key].points[moving.index] = [clamp(p.x, 0, width), clamp(p.y, 0, height)].map(
        (v) => Math.round(v * 100) / 100,
      );
      render();
      return;
    }
    if (pending) {
      const dx = event.clientX - pending.clientX;
      const dy = event.clientY - pending.clientY;
      if (!panning && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
      panning = true;
      if (zoom.scale > 1) setZoom(zoom.scale, pending.tx + dx, pending.ty + dy);
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
    if (moving) {
      moving = null;
      changed("Point moved.");
    } else if (pending && !panning && event.type === "pointerup") {
      place(toImage(pending));
    }
    pending = null;
    panning = false;
  };
  overlay.addEventListener("pointerup", release);
  overlay.addEventListener("pointercancel", release);
  viewport.addEventListener(
    "wheel",
    (event) => {
      if (event.ctrlKey) {
        event.preventDefault();
        zoomBy(event.deltaY < 0 ? 1.25 : 0.8, [event.clientX, event.clientY]);
      } else if (zoom.scale > 1) {
        // Zoomed: the wheel (or a trackpad's two fingers) pans the image, not the page.
        event.preventDefault();
        setZoom(zoom.scale, zoom.tx - event.deltaX, zoom.ty - event.deltaY);
      }
    },
    { passive: false },
  );

  function setZoom(scale, tx, ty) {
    const box = viewport.getBoundingClientRect();
    zoom.scale = scale;
    zoom.tx = clamp(tx, box.width * (1 - scale), 0);
    zoom.ty = clamp(ty, box.height * (1 - scale), 0);
    zoomBox.style.transform = scale === 1 ? "" : `translate(${zoom.tx}px, ${zoom.ty}px) scale(${scale})`;
    viewport.dataset.zoom = String(Math.round(scale * 100) / 100);
    render();
  }
  function zoomBy(factor, at) {
    const box = viewport.getBoundingClientRect();
    const point = at || [box.left + box.width / 2, box.top + box.height / 2];
    const scale = clamp(zoom.scale * factor, 1, MAX_ZOOM);
    const ox = (point[0] - box.left - zoom.tx) / zoom.scale;
    const oy = (point[1] - box.top - zoom.ty) / zoom.scale;
    setZoom(scale, point[0] - box.left - ox * scale, point[1] - box.top - oy * scale);
  }

  // A resize (window, rotation, side panel) changes pixels per image pixel: redraw the handles.
  const resizeObserver = new ResizeObserver(() => {
    setZoom(zoom.scale, zoom.tx, zoom.ty);
  });
  resizeObserver.observe(viewport);

  render();
  return {
    group,
    ready: group.ready.then(() => render()),
    answer() {
      if (!defs.every(complete) || chosenFrame === null) {
        if (defs.every((d) => labels[d.key].state === "off" || labels[d.key].state === "blurred")) {
          return { frame: chosenFrame ?? view.frame, labels: structuredClone(labels) };
        }
        return null;
      }
      return { frame: chosenFrame, labels: structuredClone(labels) };
    },
    missing() {
      const left = defs.filter((d) => !complete(d)).map((d) => d.name);
      return `Every label needs an answer (placed, off or blurred). Still to do: ${left.join(", ")}.`;
    },
    state() {
      return { labels, chosenFrame, active };
    },
    restore(saved) {
      if (!saved || !saved.labels) return;
      for (const def of defs) if (saved.labels[def.key]) labels[def.key] = saved.labels[def.key];
      chosenFrame = saved.chosenFrame ?? chosenFrame;
      if (saved.active && labels[saved.active]) active = saved.active;
      render();
    },
    onKey(event) {
      const target = event.target;
      if (target.tagName === "TEXTAREA" || target.tagName === "INPUT") return false;
      if ((event.ctrlKey || event.metaKey) && (event.key === "z" || event.key === "Z")) {
        event.preventDefault();
        undo();
        return true;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return false;
      if (/^[1-9]$/.test(event.key) && defs[Number(event.key) - 1]) {
        event.preventDefault();
        select(defs[Number(event.key) - 1].key);
        return true;
      }
      if (event.key === "o" || event.key === "O" || event.key === "b" || event.key === "B") {
        setState(active, event.key.toLowerCase() === "o" ? "off" : "blurred");
        return true;
      }
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeLast();
        return true;
      }
      if (event.key === "+" || event.key === "=") {
        zoomBy(1.5);
        return true;
      }
      if (event.key === "-") {
        zoomBy(1 / 1.5);
        return true;
      }
      if (target !== overlay) return false;
      const step = event.shiftKey ? 10 : 1;
      const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
      if (move) {
        event.preventDefault();
        cursor[0] = clamp(cursor[0] + move[0], 0, width);
        cursor[1] = clamp(cursor[1] + move[1], 0, height);
        render();
        return true;
      }
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        place([...cursor]);
        return true;
      }
      return false;
    },
    focus() {
      overlay.focus({ preventScroll: true });
    },
    destroy() {
      resizeObserver.disconnect();
      clearTimeout(outsideTimer);
      group.destroy();
    },
  };
}
