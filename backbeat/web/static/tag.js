/*! Backbeat ad tag. No dependencies. Paste once per page:
 *    <div data-backbeat-placement="12"></div>
 *    <script async src="https://ads.example.com/tag.js"></script>
 * One request fetches ads for every slot. Counting follows IAB/MRC:
 *  - impression when the creative has begun to render (image `load`, video first frame),
 *  - viewable once >= 50% of pixels (30% for ads >= 242,500 px) are in view on a visible
 *    tab for 1 continuous second after render (video: 50% for 2 continuous seconds of play).
 * Creatives render inside a closed shadow root (images) or a sandboxed iframe (HTML5),
 * so they cannot touch the host page. A no-fill collapses the slot.
 */
(function () {
  "use strict";
  var ATTR = "data-backbeat-placement";
  var script = document.currentScript;
  var base = script ? script.src.replace(/\/tag\.js(\?.*)?$/, "") : "";
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
    return function () { if (!done) { done = true; fn(); } };
  }

  // Viewability: the share of pixels in view must stay >= threshold, on a visible tab,
  // for `seconds` without a break. Any break restarts the clock.
  function watchViewable(el, ad, isPlaying) {
    if (!("IntersectionObserver" in window)) return;
    var need = ad.width * ad.height >= 242500 ? 0.3 : 0.5;
    if (ad.format === "video") need = 0.5;
    var ms = (ad.format === "video" ? 2 : 1) * 1000;
    var ratio = 0, timer = null, fired = false;
    var fire = once(function () { fired = true; beacon(ad.view); io.disconnect(); });
    function ok() {
      return ratio >= need && document.visibilityState === "visible" && isPlaying();
    }
    function update() {
      if (fired) return;
      if (ok()) { if (!timer) timer = setTimeout(function () { timer = null; if (ok()) fire(); else update(); }, ms); }
      else if (timer) { clearTimeout(timer); timer = null; }
    }
    var io = new IntersectionObserver(function (entries) {
      ratio = entries[entries.length - 1].intersectionRatio;
      update();
    }, { threshold: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] });
    io.observe(el);
    document.addEventListener("visibilitychange", update);
    el.addEventListener("bb-play-state", update);
  }

  function collapse(slot) {
    slot.style.display = "none";
    slot.setAttribute("data-backbeat-state", "nofill");
  }

  function render(slot, ad) {
    slot.setAttribute("data-backbeat-state", "filled");
    slot.setAttribute("data-backbeat-decision", ad.decision);
    slot.style.width = ad.width + "px";
    slot.style.height = ad.height + "px";
    var playing = function () { return true; };
    // Viewability is measured from render on: a view clock started before a slow creative
    // has rendered would report a view before (or racing) its impression, which the server
    // then rejects as "no impression" - and the one view beacon would be lost.
    var impression = once(function () {
      slot.setAttribute("data-backbeat-impression", "1");
      beacon(ad.imp);
      watchViewable(slot, ad, function () { return playing(); });
    });
    var box;
    if (ad.kind === "html5") {
      // A cross-origin, sandboxed frame: the creative may script itself, not the page.
      box = document.createElement("iframe");
      box.src = ad.src;
      box.width = ad.width; box.height = ad.height;
      box.setAttribute("sandbox", "allow-scripts allow-popups allow-popups-to-escape-sandbox");
      box.setAttribute("scrolling", "no");
      box.setAttribute("title", ad.alt || "Advertisement");
      box.style.border = "0";
      box.addEventListener("load", impression);
      slot.appendChild(box);
    } else {
      var host = slot.attachShadow ? slot.attachShadow({ mode: "closed" }) : slot;
      var link = document.createElement("a");
      link.href = ad.click;
      link.target = "_blank";
      link.rel = "noopener sponsored";
      link.setAttribute("aria-label", (ad.alt || "Advertisement") + " (ad, opens in a new tab)");
      link.style.display = "block";
      if (ad.kind === "video") {
        var v = document.createElement("video");
        v.src = ad.src; v.muted = true; v.autoplay = true; v.playsInline = true; v.loop = false;
        v.width = ad.width; v.height = ad.height;
        v.setAttribute("aria-label", ad.alt || "Advertisement");
        v.addEventListener("playing", function () { impression(); slot.dispatchEvent(new Event("bb-play-state")); });
        v.addEventListener("pause", function () { slot.dispatchEvent(new Event("bb-play-state")); });
        playing = function () { return !v.paused && !v.ended; };
        box = v;
      } else {
        var img = document.createElement("img");
        img.alt = ad.alt || "Advertisement";
        img.width = ad.width; img.height = ad.height;
        img.style.display = "block"; img.style.border = "0";
        img.addEventListener("load", impression);
        img.src = ad.src;
        box = img;
      }
      link.appendChild(box);
      host.appendChild(link);
    }
  }

  function fill(slots, ads) {
    var byPlacement = {};
    (ads || []).forEach(function (ad) { (byPlacement[ad.placement] = byPlacement[ad.placement] || []).push(ad); });
    slots.forEach(function (slot) {
      var list = byPlacement[slot.getAttribute(ATTR)];
      var ad = list && list.shift();
      if (ad) render(slot, ad); else collapse(slot);
    });
  }

  function run() {
    var slots = Array.prototype.filter.call(document.querySelectorAll("[" + ATTR + "]"), function (s) {
      if (s.hasAttribute("data-backbeat-state")) return false;
      s.setAttribute("data-backbeat-state", "loading");
      return true;
    });
    if (!slots.length) return;
    var decided = slots.filter(function (s) { return s.hasAttribute("data-backbeat-ad"); });
    if (decided.length) {  // iframe tag: the server already decided
      decided.forEach(function (s) {
        var ad = null;
        try { ad = JSON.parse(s.getAttribute("data-backbeat-ad")); } catch (e) { ad = null; }
        if (ad) render(s, ad); else collapse(s);
      });
      slots = slots.filter(function (s) { return !s.hasAttribute("data-backbeat-ad"); });
      if (!slots.length) return;
    }
    var ids = slots.map(function (s) { return s.getAttribute(ATTR); });
    var url = base + "/serve?p=" + encodeURIComponent(ids.join(",")) + "&u=" + encodeURIComponent(pageUrl);
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url, true);
    xhr.withCredentials = true;
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      fill(slots, xhr.status === 200 && body ? body.ads : []);
    };
    xhr.onerror = function () { fill(slots, []); };
    xhr.send();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
  window.backbeat = { refresh: run };
})();
