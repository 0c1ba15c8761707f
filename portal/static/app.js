// Page behaviour shared by every page (the CSP allows no inline script): notices for htmx requests that fail
// without an answer of ours, dismissing notices, confirmations that put a changed <select> back when cancelled,
// and the menu button on phones.
(function () {
  "use strict";
  var SERVER_TROUBLE = "Something went wrong on our side; nothing was changed. Try again in a moment.";
  var UNREACHABLE = "Tablecloth could not be reached. Check your connection and try again.";

  function showNotice(message) {
    var box = document.getElementById("notices");
    if (!box) return;
    var notice = document.createElement("div");
    notice.className = "notice";
    var text = document.createElement("p");
    text.className = "error";
    text.setAttribute("role", "alert");
    text.textContent = message;
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "dismiss";
    dismiss.setAttribute("data-dismiss-notice", "");
    dismiss.setAttribute("aria-label", "Dismiss this message");
    dismiss.textContent = "Dismiss";
    notice.append(text, dismiss);
    box.replaceChildren(notice);
  }

  // Our error answers either carry HX-Retarget (a notice, portal/errorpages.py) or are a view's form with its
  // messages. A server error without it (a proxy's 502 page, a worker timeout) is never swapped into the page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 500 && !xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = false;
      showNotice(SERVER_TROUBLE);
    }
  });
  document.addEventListener("htmx:sendError", function () { showNotice(UNREACHABLE); });
  document.addEventListener("htmx:timeout", function () { showNotice(UNREACHABLE); });

  // hx-confirm on a form sent by a <select>'s change: cancelling puts the select back to what the page showed.
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    if (window.confirm(event.detail.question)) {
      event.detail.issueRequest(true);
      return;
    }
    event.detail.elt.querySelectorAll("select").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) { option.selected = option.defaultSelected; });
    });
  });

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss-notice]");
    if (dismiss) {
      dismiss.closest(".notice").remove();
      return;
    }
    var toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) {
      var menu = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = menu.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });
})();
