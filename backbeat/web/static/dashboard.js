/*! Backbeat dashboard: small progressive enhancements. Every page works without them.
 *  - [data-copy] buttons copy the text of the element with that id (Clipboard API, with a
 *    fallback) and say "Copied" in the element "status-<id>" (an aria-live region);
 *  - the campaign wizard's forecast refreshes as the user types (GET the panel's
 *    data-forecast-url with the form's fields);
 *  - choosing an image shows it at its real size before it is uploaded;
 *  - after a failed submit, focus moves to the error summary.
 */
(function () {
  "use strict";

  function say(region, text) {
    if (!region) return;
    region.textContent = "";
    // A fresh text node after a tick makes screen readers announce a repeated message.
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  // How long the Clipboard API may take before the fallback copies instead. Its promise can
  // stay pending (an unfocused document, a permission prompt nobody answers), which would
  // leave the button silent; the click's user activation outlives this wait.
  var CLIPBOARD_WAIT_MS = 1500;

  function copyText(text) {
    if (!(navigator.clipboard && window.isSecureContext)) return fallbackCopy(text);
    return new Promise(function (resolve, reject) {
      var settled = false;
      function fallback() {
        if (settled) return;
        settled = true;
        window.clearTimeout(timer);
        fallbackCopy(text).then(resolve, reject);
      }
      var timer = window.setTimeout(fallback, CLIPBOARD_WAIT_MS);
      var pending;
      try { pending = navigator.clipboard.writeText(text); } catch (e) { fallback(); return; }
      Promise.resolve(pending).then(function () {
        if (settled) return;
        settled = true;
        window.clearTimeout(timer);
        resolve();
      }, fallback);
    });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // After a failed submit, take keyboard users to the list of problems (it links to each field).
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    var status = document.getElementById("status-" + id);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(source.textContent).then(
        function () { say(status, "Copied"); },
        function () {
          selectText(source);
          say(status, "Could not copy: the text is selected, press Ctrl+C (or Cmd+C)");
        }
      );
    });
  });

  // --- live forecast ----------------------------------------------------------------------
  var form = document.getElementById("wizard-form");
  var panel = document.getElementById("forecast");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function draw(body) {
    var box = document.getElementById("forecast-body");
    if (!box) return;
    box.textContent = "";
    var fc = body && body.forecast;
    if (!fc) {
      var reasons = (body && body.errors || []).map(function (e) {
        return (e.field ? e.field.replace(/_/g, " ") + ": " : "") + e.reason;
      });
      box.appendChild(el("p", "No forecast for these values. " + reasons.join("; "), "hint"));
      return;
    }
    var dl = el("dl", undefined, "forecast-figures");
    [["Impressions", "impressions"], ["Reach (people)", "reach"], ["Expected clicks", "clicks"],
     ["Spend up to", "spend"]].forEach(function (pair) {
      var row = el("div");
      row.appendChild(el("dt", pair[0]));
      var dd = el("dd", fc.text[pair[1]]);
      dd.setAttribute("data-fc", pair[1]);
      row.appendChild(dd);
      dl.appendChild(row);
    });
    box.appendChild(dl);
    if (fc.benchmark) box.appendChild(el("p", "Clicks use the benchmark of " + fc.benchmark.text + ".", "hint"));
    var notes = el("ul", undefined, "hint");
    (fc.notes || []).forEach(function (n) { notes.appendChild(el("li", n)); });
    box.appendChild(notes);
  }

  if (form && panel && window.fetch && window.URLSearchParams) {
    var url = panel.getAttribute("data-forecast-url");
    var timer = null;
    var latest = 0;
    var refresh = function () {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (typeof value === "string" && key !== "csrf" && key !== "action") params.append(key, value);
      });
      var mine = ++latest;
      fetch(url + "?" + params.toString(), {
        headers: { Accept: "application/json" }, credentials: "same-origin"
      }).then(function (r) { return r.json(); })
        .then(function (body) { if (mine === latest) draw(body); })
        .catch(function () { /* keep the last forecast shown */ });
    };
    var schedule = function (event) {
      if (!event.target.hasAttribute("data-forecast-input")) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    };
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
  }

  // --- image preview at real size -------------------------------------------------------
  var file = document.getElementById("file");
  var preview = document.getElementById("image-preview");
  var previewStatus = document.getElementById("image-preview-status");
  if (file && preview && window.URL && URL.createObjectURL) {
    file.addEventListener("change", function () {
      var frame = preview.querySelector(".real-size-frame");
      frame.textContent = "";
      preview.hidden = true;
      var chosen = file.files && file.files[0];
      if (!chosen) { say(previewStatus, ""); return; }
      var max = parseInt(file.getAttribute("data-max-bytes") || "0", 10);
      if (!/^image\/(png|jpeg|gif|webp)$/.test(chosen.type)) {
        say(previewStatus, "This file is not a PNG, JPEG, GIF or WebP image and will be refused.");
        return;
      }
      if (max && chosen.size > max) {
        say(previewStatus, "This file is too large (" + Math.ceil(chosen.size / 1024) + " KB) and will be refused.");
        return;
      }
      var img = new Image();
      var src = URL.createObjectURL(chosen);
      img.onload = function () {
        img.width = img.naturalWidth;
        img.height = img.naturalHeight;
        var alt = document.getElementById("alt-text");
        img.alt = (alt && alt.value) || "Preview of the chosen image";
        frame.appendChild(img);
        preview.hidden = false;
        var real = img.naturalWidth + "x" + img.naturalHeight;
        var sizeField = document.getElementById("size");
        var wanted = sizeField ? sizeField.value : "";
        var text = "Preview: " + img.naturalWidth + " × " + img.naturalHeight + " pixels.";
        if (wanted && wanted !== real) {
          text += " The size you chose is " + wanted.replace("x", " × ") + ": choose a matching image or size.";
        }
        say(previewStatus, text);
      };
      img.onerror = function () {
        URL.revokeObjectURL(src);
        say(previewStatus, "This file cannot be shown as an image and will be refused.");
      };
      img.src = src;
    });
  }
})();
