/* eduwallet pages: progressive enhancement only. Every page works without this file.
   - [data-copy="<id>"] buttons copy the text of element <id> (they stay hidden without JS);
   - [data-poll-url] blocks fetch that JSON URL and reload the page when its "state" (or
     "status") is no longer data-poll-state (the verifier's QR page waiting for the wallet);
   - input[type=file][data-preview="<img id>"] shows the chosen image before upload. */
(function () {
  "use strict";

  function announce(element, text) {
    if (element) { element.textContent = text; }
  }

  function setUpCopy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    var status = button.parentNode.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.value !== undefined ? target.value : target.textContent;
      navigator.clipboard.writeText(text.trim()).then(
        function () { announce(status, button.getAttribute("data-copy-done")); },
        function () { announce(status, button.getAttribute("data-copy-failed")); }
      );
    });
  }

  function setUpPoll(block) {
    var url = block.getAttribute("data-poll-url");
    var known = block.getAttribute("data-poll-state");
    var interval = Math.max(1000, parseInt(block.getAttribute("data-poll-interval"), 10) || 2000);
    var deadline = Date.now() + 30 * 60 * 1000;
    function check() {
      if (Date.now() > deadline) { return; }
      if (document.hidden) { window.setTimeout(check, interval); return; }
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          var state = body && (body.state !== undefined ? body.state : body.status);
          if (state !== undefined && state !== null && String(state) !== known) {
            window.location.reload();
          } else {
            window.setTimeout(check, interval);
          }
        })
        .catch(function () { window.setTimeout(check, interval * 2); });
    }
    window.setTimeout(check, interval);
  }

  function setUpPreview(input) {
    var image = document.getElementById(input.getAttribute("data-preview"));
    if (!image || !window.FileReader) { return; }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || file.type.indexOf("image/") !== 0) { image.hidden = true; return; }
      var reader = new FileReader();
      reader.addEventListener("load", function () { image.src = reader.result; image.hidden = false; });
      reader.readAsDataURL(file);
    });
  }

  function each(selector, setUp) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), setUp);
  }

  function start() {
    each("[data-copy]", setUpCopy);
    each("[data-poll-url]", setUpPoll);
    each("input[type=file][data-preview]", setUpPreview);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
