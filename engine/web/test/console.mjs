// The console's own test in a real browser, for
// engine/tests/console_browser.rs: the first draw, the city's layers, a
// unit moved over gRPC, a stale unit, a call recommended, overridden and
// confirmed, the languages, and a screenshot.
//
//   node test/console.mjs DEVTOOLS_ENDPOINT URL SCREENSHOT
import { fail, next, open, say, step, takeProblems, until } from "./driver.mjs";

const [endpoint, url, screenshot] = process.argv.slice(2);
const { page } = await open(endpoint, url);

// First full draw: navigation to all units on the map.
await step("loading the page", 30_000, () => page.goto(url));
const drawn = await until(page, "39 units drawn on the map", 60_000, () => {
  const k = window.kuaifan;
  if (!k?.map || !k.firstDrawMs || !k.map.getLayer("units")) return false;
  const ids = new Set(k.map.queryRenderedFeatures({ layers: ["units"] }).map((f) => f.properties.id));
  return ids.size >= 39 ? { units: ids.size, firstDrawMs: Math.round(k.firstDrawMs) } : false;
});
say("UNITS_DRAWN", drawn);

// Roads, every zone and the stations, as rendered features.
await until(page, "every tile of the city view loaded", 60_000, () => window.kuaifan.map.areTilesLoaded());
await until(page, "the coverage cells drawn", 30_000, () => window.kuaifan.map.queryRenderedFeatures({ layers: ["coverage"] }).length > 0);
const city = await page.evaluate(() => {
  const map = window.kuaifan.map;
  const roads = map.getStyle().layers.map((l) => l.id).filter((id) => id.startsWith("road-"));
  const count = (layers) => map.queryRenderedFeatures({ layers });
  return {
    roads: count(roads).length,
    zones: new Set(count(["zones"]).map((f) => f.properties.id)).size,
    stations: count(["stations"]).length,
    rings: new Set(count(["rings"]).map((f) => f.properties.id)).size,
    coverageCells: count(["coverage"]).length,
    loadedMs: Math.round(performance.now()),
  };
});
say("CITY_DRAWN", city);
await until(page, "the event stream open", 10_000, () => window.kuaifan.ready);
say("READY");

// A position streamed by the test moves that unit's marker.
const moved = await next("unit move"); // {unit, lat, lng}
const before = Date.now();
await until(page, `unit ${moved.unit} drawn at its new position within 2 s`, 2_000, ({ unit, lat, lng }) =>
  window.kuaifan.map
    .queryRenderedFeatures({ layers: ["units"] })
    .some((f) => f.properties.id === unit && f.properties.lat === lat && f.properties.lng === lng),
  moved,
);
say("MOVED", { ms: Date.now() - before });

// A unit whose fix grows stale is greyed, with the age of its fix.
const stale = await next("stale unit"); // {unit}
await until(page, `unit ${stale.unit} greyed as stale`, 20_000, ({ unit }) =>
  window.kuaifan.map.queryRenderedFeatures({ layers: ["units"] }).some((f) => f.properties.id === unit && f.properties.stale),
  stale,
);
const staleFix = await page.evaluate(async ({ unit }) => {
  const map = window.kuaifan.map;
  const f = map.queryRenderedFeatures({ layers: ["units"] }).find((x) => x.properties.id === unit);
  const at = map.project([f.properties.lng, f.properties.lat]);
  map.fire("click", { point: at, lngLat: map.unproject(at), originalEvent: new MouseEvent("click") });
  await new Promise((r) => setTimeout(r, 100));
  const popup = document.querySelector(".maplibregl-popup .popup");
  const text = popup?.textContent ?? "";
  document.querySelector(".maplibregl-popup-close-button")?.click();
  return { popup: popup?.dataset.unit, text };
}, stale);
say("STALE", { ...staleFix, events: await page.evaluate(() => window.kuaifan.events()) });

// 39 units at 1 Hz with a burst of 100 fixes in one second: every unit
// ends drawn where its last fix put it, and every event was seen.
const burst = await next("burst", 120_000); // {events, last: [{unit, lat, lng}]}
const seenBefore = burst.seenBefore;
const drawnAll = await until(page, "every unit drawn at its last fix after the burst", 10_000, ({ last }) => {
  const drawn = new Map(window.kuaifan.map.queryRenderedFeatures({ layers: ["units"] }).map((f) => [f.properties.id, f.properties]));
  return last.every(({ unit, lat, lng }) => drawn.get(unit)?.lat === lat && drawn.get(unit)?.lng === lng) ? window.kuaifan.events() : false;
}, burst);
say("BURST", { events: drawnAll - seenBefore, ms: Date.now() - burst.sentMs });

