// Classification: one clip, the project's classes with descriptions and a filter, plus
// "None of the above" and "Not sure". Native radio buttons: arrows move, Enter submits.

import { CineGroup, CineView, el } from "../player.js";

const NONE = "none_of_the_above";
const NOT_SURE = "not_sure";

export function mount(root, { task, config, onChange, announce }) {
  const item = task.items[0];
  const view = new CineView(item.clip, { label: "Echo clip to classify" });
  const startFrame = item.frame_index ?? 0;
  const group = new CineGroup([view], { label: "Clip", startFrame });

  const filter = el("input", {
    type: "search",
    id: "class-filter",
    placeholder: "Filter classes (press /)",
    autocomplete: "off",
    "aria-describedby": "class-count",
  });
  const filterLabel = el("label", { for: "class-filter", class: "visually-hidden", text: "Filter classes" });
  const count = el("p", { id: "class-count", class: "class-count", "aria-live": "polite" });
  const list = el("div", { class: "class-list" });
  const options = [];
  const addOption = (key, name, description, extra = "") => {
    const input = el("input", { type: "radio", name: "class", value: key, id: `class-${key}` });
    const shortcut = el("kbd", { class: "shortcut", "aria-hidden": "true" });
    const label = el("label", { for: `class-${key}`, class: `class-option ${extra}`.trim() }, [
      input,
      el("span", { class: "class-name", text: name }),
      shortcut,
      description ? el("span", { class: "class-desc", text: description }) : "",
    ]);
    label.dataset.key = key;
    const option = { key, input, label, shortcut, text: `${key} ${name} ${description}`.toLowerCase() };
    input.addEventListener("change", () => {
      onChange();
      announce(`${name} chosen.`);
    });
    options.push(option);
    return label;
  };
  for (const entry of config.schema.classes || []) {
    list.append(addOption(entry.key, entry.name, entry.description || ""));
  }
  const fixed = el("div", { class: "class-list fixed" }, [
    addOption(NONE, "None of the above", "", "special"),
    addOption(NOT_SURE, "Not sure", "", "special"),
  ]);
  const classOptions = options.filter((o) => o.key !== NONE && o.key !== NOT_SURE);
  options.find((o) => o.key === NONE).shortcut.textContent = "N";
  options.find((o) => o.key === NOT_SURE).shortcut.textContent = "?";

  const visible = () => classOptions.filter((o) => !o.label.hidden);
  const applyFilter = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const option of classOptions) option.label.hidden = !words.every((w) => option.text.includes(w));
    visible().forEach((o, i) => {
      o.shortcut.textContent = i < 9 ? String(i + 1) : "";
    });
    for (const o of classOptions.filter((x) => x.label.hidden)) o.shortcut.textContent = "";
    count.textContent = `${visible().length} of ${classOptions.length} classes shown`;
  };
  filter.addEventListener("input", () => {
    applyFilter();
    onChange();
  });
  applyFilter();

  const fieldset = el("fieldset", { class: "classes" }, [
    el("legend", { text: "View class" }),
    filterLabel,
    filter,
    count,
    list,
    fixed,
  ]);
  const stage = el("div", { class: "cine single" }, [el("div", { class: "cine-stage" }, [view.canvas]), group.controls]);
  root.append(el("div", { class: "mode-classification" }, [stage, fieldset]));

  const choose = (option) => {
    option.input.checked = true;
    option.input.focus();
    option.input.dispatchEvent(new Event("change", { bubbles: true }));
  };

  const selected = () => options.find((o) => o.input.checked);

  return {
    group,
    ready: group.ready.then(() => {
      if (item.frame_index == null) group.play();
    }),
    answer() {
      const option = selected();
      return option ? { class: option.key } : null;
    },
    notSure() {
      const option = selected();
      return Boolean(option && option.key === NOT_SURE);
    },
    missing() {
      return "Choose a class, None of the above, or Not sure.";
    },
    state() {
      const option = selected();
      return { class: option ? option.key : null, filter: filter.value };
    },
    restore(saved) {
      if (!saved) return;
      filter.value = saved.filter || "";
      applyFilter();
      const option = options.find((o) => o.key === saved.class);
      if (option) option.input.checked = true;
    },
    onKey(event) {
      if (event.target === filter) {
        if (event.key === "ArrowDown" || event.key === "Enter") {
          const first = visible()[0];
          if (first) {
            event.preventDefault();
            if (event.key === "Enter") choose(first);
            else first.input.focus();
          }
          return true;
        }
        if (event.key === "Escape") {
          filter.value = "";
          applyFilter();
          return true;
        }
        return false;
      }
      if (event.target.tagName === "TEXTAREA" || event.target.type === "text") return false;
      if (event.ctrlKey || event.metaKey || event.altKey) return false;
      if (event.key === "/") {
        event.preventDefault();
        filter.focus();
        filter.select();
        return true;
      }
      if (/^[1-9]$/.test(event.key)) {
        const option = visible()[Number(event.key) - 1];
        if (option) {
          event.preventDefault();
          choose(option);
        }
        return true;
      }
      if (event.key === "n" || event.key === "N") {
        choose(options.find((o) => o.key === NONE));
        return true;
      }
      if (event.key === "?") {
        choose(options.find((o) => o.key === NOT_SURE));
        return true;
      }
      return false;
    },
    focus() {
      filter.focus();
    },
    destroy() {
      group.destroy();
    },
  };
}
