// Preloaded (node --import) into the README's Node example by tests/e2e/test_readme.py, never elsewhere.
// * tiktok-live-connector looks rooms up on TikTok itself: its web and webcast hosts are pointed at the
//   offline fake (README_FAKE_HOST, "0.0.0.0:PORT": the connector speaks plain http to it) by changing the
//   defaults every new TikTokLiveConnection copies, as webConfigOverrides does in tests/e2e/node/connect.mjs.
// * Offline guard: a socket to anything but loopback throws, so nothing can reach the real TikTok.
import net from "node:net";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const loopback = (h) => !h || h === "localhost" || h === "::1" || h === "0.0.0.0" || h.startsWith("127.");
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof opts !== "object" || opts === null) opts = { port: args[0], host: args[1] };
  if (!opts.path && !loopback(String(opts.host ?? ""))) {
    throw new Error(`README test is offline: refusing to connect to ${opts.host}`);
  }
  return connect.apply(this, args);
};

const require = createRequire(pathToFileURL(process.env.README_NODE_DIR + "/package.json"));
const { WebcastWebConfigDefaults } = await import(pathToFileURL(require.resolve("tiktok-live-connector")).href);
WebcastWebConfigDefaults.TIKTOK_HOST_WEB = process.env.README_FAKE_HOST;
WebcastWebConfigDefaults.TIKTOK_HOST_WEBCAST = process.env.README_FAKE_HOST;