// A new call: priority 1, then a click on the map at the test's point.
const call = await next("call"); // {lat, lng}
await page.keyboard.press("1");
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 14 }), call);
await until(page, "the map at the call", 20_000, () => window.kuaifan.map.loaded());
const box = await page.locator("#map").boundingBox();
const pixel = await page.evaluate(({ lat, lng }) => window.kuaifan.map.project([lng, lat]), call);
await page.mouse.click(box.x + pixel.x, box.y + pixel.y);
await step("the recommendation shown", 20_000, () => page.waitForSelector("#recommendation tr[data-unit]"));
const routesDrawn = () =>
  until(page, "the routes drawn", 10_000, () => {
    const wanted = document.querySelectorAll('#recommendation tr[data-route="1"]').length;
    const drawn = new Set(window.kuaifan.map.queryRenderedFeatures({ layers: ["routes"] }).map((f) => f.properties.unit)).size;
    return drawn === wanted ? { drawn } : false;
  });
const shown = async () => ({
  ...(await routesDrawn()),
  ...(await page.evaluate(async () => ({
    at: window.kuaifan.call(),
    units: [...document.querySelectorAll("#recommendation tr[data-unit]")].map((tr) => ({
      unit: tr.dataset.unit,
      eta: Number(tr.dataset.eta),
      tier: Number(tr.dataset.tier),
    })),
    routes: document.querySelectorAll('#recommendation tr[data-route="1"]').length,
    confirmEnabled: !document.querySelector("#confirm").disabled,
  }))),
});
const recommended = await step("reading the recommendation", 5_000, shown);
say("RECOMMENDED", recommended);

// Enter confirms exactly what is shown.
await page.keyboard.press("Enter");
const first = await step("the dispatch confirmed", 20_000, async () => {
  await page.waitForSelector("#dispatched-incident");
  return page.locator("#dispatched-incident").textContent();
});
await until(page, `incident ${first} drawn`, 10_000,
  (id) => window.kuaifan.map.queryRenderedFeatures({ layers: ["incidents"] }).some((f) => f.properties.id === id), first);
const firstAt = Date.now();
say("CONFIRMED", { incident: first });

// Finding the place: a crossing as a caller says it, answered by Locate.
const crossing = await next("place to find"); // {query}
await page.keyboard.press("/");
await page.keyboard.type(crossing.query);
await page.keyboard.press("Enter");
await step("the search results", 20_000, () => page.waitForSelector("#search-results li[data-n]"));
const found = await page.evaluate(() =>
  [...document.querySelectorAll("#search-results li[data-n]")].map((li) => li.querySelector("b").textContent));
say("FOUND", { results: found });

// A second call, its coordinates pasted longitude first, priority 2,
// overridden: the last recommended unit unticked, a free unit the
// recommendation did not name added.
const second = await next("second call"); // {lat, lng}
// Priority first, so the call is recommended at 2 only.
await page.locator("#search").blur();
await page.keyboard.press("2");
await page.locator("#search").fill(`${second.lng}, ${second.lat}`);
await page.press("#search", "Enter");
await step("the second recommendation shown", 20_000, () =>
  page.waitForFunction(
    ({ lat, lng }) => {
      const at = window.kuaifan.call();
      return at && at.lat === lat && at.lng === lng && document.querySelectorAll("#recommendation tr[data-unit]").length >= 2;
    },
    second,
    { timeout: 20_000, polling: 25 },
  ));
const before2 = await shown();
say("SECOND_SHOWN", before2);
const { add } = await next("unit to add"); // {add}
const dropped = before2.units[before2.units.length - 1].unit;
await page.locator(`#recommendation tr[data-unit="${dropped}"] input[type=checkbox]`).uncheck();
await page.locator("#add-unit").selectOption(add);
await step("the added unit listed", 5_000, () => page.waitForSelector(`#recommendation tr[data-added="${add}"]`));
await page.locator("#confirm").click();
const overridden = await step("the overridden dispatch confirmed", 20_000, async () => {
  await page.waitForFunction((prev) => document.querySelector("#dispatched-incident")?.textContent !== prev, first, { timeout: 20_000 });
  return page.locator("#dispatched-incident").textContent();
});
say("OVERRIDDEN", { incident: overridden, dropped, added: add });

