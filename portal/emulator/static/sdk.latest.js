/*
 * Stream emulator: the Stream Player API, as Cloudflare's embed/sdk.latest.js offers it.
 *
 *   const player = Stream(document.getElementById("stream-player"));
 *   player.addEventListener("timeupdate", () => console.log(player.currentTime));
 *   player.play().catch(() => { player.muted = true; player.play(); });
 *
 * The player object mirrors the state the emulator's player page (inside the iframe) sends with
 * every media event; property reads answer from that mirror, writes and play()/pause() are sent to
 * the page by postMessage. Messages are accepted only from the iframe's window and origin, and sent
 * only to the iframe's origin. A new page in the iframe (a new src) reconnects by itself.
 */
(function () {
  "use strict";

  var PROTOCOL = "stream-emulator-player";
  var WRITABLE = ["currentTime", "muted", "volume", "autoplay", "controls", "loop", "preload", "playbackRate"];
  var READ_ONLY = ["duration", "paused", "ended", "seeking", "readyState"];
  var RANGES = ["buffered", "played"];

  function originOf(url) {
    try {
      return new URL(url, window.location.href).origin;
    } catch (error) {
      return null;
    }
  }

  function timeRanges(pairs) {
    pairs = Array.isArray(pairs) ? pairs : [];
    return {
      length: pairs.length,
      start: function (index) {
        if (index < 0 || index >= pairs.length) throw new RangeError("index out of range");
        return pairs[index][0];
      },
      end: function (index) {
        if (index < 0 || index >= pairs.length) throw new RangeError("index out of range");
        return pairs[index][1];
      },
    };
  }

  function initialState() {
    return {
      currentTime: 0, duration: NaN, paused: true, ended: false, seeking: false, readyState: 0,
      muted: false, volume: 1, autoplay: false, controls: true, loop: false, preload: "none",
      playbackRate: 1, buffered: [], played: [],
    };
  }

  function Stream(iframe) {
    if (!iframe || iframe.tagName !== "IFRAME") {
      throw new TypeError("Stream() takes the player's <iframe> element");
    }
    var state = initialState();
    var listeners = {};
    var pending = {};
    var queue = [];
    var nextId = 1;
    var connected = false;
    var page = null;
    var player = {};

    function expectedOrigin() {
      var origin = originOf(iframe.src);
      return origin && origin !== "null" ? origin : null;
    }

    function post(message) {
      var target = iframe.contentWindow;
      var origin = expectedOrigin();
      if (!target || !origin) return;
      message.protocol = PROTOCOL;
      target.postMessage(message, origin);
    }

    function send(message) {
      if (connected) post(message);
      else queue.push(message);
    }

    function frameIsBlank() {
      // Until the player page arrives the iframe holds about:blank (readable: this page's origin).
      try {
        return iframe.contentWindow.location.href === "about:blank";
      } catch (error) {
        return false; // another origin's page: the player
      }
    }

    function hello() {
      connected = false;
      if (!frameIsBlank()) post({ type: "hello" });
    }

    function dispatch(name, detail) {
      var event = { type: name, target: player, detail: detail || null };
      (listeners[name] || []).slice().forEach(function (listener) {
        try {
          listener.call(player, event);
        } catch (error) {
          setTimeout(function () { throw error; });
        }
      });
    }

    function settle(data) {
      var call = pending[data.id];
      if (!call) return;
      delete pending[data.id];
      if (data.ok) call.resolve();
      else call.reject(new DOMException(data.error || "the player refused", data.errorName || "NotAllowedError"));
    }

    function receive(event) {
      if (event.source !== iframe.contentWindow || event.origin !== expectedOrigin()) return;
      var data = event.data;
      if (!data || typeof data !== "object" || data.protocol !== PROTOCOL) return;
      if (data.state && typeof data.state === "object") {
        Object.keys(state).forEach(function (name) {
          if (name in data.state) state[name] = data.state[name] === null && name === "duration" ? NaN : data.state[name];
        });
      }
      if (data.type === "announce") {
        connected = false;
        post({ type: "hello" }); // the player page is there: it said so
      } else if (data.type === "ready") {
        connected = true;
        queue.splice(0).forEach(post);
        if (data.page !== page) {
          page = data.page; // a page that could not play says so once, to each player object
          if (data.failure) dispatch("error", data.failure);
        }
      } else if (data.type === "event" && typeof data.event === "string") {
        dispatch(data.event, data.error || null);
      } else if (data.type === "result") {
        settle(data);
      }
    }

    WRITABLE.forEach(function (name) {
      Object.defineProperty(player, name, {
        enumerable: true,
        get: function () { return state[name]; },
        set: function (value) {
          state[name] = value;
          send({ type: "set", name: name, value: value });
        },
      });
    });
    READ_ONLY.forEach(function (name) {
      Object.defineProperty(player, name, { enumerable: true, get: function () { return state[name]; } });
    });
    RANGES.forEach(function (name) {
      Object.defineProperty(player, name, { enumerable: true, get: function () { return timeRanges(state[name]); } });
    });

    player.play = function () {
      var id = nextId++;
      return new Promise(function (resolve, reject) {
        pending[id] = { resolve: resolve, reject: reject };
        send({ type: "call", method: "play", id: id });
      });
    };
    player.pause = function () {
      send({ type: "call", method: "pause", id: nextId++ });
      return null;
    };
    player.addEventListener = function (name, listener) {
      if (typeof listener !== "function") return;
      listeners[name] = listeners[name] || [];
      if (listeners[name].indexOf(listener) < 0) listeners[name].push(listener);
    };
    player.removeEventListener = function (name, listener) {
      listeners[name] = (listeners[name] || []).filter(function (known) { return known !== listener; });
    };

    window.addEventListener("message", receive);
    iframe.addEventListener("load", function () {
      if (!connected) hello();
    });
    hello();
    return player;
  }

  window.Stream = Stream;
})();
