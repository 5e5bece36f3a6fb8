// Ranking: the shuffled batch as a grid of cine loops playing in sync, ordered from the axis's
// first end to its other end. Reorder by dragging (pointer events: mouse, pen and touch), by
// tapping one clip then another, or by keyboard (Enter picks up, arrows move, Enter drops).
// Neighbours can be marked indistinguishable; marked runs form the answer's tie groups.
//
// The grid is laid out for the screen in hand (gridLayout): the column count that makes the
// loops largest while the whole batch fits the screen, with full rows (3x2 or 2x3 for six). Where
// the batch cannot fit (a phone), the page scrolls: a swipe on a clip scrolls, and a clip moves
// by its handle, or after a press-and-hold.

import { CineGroup, CineView, el } from "../player.js";

const DRAG_THRESHOLD_PX = 6;
const HOLD_MS = 350;
const GAP_PX = 10;
const TILE_CHROME_PX = 12 + 46; // tile padding, and the bar under each loop
const MIN_TILE_PX = 150;

// The column count and loop width that make the batch's loops largest in `width` x `height`
// (CSS px), preferring full rows. Returns {columns, loopWidth, fits}.
export function gridLayout(count, aspect, width, height) {
  let best = null;
  for (let columns = 1; columns <= count; columns += 1) {
    const rows = Math.ceil(count / columns);
    const byWidth = (width - (columns - 1) * GAP_PX) / columns - 12;
    const byHeight = ((height - (rows - 1) * GAP_PX) / rows - TILE_CHROME_PX) * aspect;
    const loopWidth = Math.floor(Math.min(byWidth, byHeight));
    const orphans = rows * columns - count;
    // A part-empty last row costs as much as loops a fifth smaller.
    const score = loopWidth * (orphans ? 0.8 : 1);
    if (loopWidth > 0 && (!best || score > best.score)) best = { columns, loopWidth, score, fits: true };
  }
  if (!best || best.loopWidth < MIN_TILE_PX) {
    // Too small to judge: as many columns as fit at a usable size, one fewer if that fills the
    // rows, and the page scrolls.
    let columns = Math.max(1, Math.min(count, Math.floor((width + GAP_PX) / (MIN_TILE_PX + 12 + GAP_PX))));
    if (columns > 2 && count % columns && count % (columns - 1) === 0) columns -= 1;
    const loopWidth = Math.floor((width - (columns - 1) * GAP_PX) / columns - 12);
    return { columns, loopWidth, fits: false };
  }
  return best;
}

