// The operator screen: live through server-sent events, a scan box that keeps focus,
// a full-screen flash and a tone on every scan (red and low on a refusal, green on acceptance).
//
// How it stays live: the station's event stream (/api/stations/<id>/events) says when the
// station changed; the script then fetches /stations/<id>/panel, whose HTML parts the server
// rendered with autoescaping, so no scanned text is ever turned into markup here.
// The scan box posts each scan to the scan API as source "web", one at a time and in order.
// A scan that cannot be delivered (network down, database away: 503) is held here with its
// idempotency key and sent again, so it is neither lost nor processed twice; under `station run`
// the server holds it itself, in order behind the scanner's held scans (503 with "queued": true),
// and the screen learns its outcome from the live events. While offline the whole screen says so.
"use strict";
(function () {
  const root = document.getElementById("screen");
  if (!root) return;
  const input = document.getElementById("scan");
  const form = document.getElementById("scan-form");
  const promptEl = document.getElementById("prompt");
  const resultEl = document.getElementById("result");
  const modeEl = document.getElementById("mode");
  const offlineEl = document.getElementById("offline");
  const heldEls = document.querySelectorAll(".held-count");
  const bannerEl = document.getElementById("offline-banner");
  const liveEl = document.getElementById("live");
  const flashEl = document.getElementById("flash");
  const printerEl = document.getElementById("printer");
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const urls = { scan: root.dataset.scanUrl, events: root.dataset.eventsUrl, panel: root.dataset.panelUrl };
  const RETRY_MS = 2000;
  const RECONNECT_MS = 10000;

  let version = Number(root.dataset.version || 0);
  let serverHeld = offlineEl && !offlineEl.hidden ? (parseInt(heldEls[0].textContent, 10) || 0) : 0;
  let serverOffline = document.body.classList.contains("is-offline");
  const queue = []; // scans typed here, not yet answered: {text, id}
  let sending = false;
  const answered = []; // raw texts this screen already gave feedback for (so the event does not repeat it)

  // ---- feedback: flash and tone ------------------------------------------------------
  let audio = null;
  function audioContext() {
    if (!audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      try { audio = new Ctx(); } catch (e) { return null; }
    }
    if (audio.state === "suspended") audio.resume().catch(function () {});
    return audio;
  }
  // Browsers allow sound only after a gesture: a key (a wedge scanner types keys) or a touch.
  document.addEventListener("keydown", audioContext, { once: true, capture: true });
  document.addEventListener("pointerdown", audioContext, { once: true, capture: true });

  function beep(frequency, start, duration, type) {
    const ctx = audioContext();
    if (!ctx) return;
    const t = ctx.currentTime + start;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = type;
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.35, t + 0.01);
    gain.gain.setValueAtTime(0.35, t + duration - 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + duration);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + duration + 0.02);
  }

  function feedback(accepted) {
    document.body.dataset.lastOutcome = accepted ? "accepted" : "refused";
    document.body.dataset.feedbackCount = String(Number(document.body.dataset.feedbackCount || 0) + 1);
    flashEl.className = "flash-overlay";
    void flashEl.offsetWidth; // restart the animation when two scans come quickly
    flashEl.className = "flash-overlay " + (accepted ? "flash-good" : "flash-bad");
    if (accepted) {
      beep(1760, 0, 0.07, "sine");
    } else {
      beep(220, 0, 0.18, "square");
      beep(165, 0.22, 0.32, "square");
    }
  }

  // The sentence for the operator; the refusal code small, and in the tooltip.
  function showResult(accepted, code, message) {
    resultEl.textContent = accepted ? message : "Refused: " + message;
    if (!accepted && code) {
      const small = document.createElement("small");
      small.className = "code";
      small.textContent = "(" + code + ")";
      resultEl.append(" ", small);
      resultEl.title = "Refusal code: " + code;
      resultEl.dataset.code = code;
    } else {
      resultEl.removeAttribute("title");
      delete resultEl.dataset.code;
    }
    resultEl.className = "result " + (accepted ? "result-ok" : "result-bad");
  }

  function showOffline() {
    const held = serverHeld + queue.length;
    offlineEl.hidden = !(serverOffline || held > 0);
    offlineEl.firstChild.textContent = serverOffline ? "Offline: " : "Held: ";
    heldEls.forEach(function (el) { el.textContent = held + (held === 1 ? " scan" : " scans"); });
    bannerEl.hidden = !serverOffline;
    document.body.classList.toggle("is-offline", serverOffline);
    liveEl.textContent = serverOffline ? "offline" : "live";
  }

  // ---- the live parts ----------------------------------------------------------------
  let fetching = false;
  let again = false;
  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      do {
        again = false;
        const response = await fetch(urls.panel, { credentials: "same-origin", cache: "no-store",
                                                   headers: { Accept: "application/json" } });
        if (response.status === 503) { // the database is away: say so, keep what is shown
          const body = await response.json().catch(function () { return null; });
          if (body && typeof body.held === "number") serverHeld = body.held;
          serverOffline = true;
          showOffline();
          break;
        }
        if (!response.ok) break;
        apply(await response.json());
      } while (again);
    } catch (e) {
      // The server is unreachable: the event stream reconnects by itself and refreshes then.
    } finally {
      fetching = false;
    }
  }

  function apply(panel) {
    const newer = panel.version !== version;
    version = panel.version;
    root.dataset.version = String(version);
    promptEl.textContent = panel.prompt;
    showOperator(panel.operator);
    modeEl.textContent = words(panel.mode);
    modeEl.className = "mode mode-" + panel.mode;
    document.getElementById("document").innerHTML = panel.document_html; // server-rendered, escaped
    showCount(panel.count_html);
    document.getElementById("scans").innerHTML = panel.scans_html; // server-rendered, escaped
    showPrinter(panel.printer);
    serverHeld = panel.held || 0;
    serverOffline = Boolean(panel.offline);
    showOffline();
    const latest = panel.latest;
    if (newer && latest) {
      const mine = latest.device === "web" ? answered.indexOf(latest.raw) : -1;
      if (mine >= 0) {
        answered.splice(mine, 1); // this screen flashed for it when the API answered
      } else {
        showResult(latest.accepted, latest.code, latest.message);
        feedback(latest.accepted);
      }
    }
  }

  // A count's figures and its last scan (server-rendered, escaped); hidden when no count is open. A repeat scan's
  // "already counted" is a new element each time, so its flash animation runs again.
  function showCount(html) {
    const el = document.getElementById("count");
    if (!el) return;
    el.hidden = !html;
    el.innerHTML = html || "";
  }

  // Who is signed in, large: their name, or that nobody is (a badge, USR:<code>, signs in).
  function showOperator(operator) {
    const el = document.getElementById("operator");
    if (!el) return;
    el.textContent = operator ? operator.name : "Nobody signed in";
    el.classList.toggle("nobody", !operator);
    if (operator) el.title = "Operator " + operator.code; else el.removeAttribute("title");
  }

  // The station's label printer: "Printer zebra-1: paper out, 3 labels waiting" (text only, never markup).
  function showPrinter(printer) {
    if (!printerEl || printer === undefined) return;
    printerEl.hidden = !printer;
    if (!printer) return;
    printerEl.textContent = printer.sentence;
    printerEl.className = "printer printer-" + (printer.state || "unknown") + (printer.pending ? " printer-waiting" : "");
  }

  function words(mode) {
    return { receive: "Receiving", sell: "Selling", return: "Returning", service: "Service desk" }[mode] || mode;
  }

  function connect() {
    if (!window.EventSource) return;
    const events = new EventSource(urls.events);
    events.addEventListener("open", function () {
      liveEl.classList.add("connected");
    });
    events.addEventListener("message", function (event) {
      serverOffline = false;
      const seen = Number(event.lastEventId);
      try {
        showPrinter(JSON.parse(event.data).printer); // a printer changes without a scan
      } catch (e) { /* not a state event */ }
      if (event.lastEventId === "" || seen !== version) refresh();
      else showOffline();
      if (queue.length) send();
    });
    events.addEventListener("offline", function (event) {
      try {
        const data = JSON.parse(event.data);
        serverHeld = Number(data.held || 0);
      } catch (e) { /* keep the last count */ }
      serverOffline = true;
      showOffline();
    });
    events.addEventListener("error", function () {
      liveEl.classList.remove("connected");
      // A network error reconnects by itself; an HTTP error (503 while the server is full or the
      // database is away, 429 over this machine's share) closes the stream for good: try again later.
      if (events.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    });
  }

  // ---- scanning ----------------------------------------------------------------------
  function newKey() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  async function send() {
    if (sending) return;
    sending = true;
    try {
      while (queue.length) {
        const scan = queue[0];
        let response;
        let body = null;
        try {
          response = await fetch(urls.scan, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
            body: JSON.stringify({ data: scan.text, id: scan.id, source: "web" }),
          });
          body = await response.json().catch(function () { return null; });
        } catch (e) {
          response = null; // the network: keep the scan and try again
        }
        if (response !== null && response.status === 503 && body && body.queued === true) {
          // The server holds it, in order (station run): nothing left to do here but say so.
          queue.shift();
          serverHeld = typeof body.held === "number" ? body.held : serverHeld;
          serverOffline = body.error && body.error.code === "offline";
          showOffline();
          continue;
        }
        if (response === null || response.status === 503) {
          serverOffline = true;
          if (body && body.error && typeof body.held === "number") serverHeld = body.held;
          showOffline();
          setTimeout(send, RETRY_MS);
          return;
        }
        queue.shift();
        showOffline();
        if (response.ok && body) {
          answered.push(scan.text);
          if (answered.length > 50) answered.shift();
          showResult(body.accepted, body.code, body.message);
          if (body.prompt) promptEl.textContent = body.prompt;
          feedback(body.accepted);
          refresh();
        } else {
          const error = (body && body.error) || {};
          const code = response.status === 401 ? "unauthorized" : error.code || "http_" + response.status;
          const message = response.status === 401 ? "Log in to scan from this machine." : error.message || "The scan was not taken.";
          showResult(false, code, message);
          feedback(false);
        }
      }
    } finally {
      sending = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    input.value = ""; // ready for the next scan at once
    if (text.trim() === "") return;
    queue.push({ text: text, id: newKey() });
    showOffline();
    send();
  });

  // A scanner set to end with Tab would move the focus away: treat Tab as Enter here.
  input.addEventListener("keydown", function (event) {
    if (event.key === "Tab" && input.value !== "") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Keep the focus in the scan box, so a keyboard-wedge scanner always types into it.
  function editable(el) {
    return el && el !== input && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName));
  }
  function refocus() {
    if (!editable(document.activeElement)) input.focus({ preventScroll: true });
  }
  input.addEventListener("blur", function () { setTimeout(refocus, 0); });
  document.addEventListener("keydown", refocus, true);
  document.addEventListener("pointerup", function () { setTimeout(refocus, 0); });
  window.addEventListener("focus", refocus);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refocus(); refresh(); } });

  refocus();
  connect();
})();
