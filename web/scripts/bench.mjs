// The console's speed, measured in Chromium against a running stack (web/scripts/bench.sh
// starts one): prints `<name> <value> <unit>` lines.
//
// console_till_ready_ms      a signed-in cashier opens /till on a cold browser (no cache):
//                            navigation start until the code field is on screen, enabled
//                            and focused (the till takes a scanner's input); median of 15
// console_static_floor_ms    the same cold browser loading the console's config.json from
//                            the same server: what any page costs here before any script
// console_first_screen_js_kb the till's JavaScript (every script the cold load fetched),
//                            gzipped as CloudFront serves it
// console_signin_js_kb       the same for the sign-in screen, a visitor's first screen
import { chromium } from "@playwright/test";
import { gzipSync } from "node:zlib";
import { chromiumLaunch } from "./chromium.mjs";

const consoleUrl = process.env.TESSERA_CONSOLE_URL ?? "http://localhost:3001";
const apiUrl = process.env.TESSERA_API_URL ?? "http://localhost:3000";
const runs = Number(process.env.TESSERA_BENCH_CONSOLE_RUNS ?? 15);

const browser = await chromium.launch(chromiumLaunch);

const signIn = await fetch(`${apiUrl}/sessions`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ merchant_id: "DEMO0001", account: "cashier01", password: "Tessera2026" }),
});
if (signIn.status !== 201) throw new Error(`bench: signing in as cashier01 answered ${signIn.status}`);
const { token } = await signIn.json();

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** A cold load of `path`: a new context (empty cache), signed in or not; the scripts it fetched. */
async function coldLoad(path, signedIn, ready) {
  const context = await browser.newContext();
  if (signedIn) await context.addInitScript((t) => sessionStorage.setItem("tessera.token", t), token);
  const page = await context.newPage();
  const scripts = new Set();
  page.on("response", (response) => {
    if (response.request().resourceType() === "script") scripts.add(response.url());
  });
  await page.goto(`${consoleUrl}${path}`);
  const ms = await ready(page);
  await context.close();
  return { ms, scripts: [...scripts] };
}

async function gzippedKb(urls) {
  let bytes = 0;
  for (const url of urls) {
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    bytes += gzipSync(body, { level: 9 }).length;
  }
  return bytes / 1024;
}

const tillReady = async (page) => {
  await page.waitForFunction(() => {
    const field = document.querySelector("#till-code");
    return field instanceof HTMLInputElement && !field.disabled && document.activeElement === field;
  });
  return page.evaluate(() => performance.now());
};
const floorReady = async (page) => page.evaluate(() => performance.now());

// One unreported load of each, so the server's first answers do not count.
await coldLoad("/till", true, tillReady);
const till = [];
const floor = [];
let tillScripts = [];
for (let i = 0; i < runs; i++) {
  const load = await coldLoad("/till", true, tillReady);
  till.push(load.ms);
  tillScripts = load.scripts;
  floor.push((await coldLoad("/config.json", false, floorReady)).ms);
}
const signInLoad = await coldLoad("/", false, async (page) => {
  await page.getByRole("button", { name: "登入" }).waitFor();
  return page.evaluate(() => performance.now());
});

console.log(`console_till_ready_ms ${median(till).toFixed(1)} ms`);
console.log(`console_static_floor_ms ${median(floor).toFixed(1)} ms`);
console.log(`console_first_screen_js_kb ${(await gzippedKb(tillScripts)).toFixed(1)} KB`);
console.log(`console_signin_js_kb ${(await gzippedKb(signInLoad.scripts)).toFixed(1)} KB`);
await browser.close();
