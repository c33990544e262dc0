// The console under an auth file, for engine/tests/console_browser.rs: the
// page asks for a token, refuses a wrong one with the server's reason,
// draws the city for an observer, and shows an observer's dispatch as
// refused.
//
//   node test/auth.mjs DEVTOOLS_ENDPOINT URL
import { next, open, say, step, takeProblems, until } from "./driver.mjs";

const [endpoint, url] = process.argv.slice(2);
const { page } = await open(endpoint, url);

await step("loading the page", 30_000, () => page.goto(url));
await step("the token dialog", 30_000, () => page.waitForSelector("#token-dialog[open]"));
const prompt = await page.locator("#token-why").textContent();

const { wrong, observer } = await next("tokens");
await page.fill("#token-input", wrong);
await page.press("#token-input", "Enter");
await until(page, "the wrong token refused", 30_000, () => {
  const d = document.querySelector("#token-dialog");
  return d.open && document.querySelector("#token-why").textContent.includes("令牌被拒绝");
});
const refused = await page.locator("#token-why").textContent();
say("TOKEN_REFUSED", { prompt, refused });

await page.fill("#token-input", observer);
await page.press("#token-input", "Enter");
const drawn = await until(page, "the units drawn for the observer", 60_000, () => {
  const k = window.kuaifan;
  if (!k?.map || !k.map.getLayer("units") || !k.ready) return false;
  const n = new Set(k.map.queryRenderedFeatures({ layers: ["units"] }).map((f) => f.properties.id)).size;
  return n >= 39 ? n : false;
});
await until(page, "the observer's tiles loaded", 60_000, () => window.kuaifan.map.areTilesLoaded());
const roads = await page.evaluate(() =>
  window.kuaifan.map.queryRenderedFeatures({ layers: window.kuaifan.map.getStyle().layers.map((l) => l.id).filter((id) => id.startsWith("road-")) }).length);
say("OBSERVER_DRAWN", { units: drawn, roads });

// The observer may see a recommendation, not dispatch it.
const call = await next("call"); // {lat, lng}
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 14 }), call);
await until(page, "the map at the call", 20_000, () => window.kuaifan.map.loaded());
const box = await page.locator("#map").boundingBox();
const pixel = await page.evaluate(({ lat, lng }) => window.kuaifan.map.project([lng, lat]), call);
await page.mouse.click(box.x + pixel.x, box.y + pixel.y);
await step("the observer's recommendation", 20_000, () => page.waitForSelector("#recommendation tr[data-unit]"));
await page.keyboard.press("Enter");
await step("the observer's dispatch refused", 20_000, () => page.waitForSelector("#call-refused"));
say("OBSERVER_REFUSED", {
  text: await page.locator("#call-refused").textContent(),
  dispatched: await page.locator("#dispatched-incident").count(),
});

// What went wrong before the token was given is expected: 401s.
const problems = takeProblems().filter((p) => !p.includes("401"));
say("PROBLEMS", problems);
process.exit(0);
