// Corridor's one script, small and optional: every page works without it.
// It adds itinerary rows on the application form and prints the letter.
(function () {
  "use strict";
  document.querySelectorAll("[data-add-row]").forEach(function (btn) {
    var box = document.getElementById(btn.getAttribute("data-add-row"));
    if (!box) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var rows = box.querySelectorAll("[data-row]");
      if (rows.length >= 50) { return; }
      var copy = rows[rows.length - 1].cloneNode(true);
      var n = rows.length;
      copy.querySelectorAll("input, select").forEach(function (el) {
        el.name = el.name.replace(/\[\d+\]/, "[" + n + "]");
        if (el.tagName === "INPUT") { el.value = ""; }
      });
      copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      box.appendChild(copy);
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { window.print(); });
  });
})();
