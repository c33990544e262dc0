// Incidents: a list (open first, newest first) and markers (fill by
// priority, outline by stage); a popup with the six-step timeline and
// each assignment's response against its target.
import type { Incident } from "./gen/kuaifan/v1/dispatch_pb";
import { $, clock, escapeHtml, lngLat } from "./dom";
import { t } from "./i18n";
import { PRIORITY_COLOURS, STAGE_COLOURS, setData } from "./map";
import { units } from "./units";

export const incidents = new Map<string, Incident>();

const CLOSED = 6;

export function drawIncidents(onPick: (i: Incident) => void): void {
  const open = [...incidents.values()].filter((i) => i.stage !== CLOSED);
  setData("incidents", {
    type: "FeatureCollection",
    features: open.map((i) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: lngLat(i.location) },
      properties: {
        id: i.id,
        priority: i.priority,
        stage: i.stage,
        colour: PRIORITY_COLOURS[i.priority] ?? "#fab005",
        stageColour: STAGE_COLOURS[i.stage] ?? "#000",
      },
    })),
  });
  const list = $("incidents");
  list.innerHTML = "";
  const sorted = [...incidents.values()].sort(
    (a, b) => Number(a.stage === CLOSED) - Number(b.stage === CLOSED) || Number(b.reportedAtMs - a.reportedAtMs),
  );
  for (const i of sorted) {
    const li = document.createElement("li");
    li.dataset.id = i.id;
    if (i.stage === CLOSED) li.className = "closed";
    const needs = i.needsUnit ? ` · <span class="missed">${t("needs_unit")}</span>` : "";
    li.innerHTML = `<span class="swatch" style="background:${PRIORITY_COLOURS[i.priority]}"></span><b>${escapeHtml(i.id)}</b> P${i.priority} · ${t(`stage_${i.stage}`)} · ${escapeHtml(i.category)}${needs}<br><small>${escapeHtml(i.unitIds.join(", "))}</small>`;
    li.onclick = () => onPick(i);
    list.append(li);
  }
  $("incident-summary").textContent = t("incidents_summary", { open: open.length, all: incidents.size });
}

/** The six steps, each with its time once reached, and the units sent. */
export function incidentPopup(i: Incident): string {
  const reached = new Map(i.history.map((h) => [h.stage, h]));
  const steps = [1, 2, 3, 4, 5, 6]
    .map((stage) => {
      const h = reached.get(stage);
      const when = h ? `${clock(h.atMs)} ${escapeHtml(h.actor)}${h.note ? ` · ${escapeHtml(h.note)}` : ""}` : "—";
      return `<li class="${h ? "done" : "todo"}" data-stage="${stage}">${t(`stage_${stage}`)} <small>${when}</small></li>`;
    })
    .join("");
  const now = Date.now();
  const sent = i.assignments
    .map((a) => {
      const target = Math.round(a.targetS);
      let state: string;
      if (a.arrivedAtMs > 0n) {
        const cls = a.metTarget ? "met" : "missed";
        state = `<span class="${cls}">${t("arrived_in", { s: Math.round(a.responseS), target })}</span>`;
      } else if (a.leftAtMs > 0n) {
        state = `${t("left_at")} ${clock(a.leftAtMs)}`;
      } else {
        const elapsed = Math.max(0, Math.round((now - Number(a.assignedAtMs)) / 1000));
        state = `<span class="${elapsed <= target ? "met" : "missed"}">${t("en_route", { s: elapsed, target })}</span>`;
      }
      const sign = units.get(a.unitId)?.callSign ?? a.unitId;
      return `<tr data-unit="${escapeHtml(a.unitId)}"><td>${escapeHtml(sign)}</td><td>${t(`tier_${a.tier}`)}</td><td>${state}</td></tr>`;
    })
    .join("");
  return `<div class="popup" data-incident="${escapeHtml(i.id)}"><b>${escapeHtml(i.id)}</b> P${i.priority} ${escapeHtml(i.category)} ${escapeHtml(i.zoneId)}
    ${i.description ? `<div>${escapeHtml(i.description)}</div>` : ""}
    <ol class="timeline">${steps}</ol>
    ${sent ? `<table>${sent}</table>` : `<div class="missed">${t("needs_unit")}</div>`}</div>`;
}
