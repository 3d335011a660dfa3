/*! Backbeat ad tag. No dependencies. Paste once per page:
 *    <div data-backbeat-placement="12"></div>
 *    <script async src="https://ads.example.com/tag.js"></script>
 * One request fetches ads for every slot (up to 12 slots per request; more slots take
 * more requests). Counting follows IAB/MRC:
 *  - impression when the creative has begun to render (image `load`, video first frame)
 *    in a slot still on the page,
 *  - viewable once >= 50% of pixels (30% for ads >= 242,500 px) are in view on a visible
 *    tab for 1 continuous second after render (video: 50% for 2 continuous seconds of
 *    play). Pixels hidden by style (visibility, or an opacity below one half down the
 *    ancestors) are not in view.
 * Creatives render inside a closed shadow root (images, video) or a sandboxed iframe
 * (HTML5, which gets its click URL as `clickTag`), so they cannot touch the host page.
 * A no-fill, a failed request (or none within `data-timeout` ms, default 5000), a bad
 * placement id or a creative that fails to load collapses its slot; one slot's failure
 * never stops the others.
 */
(function () {
  "use strict";
  var ATTR = "data-backbeat-placement";
  var MAX_SLOTS = 12;  // per /serve request: the server's limit
  var SAMPLE_MS = 100;  // how often an ad in view is looked at again (style, play state)
  var MIN_OPACITY = 0.5;
  var script = document.currentScript;
  var base = script ? script.src.replace(/\/tag\.js(\?.*)?$/, "") : "";
  var timeoutMs = Math.min(60000, Math.max(100,
    parseInt(script && script.getAttribute("data-timeout"), 10) || 5000));
  var inFrame = window.top !== window;
  var pageUrl = inFrame && document.referrer ? document.referrer : location.href;

  function beacon(url) {
    var full = url + (url.indexOf("?") < 0 ? "?" : "&") + "u=" + encodeURIComponent(pageUrl);
    if (navigator.sendBeacon && navigator.sendBeacon(full)) return;
    var img = new Image();
    img.src = full;
  }

  function once(fn) {
    var done = false;
    return function (a) { if (!done) { done = true; fn(a); } };
  }

  function attached(el) {
    return el.isConnected !== undefined ? el.isConnected : document.documentElement.contains(el);
  }

  // The id the server knows a slot by ("12" for " 12 " or "012"), or null for one it
  // would refuse: the server takes whole numbers from 1 to 2^31 - 1.
  function placementId(slot) {
    var raw = (slot.getAttribute(ATTR) || "").trim();
    if (!/^[0-9]{1,10}$/.test(raw)) return null;
    var n = parseInt(raw, 10);
    return n > 0 && n <= 2147483647 ? String(n) : null;
  }

  // Not in view whatever its geometry: hidden, or (with its ancestors) mostly transparent.
  // Hidden ads are invalid traffic (MRC's SIVT); the IntersectionObserver sees only boxes.
  function shown(el) {
    var opacity = 1;
    for (var n = el; n; n = n.parentNode) {
      if (n.nodeType === 11 && n.host) n = n.host;  // out of a shadow root, to its host
      if (n.nodeType !== 1) break;
      var style = getComputedStyle(n);
      // visibility is inherited: the slot's own says whether any ancestor hid it
      if (n === el && style.visibility !== "visible") return false;
      opacity *= parseFloat(style.opacity);
      if (!(opacity >= MIN_OPACITY)) return false;
    }
    return true;
  }

  // Viewability: the share of pixels in view must stay >= threshold, on a visible tab,
  // shown, for `ms` without a break. Any break restarts the clock. Geometry and the tab's
  // visibility are checked on their events; style and play state, which have none, every
  // SAMPLE_MS while some of the ad is in view. Without an IntersectionObserver nothing is
  // measured (docs/measurement.md says what that does to the rate).
  function watchViewable(slot, ad, isPlaying) {
    if (!("IntersectionObserver" in window)) return;
    var video = ad.format === "video";
    var need = !video && ad.width * ad.height >= 242500 ? 0.3 : 0.5;
    var ms = (video ? 2 : 1) * 1000;
    var ratio = 0, since = 0, timer = null, done = false, io;
    function inView() {
      return ratio >= need && document.visibilityState === "visible" && isPlaying() &&
        shown(slot);
    }
    function stop() {
      done = true;
      io.disconnect();
      document.removeEventListener("visibilitychange", check);
      slot.removeEventListener("bb-play-state", check);
      if (timer) { clearTimeout(timer); timer = null; }
    }
    function check() {
      if (done) return;
      if (!attached(slot)) { stop(); return; }
      var now = performance.now();
      if (inView()) {
        if (!since) since = now;
        if (now - since >= ms) { stop(); beacon(ad.view); return; }
      } else {
        since = 0;
      }
      if (!timer && ratio > 0 && document.visibilityState === "visible") {
        var wait = since ? Math.min(SAMPLE_MS, ms - (now - since)) : SAMPLE_MS;
        timer = setTimeout(function () { timer = null; check(); }, Math.max(0, wait));
      }
    }
    io = new IntersectionObserver(function (entries) {
      ratio = entries[entries.length - 1].intersectionRatio;
      check();
    }, { threshold: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] });
    io.observe(slot);
    document.addEventListener("visibilitychange", check);
    slot.addEventListener("bb-play-state", check);
  }

  function collapse(slot) {
    slot.style.display = "none";
    slot.setAttribute("data-backbeat-state", "nofill");
  }

  function render(slot, ad) {
    slot.setAttribute("data-backbeat-state", "filled");
    slot.setAttribute("data-backbeat-decision", ad.decision);
    if (getComputedStyle(slot).display === "inline") slot.style.display = "inline-block";
    slot.style.width = ad.width + "px";
    slot.style.height = ad.height + "px";
    var playing = function () { return true; };
    var rendered = false;
    // Viewability is measured from render on: a view clock started before a slow creative
    // has rendered would report a view before (or racing) its impression, which the server
    // then rejects as "no impression" - and the one view beacon would be lost.
    var impression = once(function () {
      if (!attached(slot)) return;  // removed before it rendered: nobody saw it
      rendered = true;
      slot.setAttribute("data-backbeat-impression", "1");
      beacon(ad.imp);
      watchViewable(slot, ad, function () { return playing(); });
    });
    var failed = function () { if (!rendered) collapse(slot); };
    var box;
    if (ad.kind === "html5") {
      // A cross-origin, sandboxed frame: the creative may script itself, not the page. Its
      // URL carries the click URL as `clickTag` (the server adds it). Its `load` fires for
      // any document, an error page too: the frame's origin tells nothing more.
      box = document.createElement("iframe");
      box.src = ad.src;
      box.width = ad.width; box.height = ad.height;
      box.setAttribute("sandbox", "allow-scripts allow-popups allow-popups-to-escape-sandbox");
      box.setAttribute("scrolling", "no");
      box.setAttribute("title", ad.alt || "Advertisement");
      box.style.border = "0";
      box.addEventListener("load", impression);
      slot.appendChild(box);
      return;
    }
    // The shadow root goes on a div of our own: any slot element can hold one, whatever
    // its tag, and even if it already has a shadow root.
    var frame = document.createElement("div");
    frame.style.width = ad.width + "px";
    frame.style.height = ad.height + "px";
    var host = frame.attachShadow ? frame.attachShadow({ mode: "closed" }) : frame;
    var link = document.createElement("a");
    link.href = ad.click;
    link.target = "_blank";
    link.rel = "noopener sponsored";
    link.setAttribute("aria-label", (ad.alt || "Advertisement") + " (ad, opens in a new tab)");
    link.style.display = "block";
    if (ad.kind === "video") {
      var v = document.createElement("video");
      v.muted = true; v.autoplay = true; v.playsInline = true; v.loop = false;
      v.width = ad.width; v.height = ad.height;
      v.setAttribute("aria-label", ad.alt || "Advertisement");
      var state = function () { slot.dispatchEvent(new Event("bb-play-state")); };
      v.addEventListener("playing", function () { impression(); state(); });
      ["pause", "waiting", "stalled", "ended"].forEach(function (e) { v.addEventListener(e, state); });
      v.addEventListener("error", failed);
      // Buffering is not play: a stalled video has frames left to show only with data.
      playing = function () { return !v.paused && !v.ended && v.readyState >= 3; };
      v.src = ad.src;
      box = v;
    } else {
      var img = document.createElement("img");
      img.alt = ad.alt || "Advertisement";
      img.width = ad.width; img.height = ad.height;
      img.style.display = "block"; img.style.border = "0";
      img.addEventListener("load", impression);
      img.addEventListener("error", failed);
      img.src = ad.src;
      box = img;
    }
    link.appendChild(box);
    host.appendChild(link);
    slot.appendChild(frame);
  }

  function show(slot, ad) {
    try {
      if (ad) render(slot, ad); else collapse(slot);
    } catch (e) {  // this slot only: the others still render
      collapse(slot);
    }
  }

  function fill(items, ads) {
    var byPlacement = {};
    (ads || []).forEach(function (ad) {
      var key = String(ad.placement);
      (byPlacement[key] = byPlacement[key] || []).push(ad);
    });
    items.forEach(function (item) {
      var list = byPlacement[item.id];
      show(item.slot, list && list.shift());
    });
  }

  function request(items) {
    var ids = items.map(function (item) { return item.id; });
    var url = base + "/serve?p=" + encodeURIComponent(ids.join(",")) + "&u=" + encodeURIComponent(pageUrl);
    var settle = once(function (ads) { fill(items, ads); });
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url, true);
    xhr.withCredentials = true;
    xhr.timeout = timeoutMs;
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      settle(xhr.status === 200 && body ? body.ads : []);
    };
    xhr.onerror = xhr.ontimeout = xhr.onabort = function () { settle([]); };
    try { xhr.send(); } catch (e) { settle([]); }
  }

  function run() {
    var slots = Array.prototype.filter.call(document.querySelectorAll("[" + ATTR + "]"), function (s) {
      if (s.hasAttribute("data-backbeat-state")) return false;
      s.setAttribute("data-backbeat-state", "loading");
      return true;
    });
    var items = [];
    slots.forEach(function (s) {
      if (s.hasAttribute("data-backbeat-ad")) {  // iframe tag: the server already decided
        var ad = null;
        try { ad = JSON.parse(s.getAttribute("data-backbeat-ad")); } catch (e) { ad = null; }
        show(s, ad);
        return;
      }
      var id = placementId(s);
      if (id) items.push({ slot: s, id: id }); else collapse(s);
    });
    for (var i = 0; i < items.length; i += MAX_SLOTS) request(items.slice(i, i + MAX_SLOTS));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
  window.backbeat = { refresh: run };
})();
