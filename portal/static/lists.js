// Lists (guest list): what was typed or ticked survives htmx's history snapshots, so Back shows the search box,
// the location and the sort as the list they filtered; and one box ticks every guest of the page.
(function () {
  "use strict";

  // htmx snapshots the page's HTML, which holds the value attributes the page was drawn with, not what was
  // typed since: write the current values into the attributes first.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("input, select").forEach(function (field) {
      if (field.tagName === "SELECT") {
        Array.prototype.forEach.call(field.options, function (option) { option.toggleAttribute("selected", option.selected); });
      } else if (field.type === "checkbox" || field.type === "radio") {
        field.toggleAttribute("checked", field.checked);
      } else if (field.type !== "hidden" && field.type !== "password") {
        field.setAttribute("value", field.value);
      }
    });
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-tick-all]");
    if (!all) return;
    all.closest("table").querySelectorAll("input[name=guest]").forEach(function (box) { box.checked = all.checked; });
  });
})();
