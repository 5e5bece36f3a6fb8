// The cine player shared by every mode. Frames come from the per-frame JPEG chunks written at
// ingest (manifest.json + chunk-NNNNN.bin): the frame on screen is always a real decoded image
// with a known index, never a video position converted to a frame number.

const BITMAP_BUDGET_BYTES = 96 * 1024 * 1024;
const sources = new Map();

export class FrameSource {
  // One source per manifest URL, shared by the player and the preloader.
  static get(manifestUrl) {
    const key = new URL(manifestUrl, document.baseURI).href;
    let source = sources.get(key);
    if (!source) {
      source = new FrameSource(key);
      sources.set(key, source);
    }
    return source;
  }

  // Drop decoded frames of clips no longer on screen or preloaded.
  static releaseExcept(manifestUrls) {
    const keep = new Set(manifestUrls.map((u) => new URL(u, document.baseURI).href));
    for (const [key, source] of sources) {
      if (!keep.has(key)) {
        source.close();
        sources.delete(key);
      }
    }
  }

  constructor(url) {
    this.url = url;
    this.blobs = [];
    this.bitmaps = new Map();
    this.chunkLoads = new Map();
    this.manifest = fetchJson(url).then((manifest) => {
      this.frameCount = manifest.frame_count;
      this.width = manifest.width;
      this.height = manifest.height;
      this.frameRate = manifest.frame_rate;
      this.chunks = manifest.chunks;
      const frameBytes = manifest.width * manifest.height * 4;
      this.maxBitmaps = Math.max(8, Math.floor(BITMAP_BUDGET_BYTES / 6 / frameBytes));
      return manifest;
    });
    // A failed manifest (network drop, ended session) must not stay cached: the next use retries.
    this.manifest.catch(() => {
      if (sources.get(this.url) === this) sources.delete(this.url);
    });
  }

  chunkIndexOf(frame) {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunks[mid].first_frame <= frame) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  loadChunk(index) {
    let load = this.chunkLoads.get(index);
    if (!load) {
      const chunk = this.chunks[index];
      load = fetch(new URL(chunk.name, this.url), { credentials: "same-origin" })
        .then((response) => {
          if (!response.ok) throw new Error(`chunk ${chunk.name}: HTTP ${response.status}`);
          return response.arrayBuffer();
        })
        .then((buffer) => {
          chunk.frames.forEach(([offset, length], k) => {
            this.blobs[chunk.first_frame + k] = new Blob([buffer.slice(offset, offset + length)], {
              type: "image/jpeg",
            });
          });
        });
      load.catch(() => this.chunkLoads.delete(index));
      this.chunkLoads.set(index, load);
    }
    return load;
  }

  async bitmap(frame) {
    if (this.failed) throw this.failed;
    await this.manifest.catch((error) => {
      this.failed = error;
      throw error;
    });
    let decoded = this.bitmaps.get(frame);
    if (decoded) {
      // Refresh its place in the LRU order.
      this.bitmaps.delete(frame);
      this.bitmaps.set(frame, decoded);
      return decoded;
    }
    decoded = (async () => {
      await this.loadChunk(this.chunkIndexOf(frame));
      return createImageBitmap(this.blobs[frame]);
    })();
    this.bitmaps.set(frame, decoded);
    decoded.catch(() => this.bitmaps.delete(frame));
    while (this.bitmaps.size > this.maxBitmaps) {
      const [oldest, promise] = this.bitmaps.entries().next().value;
      this.bitmaps.delete(oldest);
      promise.then((b) => b.close && b.close()).catch(() => {});
    }
    return decoded;
  }

  // Fetch every chunk and decode the first frames: the clip is then playable at once.
  async preload() {
    await this.manifest;
    await Promise.all(this.chunks.map((_, index) => this.loadChunk(index)));
    const ahead = Math.min(this.frameCount, this.maxBitmaps, 32);
    await Promise.all(Array.from({ length: ahead }, (_, i) => this.bitmap(i)));
  }

  forget(frame) {
    this.bitmaps.delete(frame);
  }

  close() {
    for (const promise of this.bitmaps.values()) promise.then((b) => b.close && b.close()).catch(() => {});
    this.bitmaps.clear();
  }
}

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}
export { el };

// One canvas showing one clip's frames.
export class CineView {
  constructor(clip, { label }) {
    this.clip = clip;
    this.source = FrameSource.get(clip.manifest_url);
    this.frameCount = clip.frame_count;
    this.frameRate = clip.frame_rate || 25;
    this.frame = -1;
    this.wanted = -1;
    this.canvas = el("canvas", { width: clip.width, height: clip.height, role: "img", "aria-label": label });
    this.canvas.className = "cine-canvas";
    this.context = this.canvas.getContext("2d");
    this.listeners = new Set();
  }

