/**
 * The watch page's player.
 *
 * Drives the Stream iframe through Stream's Player API (`Stream(iframe)`, from Cloudflare's
 * sdk.latest.js or the emulator's copy of it: one code path for both) and:
 *  - saves the member's position (PUT data-progress-url) every 15 s while playing, on pause, at the
 *    end, and when the page is hidden or left (keepalive, so it survives the page going away);
 *  - counts the view (POST data-views-url) once, when playback really starts (time advancing);
 *  - fetches a fresh signed URL (GET data-access-url) at 80 % of its life and swaps the iframe,
 *    carrying the position (startTime) and the playing/muted state over;
 *  - recovers the same way when the player reports an error (an expired or refused token),
 *    a few times in a row at most, without the member reloading the page;
 *  - says what went wrong in a status line read out by screen readers (aria-live).
 * The starting position (data-start-time) is already in the iframe's src as `startTime`.
 */

const SAVE_EVERY_MS = 15_000;
const REFRESH_AT = 0.8;
const MIN_REFRESH_MS = 5_000;
const MAX_RECOVERIES = 3;
const VIEW_AFTER_SECONDS = 0.5;
const PLAYER_EVENTS = ["play", "playing", "pause", "timeupdate", "ended", "error", "loadedmetadata"];

const MESSAGES = {
  reconnecting: "Reconnecting the video…",
  pressPlay: "The video reconnected: press play to continue.",
  signedOut: "Your session has ended. Sign in again to keep watching.",
  forbidden: "Your membership no longer includes this video.",
  gone: "This video is no longer available.",
  failed: "The video cannot be played right now. Reload the page to try again.",
};

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function sendJSON(url, method, body, keepalive = false) {
  return fetch(url, {
    method,
    credentials: "same-origin",
    keepalive,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function finiteNumber(value) {
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** One player on the page: the iframe inside a [data-player] element. */
export class WatchPlayer {
  constructor(root) {
    this.root = root;
    this.iframe = root.querySelector("iframe");
    this.accessUrl = root.dataset.accessUrl;
    this.progressUrl = root.dataset.progressUrl;
    this.viewsUrl = root.dataset.viewsUrl || (this.progressUrl || "").replace(/\/progress$/, "/views");
    this.status = root.querySelector("[data-player-status]") || this.makeStatusLine();
    this.position = finiteNumber(root.dataset.startTime) || 0;
    this.duration = finiteNumber(root.dataset.duration);
    this.savedPosition = this.position;
    this.playing = false;
    this.playingFrom = null;
    this.viewCounted = false;
    this.recoveries = 0;
    this.refreshes = 0;
    this.swapping = false;
    this.recovering = false;
    this.resumePlaying = false;
    this.wasPlaying = false;
    this.saveTimer = null;
    this.refreshTimer = null;
    this.handlers = {};
    PLAYER_EVENTS.forEach((name) => {
      this.handlers[name] = (event) => this[`on_${name}`](event);
    });
    this.attach(window.Stream(this.iframe));
    this.scheduleRefresh(finiteNumber(root.dataset.expiresIn));
    document.addEventListener("visibilitychange", () => this.onVisibilityChange());
    window.addEventListener("pagehide", () => this.save(true));
    root.watchPlayer = this;
  }

  makeStatusLine() {
    const line = document.createElement("p");
    line.className = "player-status";
    line.setAttribute("role", "status");
    line.setAttribute("aria-live", "polite");
    line.dataset.playerStatus = "";
    this.root.after(line); // present (empty) from the start, so screen readers announce what it says
    return line;
  }

  say(message) {
    this.status.textContent = message || "";
  }

  attach(player) {
    this.player = player;
    PLAYER_EVENTS.forEach((name) => player.addEventListener(name, this.handlers[name]));
  }

  detach() {
    PLAYER_EVENTS.forEach((name) => this.player.removeEventListener(name, this.handlers[name]));
  }

  // -- player events ------------------------------------------------------------------------

  on_loadedmetadata() {
    this.noteDuration();
    if (this.resumePlaying && this.player.paused) {
      this.player.play().catch(() => this.say(MESSAGES.pressPlay));
    }
    this.resumePlaying = false;
  }

  on_play() {
    this.noteDuration();
  }

  on_playing() {
    this.playing = true;
    this.playingFrom = this.player.currentTime;
    this.recoveries = 0;
    this.say("");
    if (this.saveTimer === null) this.saveTimer = setInterval(() => this.save(), SAVE_EVERY_MS);
  }

  on_timeupdate() {
    const time = finiteNumber(this.player.currentTime);
    if (time === null || !this.playing || this.player.paused) return;
    this.position = time;
    if (!this.viewCounted && this.playingFrom !== null && time >= this.playingFrom + VIEW_AFTER_SECONDS) {
      this.countView();
    }
  }

  on_pause() {
    this.stopSaving();
    const time = finiteNumber(this.player.currentTime);
    if (time !== null && this.playing) this.position = time;
    this.playing = false;
    this.save();
  }

  on_ended() {
    this.stopSaving();
    this.playing = false;
    this.noteDuration();
    if (this.duration) this.position = this.duration;
    this.save();
  }

  on_error() {
    if (this.recovering) return;
    this.stopSaving();
    this.playing = false;
    if (this.recoveries >= MAX_RECOVERIES) {
      this.say(MESSAGES.failed);
      return;
    }
    this.recoveries += 1;
    this.recovering = true;
    this.say(MESSAGES.reconnecting);
    const delay = 500 * 2 ** (this.recoveries - 1);
    setTimeout(() => this.refresh(this.wasPlaying), delay);
  }

  onVisibilityChange() {
    if (document.visibilityState === "hidden") {
      this.save(true);
    } else if (this.refreshDueAt && Date.now() >= this.refreshDueAt) {
      this.refresh(); // the timer may have been held up while the device slept
    }
  }

  // -- saving the position and counting the view ----------------------------------------------

  noteDuration() {
    const duration = finiteNumber(this.player.duration);
    if (duration && duration > 0) this.duration = duration;
  }

  stopSaving() {
    this.wasPlaying = this.playing;
    if (this.saveTimer !== null) clearInterval(this.saveTimer);
    this.saveTimer = null;
  }

  save(leaving = false) {
    if (!this.progressUrl) return;
    const position = Math.floor(this.position);
    if (Math.abs(position - Math.floor(this.savedPosition)) < 1) return;
    this.savedPosition = position;
    const body = { position_seconds: position };
    if (this.duration) body.duration_seconds = Math.round(this.duration);
    sendJSON(this.progressUrl, "PUT", body, true).catch(() => {
      if (!leaving) this.savedPosition = -1; // try again at the next save
    });
  }

  countView() {
    this.viewCounted = true;
    if (!this.viewsUrl) return;
    sendJSON(this.viewsUrl, "POST", {}).then(
      (response) => {
        if (!response.ok && response.status >= 500) this.viewCounted = false;
      },
      () => {
        this.viewCounted = false;
      },
    );
  }

  // -- keeping the signed URL fresh -----------------------------------------------------------

  scheduleRefresh(expiresIn) {
    clearTimeout(this.refreshTimer);
    if (!expiresIn || expiresIn <= 0) return;
    const delay = Math.max(MIN_REFRESH_MS, expiresIn * REFRESH_AT * 1000);
    this.refreshDueAt = Date.now() + delay;
    this.refreshTimer = setTimeout(() => this.refresh(), delay);
  }

  async refresh(keepPlaying = null) {
    if (this.swapping || !this.accessUrl) return;
    this.swapping = true;
    try {
      const response = await fetch(this.accessUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) {
        this.refuse(response.status);
        return;
      }
      const access = await response.json();
      const playing = keepPlaying === null ? !this.player.paused : keepPlaying;
      this.swap(access.access_url, playing);
      this.scheduleRefresh(finiteNumber(access.expires_in));
    } catch (error) {
      this.say(MESSAGES.reconnecting);
      this.refreshDueAt = Date.now(); // try again when the page is next shown, or at the next error
      this.refreshTimer = setTimeout(() => this.refresh(keepPlaying), MIN_REFRESH_MS);
    } finally {
      this.swapping = false;
    }
  }

  refuse(status) {
    this.recovering = false;
    clearTimeout(this.refreshTimer);
    this.refreshDueAt = null;
    const messages = { 401: MESSAGES.signedOut, 403: MESSAGES.forbidden, 404: MESSAGES.gone, 409: MESSAGES.gone };
    this.say(messages[status] || MESSAGES.failed);
  }

  /** Replace the iframe with one on the fresh URL, at the same position and playing state. */
  swap(accessUrl, keepPlaying) {
    const fresh = new URL(accessUrl, window.location.href);
    const previous = new URL(this.iframe.src, window.location.href);
    previous.searchParams.forEach((value, name) => {
      if (!["startTime", "autoplay", "muted"].includes(name) && !fresh.searchParams.has(name)) {
        fresh.searchParams.set(name, value);
      }
    });
    const position = Math.floor(this.position);
    if (position > 0) fresh.searchParams.set("startTime", String(position));
    if (keepPlaying) fresh.searchParams.set("autoplay", "true");
    if (this.player.muted) fresh.searchParams.set("muted", "true");

    this.save();
    this.stopSaving();
    this.playing = false;
    this.detach();
    const iframe = this.iframe.cloneNode(false);
    iframe.src = fresh.toString();
    this.iframe.replaceWith(iframe);
    this.iframe = iframe;
    this.resumePlaying = keepPlaying;
    this.recovering = false;
    this.refreshes += 1;
    this.root.dataset.refreshes = String(this.refreshes);
    this.attach(window.Stream(iframe));
  }
}

/** Start a player for every [data-player] element on the page. */
export function startPlayers(root = document) {
  if (typeof window.Stream !== "function") {
    root.querySelectorAll("[data-player]").forEach((element) => {
      const line = document.createElement("p");
      line.setAttribute("role", "status");
      line.textContent = MESSAGES.failed;
      element.after(line);
    });
    return [];
  }
  return Array.from(root.querySelectorAll("[data-player]"), (element) => new WatchPlayer(element));
}

startPlayers();
