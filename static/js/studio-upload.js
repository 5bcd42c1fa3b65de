/* The upload page: files by drag and drop or picker, one card per file with its own details form,
   a queue that sends one file at a time (three chunks in parallel inside it), progress with speed and
   time left, a warning before leaving mid-upload, and the copy-from-address form. */

import { ChunkedUpload, fingerprint, followAsset, remembered } from "./uploader.js";

const root = document.getElementById("uploader");
const api = {
  initiate: root.dataset.initiate,
  chunk: root.dataset.chunk,
  finalize: root.dataset.finalize,
  progress: root.dataset.progress,
  cancel: root.dataset.cancel,
  fromUrl: root.dataset.fromUrl,
  assetState: root.dataset.assetState,
};
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const ACCEPTED = /\.(mp4|m4v|mov|mkv|avi|flv|webm)$/i;
const MAX_FILE_BYTES = 30e9;
const uploads = [];
let cardCount = 0;

function humanBytes(n) {
  const units = ["bytes", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

function humanDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "working it out";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The form's values as the initiate (and upload-from-url) JSON body. */
function metadataOf(form) {
  const value = (name) => form.querySelector(`[name$="${name}"]`).value.trim();
  const [entityType, entityId] = value("link") ? value("link").split(":") : [null, null];
  const body = {
    title: value("title"),
    description: value("description"),
    tags: value("tags").split(",").map((t) => t.trim()).filter(Boolean),
    access_level: value("access_level"),
  };
  if (value("required_tier")) body.required_tier = value("required_tier");
  if (entityType) Object.assign(body, { entity_type: entityType, entity_id: entityId });
  return body;
}

function showFieldError(form, name, message) {
  const input = form.querySelector(`[name$="${name}"]`);
  const box = input.closest(".field");
  box.classList.add("has-error");
  input.setAttribute("aria-invalid", "true");
  let error = box.querySelector(".error");
  if (!error) {
    error = document.createElement("p");
    error.className = "error";
    error.id = `${input.id}-error`;
    box.append(error);
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${error.id}`.trim());
  }
  error.textContent = message;
  return input;
}

function clearErrors(form) {
  form.querySelectorAll(".field.has-error").forEach((box) => box.classList.remove("has-error"));
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.setAttribute("aria-invalid", "false"));
  form.querySelectorAll(".field .error").forEach((el) => { el.textContent = ""; });
}

/** Check the details in the browser; returns the first bad field, or null. */
function invalidField(form) {
  clearErrors(form);
  const data = metadataOf(form);
  let first = null;
  const flag = (name, message) => { const el = showFieldError(form, name, message); first = first || el; };
  if (!data.title) flag("title", "Give the video a title.");
  if (data.access_level === "tier_specific" && !data.required_tier) flag("required_tier", "Choose the tier a member needs for this video.");
  const url = form.querySelector('[name$="url"]');
  if (url && !/^https:\/\/\S+$/.test(url.value.trim())) flag("url", "Give an https:// address.");
  return first;
}

/** A copy of the card template whose ids (and the labels and descriptions pointing at them) are unique. */
function newCard(title) {
  const n = ++cardCount;
  const card = document.getElementById("upload-card-template").content.firstElementChild.cloneNode(true);
  card.querySelectorAll("[id]").forEach((el) => { el.id = `${el.id}-${n}`; });
  card.querySelectorAll("label[for]").forEach((el) => { el.htmlFor = `${el.htmlFor}-${n}`; });
  card.querySelectorAll("[aria-describedby]").forEach((el) => {
    el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").split(" ").map((id) => `${id}-${n}`).join(" "));
  });
  const heading = card.querySelector(".upload-name");
  heading.id = `upload-name-${n}`;
  heading.textContent = title;
  card.querySelector(".upload-bar").setAttribute("aria-label", `Upload progress of ${title}`);
  return card;
}

/** Show an upload's state on its card. */
function render(card, upload) {
  const bar = card.querySelector(".upload-bar");
  const done = Math.min(upload.bytesDone, upload.file.size);
  const percent = upload.file.size ? (100 * done) / upload.file.size : 100;
  const processing = ["processing", "ready", "failed"].includes(upload.state) && upload.state !== "failed";
  bar.value = processing ? 100 : percent;
  card.dataset.state = upload.state;
  const status = card.querySelector(".upload-status");
  const words = {
    queued: "Waiting for the file before it",
    failed: `Failed: ${upload.message}`,
  };
  const text = words[upload.state] || upload.message || upload.state;
  if (status.textContent !== text) status.textContent = text;
  const stats = card.querySelector(".upload-stats");
  if (upload.state === "uploading" && upload.offline) {
    stats.textContent = `${Math.floor(percent)} % · ${humanBytes(done)} of ${humanBytes(upload.file.size)} · waiting for the network`;
  } else if (upload.state === "uploading") {
    const speed = upload.speed;
    stats.textContent = `${Math.floor(percent)} % · ${humanBytes(done)} of ${humanBytes(upload.file.size)} · `
      + `${speed ? humanBytes(Math.round(speed)) + "/s" : "measuring speed"} · ${humanDuration(upload.secondsLeft)} left`;
  } else if (upload.state === "paused") {
    stats.textContent = `${Math.floor(percent)} % · ${humanBytes(done)} of ${humanBytes(upload.file.size)}`;
  } else if (upload.state === "ready") {
    stats.textContent = "";
    if (!card.querySelector(".upload-done-link")) {
      const link = document.createElement("a");
      link.className = "upload-done-link";
      link.href = "/studio";
      link.textContent = "See it in My uploads";
      stats.append(link);
    }
  } else {
    stats.textContent = "";
  }
  const show = (action, visible) => { card.querySelector(`[data-action="${action}"]`).hidden = !visible; };
  show("pause", upload.state === "uploading");
  show("resume", upload.state === "paused");
  show("cancel", upload.busy || upload.state === "queued");
}

/** Start the next queued file when none is being sent. */
function next() {
  if (uploads.some((u) => ["starting", "uploading", "finalizing"].includes(u.upload.state))) return;
  const waiting = uploads.find((u) => u.upload.state === "queued");
  if (waiting) waiting.upload.start(waiting.metadata);
}

function enqueue(card, upload, metadata) {
  card.querySelector(".upload-form").hidden = true;
  card.querySelector(".upload-live").hidden = false;
  upload.state = "queued";
  uploads.push({ card, upload, metadata });
  render(card, upload);
  next();
}

function addFile(file) {
  document.getElementById("queue-section").hidden = false;
  const fp = fingerprint(file);
  const onPage = uploads.find((u) => u.upload.fp === fp && !["failed", "cancelled", "ready"].includes(u.upload.state));
  if (onPage) {
    onPage.card.querySelector(".upload-status").textContent = "This file is already in the queue.";
    return;
  }
  const card = newCard(file.name);
  document.getElementById("queue").append(card);
  card.querySelector(".upload-size").textContent = humanBytes(file.size);
  const form = card.querySelector(".upload-form");
  if (!ACCEPTED.test(file.name) || file.size > MAX_FILE_BYTES || file.size === 0) {
    form.hidden = true;
    const problem = document.createElement("p");
    problem.className = "error";
    problem.setAttribute("role", "alert");
    problem.textContent = file.size > MAX_FILE_BYTES
      ? "This file is larger than 30 GB, the most the portal takes."
      : "The portal takes MP4, MOV, MKV, AVI, FLV or WebM videos only.";
    card.querySelector(".upload-size").after(problem);
    return;
  }
  const upload = new ChunkedUpload(file, {
    api, csrfToken,
    onChange: (u) => { render(card, u); next(); refreshUnfinished(); },
  });
  card.querySelector('[data-action="pause"]').addEventListener("click", () => upload.pause());
  card.querySelector('[data-action="resume"]').addEventListener("click", () => upload.resume());
  card.querySelector('[data-action="cancel"]').addEventListener("click", () => {
    if (upload.state === "queued") { upload.set("cancelled", "Cancelled"); return; }
    upload.cancel();
  });
  card.querySelector('[data-action="remove"]').addEventListener("click", () => card.remove());
  const earlier = remembered.get(fp);
  if (earlier) {
    // The same file as an unfinished upload: carry on with the details given then.
    card.querySelector(".upload-size").textContent += " · carrying on with the upload started earlier";
    enqueue(card, upload, {});
    return;
  }
  form.querySelector('[name$="title"]').value = file.name.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const bad = invalidField(form);
    if (bad) { bad.focus(); return; }
    enqueue(card, upload, metadataOf(form));
  });
}

function addFiles(files) {
  Array.from(files).forEach(addFile);
}

/** List the uploads this browser remembers that are not on the page. */
function refreshUnfinished() {
  const onPage = new Set(uploads.map((u) => u.upload.fp));
  const list = document.getElementById("unfinished-list");
  const items = remembered.all().filter((r) => !onPage.has(r.fp));
  list.replaceChildren(...items.map((record) => {
    const li = document.createElement("li");
    li.textContent = `${record.title || record.file_name} (${record.file_name}, ${humanBytes(record.file_size)}) `;
    const forget = document.createElement("button");
    forget.type = "button";
    forget.className = "button button-quiet";
    forget.textContent = `Discard ${record.file_name}`;
    forget.addEventListener("click", async () => {
      remembered.remove(record.fp);
      refreshUnfinished();
      try {
        await fetch(api.cancel.replace("__UPLOAD_ID__", encodeURIComponent(record.upload_id)), {
          method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken },
        });
      } catch { /* the server's expiry job frees the chunks */ }
    });
    li.append(forget);
    return li;
  }));
  document.getElementById("unfinished").hidden = items.length === 0;
}

function setUpDropzone() {
  const zone = document.getElementById("dropzone");
  const picker = document.getElementById("file-picker");
  picker.addEventListener("change", () => { addFiles(picker.files); picker.value = ""; });
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dropzone-active");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dropzone-active")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
}

function setUpUrlForm() {
  const form = document.getElementById("url-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const bad = invalidField(form);
    if (bad) { bad.focus(); return; }
    const body = { url: form.querySelector('[name$="url"]').value.trim(), ...metadataOf(form) };
    const item = document.createElement("li");
    item.className = "upload-card";
    const status = document.createElement("p");
    status.setAttribute("role", "status");
    status.textContent = `Asking Stream to copy ${body.title}`;
    item.append(status);
    document.getElementById("url-results").append(item);
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      const response = await fetch(api.fromUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        status.textContent = `Failed: ${(data.error && data.error.message) || `the server answered ${response.status}`}`;
        return;
      }
      form.reset();
      const assetId = data.asset_id || (data.asset && data.asset.id);
      status.textContent = `${body.title}: Processing`;
      if (assetId) {
        followAsset(api.assetState, assetId, (state) => {
          status.textContent = state.status === "failed" ? `${body.title}: Failed: ${state.failure}` : `${body.title}: ${state.status_text}`;
        });
      }
    } catch {
      status.textContent = "Failed: the network is down. Try again when you are back online.";
    } finally {
      button.disabled = false;
    }
  });
}

window.addEventListener("beforeunload", (event) => {
  if (uploads.some((u) => u.upload.busy || u.upload.state === "queued")) {
    event.preventDefault();
    event.returnValue = "An upload is still running. Leave anyway?";
  }
});

setUpDropzone();
setUpUrlForm();
refreshUnfinished();
root.dataset.ready = "true";
