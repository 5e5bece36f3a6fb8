// The labelling screen: takes a task from the API, shows it in the project's mode, sends the
// answer, and shows the next task at once (it was requested and its frames fetched while the
// expert worked on this one). The answer in progress is kept in localStorage per task, so a
// dropped connection or an ended session never loses it.

import { ApiError, post, setCsrfToken } from "./api.js";
import { FrameSource } from "./player.js";

const config = JSON.parse(document.getElementById("label-config").textContent);
setCsrfToken(config.csrf);
const MODES = {
  ranking: () => import("./modes/ranking.js"),
  classification: () => import("./modes/classification.js"),
  keypoints: () => import("./modes/keypoints.js"),
  temporal: () => import("./modes/temporal.js"),
};
const DRAFT_PREFIX = "unity:draft:";
const DRAFT_MAX_AGE_MS = 3 * 24 * 3600 * 1000;

const $ = (id) => document.getElementById(id);
const taskRoot = $("task");
const form = $("task-form");
const submitButton = $("submit");
const skipButton = $("skip");
const feedback = $("feedback");
const notSure = $("not-sure");
const notice = $("notice");
const status = $("status");

// Keyboard hints show on touch screens only once a keyboard is seen (unity.css).
window.addEventListener("keydown", () => document.body.classList.add("keyboard-seen"), { once: true });

const timings = [];
window.unityTimings = timings;

const state = {
  task: null,
  mode: null,
  next: null,
  pending: null,
  blocked: false,
  activeMs: 0,
  visibleSince: performance.now(),
  submitMark: null,
};

function url(template, taskId) {
  return template.replace("00000000-0000-0000-0000-000000000000", taskId);
}

function announce(text) {
  status.textContent = "";
  // A fresh text node makes screen readers speak the same message twice in a row.
  requestAnimationFrame(() => {
    status.textContent = text;
  });
}

function showNotice(kind, html, actions = []) {
  notice.hidden = false;
  notice.className = `notice notice-${kind}`;
  notice.innerHTML = "";
  const text = document.createElement("p");
  text.innerHTML = html;
  notice.append(text);
  for (const [label, handler, cls] of actions) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.className = cls || "";
    button.addEventListener("click", handler);
    notice.append(button);
  }
  notice.dataset.kind = kind;
}

function clearNotice() {
  notice.hidden = true;
  notice.innerHTML = "";
  delete notice.dataset.kind;
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = String(text);
  return div.innerHTML;
}

// --- drafts ---------------------------------------------------------------------------------
function saveDraft() {
  if (!state.task || !state.mode) return;
  const draft = { saved: Date.now(), mode: state.mode.state(), feedback: feedback.value, notSure: notSure.checked };
  try {
    localStorage.setItem(DRAFT_PREFIX + state.task.id, JSON.stringify(draft));
  } catch (error) {
    /* storage full or disabled: the answer stays on screen */
  }
}

function loadDraft(taskId) {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_PREFIX + taskId) || "null");
  } catch (error) {
    return null;
  }
}

function dropDraft(taskId) {
  try {
    localStorage.removeItem(DRAFT_PREFIX + taskId);
  } catch (error) {
    /* ignore */
  }
}

function pruneDrafts() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i -= 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(DRAFT_PREFIX)) continue;
      const draft = JSON.parse(localStorage.getItem(key) || "{}");
      if (!draft.saved || Date.now() - draft.saved > DRAFT_MAX_AGE_MS) localStorage.removeItem(key);
    }
  } catch (error) {
    /* ignore */
  }
}

// --- tasks ----------------------------------------------------------------------------------
// Why the last request for a task came back empty: the server's words (no clips ready yet, or
// nothing left for this expert).
let noTaskDetail = "";

async function requestTask(exclude) {
  const { data } = await post(config.urls.next, { exclude });
  if (data && data.task) return data.task;
  noTaskDetail = (data && data.detail) || "";
  return null;
}

function preloadMedia(task) {
  return Promise.all(
    task.items.map((item) => (item.clip.manifest_url ? FrameSource.get(item.clip.manifest_url).preload() : null)),
  ).catch(() => {});
}

function prefetchNext() {
  const current = state.task;
  state.next = requestTask([current.id])
    .then((task) => {
      if (task) preloadMedia(task);
      return task;
    })
    .catch(() => null);
}

function activeTime() {
  const now = performance.now();
  return Math.round(state.activeMs + (document.hidden ? 0 : now - state.visibleSince));
}

