// Connects the unmodified tiktok-live-connector through ttsign (SIGN_API_URL) and prints one JSON line
// per event, then a final {"done": ...} line. Usage:
//   SIGN_API_URL=http://127.0.0.1:S node connect.mjs <uniqueId> [roomId] [fakeHostPort] [timeoutMs]
// With a roomId the connector skips its own lookups; with fakeHostPort ("0.0.0.0:P", plain http because
// the connector uses https for loopback names: live-connect.md §5.2) it runs them against the fake.
import { TikTokLiveConnection, WebcastEvent, ControlEvent } from "tiktok-live-connector";

const [uniqueId, roomId = "", fakeHost = "", timeoutMs = "20000"] = process.argv.slice(2);
const options = { fetchRoomInfoOnConnect: Boolean(fakeHost), processInitialData: true };
if (fakeHost) options.webConfigOverrides = { TIKTOK_HOST_WEB: fakeHost, TIKTOK_HOST_WEBCAST: fakeHost };
const connection = new TikTokLiveConnection(uniqueId, options);
const seen = { chat: 0, gift: 0, like: 0 };
const emit = (o) => console.log(JSON.stringify(o));
let finished = false;

async function finish(result) {
  if (finished) return;
  finished = true;
  emit({ done: true, ...result, seen });
  try { await connection.disconnect(); } catch {}
  setTimeout(() => process.exit(0), 200);
}

connection.on(WebcastEvent.CHAT, (m) => { seen.chat++; emit({ event: "chat", user: m.user?.displayId, text: m.content }); check(); });
connection.on(WebcastEvent.GIFT, (m) => { seen.gift++; emit({ event: "gift", user: m.user?.displayId, giftId: m.giftId }); check(); });
connection.on(WebcastEvent.LIKE, (m) => { seen.like++; emit({ event: "like", user: m.user?.displayId, count: m.count }); check(); });
connection.on(ControlEvent.ERROR, (e) => emit({ event: "error", message: String(e?.info || e?.exception?.message || e?.message || e) }));
function check() { if (seen.chat >= 2 && seen.gift >= 1 && seen.like >= 1) finish({ ok: true }); }

setTimeout(() => finish({ ok: false, reason: "timeout" }), Number(timeoutMs));
try {
  const state = await connection.connect(roomId || undefined);
  emit({ event: "connected", roomId: state.roomId });
} catch (err) {
  await finish({ ok: false, reason: "connect-failed", name: err?.constructor?.name, message: String(err?.message || err) });
}
