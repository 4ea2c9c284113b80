/* the402: the provider's dashboard, progressively enhanced (every page works without it).
 *
 * - `[data-copy="<selector>"]` buttons copy that element's text to the clipboard.
 * - The service form's preview (`#service-preview`, `data-fee-bps`) shows the agent price
 *   (your price plus the platform fee, rounded up to the micro-USDC like the server) and the
 *   catalog entry as you type. Amounts are computed in integer micro-USDC (BigInt).
 * - `[data-poll-url]` containers (the jobs inbox, a job's thread) fetch their partial every
 *   `data-poll-seconds` and swap it in when its `data-fingerprint` changed: new jobs and
 *   messages show up without a reload.
 * Loaded as a file: the pages' CSP allows no inline script.
 */
(function () {
  "use strict";

  // --- copy buttons ---
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  // --- the agent price preview ---
  var MICROS = 1000000n;

  function parseMicros(text) {
    var match = /^\s*\$?\s*(\d{1,12})(?:\.(\d{0,6}))?\s*$/.exec(text || "");
    if (!match) return null;
    var fraction = (match[2] || "").padEnd(6, "0");
    return BigInt(match[1]) * MICROS + BigInt(fraction || "0");
  }

  function formatUsd(micros) {
    var whole = micros / MICROS;
    var cents = micros % MICROS;
    var fraction = cents.toString().padStart(6, "0").replace(/0+$/, "");
    if (fraction.length < 2) fraction = fraction.padEnd(2, "0");
    return "$" + whole.toString() + "." + fraction;
  }

  function fee(micros, bps) {
    return (micros * bps + 9999n) / 10000n;  // rounded up, as the server's platform_fee
  }

  var preview = document.getElementById("service-preview");
  var form = document.getElementById("service-form");
  if (preview && form) {
    var bps = BigInt(preview.getAttribute("data-fee-bps") || "0");
    var field = function (name) { return form.querySelector('[name="' + name + '"]'); };
    var show = function (name, text) {
      var el = preview.querySelector('[data-preview="' + name + '"]');
      if (el) el.textContent = text;
    };
    var range = function (low, high, convert) {
      return high !== null ? convert(low) + " to " + convert(high) : convert(low);
    };
    var update = function () {
      ["name", "category", "description"].forEach(function (name) {
        var input = field(name);
        if (input) show(name, input.value);
      });
      var type = field("service_type");
      if (type) show("service_type", type.options[type.selectedIndex].text);
      var low = parseMicros(field("price").value);
      var quoted = field("pricing_model").value === "quote_required";
      var high = quoted ? parseMicros(field("price_max").value) : null;
      if (low === null) {
        ["price", "fee", "agent_price"].forEach(function (n) { show(n, "—"); });
        return;
      }
      show("price", range(low, high, formatUsd));
      show("fee", range(low, high, function (m) { return formatUsd(fee(m, bps)); }));
      show("agent_price", range(low, high, function (m) { return formatUsd(m + fee(m, bps)); }));
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // --- polling partials ---
  document.querySelectorAll("[data-poll-url]").forEach(function (container) {
    var seconds = parseInt(container.getAttribute("data-poll-seconds") || "0", 10);
    if (!seconds) return;
    var url = container.getAttribute("data-poll-url");
    var current = function () {
      var inner = container.querySelector("[data-fingerprint]");
      return inner ? inner.getAttribute("data-fingerprint") : "";
    };
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("[data-fingerprint]");
          if (fresh && fresh.getAttribute("data-fingerprint") !== current()) {
            container.replaceChildren(fresh);
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ })
        .finally(function () { setTimeout(tick, seconds * 1000); });
    };
    setTimeout(tick, seconds * 1000);
  });
})();
