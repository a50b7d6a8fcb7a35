// Drives tiktok-live-connector's own sign path (RouteConfig.fetchWebcastSignatureFromProvider ->
// POST {SIGN_API_URL}/tiktok/sign_url) and prints one JSON line describing the outcome.
// Usage: SIGN_API_URL=http://127.0.0.1:P [SIGN_API_KEY=k] node sign_url.mjs <url>
import { RouteConfig, TikTokLiveConnection, createEulerClient } from "tiktok-live-connector";

const url = process.argv[2];
const connection = new TikTokLiveConnection("someone", { fetchRoomInfoOnConnect: false });
try {
  const data = await RouteConfig.fetchWebcastSignatureFromProvider({
    url,
    method: "GET",
    userAgent: connection.webClient.clientHeaders["User-Agent"],
    webClient: connection.webClient,
    apiClient: createEulerClient(),
  });
  console.log(JSON.stringify({ ok: true, data }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: err?.constructor?.name, message: String(err?.message) }));
}