export function mount(root, { task, config, onChange, announce }) {
  const [start, end] = config.axis;
  const allowTies = config.schema.allow_indistinguishable !== false;
  const items = task.items.map((item, k) => ({ ...item, letter: String.fromCharCode(65 + k) }));
  const byId = new Map(items.map((item) => [item.id, item]));
  let order = items.map((item) => item.id);
  let ties = new Set();
  let grabbed = null;
  let grabbedFrom = null;
  const tieKey = (a, b) => `${a}|${b}`;

  const views = items.map((item) => new CineView(item.clip, { label: `Clip ${item.letter}` }));
  const group = new CineGroup(views, { label: "All clips" });
  const help = el("p", {
    id: "rank-help",
    class: "visually-hidden",
    text: `Ordered from ${start} to ${end}. Enter or Space picks a clip up; arrow keys move it; Enter drops it; Escape cancels.`,
  });
  const list = el("ol", {
    class: "rank-list",
    "aria-label": `Clips ordered from ${start} (first) to ${end} (last)`,
    "data-own-keys": "",
  });

  items.forEach((item, k) => {
    const grab = el("button", { type: "button", class: "grab", "aria-describedby": "rank-help" });
    const tie = el("button", { type: "button", class: "tie", "aria-pressed": "false", text: "Same as next" });
    const li = el("li", { class: "rank-item" }, [
      views[k].canvas,
      el("div", { class: "rank-bar" }, [el("span", { class: "position", "aria-hidden": "true" }), grab, allowTies ? tie : ""]),
    ]);
    li.dataset.item = String(item.id);
    Object.assign(item, { li, grab, tie });
    grab.addEventListener("click", () => tap(item.id));
    // Space activates a button on key-up; the keydown handler already acted on it.
    grab.addEventListener("keyup", (event) => {
      if (event.key === " ") event.preventDefault();
    });
    tie.addEventListener("click", () => toggleTie(item.id));
    li.addEventListener("pointerdown", (event) => pointerDown(event, item.id));
  });

  const axisBar = el("div", { class: "axis-bar", "aria-hidden": "true" }, [
    el("span", { class: "axis-end axis-start", text: `← ${start}` }),
    el("span", { class: "drag-hint" }),
    el("span", { class: "axis-end axis-finish", text: `${end} →` }),
  ]);
  const hint = axisBar.querySelector(".drag-hint");
  const mode = el("div", { class: "mode-ranking" }, [
    el("div", { class: "ranking-controls cine" }, [group.controls]),
    axisBar,
    help,
    list,
  ]);
  root.append(mode);

  // --- layout for the screen in hand -------------------------------------------------------
  const aspect = Math.max(...items.map((item) => item.clip.width / item.clip.height).filter((a) => a > 0), 0.1);
  let layout = null;
  function fitGrid() {
    const box = list.getBoundingClientRect();
    const actions = document.querySelector(".actions");
    const below = actions ? actions.getBoundingClientRect().height + 12 : 60;
    // From the list's place on the page (as if scrolled to the top) to the bottom of the screen.
    const top = box.top + window.scrollY;
    const height = window.innerHeight - Math.min(top, window.innerHeight * 0.4) - below;
    const next = gridLayout(items.length, aspect, list.clientWidth, height);
    if (layout && ["columns", "loopWidth", "fits"].every((key) => next[key] === layout[key])) return;
    layout = next;
    list.style.setProperty("--columns", String(layout.columns));
    list.style.setProperty("--loop-width", `${layout.loopWidth}px`);
    list.classList.toggle("scrolls", !layout.fits);
    list.dataset.columns = String(layout.columns);
    const touch = window.matchMedia("(pointer: coarse)").matches;
    hint.textContent = !touch
      ? "Drag the clips into order"
      : layout.fits
        ? "Drag the clips into order"
        : "Drag a clip by its handle ⠿, or press and hold it, to move it";
  }
  const resizeObserver = new ResizeObserver(() => fitGrid());
  resizeObserver.observe(mode);

  function pruneTies() {
    const adjacent = new Set(order.slice(0, -1).map((id, i) => tieKey(id, order[i + 1])));
    ties = new Set([...ties].filter((key) => adjacent.has(key)));
  }

  function render() {
    pruneTies();
    order.forEach((id, i) => {
      const item = byId.get(id);
      if (list.children[i] !== item.li) {
        list.insertBefore(item.li, list.children[i] || null);
        views[items.indexOf(item)].redraw();
      }
      const next = order[i + 1];
      const tied = next !== undefined && ties.has(tieKey(id, next));
      item.li.querySelector(".position").textContent = String(i + 1);
      item.li.classList.toggle("tied-next", tied);
      item.li.classList.toggle("grabbed", grabbed === id);
      item.li.dataset.position = String(i);
      const end_ = i === 0 ? `, ${start}` : i === order.length - 1 ? `, ${end}` : "";
      item.grab.textContent = `⠿ Clip ${item.letter}`;
      item.grab.setAttribute(
        "aria-label",
        `Clip ${item.letter}, position ${i + 1} of ${order.length}${end_}${tied ? ", indistinguishable from the next" : ""}${grabbed === id ? ", picked up" : ""}`,
      );
      item.grab.setAttribute("aria-pressed", String(grabbed === id));
      item.tie.hidden = next === undefined;
      item.tie.setAttribute("aria-pressed", String(tied));
      item.tie.setAttribute(
        "aria-label",
        `Same as next: clip ${item.letter} and the next clip are indistinguishable`,
      );
    });
  }

  function changed(message) {
    render();
    onChange();
    if (message) announce(message);
  }

  function moveTo(id, index) {
    const from = order.indexOf(id);
    const target = Math.max(0, Math.min(order.length - 1, index));
    if (from === target) return false;
    order.splice(from, 1);
    order.splice(target, 0, id);
    return true;
  }

  function tap(id) {
    if (grabbed === null) {
      grabbed = id;
      grabbedFrom = [...order];
      changed(`Clip ${byId.get(id).letter} picked up. Move it with the arrow keys, or choose where to put it.`);
    } else if (grabbed === id) {
      grabbed = null;
      changed(`Clip ${byId.get(id).letter} dropped at position ${order.indexOf(id) + 1}.`);
    } else {
      const moving = grabbed;
      moveTo(moving, order.indexOf(id));
      grabbed = null;
      changed(`Clip ${byId.get(moving).letter} moved to position ${order.indexOf(moving) + 1}.`);
      byId.get(moving).grab.focus();
    }
  }

  function toggleTie(id) {
    const i = order.indexOf(id);
    const next = order[i + 1];
    if (next === undefined) return;
    const key = tieKey(id, next);
    if (ties.has(key)) ties.delete(key);
    else ties.add(key);
    changed(
      ties.has(key)
        ? `Clips ${byId.get(id).letter} and ${byId.get(next).letter} marked indistinguishable.`
        : `Clips ${byId.get(id).letter} and ${byId.get(next).letter} no longer marked indistinguishable.`,
    );
  }

  // --- pointer dragging ---------------------------------------------------------------------
  let drag = null;
  function pointerDown(event, id) {
    if (event.button !== 0 || event.target.closest(".tie")) return;
    const li = byId.get(id).li;
    const rect = li.getBoundingClientRect();
    drag = { id, li, pointerId: event.pointerId, x0: event.clientX, y0: event.clientY, dx: event.clientX - rect.left, dy: event.clientY - rect.top, active: false };
    // Where the page scrolls, a finger on a clip (not its handle) scrolls, unless it is held still first.
    drag.held = !(event.pointerType === "touch" && list.classList.contains("scrolls") && !event.target.closest(".grab"));
    if (!drag.held) {
      const pending = drag;
      drag.timer = setTimeout(() => {
        pending.held = true;
        pending.li.classList.add("held");
        if (navigator.vibrate) navigator.vibrate(15);
      }, HOLD_MS);
    }
    window.addEventListener("pointermove", pointerMove);
    window.addEventListener("pointerup", pointerUp);
    window.addEventListener("pointercancel", pointerUp);
  }

  // Once a clip is held, the finger moves it: stop the page from scrolling under it.
  list.addEventListener(
    "touchmove",
    (event) => {
      if (drag && drag.held && event.cancelable) event.preventDefault();
    },
    { passive: false },
  );

  function place(event) {
    const { li } = drag;
    li.style.transform = "";
    const natural = li.getBoundingClientRect();
    li.style.transform = `translate(${event.clientX - drag.dx - natural.left}px, ${event.clientY - drag.dy - natural.top}px)`;
  }

  function pointerMove(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    if (!drag.active) {
      if (Math.hypot(event.clientX - drag.x0, event.clientY - drag.y0) < DRAG_THRESHOLD_PX) return;
      if (!drag.held) {
        // Moved before the hold: a swipe, which the page scrolls.
        endDrag();
        return;
      }
      drag.active = true;
      drag.li.classList.add("dragging");
    }
    event.preventDefault();
    let best = null;
    for (const id of order) {
      const li = byId.get(id).li;
      const saved = li.style.transform;
      if (id === drag.id) li.style.transform = "";
      const r = li.getBoundingClientRect();
      li.style.transform = saved;
      const distance = Math.hypot(event.clientX - (r.left + r.width / 2), event.clientY - (r.top + r.height / 2));
      if (!best || distance < best.distance) best = { id, distance };
    }
    if (best && best.id !== drag.id && moveTo(drag.id, order.indexOf(best.id))) render();
    place(event);
  }

  function endDrag() {
    const { li, timer } = drag;
    clearTimeout(timer);
    window.removeEventListener("pointermove", pointerMove);
    window.removeEventListener("pointerup", pointerUp);
    window.removeEventListener("pointercancel", pointerUp);
    li.style.transform = "";
    li.classList.remove("dragging", "held");
    drag = null;
  }

  function pointerUp(event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const { id, active } = drag;
    endDrag();
    if (active) {
      event.preventDefault();
      grabbed = null;
      // The click that follows a drag must not pick the clip up.
      const swallow = (e) => {
        e.stopPropagation();
        e.preventDefault();
      };
      window.addEventListener("click", swallow, { capture: true, once: true });
      setTimeout(() => window.removeEventListener("click", swallow, { capture: true }), 0);
      changed(`Clip ${byId.get(id).letter} moved to position ${order.indexOf(id) + 1}.`);
    }
  }

  function groups() {
    const result = [];
    let run = [order[0]];
    for (let i = 1; i < order.length; i += 1) {
      if (ties.has(tieKey(order[i - 1], order[i]))) run.push(order[i]);
      else {
        if (run.length > 1) result.push(run);
        run = [order[i]];
      }
    }
    if (run.length > 1) result.push(run);
    return result;
  }

  render();
  fitGrid();
  return {
    group,
    ready: group.ready.then(() => group.play()),
    answer() {
      return { ordering: [...order], ties: groups() };
    },
    missing() {
      return "Order the clips.";
    },
    state() {
      return { order: [...order], ties: [...ties] };
    },
    restore(saved) {
      if (!saved || !Array.isArray(saved.order)) return;
      const known = new Set(order);
      if (saved.order.length !== order.length || !saved.order.every((id) => known.has(id))) return;
      order = [...saved.order];
      ties = new Set(saved.ties || []);
      render();
    },
    onKey(event) {
      const grab = event.target.closest && event.target.closest(".rank-item .grab");
      if (!grab) return false;
      const id = Number(grab.closest(".rank-item").dataset.item);
      const i = order.indexOf(id);
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        tap(id);
        return true;
      }
      if (event.key === "Escape" && grabbed !== null) {
        event.preventDefault();
        order = grabbedFrom || order;
        const letter = byId.get(grabbed).letter;
        grabbed = null;
        changed(`Move of clip ${letter} cancelled.`);
        byId.get(id).grab.focus();
        return true;
      }
      if (event.key === "=" && allowTies) {
        event.preventDefault();
        toggleTie(id);
        return true;
      }
      const delta = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
      if (delta === undefined) return false;
      event.preventDefault();
      if (grabbed === id) {
        if (moveTo(id, i + delta)) changed(`Clip ${byId.get(id).letter}, position ${order.indexOf(id) + 1} of ${order.length}.`);
        byId.get(id).grab.focus();
      } else {
        const next = order[i + delta];
        if (next !== undefined) byId.get(next).grab.focus();
      }
      return true;
    },
    focus() {
      byId.get(order[0]).grab.focus();
    },
    destroy() {
      resizeObserver.disconnect();
      group.destroy();
    },
  };
}
