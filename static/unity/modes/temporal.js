// Temporal: step through the loop frame by frame and mark the project's events (ED, ES) over
// several beats; jump between marks. The answer lists {key, frame, beat}.

import { CineGroup, CineView, el } from "../player.js";

// A mark's name on the timeline: the key when short ("ed" -> "ED"), else the name's initials.
function shortName(event) {
  if (event.key.length <= 3) return event.key.toUpperCase();
  return event.name
    .split(/[\s-]+/)
    .map((word) => word[0] || "")
    .join("")
    .slice(0, 3)
    .toUpperCase();
}

export function mount(root, { task, config, onChange, announce }) {
  const item = task.items[0];
  const events = config.schema.events || [];
  const minBeats = config.schema.min_beats || 1;
  const maxBeats = config.schema.max_beats || 5;
  let marks = [];

  const view = new CineView(item.clip, { label: "Echo clip to time" });
  const group = new CineGroup([view], { label: "Clip", startFrame: 0 });
  const timeline = el("div", { class: "timeline", role: "group", "aria-label": "Marks on the timeline" });
  const playhead = el("div", { class: "playhead" });
  timeline.append(playhead);
  const tools = el("div", { class: "temporal-tools", role: "group", "aria-label": "Mark events" });
  events.forEach((event, index) => {
    const button = el("button", { type: "button", class: "event-button", "data-event": event.key });
    button.style.setProperty("--c", event.colour);
    button.textContent = `Mark ${event.name}`;
    button.append(el("kbd", { "aria-hidden": "true", text: ` ${index + 1}` }));
    if (event.description) button.title = event.description;
    button.addEventListener("click", () => mark(event.key));
    tools.append(button);
  });
  const previous = el("button", { type: "button", class: "mark-prev", text: "◀ Previous mark" });
  const next = el("button", { type: "button", class: "mark-next", text: "Next mark ▶" });
  const remove = el("button", { type: "button", class: "mark-remove", text: "Remove mark here" });
  previous.addEventListener("click", () => jump(-1));
  next.addEventListener("click", () => jump(1));
  remove.addEventListener("click", () => removeAt(view.frame));
  tools.append(previous, next, remove);
  const summary = el("p", { class: "marks-summary", "aria-live": "polite" });
  const table = el("table", { class: "data marks" });
  table.innerHTML = '<caption class="visually-hidden">Marked events</caption><thead><tr><th scope="col">Beat</th><th scope="col">Event</th><th scope="col">Frame</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>';
  const tbody = el("tbody");
  table.append(tbody);
  const guide = el(
    "ul",
    { class: "event-guide" },
    events.map((e) => el("li", { text: `${e.name}: ${e.description || ""}` })),
  );
  root.append(
    el("div", { class: "mode-temporal" }, [
      el("div", { class: "cine" }, [el("div", { class: "cine-stage" }, [view.canvas]), group.controls, timeline]),
      el("div", { class: "temporal-side" }, [tools, summary, table, guide]),
    ]),
  );

  const name = (key) => (events.find((e) => e.key === key) || { name: key }).name;
  const completeBeats = () => {
    const beats = new Set(marks.map((m) => m.beat));
    return [...beats].filter((b) => events.every((e) => marks.some((m) => m.key === e.key && m.beat === b)));
  };

  function mark(key) {
    const frame = view.frame;
    if (marks.some((m) => m.key === key && m.frame === frame)) return announce(`${name(key)} is already marked here.`);
    let beat = 1;
    while (beat <= maxBeats && marks.some((m) => m.key === key && m.beat === beat)) beat += 1;
    if (beat > maxBeats) return announce(`At most ${maxBeats} beats.`);
    marks.push({ key, frame, beat });
    changed(`${name(key)} marked on frame ${frame}, beat ${beat}.`);
  }

  function removeAt(frame) {
    const before = marks.length;
    marks = marks.filter((m) => m.frame !== frame);
    if (marks.length !== before) changed(`Mark on frame ${frame} removed.`);
  }

  function jump(direction) {
    const frames = [...new Set(marks.map((m) => m.frame))].sort((a, b) => a - b);
    if (!frames.length) return announce("No marks yet.");
    const current = view.frame;
    const target =
      direction > 0
        ? frames.find((f) => f > current) ?? frames[0]
        : [...frames].reverse().find((f) => f < current) ?? frames[frames.length - 1];
    group.seek(target);
    announce(`Frame ${target}: ${marks.filter((m) => m.frame === target).map((m) => `${name(m.key)} beat ${m.beat}`).join(", ")}.`);
  }

  function changed(message) {
    render();
    onChange();
    if (message) announce(message);
  }

  function render() {
    marks.sort((a, b) => a.frame - b.frame || a.beat - b.beat);
    for (const tick of timeline.querySelectorAll(".tick")) tick.remove();
    const last = Math.max(item.clip.frame_count - 1, 1);
    tbody.innerHTML = "";
    for (const m of marks) {
      const event = events.find((e) => e.key === m.key);
      const short = event ? shortName(event) : m.key;
      const tick = el("button", { type: "button", class: "tick", "aria-label": `${short}: ${name(m.key)} beat ${m.beat}, frame ${m.frame}: go there` });
      tick.style.left = `${(m.frame / last) * 100}%`;
      tick.style.background = event ? event.colour : "#fff";
      tick.style.setProperty("--c", event ? event.colour : "#fff");
      tick.append(el("span", { class: "tick-label", "aria-hidden": "true", text: short }));
      tick.addEventListener("click", () => group.seek(m.frame));
      timeline.append(tick);
      const go = el("button", { type: "button", text: "Go", "aria-label": `Go to frame ${m.frame}` });
      go.addEventListener("click", () => group.seek(m.frame));
      const del = el("button", { type: "button", text: "Remove", "aria-label": `Remove ${name(m.key)} beat ${m.beat}` });
      del.addEventListener("click", () => {
        marks = marks.filter((x) => x !== m);
        changed(`${name(m.key)} beat ${m.beat} removed.`);
      });
      tbody.append(el("tr", {}, [el("td", { text: String(m.beat) }), el("td", { text: name(m.key) }), el("td", { text: String(m.frame) }), el("td", {}, [el("div", { class: "mark-actions" }, [go, del])])]));
    }
    playhead.style.left = `${(Math.max(view.frame, 0) / last) * 100}%`;
    const done = completeBeats().length;
    summary.textContent = `${marks.length} mark${marks.length === 1 ? "" : "s"}; ${done} complete beat${done === 1 ? "" : "s"} (at least ${minBeats} needed).`;
    root.dataset.marks = JSON.stringify(marks);
  }
  view.onFrame(() => {
    playhead.style.left = `${(view.frame / Math.max(item.clip.frame_count - 1, 1)) * 100}%`;
  });
  timeline.addEventListener("pointerdown", (event) => {
    if (event.target.closest(".tick")) return;
    const r = timeline.getBoundingClientRect();
    group.seek(Math.round(((event.clientX - r.left) / r.width) * (item.clip.frame_count - 1)));
  });

  render();
  return {
    group,
    ready: group.ready.then(() => render()),
    answer() {
      return completeBeats().length >= minBeats ? { events: marks.map((m) => ({ ...m })) } : null;
    },
    missing() {
      return `Mark ${events.map((e) => e.name).join(" and ")} in at least ${minBeats} beat${minBeats === 1 ? "" : "s"}.`;
    },
    state() {
      return { marks };
    },
    restore(saved) {
      if (saved && Array.isArray(saved.marks)) {
        marks = saved.marks;
        render();
      }
    },
    onKey(event) {
      const target = event.target;
      if (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return false;
      if (/^[1-9]$/.test(event.key) && events[Number(event.key) - 1]) {
        event.preventDefault();
        mark(events[Number(event.key) - 1].key);
        return true;
      }
      if (event.key === "[" || event.key === "]") {
        event.preventDefault();
        jump(event.key === "]" ? 1 : -1);
        return true;
      }
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeAt(view.frame);
        return true;
      }
      return false;
    },
    focus() {
      group.nextButton.focus();
    },
    destroy() {
      group.destroy();
    },
  };
}
