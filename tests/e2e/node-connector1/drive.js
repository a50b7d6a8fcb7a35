// Drives the unmodified tiktok-live-connector 1.2.3 through ttsign's GET /webcast/sign_url; one JSON line per
// outcome, the last {"done": ...}. Run by tests/e2e/test_old_clients.py.
//   node drive.js connect <signHost> <fakeBase> <uniqueId> [apiKey]   (its own room lookup, im/fetch, socket)
//   node drive.js sign <signHost> <url> [apiKey]                       (its signer alone)
// The sign host is set as the README shows for 1.x (a trailing slash; no third-party fallback host).
"use strict";
const { WebcastPushConnection, signatureProvider } = require("tiktok-live-connector");
const Config = require("tiktok-live-connector/dist/lib/webcastConfig.js");

const [mode, signHost, target, third = "", fourth = ""] = process.argv.slice(2);
signatureProvider.config.signProviderHost = signHost.replace(/\/?$/, "/");
signatureProvider.config.signProviderFallbackHosts = [];
const emit = (o) => console.log(JSON.stringify(o));
let finished = false;
function finish(result, connection) {
  if (finished) return;
  finished = true;
  emit({ done: true, ...result });
  try { connection?.disconnect(); } catch {}
  setTimeout(() => process.exit(0), 200);
}

async function sign(url, apiKey) {
  const jar = { setCookie: (k, v) => emit({ event: "cookie", name: k, value: v }), getCookieByName: () => undefined };
  const headers = {};
  try {
    const signed = await signatureProvider.signWebcastRequest(url, headers, jar, apiKey ? { headers: { "X-Api-Key": apiKey } } : {});
    finish({ ok: true, signedUrl: signed, userAgent: headers["User-Agent"] });
  } catch (err) {
    finish({ ok: false, name: err?.constructor?.name, message: String(err?.message || err) });
  }
}

async function connect(fakeBase, uniqueId, apiKey) {
  Config.TIKTOK_URL_WEB = fakeBase + "/";
  Config.TIKTOK_URL_WEBCAST = fakeBase + "/webcast/";
  const connection = new WebcastPushConnection(uniqueId, {
    enableRequestPolling: false,
    signProviderOptions: apiKey ? { headers: { "X-Api-Key": apiKey } } : {},
  });
  const chats = [];
  connection.on("chat", (m) => { chats.push(m.comment); emit({ event: "chat", user: m.uniqueId, text: m.comment }); });
  connection.on("websocketConnected", () => emit({ event: "websocketConnected" }));
  connection.on("error", (e) => emit({ event: "error", info: String(e?.info), message: String(e?.exception?.message || e?.exception || "") }));
  setTimeout(() => finish({ ok: false, reason: "timeout", chats }, connection), 15000);
  try {
    const state = await connection.connect();
    emit({ event: "connected", roomId: String(state.roomId), upgradedToWebsocket: state.upgradedToWebsocket });
    setTimeout(() => finish({ ok: chats.length > 0 && state.upgradedToWebsocket, chats }, connection), 300);
  } catch (err) {
    finish({ ok: false, reason: "connect-failed", name: err?.constructor?.name, message: String(err?.message || err) }, connection);
  }
}

if (mode === "sign") sign(target, third);
else connect(target, third, fourth);
