// The console's start and its live stream: the lists and the map's
// description are asked for at once, the map is made with the units
// already in it, and WatchEvents keeps units, incidents and coverage
// current. Each view is a module of its own (units, incidents, call,
// search, coverage, heat, containment, move-ups).
import type { Incident } from "./gen/kuaifan/v1/dispatch_pb";
import { client, isUnauthenticated, message } from "./api";
import { callOpen, addUnit, clearCall, confirmCall, currentCall, onPriorityChange, placeCall, render, whenDispatched } from "./call";
import { clearContainment, containmentShown, lockdown, planFrom, render as renderContainment } from "./containment";
import { coverageShown, gapChanged, loadZones, refreshCoverage, showCoverage } from "./coverage";
import { $, escapeHtml, lngLat } from "./dom";
import { heatOn, heatShown, refreshHeat, render as renderHeat, showHeat } from "./heat";
import { drawIncidents, incidentPopup, incidents } from "./incidents";
import { language, setLanguage, t } from "./i18n";
import { containmentEvent, render as renderRunning, reportSightingAt, runningShown, showRunning, sightingArmed, startContainment } from "./liveContainment";
import { drawMoves, moveUpsShown, refreshMoveUps, render as renderMoveUps, takeAdvice } from "./moveups";
import { TilesRefused, createMap, flushPending, map, maplibregl, tileJson, type TileJson } from "./map";
import { search } from "./search";
import { askToken } from "./token";
import { drawUnits, legend, refreshStale, unitFeatures, unitPopup, units, updateUnit } from "./units";

let eventsSeen = 0;
let connected = false;

/** What tests and automation read: the page's own view of its state. */
declare global {
  interface Window {
    kuaifan: {
      map?: maplibregl.Map;
      events: () => number;
      call: () => { lat: number; lng: number } | null;
      containment: typeof containmentShown;
      heat: typeof heatShown;
      moveUps: typeof moveUpsShown;
      running: typeof runningShown;
      ready: boolean;
      /** Milliseconds from navigation to the first frame with the units drawn. */
      firstDrawMs?: number;
    };
  }
}
window.kuaifan = { events: () => eventsSeen, call: () => currentCall()?.at ?? null, containment: containmentShown, heat: heatShown, moveUps: moveUpsShown, running: runningShown, ready: false };

const pick = (i: Incident) => {
  map().flyTo({ center: lngLat(i.location), zoom: Math.max(map().getZoom(), 14) });
  openIncident(i.id);
};
const redrawIncidents = () => drawIncidents(pick);

/** The incident last opened: what K plans containment for without a call. */
let picked: Incident | null = null;

function openIncident(id: string): void {
  const i = incidents.get(id);
  if (!i) return;
  picked = i;
  const plan = `<button type="button" data-plan="${escapeHtml(i.id)}">${t("plan_incident")}</button>
    <button type="button" data-start-containment="${escapeHtml(i.id)}">${t("start_containment")}</button>`;
  const popup = new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(lngLat(i.location)).setHTML(incidentPopup(i) + plan).addTo(map());
  popup.getElement().querySelector("[data-plan]")?.addEventListener("click", () => {
    popup.remove();
    void planFor(i);
  });
  popup.getElement().querySelector("[data-start-containment]")?.addEventListener("click", () => {
    popup.remove();
    void startContainment(i.id);
  });
  // Its containment, if one ever ran.
  void showRunning(i.id, true);
}

/** Containment for a fled suspect: from the call on screen, else the incident last opened. */
function planContainment(): void {
  const call = currentCall();
  if (call) void planFrom(call.at, 0n);
  else if (picked) void planFor(picked);
  else $("containment").innerHTML = `<div class="missed">${t("no_call")}</div>`;
}

function planFor(i: Incident): Promise<void> {
  return planFrom({ lat: i.location?.lat ?? 0, lng: i.location?.lng ?? 0 }, i.reportedAtMs);
}

function openUnit(id: string): void {
  const u = units.get(id);
  if (!u) return;
  const add = callOpen() && u.status === 1 ? `<button type="button" data-add-unit="${escapeHtml(u.id)}">${t("add_to_call")}</button>` : "";
  const popup = new maplibregl.Popup().setLngLat(lngLat(u.position)).setHTML(unitPopup(u) + add).addTo(map());
  const el = popup.getElement();
  el.querySelector<HTMLButtonElement>("[data-add-unit]")?.addEventListener("click", () => {
    addUnit(u.id);
    popup.remove();
  });
  el.querySelector<HTMLAnchorElement>("[data-incident]")?.addEventListener("click", (e) => {
    e.preventDefault();
    popup.remove();
    openIncident(u.incidentId);
  });
}