// Move-up advice after the two dispatches: the page's advice is
// GetMoveUps's, each move drawn; the first accepted with one click, shown
// as the unit's post (listed and drawn), then released.
const advised = await next("move-up advice"); // {journalSeq, moves}
await page.evaluate(() => {
  const map = window.kuaifan.map;
  const [w, s, e, n] = map.getStyle().sources.city.bounds;
  map.fitBounds([[w, s], [e, n]], { duration: 0 });
});
await until(page, "the city in view", 30_000, () => window.kuaifan.map.loaded());
const moveUps = await until(page, "the move-up advice of the test's journal entry, drawn", 20_000, (want) => {
  const a = window.kuaifan.moveUps();
  if (!a || a.journalSeq < want.journalSeq) return false;
  const rows = [...document.querySelectorAll("#moveups tr[data-move-unit]")].map((tr) => ({ unit: tr.dataset.moveUnit, post: tr.dataset.post }));
  const drawn = new Set(window.kuaifan.map.queryRenderedFeatures({ layers: ["moves"] }).map((f) => f.properties.unit)).size;
  return drawn === a.moves.length ? { ...a, rows, drawn, summary: document.querySelector("#moveups-summary")?.textContent ?? "" } : false;
}, advised);
say("MOVE_UPS", moveUps);
const firstMove = moveUps.moves[0];
await page.locator(`#moveups button[data-accept="${firstMove.unit}"][data-post="${firstMove.post}"]`).click();
await step("the move accepted", 20_000, () => page.waitForSelector(`#moveup-result [data-accepted="${firstMove.unit}"]`));
const afterAccept = await until(page, "the advice after the move, and the unit listed at its post", 20_000, ({ seq, unit, post }) => {
  const a = window.kuaifan.moveUps();
  const row = document.querySelector(`#moved-units tr[data-moved-unit="${unit}"]`);
  const drawn = window.kuaifan.map.queryRenderedFeatures({ layers: ["move-heads"] })
    .some((f) => f.properties.unit === unit && f.properties.post === post && f.properties.kind === "accepted");
  const newer = a && (a.journalSeq > seq.journalSeq || (a.journalSeq === seq.journalSeq && a.computedAtMs > seq.computedAtMs));
  return newer && row?.dataset.post === post && drawn ? { ...a, listed: row.dataset.post, drawn } : false;
}, { seq: moveUps, unit: firstMove.unit, post: firstMove.post });
say("MOVED_UP", { unit: firstMove.unit, post: firstMove.post, advice: afterAccept, text: await page.locator("#moveup-result").textContent() });
await next("release");
await page.locator(`#moved-units button[data-release="${firstMove.unit}"]`).click();
await step("the move released", 20_000, () => page.waitForSelector(`#moveup-result [data-released="${firstMove.unit}"]`));
const afterRelease = await until(page, "the advice after the release, the unit no longer listed", 20_000, ({ seq, unit }) => {
  const a = window.kuaifan.moveUps();
  const newer = a && (a.journalSeq > seq.journalSeq || (a.journalSeq === seq.journalSeq && a.computedAtMs > seq.computedAtMs));
  return newer && !document.querySelector(`#moved-units tr[data-moved-unit="${unit}"]`) ? a : false;
}, { seq: afterAccept, unit: firstMove.unit });
say("RELEASED", { unit: firstMove.unit, advice: afterRelease });

// Containment: a lockdown of ring 1 from the list, then the plan for the
// first incident's fled suspect (K after opening the incident).
const planRows = () =>
  page.evaluate(() => ({
    summary: document.querySelector("#containment-summary")?.textContent ?? "",
    rings: [...document.querySelectorAll("#containment details[data-ring]")].map((d) => ({
      id: d.dataset.ring,
      crossings: [...d.querySelectorAll("tr[data-verdict]")].map((tr) => ({
        verdict: Number(tr.dataset.verdict),
        label: tr.children[1].textContent,
      })),
    })),
    drawn: window.kuaifan.map.queryRenderedFeatures({ layers: ["crossings"] }).length,
  }));
