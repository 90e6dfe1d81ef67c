// netpol-rollout dashboard: the viewer's timezone, and live updates without reloading.
(function () {
  "use strict";
  var tz = "UTC";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* keep UTC */ }
  document.cookie = "nr_tz=" + encodeURIComponent(tz) + "; path=/; SameSite=Strict; max-age=31536000";
  var params = new URLSearchParams(window.location.search);
  // The page was rendered for another zone (first visit): render it again once for this one.
  if (document.body.dataset.tz !== tz && !params.has("tz") && !sessionStorage.getItem("nr-tz-tried")) {
    sessionStorage.setItem("nr-tz-tried", "1");
    window.location.reload();
    return;
  }
  var url = document.body.dataset.liveUrl;
  var region = document.getElementById("live");
  if (!url || !region) { return; }
  var status = document.createElement("p");
  status.className = "updated";
  status.setAttribute("role", "status");
  region.parentNode.insertBefore(status, region);
  var last = region.innerHTML;
  function refresh() {
    if (document.hidden) { return; }
    // Never swap content under the keyboard: wait until focus leaves the region.
    if (region.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { status.textContent = "Signed out: reload to sign in again."; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data || typeof data.html !== "string") { return; }
        if (data.html !== last) {
          region.innerHTML = data.html;
          last = data.html;
        }
        status.textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { status.textContent = "Live updates paused: the service is unreachable."; });
  }
  window.setInterval(refresh, 2000);
})();
