// A running containment (三层查控圈 carried out): started from an incident
// (StartContainment), read with GetContainment and again on each of its
// containment events in WatchEvents (and every few seconds while it runs,
// as the suspect's lead grows). Each crossing of its rings is coloured by
// where it stands: held (its responder is there), on the way (ordered,
// there in time), late (the suspect may pass first or has), open (nobody
// holds it); the suspect's possible area and the sightings are drawn. A
// sighting is reported with a click on the map (ReportSighting), and the
// containment lifted (LiftContainment); both commands with a request id.
import { cellToBoundary } from "h3-js";
import type { Containment, ContainmentCrossing, ContainmentEvent, CrossingOrder } from "./gen/kuaifan/v1/dispatch_pb";
import { client, command, isPermissionDenied, message } from "./api";
import { $, clock, escapeHtml, lngLat } from "./dom";
import { t } from "./i18n";
import { EMPTY, map, maplibregl, setData } from "./map";

/** Where a crossing stands in a running containment. */
export type Standing = "held" | "on_way" | "late" | "open" | "unreachable";

export const STANDING_COLOURS: Record<Standing, string> = {
  held: "#2b8a3e",
  on_way: "#1c7ed6",
  late: "#e03131",
  open: "#f08c00",
  unreachable: "#adb5bd",
};

const CLOSED_IN_TIME = 1;
const TOO_LATE = 2;
const ALREADY_PASSED = 3;
const OUT_OF_REACH = 5;
const RUNNING = 1;
const INTERCEPTED = 2;
const LIFTED = 3;

/**
 * A crossing's standing from the plan's verdict and its order: a responder
 * that reported it held holds it, whatever the suspect's lead; else the
 * plan says whether the ordered responder is there in time.
 */
export function standing(c: ContainmentCrossing, order: CrossingOrder | undefined): Standing {
  if (c.verdict === OUT_OF_REACH) return "unreachable";
  if (order && order.staffedAtMs > 0n) return "held";
  if (c.verdict === TOO_LATE || c.verdict === ALREADY_PASSED) return "late";
  if (order && c.verdict === CLOSED_IN_TIME) return "on_way";
  return "open";
}

let shown: Containment | null = null;
/** A click on the map reports a sighting while armed. */
let armed = false;
let outcome = "";
let asked = 0;
let timer = 0;

/** The orders still on their crossings, by crossing id (the latest given). */
function orders(c: Containment): Map<string, CrossingOrder> {
  const byCrossing = new Map<string, CrossingOrder>();
  for (const o of c.orders) if (!o.left && o.crossing) byCrossing.set(o.crossing.crossingId, o);
  return byCrossing;
}

/** What tests and automation read: the containment on screen. */
export function runningShown(): {
  incident: string;
  state: number;
  crossings: { ring: number; id: string; label: string; standing: Standing }[];
  sightings: { lat: number; lng: number; timeMs: number }[];
  areaCells: number;
  armed: boolean;
} | null {
  const c = shown;
  if (!c) return null;
  const held = orders(c);
  return {
    incident: c.incidentId,
    state: c.state,
    crossings: (c.plan?.rings ?? []).flatMap((r) =>
      r.crossings.map((x) => ({ ring: r.ring, id: x.crossingId, label: x.label, standing: standing(x, held.get(x.crossingId)) })),
    ),
    sightings: c.sightings.map((s) => ({ lat: s.location?.lat ?? 0, lng: s.location?.lng ?? 0, timeMs: Number(s.timeMs) })),
    areaCells: c.plan?.possibleAreaCells.length ?? 0,
    armed,
  };
}

export function sightingArmed(): boolean {
  return armed && shown?.state === RUNNING;
}

/** Reads an incident's containment; `quiet`: none is no error (a popup opened). */
export async function showRunning(incidentId: string, quiet = false): Promise<void> {
  const mine = ++asked;
  try {
    const c = await client.getContainment({ incidentId, withPossibleArea: true });
    if (mine !== asked) return;
    take(c);
  } catch (e) {
    if (mine !== asked || quiet) return;
    $("running").innerHTML = `<div class="error">${escapeHtml(message(e))}</div>`;
  }
}

