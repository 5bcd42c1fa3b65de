/* The portal's chunk uploader: sends one file to the chunked upload API, three chunks at a time,
   each with its SHA-256, retrying network trouble, 5xx and 429; pauses, resumes, cancels; remembers
   the upload in localStorage so a reload resumes from the server's missing chunks; after finalize it
   follows the video until Stream has it ready or failed. No build step: a plain ES module. */

export const PARALLEL_CHUNKS = 3;
const NETWORK_ATTEMPTS = 8; // per chunk while the browser says it is online; offline waits for "online"
const SERVER_ATTEMPTS = 8; // per request for 5xx and 429
const MAX_DELAY_MS = 30_000;
const STORE_PREFIX = "portal.upload:";
const GONE_STATUSES = new Set(["cancelled", "expired"]);

/** The key an upload is remembered under: the same file chosen again has the same fingerprint. */
export function fingerprint(file) {
  return `${file.name}|${file.size}|${file.lastModified}`;
}

/** Uploads remembered in localStorage, keyed by file fingerprint. */
export const remembered = {
  get(fp) {
    try { return JSON.parse(localStorage.getItem(STORE_PREFIX + fp)); } catch { return null; }
  },
  set(fp, record) { localStorage.setItem(STORE_PREFIX + fp, JSON.stringify(record)); },
  remove(fp) { localStorage.removeItem(STORE_PREFIX + fp); },
  all() {
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key.startsWith(STORE_PREFIX)) continue;
      const record = this.get(key.slice(STORE_PREFIX.length));
      if (record && record.upload_id) out.push({ fp: key.slice(STORE_PREFIX.length), ...record });
    }
    return out;
  },
};

/** An error the upload cannot get past by retrying; `message` is for the instructor. */
export class UploadError extends Error {
  constructor(message, { status = 0, code = "", forget = false, pause = false } = {}) {
    super(message);
    Object.assign(this, { status, code, forget, pause });
  }
}

class Stopped extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const onceOnline = () => new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));

/** How long to wait before retry number `attempt`: Retry-After when the server gave one, else
    exponential backoff (0.5 s, 1 s, 2 s... up to 30 s) with a little jitter. */
export function retryDelay(attempt, response) {
  const header = response && response.headers.get("Retry-After");
  if (header) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), 10 * MAX_DELAY_MS);
  }
  return Math.min(MAX_DELAY_MS, 500 * 2 ** attempt) + Math.random() * 250;
}

const retryable = (status) => status === 429 || (status >= 500 && status !== 501 && status !== 507);

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const CARRY_ON = "then choose the file again: the upload carries on where it stopped.";

async function errorFrom(response) {
  let error = {};
  try { error = (await response.json()).error || {}; } catch { /* not JSON */ }
  let message = error.message || `The server answered ${response.status}.`;
  if (response.status === 401) message = `You were signed out. Sign in again, ${CARRY_ON}`;
  if (error.code === "csrf_failed") message = `This page has expired. Reload it, ${CARRY_ON}`;
  return { status: response.status, code: error.code || "", message, error };
}

/** One file on its way to the portal. `api` holds the URLs; `csrfToken` goes in X-CSRFToken;
    `onChange(upload)` is called whenever state or progress moves. */
export class ChunkedUpload {
  constructor(file, { api, csrfToken, onChange = () => {} }) {
    Object.assign(this, { file, api, csrfToken, onChange });
    this.fp = fingerprint(file);
    this.state = "idle"; // idle, starting, uploading, paused, finalizing, processing, ready, failed, cancelled
    this.message = "";
    this.record = null;
    this.queue = [];
    this.inflight = new Set();
    this.controllers = new Set();
    this.bytesDone = 0;
    this.samples = [];
    this.resumed = false;
    this.assetState = null;
    this.stopped = false;
    this.offline = false;
  }

  /** True while leaving the page would interrupt the upload. */
  get busy() { return ["starting", "uploading", "paused", "finalizing"].includes(this.state); }

  /** Bytes per second over the last ten seconds, or 0. */
  get speed() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /** Seconds left at the current speed, or null when unknown. */
  get secondsLeft() {
    const speed = this.speed;
    return speed > 0 ? (this.file.size - this.bytesDone) / speed : null;
  }