// ---- the stream ----

let drawPending = false;
function drawSoon(): void {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawUnits();
    drawMoves();
  });
}

let coverageTimer = 0;
function coverageSoon(): void {
  if (coverageTimer) return;
  coverageTimer = window.setTimeout(() => {
    coverageTimer = 0;
    void refreshCoverage();
  }, 2000);
}

let heatTimer = 0;
function heatSoon(): void {
  if (heatTimer || !heatOn()) return;
  heatTimer = window.setTimeout(() => {
    heatTimer = 0;
    void refreshHeat();
  }, 2000);
}

/** Runs a call, asking for a token while the server refuses the one given. */
async function authorised<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (isUnauthenticated(e)) await askToken(message(e));
      else if (e instanceof TilesRefused && e.status === 401) await askToken(e.message);
      else throw e;
    }
  }
}

/** The most recent cases shown beside the open ones, closed or not. */
const RECENT_INCIDENTS = 200;

/** Every open case, page by page: the list the dispatcher works from. */
async function openIncidents(): Promise<Incident[]> {
  const all: Incident[] = [];
  let pageToken = "";
  do {
    const page = await client.listIncidents({ openOnly: true, pageSize: 1000, pageToken });
    all.push(...page.incidents);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return all;
}

async function lists(): Promise<void> {
  const [u, open, recent] = await Promise.all([
    client.listUnits({}),
    openIncidents(),
    client.listIncidents({ newestFirst: true, pageSize: RECENT_INCIDENTS }),
  ]);
  units.clear();
  for (const unit of u.units) units.set(unit.id, unit);
  incidents.clear();
  for (const incident of [...recent.incidents, ...open]) incidents.set(incident.id, incident);
}

async function watch(): Promise<void> {
  for (let first = true; ; first = false) {
    try {
      if (!first) {
        await authorised(lists);
        drawUnits();
        redrawIncidents();
      }
      void refreshCoverage();
      void refreshMoveUps();
      connected = true;
      $("status").textContent = t("live");
      window.kuaifan.ready = true;
      for await (const event of client.watchEvents({})) {
        eventsSeen++;
        switch (event.kind.case) {
          case "unit":
            updateUnit(event.kind.value);
            drawSoon();
            coverageSoon();
            break;
          case "incident":
            incidents.set(event.kind.value.id, event.kind.value);
            redrawIncidents();
            heatSoon();
            break;
          case "coverageGapZoneId":
            gapChanged(event.kind.value, true);
            coverageSoon();
            break;
          case "coverageRestoredZoneId":
            gapChanged(event.kind.value, false);
            coverageSoon();
            break;
          case "containment":
            containmentEvent(event.kind.value);
            break;
          case "moveUps":
            takeAdvice(event.kind.value);
            break;
        }
      }
      throw new Error(t("stream_ended"));
    } catch (e) {
      connected = false;
      if (isUnauthenticated(e)) {
        await askToken(message(e));
        continue;
      }
      $("status").textContent = `${t("reconnecting")} ${message(e)}`;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** A unit that stops reporting sends nothing when its fix grows old. */
function watchStaleness(): void {
  window.setInterval(async () => {
    if (!connected) return;
    try {
      if (refreshStale((await client.listUnits({})).units)) drawSoon();
    } catch {
      // The stream's own reconnection reports trouble.
    }
  }, 5_000);
}

// ---- keys ----

const KEYS: [string, string][] = [
  ["/", "key_search"],
  ["1 2 3", "key_priority"],
  ["Enter", "key_confirm"],
  ["Esc", "key_cancel"],
  ["K", "key_containment"],
  ["C", "key_coverage"],
  ["H", "key_heat"],
  ["L", "key_lang"],
];

function shortcuts(): void {
  $("shortcuts").innerHTML = `${t("keys")}: ` + KEYS.map(([k, what]) => `<kbd>${k}</kbd>${t(what)}`).join(" · ");
}

function onKey(e: KeyboardEvent): void {
  if ($<HTMLDialogElement>("token-dialog").open) return;
  const target = e.target as HTMLElement | null;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
  if (e.key === "Escape") {
    // The call first; with none open, the containment plan.
    if (currentCall()) clearCall();
    else clearContainment();
    (document.activeElement as HTMLElement | null)?.blur();
    return;
  }
  if (e.key === "Enter" && !(target instanceof HTMLInputElement && (target.type === "search" || target.type === "text"))) {
    e.preventDefault();
    void confirmCall();
    return;
  }
  if (typing) return;
  if (e.key === "/") {
    e.preventDefault();
    $("search").focus();
  } else if (["1", "2", "3"].includes(e.key)) {
    $<HTMLSelectElement>("priority").value = e.key;
    onPriorityChange();
  } else if (e.key === "k" || e.key === "K") {
    planContainment();
  } else if (e.key === "c" || e.key === "C") {
    showCoverage(!coverageShown());
  } else if (e.key === "h" || e.key === "H") {
    showHeat(!heatOn());
  } else if (e.key === "l" || e.key === "L") {
    switchLanguage();
  }
}

function switchLanguage(): void {
  setLanguage(language() === "zh" ? "en" : "zh");
  if (connected) $("status").textContent = t("live");
  $("lang").textContent = language() === "zh" ? "English" : "中文";
  shortcuts();
  legend();
  drawUnits();
  redrawIncidents();
  render();
  renderContainment();
  renderHeat();
  renderMoveUps();
  renderRunning();
  void refreshCoverage();
}

// ---- start ----

async function start(): Promise<void> {
  performance.mark("kuaifan:start");
  setLanguage(language());
  $("status").textContent = t("connecting");
  $("lang").textContent = language() === "zh" ? "English" : "中文";
  shortcuts();
  legend();
  let tiles: TileJson;
  for (;;) {
    try {
      // Everything the first draw needs, asked for at once.
      [tiles] = await authorised(() => Promise.all([tileJson(), lists()]));
      break;
    } catch (e) {
      $("status").textContent = `${t("reconnecting")} ${message(e)}`;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  performance.mark("kuaifan:lists");
  const m = createMap("map", tiles, unitFeatures());
  performance.mark("kuaifan:map");
  window.kuaifan.map = m;
  m.once("style.load", () => {
    performance.mark("kuaifan:style");
    flushPending();
    drawUnits();
    redrawIncidents();
  });
  // The first frame with the units drawn: the figure the README gives.
  // The rest (zones for gap outlines, coverage, the stream) waits for it,
  // so the first draw does not share the machine with them.
  let started = false;
  const afterFirstDraw = () => {
    if (started) return;
    started = true;
    void loadZones().catch(() => undefined);
    watchStaleness();
    void watch();
  };
  // Should the units never render (a hidden tab draws no frames), the
  // stream starts anyway.
  window.setTimeout(afterFirstDraw, 10_000);
  const firstDraw = () => {
    if (m.getLayer("units") && m.queryRenderedFeatures({ layers: ["units"] }).length > 0) {
      window.kuaifan.firstDrawMs = performance.now();
      m.off("render", firstDraw);
      afterFirstDraw();
    }
  };
  m.on("render", firstDraw);
  m.on("click", (e: maplibregl.MapMouseEvent) => {
    const hit = m.queryRenderedFeatures(e.point, { layers: ["units", "incidents"] })[0];
    if (hit?.layer.id === "units") return openUnit(String(hit.properties.id));
    if (hit?.layer.id === "incidents") return openIncident(String(hit.properties.id));
    if (sightingArmed()) return void reportSightingAt(e.lngLat.lat, e.lngLat.lng);
    void placeCall(e.lngLat.lat, e.lngLat.lng);
  });
  whenDispatched((incident) => {
    incidents.set(incident.id, incident);
    redrawIncidents();
  });
  $("lang").onclick = switchLanguage;
  $("plan-call").onclick = planContainment;
  $<HTMLSelectElement>("lockdown-ring").onchange = () => {
    const ring = $<HTMLSelectElement>("lockdown-ring").value;
    if (ring) void lockdown(ring);
    else clearContainment();
  };
  $("confirm").onclick = () => void confirmCall();
  $("priority").onchange = onPriorityChange;
  $("show-heat").onchange = () => showHeat($<HTMLInputElement>("show-heat").checked);
  $("heat-window").onchange = () => void refreshHeat();
  $("show-coverage").onchange = () => showCoverage($<HTMLInputElement>("show-coverage").checked);
  $("search-form").onsubmit = (e) => {
    e.preventDefault();
    void search($<HTMLInputElement>("search").value);
  };
  document.addEventListener("keydown", onKey);
}

void start();