await page.locator("#lockdown-ring").selectOption("R1");
await step("the lockdown plan", 30_000, () => page.waitForSelector("#containment-summary"));
await until(page, "the lockdown's crossings drawn", 10_000, () => window.kuaifan.map.queryRenderedFeatures({ layers: ["crossings"] }).length > 0);
say("LOCKDOWN", await planRows());
await page.keyboard.press("Escape");
await until(page, "the plan cleared", 5_000, () => !document.querySelector("#containment-summary"));
await page.locator(`#incidents li[data-id="${first}"]`).click();
await step("the incident's popup", 10_000, () => page.waitForSelector(`.maplibregl-popup .popup[data-incident="${first}"]`));
const timeline = await page.evaluate(() =>
  [...document.querySelectorAll(".maplibregl-popup ol.timeline li")].map((li) => ({ stage: Number(li.dataset.stage), done: li.className === "done" })));
// A suspect 30 s gone has a possible area of a few cells (less has
// reached barely a node past the incident).
await step("the first incident 30 s old", 40_000, () => new Promise((r) => setTimeout(r, Math.max(0, firstAt + 30_000 - Date.now()))));
await page.keyboard.press("k");
await step("the suspect's containment plan", 30_000, () => page.waitForSelector("#containment-summary"));
await until(page, "the plan's crossings drawn", 10_000, () => window.kuaifan.map.queryRenderedFeatures({ layers: ["crossings"] }).length > 0);
const rows = await planRows();
// The possible area lies around the incident (the first call): seen there.
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 12 }), call);
say("AREA", await page.evaluate(async (at) => {
  const m = window.kuaifan.map;
  return { at, plan: window.kuaifan.containment(), call: window.kuaifan.call(), cells: (await m.getSource("area").getData()).features.length, zoom: m.getZoom(), centre: m.getCenter(), rendered: m.queryRenderedFeatures({ layers: ["area"] }).length };
}, call));
await until(page, "the suspect's possible area drawn", 10_000, () => window.kuaifan.map.queryRenderedFeatures({ layers: ["area"] }).length > 0);
say("PLAN", { incident: first, timeline, plan: rows, area: await page.evaluate(() => window.kuaifan.containment()) });
await page.keyboard.press("Escape");
await page.locator(".maplibregl-popup-close-button").click().catch(() => undefined);

// A running containment for the first incident, started from its popup:
// each crossing coloured by where it stands, the possible area drawn; a
// sighting reported with a click on the map; then lifted.
await next("containment to start");
await page.locator(`#incidents li[data-id="${first}"]`).click();
await step("the start button in the incident's popup", 10_000, () => page.waitForSelector(`.maplibregl-popup [data-start-containment="${first}"]`));
await page.locator(`.maplibregl-popup [data-start-containment="${first}"]`).click();
// Polled from here, so a step that fails says what the page showed last.
const runningDrawn = (what, ms, want) =>
  step(what, ms, async () => {
    let last = null;
    for (const until = Date.now() + ms - 500; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      last = await page.evaluate((want) => {
        const r = window.kuaifan.running();
        if (!r) return { ok: false, why: "no containment shown" };
        const m = window.kuaifan.map;
        const rendered = m.queryRenderedFeatures({ layers: ["running"] }).map((f) => ({ id: f.properties.id, standing: f.properties.standing }));
        const area = m.queryRenderedFeatures({ layers: ["running-area"] }).length;
        const sightings = m.queryRenderedFeatures({ layers: ["sightings"] }).length;
        const rows = [...document.querySelectorAll("#running tr[data-crossing]")].map((tr) => ({ id: tr.dataset.crossing, standing: tr.dataset.standing }));
        const shown = r.incident === want.incident && r.state === want.state && r.sightings.length === want.sightings;
        // A suspect seen just now has no possible area yet (it grows from the sighting).
        const drawn = want.state === 3 || (rendered.length > 0 && (area > 0 || !want.area) && sightings >= want.sightings);
        return { ok: shown && drawn, ...r, rendered, area, sightingsDrawn: sightings, rows };
      }, want);
      if (last.ok) return last;
    }
    const { crossings, rows, rendered, ...rest } = last ?? {};
    throw new Error(`last seen: ${JSON.stringify({ ...rest, crossings: crossings?.length, rows: rows?.length, rendered: rendered?.length })}`);
  });
