// The admin's upload page: files, folders and zips of any size sent in chunks through the tus
// protocol (vendored tus-js-client against media_ingest/uploads.py), a few files at a time so the
// web workers stay free. Each file resumes where it stopped: after a dropped connection (retries,
// then again when the browser is back online) and after the page was closed (the upload's address
// is kept in this browser's localStorage under the file's path, size and date; choose the same
// files again). File names stay in this page: they are never sent (the server names a job by its
// place in the batch), and each row shows the name beside what became of the file.
(() => {
  "use strict";

  const root = document.getElementById("resumable-upload");
  if (!root || !window.tus) return;
  const config = JSON.parse(document.getElementById("uploader-config").textContent);
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (selector) => root.querySelector(selector);
  const projectSelect = $("#ru-project");
  const tbody = $("#ru-rows");
  const overall = $("#ru-overall");
  const summary = $("#ru-summary");
  const pauseButton = $("#ru-pause");

  const entries = [];
  let paused = false;
  let batch = newBatch();
  let startedAt = 0;
  let drawQueued = false;

  function newBatch() {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15).replace("T", "-");
    const random = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, "0")).join("");
    return `web-${stamp}-${random}`;
  }

  function bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i += 1;
    }
    return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
  }

  // Hidden files a desktop leaves in folders (.DS_Store, AppleDouble "._x", Thumbs.db).
  function hidden(path) {
    const name = path.split("/").pop();
    return name.startsWith(".") || name.toLowerCase() === "thumbs.db" || name.toLowerCase() === "desktop.ini";
  }

  // --- choosing files: inputs, and drops of files and folders ------------------------------
  function readAll(reader) {
    return new Promise((resolve, reject) => {
      const found = [];
      const more = () =>
        reader.readEntries((batchOf) => {
          if (!batchOf.length) resolve(found);
          else {
            found.push(...batchOf);
            more();
          }
        }, reject);
      more();
    });
  }

  async function walk(entry, out) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry.createReader())) await walk(child, out);
    }
  }

  async function dropped(dataTransfer) {
    // Entries must be taken while the drop event is being handled: read them all first.
    const items = Array.from(dataTransfer.items || []).filter((item) => item.kind === "file");
    const roots = items.map((item) => ({
      entry: item.webkitGetAsEntry ? item.webkitGetAsEntry() : null,
      file: item.getAsFile(),
    }));
    const out = [];
    if (!roots.length) {
      for (const file of dataTransfer.files || []) out.push({ file, path: file.name });
    }
    for (const { entry, file } of roots) {
      try {
        if (entry) await walk(entry, out);
        else if (file) out.push({ file, path: file.name });
      } catch (error) {
        // An entry that cannot be read as a path (WebKit, for files not from a folder): the file.
        if (file && entry && entry.isFile) out.push({ file, path: file.name });
        else note(`Could not read ${entry ? entry.fullPath : "a dropped item"}: ${error.message || error}`);
      }
    }
    return out;
  }

  function note(text) {
    const li = document.createElement("li");
    li.textContent = text;
    $("#ru-notes").append(li);
  }

  function add(chosen) {
    const slug = projectSelect.value;
    if (!slug) {
      note("Choose a project first.");
      projectSelect.focus();
      return;
    }
    const skipped = chosen.filter((c) => hidden(c.path));
    if (skipped.length) note(`${skipped.length} hidden file(s) skipped (${skipped.slice(0, 3).map((c) => c.path).join(", ")}).`);
    for (const { file, path } of chosen.filter((c) => !hidden(c.path))) {
      const row = tbody.insertRow();
      const entry = { file, path, slug, row, sent: 0, state: "waiting", jobs: null, upload: null, outcome: "" };
      row.insertCell().textContent = String(entries.length + 1);
      row.insertCell().textContent = path;
      row.insertCell().textContent = bytes(file.size);
      const bar = document.createElement("progress");
      bar.max = Math.max(file.size, 1);
      bar.value = 0;
      bar.setAttribute("aria-label", `sent of ${path}`);
      row.insertCell().append(bar);
      entry.bar = bar;
      entry.cell = row.insertCell();
      entry.cell.className = "ru-outcome";
      row.dataset.state = "waiting";
      entries.push(entry);
      show(entry, "waiting");
    }
    if (!startedAt) startedAt = performance.now();
    pump();
    draw();
  }

  // --- sending -------------------------------------------------------------------------------
  // A large file is sent as parts in parallel (tus concatenation): it takes as many of the
  // page's connections as it has parts, so a page never holds more than config.parallel.
  function partsOf(file) {
    return file.size >= config.splitFromBytes ? config.parallel : 1;
  }

  function pump() {
    if (paused) return;
    let active = entries.filter((e) => e.state === "sending").reduce((n, e) => n + partsOf(e.file), 0);
    for (const entry of entries) {
      if (entry.state !== "waiting") continue;
      const need = partsOf(entry.file);
      if (active && active + need > config.parallel) break;
      start(entry);
      active += need;
    }
    draw();
  }

  function start(entry) {
    entry.state = "sending";
    show(entry, "sending");
    if (!entry.upload) entry.upload = makeUpload(entry);
    const upload = entry.upload;
    if (upload.url) {
      upload.start();
      return;
    }
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        entry.resumed = true;
      }
      upload.start();
    });
  }

  function makeUpload(entry) {
    const { file, path, slug } = entry;
    return new tus.Upload(file, {
      endpoint: `${config.endpoint}${slug}/`,
      chunkSize: config.chunkBytes,
      parallelUploads: partsOf(file),
      retryDelays: config.retryDelays,
      metadata: { batch },
      headers: { "X-CSRFToken": csrf },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The key under which this browser remembers the upload: never sent anywhere.
      fingerprint: () => Promise.resolve(["unity-upload", slug, path, file.size, file.lastModified].join("|")),
      onShouldRetry: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        // No answer, a server error, a conflict or busy; or a success the client could not read
        // (a connection cut between the status line and the headers): ask the server again.
        const retry = !status || status < 300 || status >= 500 || [409, 423, 429].includes(status);
        if (retry) show(entry, "retrying", "connection lost: trying again");
        return retry;
      },
      onProgress: (sent) => {
        entry.sent = sent;
        if (entry.state === "sending" && entry.row.dataset.state !== "sending") show(entry, "sending");
        draw();
      },
      onAfterResponse: (request, response) => {
        // The answer that names the jobs: the last chunk's (200), or a final upload's (201).
        const method = request.getMethod();
        if ((method === "PATCH" && response.getStatus() === 200) || (method === "POST" && response.getStatus() === 201 && response.getBody())) {
          try {
            const body = JSON.parse(response.getBody());
            entry.jobs = body.jobs;
            entry.batch = body.batch;
          } catch {
            entry.jobs = null;
          }
        }
      },
      onSuccess: () => finished(entry),
      onError: (error) => failed(entry, error),
    });
  }

  async function finished(entry) {
    entry.sent = entry.file.size;
    entry.state = "sent";
    if (!entry.jobs) {
      // The last chunk's answer was lost (or the file had arrived before this page): ask.
      try {
        const response = await fetch(entry.upload.url, { credentials: "same-origin", headers: { "Tus-Resumable": "1.0.0" } });
        const body = await response.json();
        entry.jobs = body.jobs;
        entry.batch = body.batch;
      } catch {
        entry.jobs = [];
      }
    }
    entry.state = settled(entry) ? "done" : "ingesting";
    describe(entry);
    pump();
  }

  function failed(entry, error) {
    const response = error.originalResponse;
    const status = response ? response.getStatus() : 0;
    if (!status || status < 300 || status >= 500 || [409, 423, 429].includes(status)) {
      // Offline, the server down, or busy: keep what arrived and wait for the connection.
      entry.state = "stalled";
      show(entry, "stalled", "paused: no connection; resumes when the browser is back online (or press Resume)");
    } else {
      entry.state = "refused";
      const detail = (response && response.getBody()) || error.message;
      show(entry, "refused", `refused: ${detail}`);
    }
    pump();
  }

  function resumeStalled() {
    for (const entry of entries) if (entry.state === "stalled") entry.state = "waiting";
    pump();
  }

  window.addEventListener("online", () => {
    if (!paused) resumeStalled();
  });
  // A laptop lid opened again does not always fire "online": try stalled files now and then.
  setInterval(() => {
    if (!paused && navigator.onLine) resumeStalled();
  }, config.stalledRetryMs);

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    for (const entry of entries) {
      if (paused && entry.state === "sending") {
        entry.upload.abort();
        entry.state = "waiting";
        show(entry, "waiting", "paused");
      }
    }
    if (!paused) resumeStalled();
    draw();
  });

  $("#ru-new-batch").addEventListener("click", () => {
    batch = newBatch();
    note(`Files added from now on go to batch ${batch}.`);
  });

  // --- what became of each file -------------------------------------------------------------
  const LABEL = { queued: "queued", processing: "ingesting", ready: "ready", failed: "failed", duplicate: "duplicate" };

  function settled(entry) {
    return (entry.jobs || []).every((job) => job.status !== "queued" && job.status !== "processing");
  }

  function show(entry, state, text) {
    entry.row.dataset.state = state;
    entry.cell.textContent = text || state;
  }

  function describe(entry) {
    const jobs = entry.jobs || [];
    const cell = entry.cell;
    cell.textContent = "";
    const failedJobs = jobs.filter((job) => job.status === "failed");
    const state = !settled(entry) ? "ingesting" : failedJobs.length ? (failedJobs.length === jobs.length ? "failed" : "partly") : "ready";
    entry.row.dataset.state = jobs.length ? state : "empty";
    if (!jobs.length) {
      cell.textContent = "no files to ingest in it";
      return;
    }
    const batchNote = document.createElement("span");
    batchNote.className = "ru-batch";
    // Where the job list finds it: names are not stored, positions are.
    batchNote.textContent = ` (batch ${entry.batch || jobs[0].batch || "?"}, ${jobs[0].source_name.split(" entry ")[0]})`;
    if (jobs.length === 1) {
      const job = jobs[0];
      const text = document.createElement("span");
      text.className = `ru-job ru-${job.status}`;
      text.textContent = job.status === "failed" ? `failed: ${job.error}` : LABEL[job.status] || job.status;
      cell.append(text, batchNote);
      return;
    }
    const counts = {};
    for (const job of jobs) counts[job.status] = (counts[job.status] || 0) + 1;
    const details = document.createElement("details");
    const head = document.createElement("summary");
    head.textContent = `${jobs.length} files inside: ` + Object.entries(counts).map(([s, n]) => `${n} ${LABEL[s] || s}`).join(", ");
    details.append(head);
    const list = document.createElement("ul");
    for (const job of jobs) {
      const li = document.createElement("li");
      li.className = `ru-job ru-${job.status}`;
      const what = job.status === "failed" ? `failed: ${job.error}` : LABEL[job.status] || job.status;
      li.textContent = `${job.entry || job.source_name}: ${what}`;
      list.append(li);
    }
    details.append(list);
    if (failedJobs.length) details.open = true;
    cell.append(details, batchNote);
  }

  async function poll() {
    const waiting = entries.filter((e) => e.state === "ingesting");
    const bySlug = new Map();
    for (const entry of waiting) {
      for (const job of entry.jobs) {
        if (job.status !== "queued" && job.status !== "processing") continue;
        if (!bySlug.has(entry.slug)) bySlug.set(entry.slug, []);
        bySlug.get(entry.slug).push(job.id);
      }
    }
    const fresh = new Map();
    for (const [slug, ids] of bySlug) {
      for (let i = 0; i < ids.length; i += 200) {
        const part = ids.slice(i, i + 200);
        const url = config.jobsApi.replace("__slug__", encodeURIComponent(slug)) + `?limit=200&ids=${part.join(",")}`;
        try {
          const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
          if (!response.ok) continue;
          for (const job of (await response.json()).jobs) fresh.set(job.id, job);
        } catch {
          // The connection is down: the next round asks again.
        }
      }
    }
    for (const entry of waiting) {
      entry.jobs = entry.jobs.map((job) => (fresh.has(job.id) ? { ...job, ...fresh.get(job.id), entry: job.entry } : job));
      if (settled(entry)) entry.state = "done";
      describe(entry);
    }
    draw();
    setTimeout(poll, config.pollMs);
  }
  setTimeout(poll, config.pollMs);

  // --- the overall bar -----------------------------------------------------------------------
  function draw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      let total = 0;
      let sent = 0;
      const count = {};
      for (const entry of entries) {
        total += entry.file.size;
        sent += entry.sent;
        entry.bar.value = entry.sent;
        count[entry.state] = (count[entry.state] || 0) + 1;
      }
      overall.max = Math.max(total, 1);
      overall.value = sent;
      const seconds = startedAt ? (performance.now() - startedAt) / 1000 : 0;
      const rate = seconds > 0 ? ` at ${bytes(sent / seconds)}/s` : "";
      const parts = [`${bytes(sent)} of ${bytes(total)} sent${rate}`];
      const done = (count.done || 0) + (count.ingesting || 0);
      parts.push(`${done} of ${entries.length} file(s) sent`);
      for (const [state, label] of [["stalled", "waiting for the connection"], ["refused", "refused"]]) {
        if (count[state]) parts.push(`${count[state]} ${label}`);
      }
      const failedFiles = entries.filter((e) => e.row.dataset.state === "failed" || e.row.dataset.state === "partly").length;
      if (failedFiles) parts.push(`${failedFiles} with files that failed ingest`);
      summary.textContent = parts.join(" · ");
      root.dataset.busy = String(entries.some((e) => ["waiting", "sending", "sent"].includes(e.state)));
    });
  }

  window.addEventListener("beforeunload", (event) => {
    if (entries.some((e) => ["waiting", "sending", "stalled", "sent"].includes(e.state))) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- wiring --------------------------------------------------------------------------------
  const drop = $("#ru-drop");
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("ru-over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("ru-over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("ru-over");
    dropped(event.dataTransfer).then(add);
  });
  for (const id of ["#ru-files", "#ru-folder"]) {
    const input = $(id);
    input.addEventListener("change", () => {
      add(Array.from(input.files, (file) => ({ file, path: file.webkitRelativePath || file.name })));
      input.value = "";
    });
  }
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("#ru-files").click();
    }
  });
})();
