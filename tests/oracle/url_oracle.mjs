// Browser side of tests/oracle/make_url_vectors.py: run as `node url_oracle.mjs job.json out.json` from a
// temporary directory that holds `node_modules/playwright-core` and `www/<sdk files>` (both fetched at run
// time by make_url_vectors.py, never committed). Follows protocol/sdk-oracle.md sections 2 and 3.
//
// For every SDK file in the job: a fresh incognito context on Debian's /usr/bin/chromium, the freeze script,
// the blank page at http://www.tiktok.com/@user/live (mapped to 127.0.0.1), localStorage.xmst = msToken, the
// SDK script, byted_acrawler.init. Then for every hook case: a real fetch(url) from the page, recording
//   - what the SDK's hook handed to its X-Bogus function (the package's own __cap capture: query, body);
//   - the URL the browser reported for the request (page.on('request')) and the request-target our local
//     server actually received (the bytes on the wire);
//   - or the exception the hook threw.
// For every parse case: the page's `new URL(input)` (Chrome's parser, no SDK involved) and Node's
// `new URL(input)` (the WHATWG parser tiktok-live-connector runs on), field by field.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
const PORT = job.port;
const received = [];

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/sdk/')) {
    const file = path.join('www', path.basename(req.url.slice(5)));
    res.writeHead(200, { 'content-type': 'application/javascript' });
    res.end(fs.readFileSync(file));
    return;
  }
  if (req.method === 'POST' || req.url.startsWith('/api/') || req.url.startsWith('/webcast/')) {
    received.push({ host: req.headers.host, target: req.url });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset=utf-8><div id=app></div>');
});
await new Promise((resolve) => server.listen(PORT, '127.0.0.1', resolve));

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-blink-features=AutomationControlled',
  `--host-resolver-rules=MAP www.tiktok.com 127.0.0.1:${PORT}, MAP webcast.tiktok.com 127.0.0.1:${PORT}, ` +
    'MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

const FREEZE = `(() => {
  const RealDate = Date;
  window.__frozen = ${job.frozen_date_now_ms};
  window.__rnd = 0.5;
  window.__perf = 1234.5;
  function FrozenDate(...args) {
    if (!(this instanceof FrozenDate)) return new RealDate(window.__frozen).toString();
    return args.length ? new RealDate(...args) : new RealDate(window.__frozen);
  }
  FrozenDate.prototype = RealDate.prototype;
  FrozenDate.now = () => window.__frozen;
  FrozenDate.parse = RealDate.parse;
  FrozenDate.UTC = RealDate.UTC;
  window.Date = FrozenDate;
  Math.random = () => window.__rnd;
  window.__realPerfNow = performance.now.bind(performance);
  performance.now = () => window.__perf;
})();`;

function urlFields(u) {
  return { href: u.href, protocol: u.protocol, username: u.username, password: u.password, hostname: u.hostname,
    port: u.port, pathname: u.pathname, search: u.search, hash: u.hash };
}

function nodeParse(input) {
  try { return urlFields(new URL(input)); } catch (e) { return { error: `${e.name}: ${e.code || e.message}` }; }
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true });
const out = { browser: browser.version(), node: process.version, sessions: [], parse: [] };

for (const sdk of job.sdk_files) {
  const context = await browser.newContext({ userAgent: job.user_agent });
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
  await page.addInitScript(FREEZE);
  await page.goto(job.page_url);
  await page.evaluate((t) => localStorage.setItem('xmst', t), job.ms_token);
  await page.addScriptTag({ url: `/sdk/${sdk}` });
  const init = await page.evaluate((opts) => {
    try { byted_acrawler.init(opts); return 'ok'; } catch (e) { return `threw ${e}`; }
  }, job.init);
  const session = {
    sdk_file: sdk, init, page_href: await page.evaluate(() => location.href),
    user_agent: await page.evaluate(() => navigator.userAgent),
    platform: await page.evaluate(() => navigator.platform),
    webdriver: await page.evaluate(() => navigator.webdriver), cases: [],
  };
  for (const c of job.hook_cases) {
    requests.length = 0;
    received.length = 0;
    const r = await page.evaluate(async (u) => {
      window.__cap = [];
      window.__cap2 = [];
      let error = null;
      try {
        const resp = await fetch(u);
        await resp.text();
      } catch (e) {
        error = `${e.name}: ${e.message}`;
      }
      // The package's own captures: 1.0.0.368 logs the hook's call in __cap (fn 'bogus') and the X-Bogus
      // entry in __cap2 (fn 'bogus_entry'); 2.0.0.485 logs the hook's call in __cap2 (fn 'bogus').
      const all = [...(window.__cap || []), ...(window.__cap2 || [])];
      const bogus = all.filter((x) => x.fn === 'bogus');
      const entry = all.filter((x) => x.fn === 'bogus_entry');
      return { error, bogus: bogus.map((x) => ({ query: x.args[0], body: x.args[1], result: x.result })),
        entry: entry.map((x) => ({ query: x.args[0], result: x.result })) };
    }, c.url);
    // Only the page's own request: the SDK's report calls go to other hosts and fail at name resolution.
    const wanted = requests.filter((q) => q.url.startsWith('http://www.tiktok.com/') && !q.url.includes('/sdk/'));
    session.cases.push({
      id: c.id, url: c.url, error: r.error, hook_calls: r.bogus, entry_calls: r.entry,
      browser_request_urls: wanted.map((q) => q.url),
      server_received: received.filter((x) => x.host === 'www.tiktok.com'),
    });
  }
  out.sessions.push(session);
  await context.close();
}

const context = await browser.newContext({ userAgent: job.user_agent });
const page = await context.newPage();
await page.goto(job.page_url);
for (const c of job.parse_cases) {
  const chrome = await page.evaluate((input) => {
    try {
      const u = new URL(input);
      return { href: u.href, protocol: u.protocol, username: u.username, password: u.password,
        hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash };
    } catch (e) {
      return { error: `${e.name}` };
    }
  }, c.url);
  out.parse.push({ id: c.id, url: c.url, chrome, node: nodeParse(c.url) });
}
await context.close();
await browser.close();
server.close();
fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
