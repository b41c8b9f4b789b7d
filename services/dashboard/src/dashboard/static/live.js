// Live pages: when the read model changes, the server says so on the event stream and the page fetches
// itself again and swaps in the new content (no reload, the scroll position stays).
//
// Someone typing in a field of the page, or reading a <details> they opened, keeps the page as it is: the swap
// would take their text, their focus and the opened details away (at provincial scale the stream says "changed"
// every second). The page then says it has news (data-stale) and refreshes once they are done: the field left,
// the details closed.
(function () {
  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource || document.querySelector("section.login")) return;
  var content = document.getElementById("content");
  var busy = false, again = false, held = false;
  function holding() {
    var a = document.activeElement;
    return (a && content.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) ||
      content.querySelector("details[open]") !== null;
  }
  function hold() { held = true; content.setAttribute("data-stale", ""); }
  function resume() {
    if (held && !holding()) { held = false; content.removeAttribute("data-stale"); refresh(); }
  }
  function refresh() {
    if (holding()) { hold(); return; }
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        if (holding()) { hold(); return; }  // they began typing while the page was fetched
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.getElementById("content");
        if (next) content.innerHTML = next.innerHTML;
        var footer = fresh.querySelector("footer");
        if (footer) document.querySelector("footer").innerHTML = footer.innerHTML;
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  content.addEventListener("focusout", function () { setTimeout(resume, 0); });  // once focus has moved on
  content.addEventListener("toggle", resume, true);  // a <details> closed (toggle does not bubble)
  if (stream.indexOf("/public/") < 0) {
    // A signed-in page open is a session in use (the office's command page on a wall screen): the gateway puts a
    // fresh token in the cookie once the one it has is past half its life, to the session's end. (The dashboard
    // reached without the gateway has no such route: 404, nothing changes.)
    setInterval(function () {
      fetch("/ui/session", { method: "POST", credentials: "same-origin" }).catch(function () {});
    }, 60000);
  }
  var source = new EventSource(stream);
  var badge = document.getElementById("live");
  source.addEventListener("open", function () { if (badge) badge.hidden = false; });
  // The browser tries the stream again by itself after a dropped connection, not after an answer other than the
  // stream (the session ended: the sign-in page; too many public pages open: 429). The page then loads itself
  // again after a while, once nobody is typing: a person whose session ended is taken to sign in and back, a
  // public page asks for the stream again (the gateway's Retry-After is 30 s).
  function reload() { if (holding()) { setTimeout(reload, 5000); } else { location.reload(); } }
  source.addEventListener("error", function () {
    if (badge) badge.hidden = true;
    if (source.readyState === EventSource.CLOSED) setTimeout(reload, 30000);
  });
  source.addEventListener("changed", refresh);
})();
