// Containment (三层查控圈): the plan for a suspect fleeing by car from an
// incident, or a lockdown (一键封控) of one ring, from PlanContainment.
// The crossings of rings 1 to 3 coloured by verdict (closed in time, too
// late, already passed, unheld, out of reach), who holds each and when,
// and the suspect's possible area now. A what-if: it changes nothing.
import { cellToBoundary } from "h3-js";
import type { ContainmentCrossing, ContainmentPlan } from "./gen/kuaifan/v1/dispatch_pb";
import { client, message } from "./api";
import { $, clock, escapeHtml, lngLat } from "./dom";
import { t } from "./i18n";
import { EMPTY, VERDICT_COLOURS, map, maplibregl, setData } from "./map";

let shown: ContainmentPlan | null = null;
let asked = 0;
/** What the plan on screen was asked for. */
let askedFor = "";

/** What tests and automation read: the plan's question and its area's size. */
export function containmentShown(): { for: string; areaCells: number } | null {
  return shown ? { for: askedFor, areaCells: shown.possibleAreaCells.length } : null;
}

/** A suspect plan from `at`, fled at `escapeMs` (0: now). */
export async function planFrom(at: { lat: number; lng: number }, escapeMs: bigint): Promise<void> {
  await plan(`suspect from ${at.lat},${at.lng} since ${escapeMs}`, () => client.planContainment({ location: at, escapeTimeMs: escapeMs, withPossibleArea: true }));
}

/** A lockdown of one ring ("R1", a county's code, "R2", "R3"). */
export async function lockdown(ring: string): Promise<void> {
  await plan(`lockdown ${ring}`, () => client.planContainment({ lockdownRing: ring }));
}

async function plan(question: string, ask: () => Promise<ContainmentPlan>): Promise<void> {
  const mine = ++asked;
  $("containment").innerHTML = `<div>${t("planning")}</div>`;
  try {
    const p = await ask();
    if (mine !== asked) return;
    shown = p;
    askedFor = question;
    render();
    fit(p);
  } catch (e) {
    if (mine !== asked) return;
    shown = null;
    clearMap();
    $("containment").innerHTML = `<div class="error">${escapeHtml(message(e))}</div>`;
  }
}

export function clearContainment(): void {
  asked++;
  shown = null;
  clearMap();
  $("containment").innerHTML = "";
}

function clearMap(): void {
  setData("crossings", EMPTY);
  setData("area", EMPTY);
}

function crossingRow(c: ContainmentCrossing): string {
  const holder = c.holderId
    ? `${t(`responder_${c.holderKind}`)} ${escapeHtml(c.holderId)} ${clock(c.holderArrivalMs)}`
    : "—";
  const margin = c.marginMs !== 0n ? ` (${Math.round(Number(c.marginMs) / 1000)} ${t("seconds")})` : "";
  return `<tr data-verdict="${c.verdict}"><td><span class="swatch" style="background:${VERDICT_COLOURS[c.verdict]}"></span>${t(`verdict_${c.verdict}`)}</td>
    <td>${escapeHtml(c.label)}</td><td>${holder}${margin}</td></tr>`;
}

/** Brings every crossing of the plan into view. */
function fit(p: ContainmentPlan): void {
  const bounds = new maplibregl.LngLatBounds();
  for (const ring of p.rings) for (const c of ring.crossings) bounds.extend(lngLat(c.location));
  if (!bounds.isEmpty()) map().fitBounds(bounds, { padding: 40, duration: 0, maxZoom: 14 });
}

/** Redraws the plan (also on a language switch). */
export function render(): void {
  const p = shown;
  if (!p) return;
  const features = p.rings.flatMap((ring) =>
    ring.crossings.map((c) => ({
      type: "Feature" as const,
      geometry: { type: "Point" as const, coordinates: lngLat(c.location) },
      properties: { ring: ring.ring, verdict: c.verdict, colour: VERDICT_COLOURS[c.verdict] ?? "#000", label: c.label },
    })),
  );
  setData("crossings", { type: "FeatureCollection", features });
  setData("area", {
    type: "FeatureCollection",
    features: p.possibleAreaCells.map((cell) => ({
      type: "Feature",
      geometry: { type: "Polygon", coordinates: [cellToBoundary(cell, true)] },
      properties: { cell },
    })),
  });
  const rings = p.rings
    .map((ring) => {
      const closed = ring.closed ? `<span class="met">${t("ring_closed")}</span>` : `<span class="missed">${t("ring_open")}</span>`;
      return `<details data-ring="${escapeHtml(ring.id)}" ${ring.closed ? "" : "open"}><summary>${t("ring_n", { n: ring.ring })} · ${escapeHtml(ring.name || ring.id)} · ${closed} · ${ring.crossings.length} ${t("crossings")}</summary>
        <table>${ring.crossings.map(crossingRow).join("")}</table></details>`;
    })
    .join("");
  const neighbours = p.forNeighbours.length
    ? `<div class="missed">${t("for_neighbours", { n: p.forNeighbours.length })}</div>`
    : "";
  const legend = [1, 2, 3, 4, 5]
    .map((v) => `<span><span class="swatch" style="background:${VERDICT_COLOURS[v]}"></span>${t(`verdict_${v}`)}</span>`)
    .join(" ");
  $("containment").innerHTML = `<div id="containment-summary">${escapeHtml(p.summary)}</div>${rings}${neighbours}<div>${legend}</div>`;
}
