// Drive the unmodified tiktok-live-api-sdk 0.6.0 against a ttsign server.
//
//   node euler.mjs BASE_URL API_KEY ACTION [ARG] [X_COOKIE_HEADER]
//
// ACTION: sign (ARG: a URL), room (ARG: a room id), anchor (ARG: a username), limits, and
// strict-room (the SDK's bare TikTokLIVERoomsApi with axios' default status check, which throws on a
// non-2xx). The documented entry, EulerStreamApiClient, accepts every status (validateStatus: () => true)
// and hands the answer back. Prints one JSON line: status, headers, the JSON body the SDK's axios parsed
// (or the protobuf body as base64), or what was thrown.
import EulerStreamApiClient, { Configuration, RateLimitType, TikTokLIVERoomsApi } from "tiktok-live-api-sdk";

const [base, key, action, arg = "", cookie = ""] = process.argv.slice(2);
const UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36";
const binary = { responseType: "arraybuffer", timeout: 20000 }; // as tiktok-live-connector 2.x calls connect
const xCookie = cookie || undefined;

function body(data) {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const buf = Buffer.from(data);
    try {
      return { json: JSON.parse(buf.toString("utf8")) };
    } catch {
      return { content_b64: buf.toString("base64") };
    }
  }
  return { json: data };
}

function report(res) {
  const out = { status: res.status, headers: res.headers, ...body(res.data) };
  console.log(JSON.stringify(out));
}

const client = new EulerStreamApiClient({ basePath: base, ...(key ? { apiKey: key } : {}) });
try {
  if (action === "sign") {
    report(await client.signing.signTikTokUrl({ url: arg, userAgent: UA, method: "GET" }, "ttlive-node", { timeout: 20000 }));
  } else if (action === "room") {
    report(await client.rooms.fetchWebcastURL(arg, "ttlive-node", "", UA, true, "web", undefined, xCookie, binary));
  } else if (action === "anchor") {
    report(await client.anchors.fetchWebcastURLByUniqueId(arg, "ttlive-node", "", UA, true, "web", undefined, xCookie, binary));
  } else if (action === "limits") {
    report(await client.accounts.getRateLimits(RateLimitType.Webcast, { timeout: 20000 }));
  } else if (action === "strict-room") {
    const rooms = new TikTokLIVERoomsApi(new Configuration({ basePath: base, apiKey: key || undefined }));
    try {
      report(await rooms.fetchWebcastURL(arg, "ttlive-node", "", UA, true, "web", undefined, xCookie, { timeout: 20000 }));
    } catch (err) {
      const res = err.response;
      console.log(JSON.stringify({ threw: err.name, status: res ? res.status : null, json: res ? res.data : null }));
    }
  } else {
    throw new Error(`unknown action ${action}`);
  }
} catch (err) {
  console.log(JSON.stringify({ threw: err.name, message: String(err.message) }));
  process.exitCode = 1;
}
