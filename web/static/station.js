// Tabs on record pages: without this script every panel simply shows, one under another.
"use strict";
(function () {
  const tabs = Array.from(document.querySelectorAll('.tabs [role="tab"]'));
  if (!tabs.length) return;
  function show(id) {
    for (const tab of tabs) {
      const target = tab.getAttribute("aria-controls");
      const on = target === id;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      const panel = document.getElementById(target);
      if (panel) panel.hidden = !on;
    }
  }
  for (const tab of tabs) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      const id = tab.getAttribute("aria-controls");
      history.replaceState(null, "", "#" + id);
      show(id);
    });
  }
  function fromLocation() {
    const wanted = location.hash.slice(1);
    const known = tabs.some((t) => t.getAttribute("aria-controls") === wanted);
    // A page of movements (?mpage=) opens on the Movements tab.
    const paging = new URLSearchParams(location.search).has("mpage");
    show(known ? wanted : paging ? "movements" : tabs[0].getAttribute("aria-controls"));
  }
  window.addEventListener("hashchange", fromLocation);
  fromLocation();
})();