  headers(extra = {}) {
    return { "X-CSRFToken": this.csrfToken, Accept: "application/json", ...extra };
  }

  set(state, message = "") {
    this.state = state;
    this.message = message;
    this.onChange(this);
  }

  /** A JSON request, retried on network errors, 5xx and 429; returns {response, data}. */
  async request(method, url, json, extraHeaders = {}) {
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(url, {
          method,
          credentials: "same-origin",
          headers: this.headers({ ...(json === undefined ? {} : { "Content-Type": "application/json" }), ...extraHeaders }),
          body: json === undefined ? undefined : JSON.stringify(json),
        });
      } catch (err) {
        if (this.stopped) throw new Stopped();
        await this.waitToRetry(attempt, null, NETWORK_ATTEMPTS, "network");
        continue;
      }
      if (retryable(response.status) && attempt < SERVER_ATTEMPTS) {
        await this.waitToRetry(attempt, response, SERVER_ATTEMPTS, "server");
        continue;
      }
      let data = null;
      try { data = await response.clone().json(); } catch { /* empty or not JSON */ }
      return { response, data };
    }
  }

  /** Wait before a retry: for the network when offline, else the backoff; gives up after `limit`. */
  async waitToRetry(attempt, response, limit, kind) {
    if (this.stopped) throw new Stopped();
    if (!navigator.onLine) {
      this.offline = true;
      this.message = "Offline: waiting for the network to come back.";
      this.onChange(this);
      await onceOnline();
      this.offline = false;
      this.samples = [[performance.now(), this.bytesDone]]; // the pause is not part of the speed
      this.message = "Back online: carrying on.";
      this.onChange(this);
      return;
    }
    if (attempt >= limit) {
      const why = kind === "network" ? "The network keeps failing." : "The server is busy.";
      throw new UploadError(`${why} Press Resume to try again.`, { pause: true });
    }
    const delay = retryDelay(attempt, response);
    if (response && response.status === 429) this.message = `The server asks us to slow down; retrying in ${Math.ceil(delay / 1000)} s.`;
    else this.message = "Connection trouble; retrying.";
    this.onChange(this);
    await sleep(delay);
    if (this.stopped) throw new Stopped();
  }

  /** Start, or resume when this file was being uploaded before (the same fingerprint). */
  async start(metadata) {
    this.stopped = false;
    this.set("starting", "Starting");
    try {
      const earlier = remembered.get(this.fp);
      if (!(earlier && (await this.resumeFrom(earlier)))) {
        // A forgotten upload starts again with the details it was given before.
        await this.initiate(metadata.title ? metadata : (earlier && earlier.metadata) || metadata);
      }
      this.run();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Open the upload on the server. The Idempotency-Key makes a retry whose first answer was lost
      get the same upload instead of a second one. */
  async initiate(metadata) {
    const body = { file_name: this.file.name, file_size: this.file.size, ...metadata };
    const key = { "Idempotency-Key": randomKey() };
    let { response, data } = await this.request("POST", this.api.initiate, body, key);
    for (let attempt = 0; response.status === 409 && data && data.error && data.error.code === "initiate_in_progress" && attempt < SERVER_ATTEMPTS; attempt++) {
      await this.waitToRetry(attempt, response, SERVER_ATTEMPTS, "server"); // the first try is still being created
      ({ response, data } = await this.request("POST", this.api.initiate, body, key));
    }
    if (response.status !== 201) {
      const error = await errorFrom(response);
      throw new UploadError(error.message, { status: error.status, code: error.code });
    }
    this.record = { ...data, file_name: this.file.name, file_size: this.file.size, title: metadata.title, metadata };
    remembered.set(this.fp, this.record);
    this.queue = Array.from({ length: data.total_chunks }, (_, i) => i);
    this.bytesDone = 0;
  }

  /** Ask the server what it has; false when it has forgotten this upload (start afresh). */
  async resumeFrom(record) {
    const { response, data } = await this.request("GET", this.progressUrl(record.upload_id));
    if (response.status === 404 || response.status === 410 || (data && GONE_STATUSES.has(data.status))) {
      remembered.remove(this.fp);
      return false;
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      throw new UploadError(error.message, { status: error.status });
    }
    this.record = record;
    this.resumed = true;
    this.applyProgress(data);
    // Every chunk in and the server already past "uploading": finalize happened before the reload.
    this.finalized = this.queue.length === 0 && Boolean(data.status) && data.status !== "uploading";
    return true;
  }

  applyProgress(progress) {
    const missing = Array.isArray(progress.missing_chunks) ? progress.missing_chunks : [];
    this.queue = missing.filter((i) => !this.inflight.has(i)).sort((a, b) => a - b);
    this.bytesDone = this.file.size - missing.reduce((sum, i) => sum + this.chunkLength(i), 0);
  }

  progressUrl(uploadId) { return this.api.progress.replace("__UPLOAD_ID__", encodeURIComponent(uploadId)); }

  chunkLength(index) {
    const size = this.record.chunk_size;
    return Math.max(0, Math.min(this.file.size, (index + 1) * size) - index * size);
  }

  run() {
    this.samples = [[performance.now(), this.bytesDone]];
    this.set("uploading", this.resumed ? "Resuming: sending only what the server is missing." : "Uploading");
    this.pump();
  }

  /** Keep PARALLEL_CHUNKS chunks in flight; finalize once every chunk is in. */
  pump() {
    while (this.state === "uploading" && this.inflight.size < PARALLEL_CHUNKS && this.queue.length) {
      const index = this.queue.shift();
      this.inflight.add(index);
      this.sendChunk(index)
        .catch((err) => this.chunkFailed(index, err))
        .finally(() => {
          this.inflight.delete(index);
          this.pump();
        });
    }
    if (this.state === "uploading" && this.inflight.size === 0 && this.queue.length === 0) {
      if (this.finalized) {
        remembered.remove(this.fp);
        this.follow(this.record.asset_id);
      } else {
        this.finalize();
      }
    }
  }

  async sendChunk(index) {
    const start = index * this.record.chunk_size;
    const buffer = await this.file.slice(start, start + this.chunkLength(index)).arrayBuffer();
    const digest = await sha256Hex(buffer);
    const url = `${this.api.chunk}?upload_id=${encodeURIComponent(this.record.upload_id)}&chunk_index=${index}`;
    for (let attempt = 0; ; attempt++) {
      await this.whileNotPaused();
      const controller = new AbortController();
      this.controllers.add(controller);
      let response;
      try {
        response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: this.headers({ "Content-Type": "application/octet-stream", "X-Chunk-SHA256": digest }),
          body: buffer,
          signal: controller.signal,
        });
      } catch (err) {
        if (this.stopped) throw new Stopped();
        await this.waitToRetry(attempt, null, NETWORK_ATTEMPTS, "network");
        // The lost request may have arrived all the same: ask before sending the chunk again.
        if (await this.serverHas(index)) return this.chunkDone(buffer.byteLength);
        continue;
      } finally {
        this.controllers.delete(controller);
      }
      if (response.ok) return this.chunkDone(buffer.byteLength);
      if (retryable(response.status) && attempt < SERVER_ATTEMPTS) {
        await this.waitToRetry(attempt, response, SERVER_ATTEMPTS, "server");
        continue;
      }
      const error = await errorFrom(response);
      if (response.status === 507) throw new UploadError("The server is out of space for now. Press Resume to try again later.", { pause: true });
      if (response.status === 404 || response.status === 410) throw new UploadError("The server no longer has this upload (it expired or was cancelled). Choose the file again to start over.", { forget: true, status: 404 });
      throw new UploadError(error.message, { status: error.status, code: error.code });
    }
  }

  /** Whether the server already holds chunk `index` (one progress request shared by all chunks). */
  async serverHas(index) {
    if (!this.checking) {
      this.checking = this.request("GET", this.progressUrl(this.record.upload_id)).finally(() => {
        setTimeout(() => { this.checking = null; }, 1000);
      });
    }
    const { response, data } = await this.checking;
    return response.ok && Array.isArray(data.missing_chunks) && !data.missing_chunks.includes(index);
  }

  chunkDone(bytes) {
    this.bytesDone += bytes;
    const now = performance.now();
    this.samples.push([now, this.bytesDone]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 10_000) this.samples.shift();
    if (this.state === "uploading") this.message = "Uploading";
    this.onChange(this);
  }

  chunkFailed(index, err) {
    if (err instanceof Stopped || this.stopped) return;
    this.queue.unshift(index);
    if (err instanceof UploadError && err.pause) {
      if (this.state === "uploading") this.set("paused", err.message);
      return;
    }
    if (this.state !== "failed") this.fail(err);
  }

  whileNotPaused() {
    if (this.stopped) return Promise.reject(new Stopped());
    if (this.state !== "paused") return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters = (this.waiters || []).concat({ resolve, reject });
    });
  }

  /** Send no new chunks; the ones in flight finish. */
  pause() {
    if (this.state === "uploading") this.set("paused", "Paused");
  }

  /** Carry on from the server's missing chunks. */
  async resume() {
    if (this.state !== "paused") return;
    this.message = "Resuming";
    this.onChange(this);
    try {
      const { response, data } = await this.request("GET", this.progressUrl(this.record.upload_id));
      if (response.ok) this.applyProgress(data);
    } catch (err) {
      if (!(err instanceof Stopped)) this.set("paused", err.message);
      return;
    }
    if (this.state !== "paused") return;
    this.run();
    const waiters = this.waiters || [];
    this.waiters = [];
    waiters.forEach((w) => w.resolve());
  }

  /** Stop at once, tell the server to free the chunks, and forget the upload. */
  async cancel() {
    this.stopped = true;
    this.controllers.forEach((c) => c.abort());
    (this.waiters || []).forEach((w) => w.reject(new Stopped()));
    this.waiters = [];
    this.set("cancelled", "Cancelled");
    remembered.remove(this.fp);
    if (this.record) {
      try {
        await fetch(this.api.cancel.replace("__UPLOAD_ID__", encodeURIComponent(this.record.upload_id)), {
          method: "DELETE", credentials: "same-origin", headers: this.headers(),
        });
      } catch { /* the server's expiry job frees the chunks */ }
    }
  }

  async finalize() {
    this.set("finalizing", "Putting the video together");
    this.finalizeTries = (this.finalizeTries || 0) + 1;
    try {
      const { response, data } = await this.request("POST", this.api.finalize, { upload_id: this.record.upload_id });
      if (response.status === 409 && this.finalizeTries < 4) {
        const missing = (data && (data.missing_chunks || (data.error && data.error.missing_chunks))) || null;
        if (Array.isArray(missing) && missing.length) {
          this.applyProgress({ missing_chunks: missing });
          this.run();
          return;
        }
      }
      if (!response.ok) {
        const error = await errorFrom(response);
        throw new UploadError(error.message, { status: error.status, code: error.code });
      }
      remembered.remove(this.fp);
      this.bytesDone = this.file.size;
      await this.follow(this.record.asset_id);
    } catch (err) {
      if (!(err instanceof Stopped)) this.fail(err);
    }
  }

  /** Poll the asset until Stream has it ready or failed: "Sending to Stream", then "Processing". */
  async follow(assetId) {
    this.set("processing", "Sending to Stream");
    await followAsset(this.api.assetState, assetId, (state) => {
      this.assetState = state;
      if (state.status === "ready") this.set("ready", "Ready");
      else if (state.status === "failed") this.set("failed", state.failure || "Processing failed.");
      else if (state.status === "uploading") this.set("processing", state.sending_note ? `Sending to Stream (will retry: ${state.sending_note})` : "Sending to Stream");
      else this.set("processing", state.processing_percent != null ? `Processing (${Math.round(state.processing_percent)} %)` : "Processing");
    }, () => this.stopped);
  }

  fail(err) {
    if (err instanceof Stopped) return;
    if (err instanceof UploadError && err.forget) remembered.remove(this.fp);
    this.set("failed", err.message || "The upload failed.");
  }
}

/** Poll an asset's state URL until it is ready or failed; `report(state)` gets every answer. */
export async function followAsset(stateUrlTemplate, assetId, report, stopped = () => false) {
  const url = stateUrlTemplate.replace("__ASSET_ID__", encodeURIComponent(assetId));
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        report(state);
        if (state.status === "ready" || state.status === "failed") return state;
      }
    } catch { /* offline for a moment: poll again */ }
    await sleep(Math.min(10_000, 1000 + attempt * 500));
  }
  return null;
}
