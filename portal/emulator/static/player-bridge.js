/*
 * Stream emulator: the player page's side of the Stream Player API (see sdk.latest.js).
 *
 * Waits for a "hello" from the embedding page's Stream SDK, then answers only that window (its
 * parent) at that origin: it relays the <video> element's media events with a snapshot of its
 * state, applies property writes and runs play()/pause(). A page that could not play (a refused
 * token, a video still processing) reports one `error` event, as Cloudflare's player does.
 */
(function () {
  "use strict";

  var PROTOCOL = "stream-emulator-player";
  var EVENTS = [
    "abort", "canplay", "canplaythrough", "durationchange", "ended", "loadeddata", "loadedmetadata",
    "loadstart", "pause", "play", "playing", "progress", "ratechange", "seeked", "seeking", "stalled",
    "suspend", "timeupdate", "volumechange", "waiting",
  ];
  var WRITABLE = ["currentTime", "muted", "volume", "autoplay", "controls", "loop", "preload", "playbackRate"];
  var embedded = window.parent !== window;
  var video = document.getElementById("stream-video");
  var container = document.querySelector(".stream-player");
  var parentOrigin = null;
  var failure = null;
  var pageId = String(Math.random()).slice(2) + String(Date.now());

  if (container && container.dataset.error) {
    failure = { status: Number(container.dataset.errorStatus) || 0, message: container.dataset.error };
  }

  function ranges(list) {
    var pairs = [];
    for (var index = 0; list && index < list.length; index++) pairs.push([list.start(index), list.end(index)]);
    return pairs;
  }

  function snapshot() {
    if (!video) return { paused: true, ended: false, currentTime: 0, duration: null };
    return {
      currentTime: video.currentTime,
      duration: isFinite(video.duration) ? video.duration : null,
      paused: video.paused,
      ended: video.ended,
      seeking: video.seeking,
      readyState: video.readyState,
      muted: video.muted,
      volume: video.volume,
      autoplay: video.autoplay,
      controls: video.controls,
      loop: video.loop,
      preload: video.preload,
      playbackRate: video.playbackRate,
      buffered: ranges(video.buffered),
      played: ranges(video.played),
    };
  }

  function post(message) {
    if (!embedded || !parentOrigin) return;
    message.protocol = PROTOCOL;
    message.state = snapshot();
    window.parent.postMessage(message, parentOrigin);
  }

  function report(name) {
    document.body.dataset.lastEvent = name;
    post({ type: "event", event: name });
  }

  function fail(error) {
    failure = error;
    document.body.dataset.lastEvent = "error";
    post({ type: "event", event: "error", error: error });
  }

  function run(data) {
    if (!video) {
      post({ type: "result", id: data.id, ok: false, error: failure ? failure.message : "no video", errorName: "NotSupportedError" });
      return;
    }
    if (data.method === "pause") {
      video.pause();
      post({ type: "result", id: data.id, ok: true });
    } else if (data.method === "play") {
      Promise.resolve(video.play()).then(
        function () { post({ type: "result", id: data.id, ok: true }); },
        function (error) { post({ type: "result", id: data.id, ok: false, error: String(error.message || error), errorName: error.name }); }
      );
    }
  }

  function receive(event) {
    if (!embedded || event.source !== window.parent) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.protocol !== PROTOCOL) return;
    if (data.type === "hello") {
      parentOrigin = event.origin;
      post({ type: "ready", page: pageId, failure: failure });
      return;
    }
    if (event.origin !== parentOrigin) return;
    if (data.type === "set" && video && WRITABLE.indexOf(data.name) >= 0) {
      try {
        video[data.name] = data.value;
      } catch (error) {
        /* an out-of-range volume, as on a <video>: ignored */
      }
      post({ type: "state" });
    } else if (data.type === "call") {
      run(data);
    }
  }

  if (video) {
    var start = parseFloat(video.dataset.startTime) || 0;
    if (start > 0) {
      video.addEventListener("loadedmetadata", function () {
        video.currentTime = Math.min(start, isFinite(video.duration) ? video.duration : start);
      }, { once: true });
    }
    EVENTS.forEach(function (name) {
      video.addEventListener(name, function () { report(name); });
    });
    // A <source> that fails fires `error` on itself (seen here while capturing); the element's own
    // error (a network error mid-play, e.g. an expired token) fires on the <video>.
    video.addEventListener("error", function (event) {
      var sources = video.querySelectorAll("source");
      if (event.target === video || event.target === sources[sources.length - 1]) {
        var code = video.error ? video.error.code : 0;
        fail({ status: 0, code: code, message: "the video could not be loaded" });
      }
    }, true);
  } else {
    document.body.dataset.lastEvent = failure ? "error" : "";
  }

  window.addEventListener("message", receive);
  if (embedded) window.parent.postMessage({ protocol: PROTOCOL, type: "announce" }, "*");
})();
