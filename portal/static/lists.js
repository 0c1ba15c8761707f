// Lists (guest list): filters live in the URL. When Back (or Forward) restores a list from htmx's history, the
// filter form is set from the restored URL, so the search box and the location say what filtered that list (a
// history snapshot holds the form as first drawn, or as typed since: neither is the list's). One box also ticks
// every guest of the page.
(function () {
  "use strict";

  document.addEventListener("htmx:historyRestore", function () {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-url-state]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.type !== "submit" && field.type !== "hidden") field.value = params.get(field.name) || "";
      });
    });
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-tick-all]");
    if (!all) return;
    all.closest("table").querySelectorAll("input[name=guest]").forEach(function (box) { box.checked = all.checked; });
  });
})();
