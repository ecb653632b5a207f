/* eduwallet verifier: the same-device flow returns to a result page with "#response_code=..."
   (OpenID4VP 1.0 section 13.3). A fragment never reaches the server, so this moves it into the
   query, where the server checks it. Only on the page that says "made in another browser". */
(function () {
  "use strict";
  if (!document.querySelector("[data-response-code-target]")) { return; }
  var match = /(?:^#|&)response_code=([A-Za-z0-9_-]{1,128})(?:&|$)/.exec(window.location.hash);
  if (!match) { return; }
  var url = new URL(window.location.href);
  url.hash = "";
  url.searchParams.set("response_code", match[1]);
  window.location.replace(url.toString());
}());