  onFrame(listener) {
    this.listeners.add(listener);
  }

  // Draw the current frame again: WebKit may drop a canvas's pixels when it moves in the page.
  redraw() {
    if (this.frame >= 0 && this.wanted === this.frame) this.show(this.frame);
  }

  async show(index) {
    const frame = ((index % this.frameCount) + this.frameCount) % this.frameCount;
    this.wanted = frame;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const bitmap = await this.source.bitmap(frame);
      // A later request may have overtaken this one while it decoded: draw only the latest.
      if (this.wanted !== frame) return this.frame;
      // The bitmap may have been closed while this draw waited (evicted from the cache, or its
      // clip released as the next task came): a closed ImageBitmap is 0x0. Decode it again.
      if (!bitmap.width) {
        this.source.forget(frame);
        continue;
      }
      this.context.drawImage(bitmap, 0, 0, this.canvas.width, this.canvas.height);
      this.frame = frame;
      this.canvas.dataset.frame = String(frame);
      for (const listener of this.listeners) listener(frame);
      return frame;
    }
    return this.frame;
  }
}

// Plays, pauses and steps one or more views together (a ranking batch plays in sync); each
// view advances at its own clip's true frame rate from a shared start time.
export class CineGroup {
  constructor(views, { label = "Cine loop", startFrame = 0 } = {}) {
    this.views = views;
    this.playing = false;
    this.startFrame = startFrame;
    this.raf = 0;
    this.controls = this.buildControls(label);
    this.ready = Promise.all(views.map((v) => v.show(startFrame))).then(() => this.update());
  }

  get frame() {
    return this.views[0].frame;
  }

  get frameCount() {
    return Math.max(...this.views.map((v) => v.frameCount));
  }

  buildControls(label) {
    const prev = el("button", { type: "button", class: "step-prev", "aria-label": "Previous frame", text: "◀ Frame" });
    const play = el("button", { type: "button", class: "play", "aria-label": "Play", text: "▶ Play" });
    const next = el("button", { type: "button", class: "step-next", "aria-label": "Next frame", text: "Frame ▶" });
    const range = el("input", {
      type: "range",
      min: "0",
      max: String(this.frameCount - 1),
      value: "0",
      class: "scrub",
      "aria-label": `Frame of ${label}`,
    });
    const readout = el("output", { class: "frame-readout", "aria-live": "off" });
    prev.addEventListener("click", () => this.step(-1));
    next.addEventListener("click", () => this.step(1));
    play.addEventListener("click", () => this.toggle());
    range.addEventListener("input", () => this.seek(Number(range.value)));
    Object.assign(this, { prevButton: prev, playButton: play, nextButton: next, range, readout });
    return el("div", { class: "cine-controls", role: "group", "aria-label": `${label} controls` }, [
      prev,
      play,
      next,
      range,
      readout,
    ]);
  }

  update() {
    const frame = this.frame;
    const last = this.frameCount - 1;
    this.readout.textContent = `Frame ${frame} / ${last}`;
    this.controls.dataset.frame = String(frame);
    this.range.value = String(frame);
    this.range.setAttribute("aria-valuetext", `Frame ${frame} of ${last}`);
    this.playButton.textContent = this.playing ? "❚❚ Pause" : "▶ Play";
    this.playButton.setAttribute("aria-label", this.playing ? "Pause" : "Play");
    this.playButton.setAttribute("aria-pressed", String(this.playing));
  }

  async seek(frame) {
    this.pause();
    await Promise.all(this.views.map((v) => v.show(frame)));
    this.update();
  }

  // Step from the frame last asked for, not the one last drawn: quick key repeats must not be
  // lost while a frame decodes.
  step(delta) {
    const base = this.views[0].wanted >= 0 ? this.views[0].wanted : this.frame;
    return this.seek(base + delta);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.playing) return;
    this.playing = true;
    const t0 = performance.now();
    const bases = this.views.map((v) => Math.max(v.frame, 0));
    const tick = (now) => {
      if (!this.playing) return;
      const elapsed = (now - t0) / 1000;
      this.views.forEach((view, k) => {
        const target = (bases[k] + Math.floor(elapsed * view.frameRate)) % view.frameCount;
        if (target !== view.wanted) view.show(target);
      });
      this.update();
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
    this.update();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.update();
  }

  destroy() {
    this.pause();
  }
}
