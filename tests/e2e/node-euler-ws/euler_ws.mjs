// Test-only driver: Euler's WebSocket SDK, unmodified, against ttsign (tests/relay/test_euler_ws.py).
// The SDK builds the URL from EULER_WS_URL (read when it is imported) and the options given as argv[2]
// (JSON); its own decoders read every frame. Prints one JSON line per event and one for the close.
import sdk from "@eulerstream/euler-websocket-sdk";
import WebSocket from "ws";

const options = JSON.parse(process.argv[2] || "{}");
const maxMs = Number(process.argv[3] || 15000);
const stopAfter = Number(process.argv[4] || 0); // close (1000) after this many TikTok messages; 0: wait for the server
let seen = 0;
const count = (messages) => {
  seen += messages.filter((m) => m.type.startsWith("Webcast")).length;
  if (stopAfter && seen >= stopAfter) ws.close(1000, "enough");
};
const schema = (options.features && options.features.schemaVersion) || "v2";
const url = sdk.createWebSocketUrl(options);
const opened = new URL(url);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
out({ kind: "url", base: sdk.BASE_URL, path: opened.pathname, params: [...opened.searchParams.keys()] });

const ws = new WebSocket(url);
ws.binaryType = "nodebuffer";
const timer = setTimeout(() => { out({ kind: "timeout" }); ws.terminate(); process.exit(3); }, maxMs);

ws.on("message", (data, isBinary) => {
  if (isBinary) {
    const frame = sdk.deserializeWebSocketMessage(new Uint8Array(data), schema);
    const messages = (frame.protoMessageFetchResult?.messages || []).map((m) => ({
      type: m.type,
      sdk: m.decodedData ? m.decodedData.data : null,
    }));
    out({ kind: "frame", binary: true, payloadType: frame.payloadType, payloadEncoding: frame.payloadEncoding, messages });
    count(messages);
    return;
  }
  const parsed = JSON.parse(data.toString("utf8"));
  const items = Array.isArray(parsed.messages) ? parsed.messages : [parsed];
  const messages = items.map((m) => {
    let decoded = null;
    if (m.raw) decoded = sdk.deserializeMessage(m.type, new Uint8Array(Buffer.from(m.raw, "base64")), schema);
    return { type: m.type, data: m.data, sdk: decoded };
  });
  out({ kind: "frame", binary: false, bundled: Array.isArray(parsed.messages), timestamp: parsed.timestamp ?? null, messages });
  count(messages);
});
ws.on("unexpected-response", (_req, res) => { out({ kind: "http", status: res.statusCode }); });
ws.on("error", (err) => { out({ kind: "error", message: String(err && err.message) }); });
ws.on("close", (code, reason) => {
  clearTimeout(timer);
  const known = sdk.ClientCloseCode[code] || null;
  out({ kind: "close", code, reason: reason.toString("utf8"), name: known });
  process.exit(0);
});