function take(c: Containment): void {
  const first = shown?.incidentId !== c.incidentId;
  if (first) {
    armed = false;
    outcome = "";
  }
  shown = c;
  if (first) fit(c);
  window.clearTimeout(timer);
  if (c.state === RUNNING || c.state === INTERCEPTED) {
    // The verdicts move as the suspect's lead grows: read it again.
    timer = window.setTimeout(() => void showRunning(c.incidentId, true), 10_000);
  }
  render();
}

/** A containment event: the one on screen is read again; a new one is shown if none is. */
export function containmentEvent(e: ContainmentEvent): void {
  if (shown?.incidentId === e.incidentId || (!shown && e.kind === 1)) void showRunning(e.incidentId, true);
}

export async function startContainment(incidentId: string): Promise<void> {
  $("running").innerHTML = `<div>${t("planning")}</div>`;
  try {
    await command((requestId) => client.startContainment({ incidentId, requestId }));
    outcome = "";
    await showRunning(incidentId);
  } catch (e) {
    $("running").innerHTML = `<div class="error" data-refused="${escapeHtml(incidentId)}">${escapeHtml(refusal(e))}</div>`;
  }
}

function refusal(e: unknown): string {
  return isPermissionDenied(e) ? t("not_allowed") : `${t("refused")}: ${message(e)}`;
}

/** The map was clicked while armed: the suspect was seen there, now. */
export async function reportSightingAt(lat: number, lng: number): Promise<void> {
  const c = shown;
  if (!c) return;
  armed = false;
  try {
    const after = await command((requestId) =>
      client.reportSighting({
        incidentId: c.incidentId,
        sighting: { location: { lat, lng }, timeMs: BigInt(Date.now()) },
        source: t("sighting_source"),
        requestId,
      }),
    );
    outcome = `<span class="met" data-sighted="${after.sightings.length}">${t("sighting_reported", { at: `${lat.toFixed(5)}, ${lng.toFixed(5)}` })}</span>`;
    await showRunning(c.incidentId);
  } catch (e) {
    outcome = `<span class="error" data-refused="sighting">${escapeHtml(refusal(e))}</span>`;
    render();
  }
}

async function lift(): Promise<void> {
  const c = shown;
  if (!c) return;
  try {
    await command((requestId) => client.liftContainment({ incidentId: c.incidentId, requestId }));
    outcome = `<span class="met" data-lifted="${escapeHtml(c.incidentId)}">${t("containment_lifted")}</span>`;
    await showRunning(c.incidentId);
  } catch (e) {
    outcome = `<span class="error" data-refused="lift">${escapeHtml(refusal(e))}</span>`;
    render();
  }
}

/** Brings every crossing into view. */
function fit(c: Containment): void {
  const bounds = new maplibregl.LngLatBounds();
  for (const ring of c.plan?.rings ?? []) for (const x of ring.crossings) bounds.extend(lngLat(x.location));
  if (!bounds.isEmpty()) map().fitBounds(bounds, { padding: 40, duration: 0, maxZoom: 14 });
}

function orderText(o: CrossingOrder | undefined): string {
  if (!o) return "—";
  const who = `${t(`responder_${o.responderKind}`)} ${escapeHtml(o.responderId)}`;
  return o.staffedAtMs > 0n ? `${who} ${t("held_since", { at: clock(o.staffedAtMs) })}` : `${who} ${t("due_at", { at: clock(o.etaMs) })}`;
}

