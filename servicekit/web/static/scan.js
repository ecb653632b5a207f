/* Camera QR scanning for the `ui.scanner(target_id)` block (wallet: "add a credential").
   Shows the "Scan with camera" button only when the browser can open a camera; decodes frames with
   the browser's BarcodeDetector when it has one, else with the vendored jsQR; puts the text into the
   field <target_id> and submits its form. Without a camera (or JS) the page's paste and upload
   fields do the same job. */
(function () {
  "use strict";

  var FRAME_MS = 150;
  var MAX_SIDE = 720;

  function Scanner(block) {
    this.block = block;
    this.target = document.getElementById(block.getAttribute("data-scanner"));
    this.startButton = block.querySelector("[data-scanner-start]");
    this.stopButton = block.querySelector("[data-scanner-stop]");
    this.video = block.querySelector("video");
    this.status = block.querySelector("[role=status]");
    this.canvas = document.createElement("canvas");
    this.stream = null;
    this.timer = null;
    this.detector = null;
  }

  Scanner.prototype.say = function (key) {
    this.status.textContent = this.block.getAttribute("data-msg-" + key) || "";
  };

  Scanner.prototype.start = function () {
    var self = this;
    self.startButton.disabled = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (stream) {
        self.stream = stream;
        self.video.srcObject = stream;
        self.video.hidden = false;
        self.startButton.hidden = true;
        self.stopButton.hidden = false;
        self.say("looking");
        return self.video.play();
      })
      .then(function () { self.schedule(); })
      .catch(function (error) {
        self.stop();
        self.say(error && error.name === "NotFoundError" ? "no-camera" : "denied");
      });
  };

  Scanner.prototype.stop = function () {
    window.clearTimeout(this.timer);
    if (this.stream) {
      this.stream.getTracks().forEach(function (track) { track.stop(); });
      this.stream = null;
    }
    this.video.srcObject = null;
    this.video.hidden = true;
    this.stopButton.hidden = true;
    this.startButton.hidden = false;
    this.startButton.disabled = false;
  };

  Scanner.prototype.schedule = function () {
    var self = this;
    self.timer = window.setTimeout(function () { self.scan(); }, FRAME_MS);
  };

  Scanner.prototype.scan = function () {
    var self = this;
    if (!self.stream || self.video.readyState < 2) { self.schedule(); return; }
    self.decode().then(function (text) {
      if (text) { self.found(text); } else if (self.stream) { self.schedule(); }
    }, function () { self.schedule(); });
  };

  Scanner.prototype.decode = function () {
    if (this.detector) {
      return this.detector.detect(this.video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    var width = this.video.videoWidth, height = this.video.videoHeight;
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    this.canvas.width = Math.round(width * scale);
    this.canvas.height = Math.round(height * scale);
    var context = this.canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    var frame = context.getImageData(0, 0, this.canvas.width, this.canvas.height);
    var code = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "attemptBoth" });
    return Promise.resolve(code ? code.data : null);
  };

  Scanner.prototype.found = function (text) {
    this.stop();
    this.target.value = text;
    this.target.dispatchEvent(new Event("input", { bubbles: true }));
    this.say("found");
    var form = this.target.form;
    if (form && this.block.hasAttribute("data-scanner-submit")) {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  };

  function setUp(block) {
    var scanner = new Scanner(block);
    if (!scanner.target || !scanner.video) { return; }
    var canUseCamera = navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.isSecureContext;
    if (!canUseCamera || (!window.BarcodeDetector && !window.jsQR)) { return; }
    var ready = Promise.resolve();
    if (window.BarcodeDetector && window.BarcodeDetector.getSupportedFormats) {
      ready = window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0) { scanner.detector = new window.BarcodeDetector({ formats: ["qr_code"] }); }
      }, function () { return null; });
    }
    ready.then(function () {
      if (!scanner.detector && !window.jsQR) { return; }
      scanner.startButton.hidden = false;
      scanner.startButton.addEventListener("click", function () { scanner.start(); });
      scanner.stopButton.addEventListener("click", function () { scanner.stop(); });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-scanner]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
