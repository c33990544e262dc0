// Units, live: drawn at their latest position, coloured by status, greyed
// when their fix is stale; a popup with call sign, status, incident and
// the age of the last fix.
import type { FeatureCollection } from "geojson";
import type { Unit } from "./gen/kuaifan/v1/dispatch_pb";
import { $, escapeHtml, lngLat } from "./dom";
import { t } from "./i18n";
import { STALE_COLOUR, STATUS_COLOURS, setData } from "./map";

export const units = new Map<string, Unit>();

export function unitFeatures(): FeatureCollection {
  return {
    type: "FeatureCollection",
    features: [...units.values()].map((u) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: lngLat(u.position) },
      properties: {
        id: u.id,
        status: u.status,
        stale: u.stale,
        // Exact, where the drawn geometry is rounded to the tile's grid.
        lat: u.position?.lat ?? 0,
        lng: u.position?.lng ?? 0,
        colour: u.stale ? STALE_COLOUR : (STATUS_COLOURS[u.status] ?? STALE_COLOUR),
      },
    })),
  };
}

/** Takes a unit from the stream: the writer's latest word on it. */
export function updateUnit(u: Unit): void {
  units.set(u.id, u);
}

/**
 * Takes the stale flags of a fresh list: a unit that stopped reporting
 * sends no event when its fix grows old. A listed unit whose fix differs
 * from ours is older or newer than the stream's copy; the stream wins.
 */
export function refreshStale(listed: Unit[]): boolean {
  let changed = false;
  for (const u of listed) {
    const ours = units.get(u.id);
    if (ours && ours.positionTimeMs === u.positionTimeMs && ours.stale !== u.stale) {
      ours.stale = u.stale;
      changed = true;
    }
  }
  return changed;
}

export function drawUnits(): void {
  setData("units", unitFeatures());
  const all = [...units.values()];
  $("unit-summary").textContent = t("units_summary", {
    n: all.length,
    free: all.filter((u) => u.status === 1).length,
    stale: all.filter((u) => u.stale).length,
  });
}

export function legend(): void {
  const rows = [1, 2, 3, 4, 5].map(
    (s) => `<div><span class="swatch" style="background:${STATUS_COLOURS[s]}"></span>${t(`status_${s}`)}</div>`,
  );
  rows.push(`<div><span class="swatch" style="background:${STALE_COLOUR}"></span>${t("stale")}</div>`);
  $("legend").innerHTML = rows.join("");
}

function age(ms: bigint): string {
  if (ms === 0n) return t("at_standby");
  const s = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
  return s < 120 ? t("fix_age_s", { s }) : t("fix_age_min", { m: Math.round(s / 60) });
}

/** The post a unit was moved up to, if it stands by away from its own. */
function moved(u: Unit): string {
  return u.postId && u.postId !== u.id ? `<br>${t("moved_to")}: ${escapeHtml(u.postName || u.postId)}` : "";
}

export function unitPopup(u: Unit): string {
  const incident = u.incidentId ? ` · <a href="#" data-incident="${escapeHtml(u.incidentId)}">${escapeHtml(u.incidentId)}</a>` : "";
  return `<div class="popup" data-unit="${escapeHtml(u.id)}"><b>${escapeHtml(u.callSign)}</b> (${escapeHtml(u.id)})<br>
    ${t(`status_${u.status}`)}${incident}<br>
    ${t("last_fix")}: ${age(u.positionTimeMs)}${u.stale ? ` · <span class="missed">${t("stale")}</span>` : ""}${moved(u)}</div>`;
}