// Keep the deadline of the task on screen ahead of the expert: renew when it is shown, every
// third of the project's timeout, and when the tab comes back. Failures are silent here: a task
// that did expire is reported, with the answer kept, when it is submitted.
function renewTask() {
  const task = state.task;
  if (!task || !config.urls.renew) return;
  post(url(config.urls.renew, task.id), {}, { attempts: 1 }).catch(() => {});
}
setInterval(() => {
  if (!document.hidden) renewTask();
}, config.renew_seconds * 1000);

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) renewTask();
  const now = performance.now();
  if (document.hidden) state.activeMs += now - state.visibleSince;
  state.visibleSince = now;
  if (!document.hidden && state.pending && state.blocked === "signed_out") retry();
});

async function show(task) {
  if (state.mode) state.mode.destroy();
  state.task = task;
  state.pending = null;
  state.blocked = false;
  state.activeMs = 0;
  state.visibleSince = performance.now();
  clearNotice();
  feedback.value = "";
  notSure.checked = false;
  submitButton.disabled = false;
  skipButton.disabled = false;
  taskRoot.innerHTML = "";
  taskRoot.setAttribute("aria-busy", "true");
  taskRoot.dataset.taskId = task.id;
  const module = await MODES[config.kind]();
  const mode = module.mount(taskRoot, { task, config, onChange: saveDraft, announce });
  state.mode = mode;
  const draft = loadDraft(task.id);
  if (draft) {
    mode.restore(draft.mode);
    feedback.value = draft.feedback || "";
    notSure.checked = Boolean(draft.notSure);
    announce("Your unsent answer to this task was restored.");
  }
  try {
    await mode.ready;
  } catch (error) {
    if (state.task !== task) return;
    showNotice("error", `The clip could not be loaded (${escapeHtml(error.message)}). If you were signed out, <a href="${escapeHtml(config.urls.login)}" target="_blank" rel="noopener">sign in again (opens a new tab)</a>, then press Retry.`, [
      ["Retry", () => show(task), "primary"],
    ]);
    return;
  }
  if (state.task !== task) return;
  taskRoot.setAttribute("aria-busy", "false");
  document.body.dataset.taskId = task.id;
  performance.mark("task-ready");
  if (state.submitMark) {
    const measure = performance.measure("submit-to-ready", state.submitMark, "task-ready");
    timings.push(measure.duration);
    state.submitMark = null;
  } else {
    timings.push(null);
  }
  FrameSource.releaseExcept(task.items.map((i) => i.clip.manifest_url).filter(Boolean));
  renewTask();
  mode.focus();
}

function showDone(message) {
  if (state.mode) state.mode.destroy();
  state.mode = null;
  state.task = null;
  form.hidden = true;
  $("done").hidden = false;
  $("done-message").textContent = message;
  document.body.dataset.taskId = "done";
  $("done-link").focus();
}

async function advance() {
  const previous = state.task;
  let task = state.next ? await state.next : null;
  state.next = null;
  if (!task || (previous && task.id === previous.id)) {
    try {
      task = await requestTask(previous ? [previous.id] : []);
    } catch (error) {
      return handleError(error, "next");
    }
  }
  if (!task) return showDone(noTaskDetail || "Nothing left for you in this project. Thank you!");
  await show(task);
  prefetchNext();
}

function clientInfo() {
  return {
    user_agent: navigator.userAgent,
    viewport: `${window.innerWidth}x${window.innerHeight}`,
    pointer: window.matchMedia("(pointer: coarse)").matches ? "coarse" : "fine",
    platform: navigator.platform || "",
    app_version: config.app_version || "",
  };
}

async function submit() {
  if (!state.task || !state.mode || state.blocked === "closed") return;
  const answer = state.mode.answer();
  if (!answer) {
    showNotice("info", escapeHtml(state.mode.missing()));
    return;
  }
  state.pending = {
    taskId: state.task.id,
    body: {
      answer,
      not_sure: Boolean(state.mode.notSure ? state.mode.notSure() : notSure.checked),
      feedback: feedback.value.trim(),
      time_on_task_ms: activeTime(),
      client_info: clientInfo(),
    },
  };
  saveDraft();
  await send();
}

async function send() {
  const pending = state.pending;
  if (!pending) return;
  submitButton.disabled = true;
  submitButton.setAttribute("aria-busy", "true");
  clearNotice();
  announce("Sending your answer…");
  const mark = `submit-${pending.taskId}`;
  performance.mark(mark);
  try {
    await post(url(config.urls.judgement, pending.taskId), pending.body);
  } catch (error) {
    submitButton.removeAttribute("aria-busy");
    return handleError(error, "submit");
  }
  submitButton.removeAttribute("aria-busy");
  dropDraft(pending.taskId);
  state.submitMark = mark;
  announce("Answer saved. Next task.");
  await advance();
}

function retry() {
  if (state.pending) send();
  else advance();
}

