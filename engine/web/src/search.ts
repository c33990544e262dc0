// Finding the place: what the caller says (a crossing, a road, a named
// place, or coordinates in either order), answered by Locate; picking a
// result places the call there.
import { client, message } from "./api";
import { $, escapeHtml } from "./dom";
import { t } from "./i18n";
import { map } from "./map";
import { placeCall } from "./call";

const COORDINATES = 1;
let asked = 0;

function go(at: { lat: number; lng: number }): void {
  map().jumpTo({ center: [at.lng, at.lat], zoom: Math.max(map().getZoom(), 14) });
  void placeCall(at.lat, at.lng);
}

export async function search(query: string): Promise<void> {
  const list = $("search-results");
  const mine = ++asked;
  if (!query.trim()) {
    list.innerHTML = "";
    return;
  }
  try {
    const found = await client.locate({ query, limit: 8 });
    if (mine !== asked) return;
    list.innerHTML = "";
    const first = found.results[0];
    if (first?.kind === COORDINATES && first.location) {
      // Pasted coordinates (either order): the call goes there at once.
      go(first.location);
      return;
    }
    if (found.results.length === 0) list.innerHTML = `<li>${t("nothing_found")}</li>`;
    found.results.forEach((r, n) => {
      const li = document.createElement("li");
      li.dataset.n = String(n);
      const far = r.roadDistanceM > 100 ? ` <span class="missed">${t("off_road", { m: Math.round(r.roadDistanceM) })}</span>` : "";
      li.innerHTML = `<b>${escapeHtml(r.name)}</b> <small>${t(`kind_${r.kind}`)} · ${escapeHtml(r.detail)} ${escapeHtml(r.zoneId)}</small>${far}`;
      li.onclick = () => {
        list.innerHTML = "";
        if (r.location) go(r.location);
      };
      list.append(li);
    });
  } catch (e) {
    if (mine === asked) list.innerHTML = `<li class="error">${escapeHtml(message(e))}</li>`;
  }
}