/** Redraws the containment (also on a language switch). */
export function render(): void {
  const c = shown;
  if (!c) return;
  const held = orders(c);
  const rings = c.plan?.rings ?? [];
  setData("running", {
    type: "FeatureCollection",
    features: rings.flatMap((ring) =>
      ring.crossings.map((x) => {
        const s = standing(x, held.get(x.crossingId));
        return {
          type: "Feature" as const,
          geometry: { type: "Point" as const, coordinates: lngLat(x.location) },
          properties: { id: x.crossingId, ring: ring.ring, standing: s, colour: STANDING_COLOURS[s] },
        };
      }),
    ),
  });
  setData("running-area", {
    type: "FeatureCollection",
    features: (c.plan?.possibleAreaCells ?? []).map((cell) => ({
      type: "Feature",
      geometry: { type: "Polygon", coordinates: [cellToBoundary(cell, true)] },
      properties: { cell },
    })),
  });
  setData("sightings", {
    type: "FeatureCollection",
    features: c.sightings.map((s, n) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: lngLat(s.location) },
      properties: { n: n + 1, source: s.source },
    })),
  });
  const count = (s: Standing) =>
    rings.reduce((n, r) => n + r.crossings.filter((x) => standing(x, held.get(x.crossingId)) === s).length, 0);
  const legend = (["held", "on_way", "late", "open"] as Standing[])
    .map((s) => `<span data-standing="${s}"><span class="swatch" style="background:${STANDING_COLOURS[s]}"></span>${t(`standing_${s}`)} ${count(s)}</span>`)
    .join(" ");
  const ringRows = rings
    .map(
      (r) => `<details data-ring="${escapeHtml(r.id)}"><summary>${t("ring_n", { n: r.ring })} · ${escapeHtml(r.name || r.id)} · ${r.crossings.length} ${t("crossings")}</summary><table>${r.crossings
        .map((x) => {
          const o = held.get(x.crossingId);
          const s = standing(x, o);
          return `<tr data-crossing="${escapeHtml(x.crossingId)}" data-standing="${s}"><td><span class="swatch" style="background:${STANDING_COLOURS[s]}"></span>${t(`standing_${s}`)}</td><td>${escapeHtml(x.label)}</td><td>${orderText(o)}</td></tr>`;
        })
        .join("")}</table></details>`,
    )
    .join("");
  const sightings = c.sightings.length
    ? `<ol id="sightings">${c.sightings
        .map((s) => `<li>${clock(s.timeMs)} ${escapeHtml(s.source)} ${(s.location?.lat ?? 0).toFixed(5)}, ${(s.location?.lng ?? 0).toFixed(5)}</li>`)
        .join("")}</ol>`
    : "";
  const running = c.state === RUNNING;
  const actions = running || c.state === INTERCEPTED
    ? `<div class="row">${running ? `<button type="button" id="arm-sighting" class="${armed ? "armed" : ""}">${t(armed ? "sighting_armed" : "report_sighting")}</button>` : ""}
       <button type="button" id="lift-containment">${t("lift")}</button></div>`
    : "";
  const state = `${t(`containment_state_${c.state}`)} · ${t("started_at", { at: clock(c.startedAtMs), by: escapeHtml(c.startedBy) })}${c.state === LIFTED ? ` · ${t("lifted_at", { at: clock(c.liftedAtMs) })}` : ""}`;
  $("running").innerHTML = `<div id="running-head" data-incident="${escapeHtml(c.incidentId)}" data-state="${c.state}"><b>${escapeHtml(c.incidentId)}</b> ${state}</div>
    <div id="running-summary">${escapeHtml(c.plan?.summary ?? "")}</div><div>${legend}</div>${ringRows}${sightings}${actions}<div id="running-result">${outcome}</div>`;
  const arm = document.getElementById("arm-sighting");
  if (arm) {
    arm.onclick = () => {
      armed = !armed;
      render();
    };
  }
  const liftButton = document.getElementById("lift-containment");
  if (liftButton) liftButton.onclick = () => void lift();
}

/** Stops showing it (the containment itself runs on). */
export function clearRunning(): void {
  asked++;
  shown = null;
  armed = false;
  window.clearTimeout(timer);
  setData("running", EMPTY);
  setData("running-area", EMPTY);
  setData("sightings", EMPTY);
  $("running").innerHTML = "";
}
