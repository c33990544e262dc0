// Coverage: the zone cells coloured by their best ETA's band (≤ 60, ≤ 180,
// ≤ 300, > 300 s), the shares within 1, 3 and 5 minutes overall and per
// zone, and the gap zones outlined as they happen (WatchEvents).
import { cellToBoundary } from "h3-js";
import type { Feature } from "geojson";
import type { Coverage } from "./gen/kuaifan/v1/dispatch_pb";
import { client, message } from "./api";
import { $, escapeHtml } from "./dom";
import { t } from "./i18n";
import { BAND_COLOURS, EMPTY, setData } from "./map";

/** Zone outlines by id, from ListZones, to outline the gap zones. */
const outlines = new Map<string, [number, number][]>();
const gaps = new Set<string>();
let last: Coverage | null = null;
let on = true;

export function band(eta: number): number {
  return eta <= 60 ? 0 : eta <= 180 ? 1 : eta <= 300 ? 2 : 3;
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

export async function loadZones(): Promise<void> {
  const zones = await client.listZones({});
  for (const z of zones.zones) outlines.set(z.id, z.outline.map((p) => [p.lng, p.lat]));
}

export function coverageShown(): boolean {
  return on;
}

export function showCoverage(show: boolean): void {
  on = show;
  $<HTMLInputElement>("show-coverage").checked = show;
  draw();
}

/** A zone became a gap, or was covered again (a WatchEvents event). */
export function gapChanged(zone: string, gap: boolean): void {
  if (gap) gaps.add(zone);
  else gaps.delete(zone);
  draw();
}

export async function refreshCoverage(): Promise<void> {
  try {
    last = await client.getCoverage({ resolution: 0 });
  } catch (e) {
    $("coverage-summary").innerHTML = `<div class="error">${escapeHtml(message(e))}</div>`;
    return;
  }
  gaps.clear();
  for (const z of last.zones) if (z.gap) gaps.add(z.zoneId);
  draw();
}

function draw(): void {
  const c = last;
  if (!c) return;
  const features: Feature[] = [];
  if (on) {
    for (const cell of c.cells) {
      features.push({
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [cellToBoundary(cell.h3.toString(16), true)] },
        properties: { eta: cell.bestEtaS, colour: BAND_COLOURS[band(cell.bestEtaS)], h3: cell.h3.toString(16) },
      });
    }
  }
  for (const zone of gaps) {
    const ring = outlines.get(zone);
    if (ring) features.push({ type: "Feature", geometry: { type: "LineString", coordinates: ring }, properties: { gap: true, zone } });
  }
  setData("coverage", features.length ? { type: "FeatureCollection", features } : EMPTY);
  const bands = ["≤ 60", "≤ 180", "≤ 300", "> 300"]
    .map((b, i) => `<span><span class="swatch" style="background:${BAND_COLOURS[i]}"></span>${b} ${t("seconds")}</span>`)
    .join(" ");
  const names = new Map(c.zones.map((z) => [z.zoneId, z.name || z.zoneId]));
  const gapNames = [...gaps].map((z) => escapeHtml(names.get(z) ?? z));
  const rows = [...c.zones]
    .sort((a, b) => a.within180s - b.within180s)
    .map(
      (z) =>
        `<tr data-zone="${escapeHtml(z.zoneId)}" class="${gaps.has(z.zoneId) ? "missed" : ""}"><td>${escapeHtml(z.name || z.zoneId)}</td><td>${percent(z.within60s)}</td><td>${percent(z.within180s)}</td><td>${percent(z.within300s)}</td></tr>`,
    )
    .join("");
  $("coverage-summary").innerHTML = `<div id="coverage-shares">${t("coverage_summary", { a: percent(c.within60s), b: percent(c.within180s), c: percent(c.within300s) })}</div>
    <div>${bands}</div>
    ${gapNames.length ? `<div class="missed" id="coverage-gaps">${t("gap")}: ${gapNames.join("、")}</div>` : ""}
    <details><summary>${t("per_zone")}</summary><table><tr><th>${t("zone")}</th><th>1′</th><th>3′</th><th>5′</th></tr>${rows}</table></details>`;
}
