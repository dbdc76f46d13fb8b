// tokenlab console: the countdown of a real clock and the copy button.
// Everything else is plain forms: the pages work without this script.
(function () {
  'use strict';

  var body = document.body;
  // The server's clock is the true time of every press: measure how far the
  // browser's clock is from it once, and count from there.
  var serverNow = Number(body.getAttribute('data-server-now-ms'));
  var skew = serverNow ? serverNow - Date.now() : 0;
  function now() { return Date.now() + skew; }

  function tickCountdowns() {
    var els = document.querySelectorAll('.countdown[data-virtual="false"]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var until = Number(el.getAttribute('data-valid-until-ms'));
      if (!until) continue; // no code, HOTP ("until used") or a frozen clock
      var left = Math.ceil((until - now()) / 1000);
      var text = left > 0 ? left + ' s left' : 'expired, press again';
      if (el.textContent !== text) el.textContent = text;
      var card = el.closest('.token');
      if (card) card.classList.toggle('expired', left <= 0);
    }
  }

  function tickClock() {
    var el = document.getElementById('clock-now');
    if (!el || el.getAttribute('data-real') !== 'true') return;
    var iso = new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    el.textContent = iso;
    el.setAttribute('datetime', iso);
  }

  function tick() { tickCountdowns(); tickClock(); }
  if (body.getAttribute('data-virtual') !== 'true') {
    tick();
    setInterval(tick, 1000);
  }

  function say(el, text) {
    if (!el) return;
    el.textContent = text;
    clearTimeout(el._clear);
    el._clear = setTimeout(function () { el.textContent = ''; }, 4000);
  }

  // Select the LCD's text so that Ctrl+C (or ⌘C) copies it.
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('button.copy') : null;
    if (!btn) return;
    var serial = btn.getAttribute('data-serial');
    var lcd = document.getElementById('lcd-' + serial);
    var status = document.getElementById('copy-status-' + serial);
    var code = lcd ? lcd.textContent.trim() : '';
    if (!/^[0-9]+$/.test(code)) {
      say(status, 'No code to copy: press the button first.');
      return;
    }
    function fallback() {
      selectText(lcd);
      var copied = false;
      try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
      say(status, copied ? 'Copied ' + code + '.' : 'Selected: press Ctrl+C to copy.');
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(code).then(function () {
        say(status, 'Copied ' + code + '.');
      }, fallback);
    } else {
      fallback();
    }
  });
})();
