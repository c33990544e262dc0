// What every browser test of the console shares: a connection to the
// Chromium the Rust test started (over the DevTools protocol, so the test
// owns the browser's process and ends it), a page that records every
// problem (console errors, failed requests, requests off the server's
// origin), lines to and from the test, and steps that each end in time.
//
// Protocol: the driver prints `KEY json` lines; the test answers with one
// JSON line when the driver asks for it. `FAILED {"why", "problems"}` ends
// the run; every wait has its own limit and names what it waited for.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

export const say = (key, value = {}) => console.log(`${key} ${JSON.stringify(value)}`);

const problems = [];
let shown = null;
// What the page looked like when a step failed, beside the test's other output.
const failureShot = new URL(`../../../target/console-failure-${process.argv[1].split("/").pop()}.png`, import.meta.url).pathname;

export async function fail(why) {
  if (shown) {
    await Promise.race([shown.screenshot({ path: failureShot }).catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
  }
  console.log(`FAILED ${JSON.stringify({ why, problems, screenshot: shown ? failureShot : null })}`);
  process.exit(1);
}

// The last guard: each step below has a shorter limit of its own.
setTimeout(() => fail("the driver ran for more than 5 minutes"), 300_000).unref();

/** Runs `work`, failing the run with `what` if it throws or takes longer than `ms`. */
export async function step(what, ms, work) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), late]);
  } catch (e) {
    await fail(`${what}: ${e?.message ?? e}`);
  } finally {
    clearTimeout(timer);
  }
}

// Lines from the test, one JSON value each.
const queued = [];
const waiting = [];
createInterface({ input: process.stdin })
  .on("line", (line) => (waiting.length ? waiting.shift()(line) : queued.push(line)))
  .on("close", () => waiting.forEach((w) => w(null)));

/** The test's next line, parsed. */
export function next(what, ms = 60_000) {
  return step(`waiting for the test's ${what}`, ms, async () => {
    const line = queued.length ? queued.shift() : await new Promise((r) => waiting.push(r));
    if (line === null) throw new Error("the test closed the driver's input");
    return JSON.parse(line);
  });
}

/** Opens a page of the console at `url` in the test's browser. */
export async function open(endpoint, url) {
  const origin = new URL(url).origin;
  const browser = await step("connecting to Chromium", 30_000, () => chromium.connectOverCDP(endpoint));
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN" });
  const page = await context.newPage();
  shown = page;
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A stream the page itself ends on leaving is not a failure.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")) problems.push(`left the origin: ${u}`);
  });
  return { browser, context, page, problems };
}

/** Waits in the page for `predicate(arg)` to be truthy, polling; its value. */
export async function until(page, what, ms, predicate, arg) {
  const handle = await step(what, ms, () => page.waitForFunction(predicate, arg, { timeout: ms, polling: 25 }));
  return handle.jsonValue();
}

/** Problems recorded so far, taken (so a step that expects some can clear them). */
export function takeProblems() {
  return problems.splice(0);
}
