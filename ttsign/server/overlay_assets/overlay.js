// ttsign OBS overlay: reads the room's events from its SSE endpoint and shows them as lines.
// No framework, no network but ttsign itself; every text goes in with textContent (never as HTML).
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var room = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop() || "");
  var list = document.getElementById("lines");
  var root = document.documentElement.style;
  var KINDS = ["chat", "gift", "like", "member", "follow", "share", "room_end", "control"];

  function colour(v) {
    if (!v) return null;
    if (/^[0-9a-fA-F]{3,8}$/.test(v)) v = "#" + v; // '#' cannot be written in a query value unescaped
    return window.CSS && CSS.supports("color", v) ? v : null;
  }
  function number(v, lo, hi, dflt) {
    var n = Number(v);
    return v !== null && v !== "" && isFinite(n) && n >= lo && n <= hi ? n : dflt;
  }
  var opt = {
    max: number(params.get("max"), 1, 200, 10),
    fade: number(params.get("fade"), 0, 3600, 0),
    events: (params.get("events") || "chat,gift").split(",").filter(function (k) { return KINDS.indexOf(k) >= 0; })
  };
  var size = number(params.get("size"), 6, 200, 0);
  if (size) root.setProperty("--size", size + "px");
  [["color", "--text"], ["name_color", "--name"], ["gift_color", "--gift"], ["bg", "--line-bg"]].forEach(function (p) {
    var c = colour(params.get(p[0]));
    if (c) root.setProperty(p[1], c);
  });
  var font = params.get("font");
  if (font && /^[\w ,.'"-]{1,100}$/.test(font)) root.setProperty("--font", font);
  if (params.get("align") === "top") document.body.classList.add("top");
  document.body.dataset.room = room;

  function who(user) {
    if (!user) return "someone";
    return user.nickname || user.unique_id || "someone";
  }
  function text(ev) {
    var d = ev.data || {};
    switch (ev.type) {
      case "chat": return [who(d.user), d.text || ""];
      case "gift":
        var g = d.gift || {};
        return [who(d.user), "sent " + (g.name || "a gift") + (d.count > 1 ? " x" + d.count : "")];
      case "like": return [who(d.user), "liked" + (d.count > 1 ? " x" + d.count : "")];
      case "member": return [who(d.user), "joined"];
      case "follow": return [who(d.user), "followed"];
      case "share": return [who(d.user), "shared the LIVE"];
      case "room_end": return [null, "The LIVE has ended"];
      case "control": return d.name === "paused" || d.name === "resumed" ? [null, "LIVE " + d.name] : null;
    }
    return null;
  }
  function show(ev) {
    if (opt.events.indexOf(ev.type) < 0 && ev.type !== "room_end") return;
    var parts = text(ev);
    if (!parts) return;
    var li = document.createElement("li");
    li.className = "line " + ev.type + (parts[0] === null ? " system" : "");
    li.dataset.type = ev.type;
    if (parts[0] !== null) {
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = parts[0];
      li.appendChild(name);
    }
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = parts[1];
    li.appendChild(body);
    list.appendChild(li);
    while (list.children.length > opt.max) list.removeChild(list.firstChild);
    if (opt.fade > 0) {
      setTimeout(function () { li.classList.add("out"); setTimeout(function () { li.remove(); }, 700); }, opt.fade * 1000);
    }
  }
  function onData(msg) {
    var ev;
    try { ev = JSON.parse(msg.data); } catch (e) { return; }
    if (ev && typeof ev === "object") show(ev);
  }

  var url = new URL("/v1/rooms/" + encodeURIComponent(room) + "/events", location.origin);
  if (params.get("token")) url.searchParams.set("token", params.get("token"));
  var source = new EventSource(url.toString());
  source.onmessage = onData; // events sent without an `event:` name
  KINDS.concat(["gift_streak", "viewers", "unknown"]).forEach(function (k) { source.addEventListener(k, onData); });
  source.addEventListener("end", function (msg) { // the stream's last event: {type: "end", code, reason}
    var end = {};
    try { end = JSON.parse(msg.data); } catch (e) { /* keep {} */ }
    document.body.dataset.end = String(end.code || "");
    if (end.code === 4005) source.close(); // the LIVE ended: nothing to reconnect to
  });
  source.onopen = function () { document.body.dataset.state = "open"; };
  source.onerror = function () { document.body.dataset.state = source.readyState === 2 ? "closed" : "retrying"; };
})();