function handleError(error, during) {
  const keep = "Your answer is kept on this screen.";
  submitButton.disabled = false;
  if (!(error instanceof ApiError)) {
    showNotice("error", `Something went wrong: ${escapeHtml(error.message)}. ${keep}`, [["Retry", retry]]);
    return;
  }
  if (error.signedOut) {
    state.blocked = "signed_out";
    showNotice(
      "signed-out",
      `Your session has ended. ${keep} <a href="${escapeHtml(config.urls.login)}" target="_blank" rel="noopener">Sign in again (opens a new tab)</a>, then press Retry.`,
      [["Retry", retry, "primary"]],
    );
    return;
  }
  if (error.network || error.status >= 500) {
    showNotice("network", `The connection dropped. ${keep} Press Retry when you are back online: it is sent once, never twice.`, [
      ["Retry", retry, "primary"],
    ]);
    return;
  }
  const next = ["Next task", () => leave(), "primary"];
  switch (error.code) {
    case "task_expired":
      state.blocked = "closed";
      submitButton.disabled = true;
      showNotice("expired", `This task expired before your answer arrived, so it was not recorded. ${keep}`, [next]);
      break;
    case "already_answered":
      state.blocked = "closed";
      submitButton.disabled = true;
      showNotice("answered", `This task was already answered; your earlier answer is kept. ${keep}`, [next]);
      break;
    case "task_closed":
      state.blocked = "closed";
      submitButton.disabled = true;
      showNotice("closed", `${escapeHtml(error.detail)} ${keep}`, [next]);
      break;
    case "project_not_open":
    case "consensus_reached":
      state.blocked = "closed";
      submitButton.disabled = true;
      skipButton.disabled = true;
      showNotice(
        "project-closed",
        `${escapeHtml(error.detail)} ${keep} <a href="${escapeHtml(config.urls.home)}">Back to my projects</a>`,
      );
      break;
    case "invalid_answer":
      state.pending = null;
      showNotice("invalid", `${escapeHtml(error.detail)}`);
      break;
    default:
      showNotice("error", `${escapeHtml(error.detail || error.code)} ${keep}`, during === "next" ? [["Retry", retry]] : []);
  }
}

function leave() {
  if (state.task) dropDraft(state.task.id);
  state.pending = null;
  advance();
}

// --- skip -----------------------------------------------------------------------------------
const skipDialog = $("skip-dialog");
skipButton.addEventListener("click", () => {
  skipDialog.showModal();
  skipDialog.querySelector("input[name=reason]").focus();
});
$("skip-cancel").addEventListener("click", () => skipDialog.close());
$("skip-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const choice = skipDialog.querySelector("input[name=reason]:checked");
  let reason = choice ? choice.value : "";
  const other = $("skip-other").value.trim();
  if (reason === "other") reason = other;
  if (!reason) {
    $("skip-error").textContent = "Say why you skip.";
    return;
  }
  skipDialog.close();
  const task = state.task;
  try {
    await post(url(config.urls.skip, task.id), { reason });
  } catch (error) {
    return handleError(error, "skip");
  }
  dropDraft(task.id);
  announce("Task skipped.");
  await advance();
});

// --- keyboard -------------------------------------------------------------------------------
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
document.addEventListener("keydown", (event) => {
  if (!state.mode || skipDialog.open) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    event.preventDefault();
    submit();
    return;
  }
  const target = event.target;
  if (event.key === "Enter" && target.type === "radio" && target.form === form) {
    event.preventDefault();
    submit();
    return;
  }
  if (state.mode.onKey && state.mode.onKey(event)) return;
  const typing = TYPING.has(target.tagName) && target.type !== "checkbox" && target.type !== "radio";
  if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
  const group = state.mode.group;
  if (!group) return;
  const interactive = target.closest("button, a, summary, [role=button], [data-own-keys]");
  if (event.key === " " && !interactive && target.type !== "radio" && target.type !== "checkbox") {
    event.preventDefault();
    group.toggle();
  } else if ((event.key === "ArrowRight" || event.key === ".") && !target.closest("[data-own-keys], [role=radiogroup]")) {
    if (target.type === "radio") return;
    event.preventDefault();
    group.step(event.shiftKey ? 10 : 1);
  } else if ((event.key === "ArrowLeft" || event.key === ",") && !target.closest("[data-own-keys], [role=radiogroup]")) {
    if (target.type === "radio") return;
    event.preventDefault();
    group.step(event.shiftKey ? -10 : -1);
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
feedback.addEventListener("input", saveDraft);
notSure.addEventListener("change", saveDraft);
window.addEventListener("focus", () => {
  if (state.pending && state.blocked === "signed_out") retry();
});

pruneDrafts();
if (!config.is_open) {
  showNotice("project-closed", `This project is not open: it takes no more answers. <a href="${escapeHtml(config.urls.home)}">Back to my projects</a>`);
  submitButton.disabled = true;
} else {
  advance().catch((error) => handleError(error, "next"));
}
window.unityApp = { state, submit, retry, config };
