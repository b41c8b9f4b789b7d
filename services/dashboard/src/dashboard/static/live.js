// Live pages: when the read model changes, the server says so on the event stream and the page fetches
// itself again and swaps in the new content (no reload, the scroll position stays).
(function () {
  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource || document.querySelector("section.login")) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var content = fresh.getElementById("content");
        if (content) document.getElementById("content").innerHTML = content.innerHTML;
        var footer = fresh.querySelector("footer");
        if (footer) document.querySelector("footer").innerHTML = footer.innerHTML;
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource(stream);
  var badge = document.getElementById("live");
  source.addEventListener("open", function () { if (badge) badge.hidden = false; });
  source.addEventListener("error", function () { if (badge) badge.hidden = true; });
  source.addEventListener("changed", refresh);
})();