const started = await runningDrawn("the running containment shown and drawn", 40_000, { incident: first, state: 1, sightings: 0, area: true });
say("CONTAINMENT_STARTED", started);
const seen = await next("sighting"); // {lat, lng}
await page.locator("#arm-sighting").click();
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 15 }), seen);
await until(page, "the map at the sighting", 20_000, () => window.kuaifan.map.loaded());
const seenAt = await page.evaluate(({ lat, lng }) => window.kuaifan.map.project([lng, lat]), seen);
await page.mouse.click(box.x + seenAt.x, box.y + seenAt.y);
await step("the sighting reported", 30_000, () => page.waitForSelector('#running-result [data-sighted="1"]'));
// Ring 1 (the urban core) in view again, its crossings and the area drawn.
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 11 }), call);
const sighted = await runningDrawn("the containment after the sighting, drawn", 30_000, { incident: first, state: 1, sightings: 1 });
say("SIGHTED", sighted);
await next("lift");
await page.locator("#lift-containment").click();
await step("the containment lifted", 30_000, () => page.waitForSelector(`#running-result [data-lifted="${first}"]`));
const lifted = await runningDrawn("the lifted containment shown", 30_000, { incident: first, state: 3, sightings: 1 });
say("LIFTED", lifted);

// The incident heat map (H): GetHeatMap's cells, drawn where the
// incidents were (the pixels around the first one change).
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 13 }), call);
await until(page, "the map at the first incident", 20_000, () => window.kuaifan.map.loaded());
const centre = await page.evaluate(({ lat, lng }) => window.kuaifan.map.project([lng, lat]), call);
const clip = { x: box.x + centre.x - 60, y: box.y + centre.y - 60, width: 120, height: 120 };
const without = await page.screenshot({ clip });
await page.keyboard.press("h");
const heat = await until(page, "the heat map read", 20_000, () => {
  const h = window.kuaifan.heat();
  return h && h.cells.length > 0
    ? { cells: h.cells.map((c) => [c.h3.toString(16), c.incidents]), incidents: Number(h.incidents), windowS: h.windowS }
    : false;
});
await until(page, "the heat drawn", 10_000, () => window.kuaifan.map.loaded());
const withHeat = await page.screenshot({ clip });
say("HEAT", { ...heat, changed: !without.equals(withHeat) });
await page.keyboard.press("h");

// A refused confirmation: a third call recommended, a unit it names taken
// out of service by the test before the click on confirm; the page shows
// the fresh recommendation the refusal carries, and confirming again
// records it.
const third = await next("third call"); // {lat, lng}
await page.keyboard.press("3");
await page.evaluate(({ lat, lng }) => window.kuaifan.map.jumpTo({ center: [lng, lat], zoom: 14 }), third);
await until(page, "the map at the third call", 20_000, () => window.kuaifan.map.loaded());
const thirdAt = await page.evaluate(({ lat, lng }) => window.kuaifan.map.project([lng, lat]), third);
await page.mouse.click(box.x + thirdAt.x, box.y + thirdAt.y);
await step("the third recommendation shown", 20_000, () => page.waitForSelector("#recommendation tr[data-unit]"));
say("THIRD_SHOWN", await step("reading the third recommendation", 10_000, shown));
await next("a unit taken");
await page.locator("#confirm").click();
await step("the refusal shown", 20_000, () => page.waitForSelector("#call-refused"));
const fresh = await step("reading the fresh recommendation", 10_000, shown);
say("REFUSED", { ...fresh, text: await page.locator("#call-refused").textContent() });
await next("confirm again");
await page.locator("#confirm").click();
const third_incident = await step("the fresh recommendation confirmed", 20_000, async () => {
  await page.waitForFunction((prev) => document.querySelector("#dispatched-incident")?.textContent !== prev, overridden, { timeout: 20_000 });
  return page.locator("#dispatched-incident").textContent();
});
say("CONFIRMED_AGAIN", { incident: third_incident });

// English on L, Chinese back on L.
await page.keyboard.press("Escape");
await page.keyboard.press("l");
const english = { title: await page.locator("header h1").textContent(), status: await page.locator("#status").textContent() };
await page.keyboard.press("l");
const chinese = { title: await page.locator("header h1").textContent(), status: await page.locator("#status").textContent() };
say("LANGUAGES", { english, chinese });

// The whole console, the city in view.
await page.evaluate(() => {
  const map = window.kuaifan.map;
  const [w, s, e, n] = map.getStyle().sources.city.bounds;
  map.fitBounds([[w, s], [e, n]], { duration: 0 });
});
await until(page, "the city view's tiles loaded", 60_000, () => window.kuaifan.map.areTilesLoaded() && window.kuaifan.map.loaded());
await step("the screenshot", 30_000, () => page.screenshot({ path: screenshot }));
say("PROBLEMS", takeProblems());
process.exit(0);
