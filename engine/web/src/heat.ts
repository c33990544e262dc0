// 警情云图: the incident heat map, incidents per H3 cell over a recent
// window (the last hour, 6 hours or the day the engine keeps), from
// GetHeatMap; drawn as a heat layer over the cells' centres and refreshed
// as incidents are reported. Off until switched on (H).
import { cellToLatLng } from "h3-js";
import type { IncidentHeatMap } from "./gen/kuaifan/v1/dispatch_pb";
import { client, message } from "./api";
import { $, escapeHtml } from "./dom";
import { t } from "./i18n";
import { EMPTY, map, setData } from "./map";

let last: IncidentHeatMap | null = null;
let on = false;
let asked = 0;

/** What tests and automation read. */
export function heatShown(): IncidentHeatMap | null {
  return on ? last : null;
}

export function heatOn(): boolean {
  return on;
}

export function showHeat(show: boolean): void {
  on = show;
  $<HTMLInputElement>("show-heat").checked = show;
  if (map().getLayer("heat")) map().setLayoutProperty("heat", "visibility", show ? "visible" : "none");
  if (show) void refreshHeat();
  else {
    setData("heat", EMPTY);
    $("heat-summary").textContent = "";
  }
}

export async function refreshHeat(): Promise<void> {
  if (!on) return;
  const mine = ++asked;
  const windowS = Number($<HTMLSelectElement>("heat-window").value);
  try {
    const h = await client.getHeatMap({ windowS });
    if (mine !== asked || !on) return;
    last = h;
    render();
  } catch (e) {
    if (mine === asked) $("heat-summary").innerHTML = `<span class="error">${escapeHtml(message(e))}</span>`;
  }
}

export function render(): void {
  const h = last;
  if (!h || !on) return;
  const most = Math.max(1, ...h.cells.map((c) => c.incidents));
  setData("heat", {
    type: "FeatureCollection",
    features: h.cells.map((c) => {
      const [lat, lng] = cellToLatLng(c.h3.toString(16));
      return {
        type: "Feature",
        geometry: { type: "Point", coordinates: [lng, lat] },
        properties: { incidents: c.incidents, weight: c.incidents / most },
      };
    }),
  });
  $("heat-summary").textContent = t("heat_summary", {
    n: Number(h.incidents),
    cells: h.cells.length,
    hours: Math.round((h.windowS / 3600) * 10) / 10,
  });
}
