// A new call: placed by a click, a search result or pasted coordinates;
// the recommendation shown at once (tiers, each unit with ETA, distance,
// target met or not and why, the routes on the map); confirmed as shown
// with Enter, or overridden: untick recommended units, add free ones.
//
// A confirmation sends what the dispatcher saw (ConfirmedUnit: each unit
// with the tier and goal of the candidate shown), so the server records
// the decision that was made, not a recomputed one. If a unit shown is no
// longer free, the server refuses with a fresh recommendation, which
// replaces the one on screen for the dispatcher to confirm again.
import { create } from "@bufbuild/protobuf";
import {
  ConfirmedUnitSchema,
  type Candidate,
  type ConfirmedUnit,
  type Recommendation,
} from "./gen/kuaifan/v1/dispatch_pb";
import { client, command, freshRecommendation, isPermissionDenied, message } from "./api";
import { $, escapeHtml } from "./dom";
import { t } from "./i18n";
import { EMPTY, setData } from "./map";
import { units } from "./units";

const HANDLE = 1;
const SUPPORT = 2;
const FREE = 1;
const TIER_COLOURS: Record<number, string> = { 1: "#c92a2a", 2: "#1c7ed6", 3: "#862e9c" };

interface Call {
  at: { lat: number; lng: number };
  /** The recommendation on screen, and the priority it was asked for. */
  shown: Recommendation | null;
  shownPriority: number;
  /** Recommended units the dispatcher unticked. */
  dropped: Set<string>;
  /** Units the dispatcher added, in the order added. */
  added: string[];
  /** The incident once reported: a retried confirm reuses it. */
  incidentId: string;
  busy: boolean;
}

let call: Call | null = null;
let asked = 0;

/** What tests and automation read. */
export function currentCall(): Call | null {
  return call;
}

function priority(): number {
  return Number($<HTMLSelectElement>("priority").value);
}

export async function placeCall(lat: number, lng: number): Promise<void> {
  call = { at: { lat, lng }, shown: null, shownPriority: 0, dropped: new Set(), added: [], incidentId: "", busy: false };
  setData("call", {
    type: "FeatureCollection",
    features: [{ type: "Feature", geometry: { type: "Point", coordinates: [lng, lat] }, properties: {} }],
  });
  $("call-at").textContent = `${t("call_at")} ${lat.toFixed(5)}, ${lng.toFixed(5)}`;
  $("call-result").innerHTML = "";
  await recommend();
}

/** Asks again (a new point or priority); an older answer arriving late is dropped. */
export async function recommend(): Promise<void> {
  if (!call || call.incidentId) return;
  const mine = ++asked;
  const at = call.at;
  const p = priority();
  try {
    const r = await client.recommend({ location: at, priority: p, withRoutes: true });
    if (mine !== asked || !call || call.at !== at) return;
    show(r, p);
  } catch (e) {
    if (mine !== asked || !call) return;
    call.shown = null;
    $("recommendation").innerHTML = `<div class="error">${escapeHtml(message(e))}</div>`;
    updateButton();
  }
}

function show(r: Recommendation, p: number): void {
  if (!call) return;
  call.shown = r;
  call.shownPriority = p;
  call.dropped.clear();
  call.added = call.added.filter((id) => !r.candidates.some((c) => c.unitId === id));
  render();
}

/** Redraws the recommendation panel and the routes (also on a language switch). */
export function render(): void {
  if (!call?.shown) {
    $("recommendation").innerHTML = "";
    return;
  }
  const r = call.shown;
  const tiers = r.tiers
    .map(
      (o) =>
        `<div class="${o.met ? "met" : "missed"}">${t(`tier_${o.tier}`)}: ${o.assigned}/${o.wanted}, ${t("target")} ${Math.round(o.targetS)} ${t("seconds")} — ${t(o.met ? "met" : "missed")}</div>`,
    )
    .join("");
  const rows = r.candidates.map((c) => candidateRow(c, !call!.dropped.has(c.unitId))).join("");
  const added = call.added
    .map((id) => {
      const u = units.get(id);
      return `<tr data-added="${escapeHtml(id)}"><td><input type="checkbox" checked data-unit-box="${escapeHtml(id)}"></td><td>${t("added")}</td><td>${escapeHtml(u?.callSign ?? id)}</td><td colspan="3">${t(`status_${u?.status ?? 0}`)}</td></tr>`;
    })
    .join("");
  const zone = r.zoneId ? `${t("zone")} ${escapeHtml(r.zoneId)}` : `<span class="missed">${t("no_zone")}</span>`;
  const unheld = r.unheldExits.length
    ? `<details><summary class="missed">${t("unheld_exits", { n: r.unheldExits.length })}</summary><ul>${r.unheldExits
        .map((x) => `<li>#${x.exitNumber} ${escapeHtml(x.reason)}</li>`)
        .join("")}</ul></details>`
    : "";
  const free = [...units.values()].filter(
    (u) => u.status === FREE && !r.candidates.some((c) => c.unitId === u.id) && !call!.added.includes(u.id),
  );
  const addList = free.length
    ? `<label>${t("add_unit")} <select id="add-unit"><option value=""></option>${free
        .map((u) => `<option value="${escapeHtml(u.id)}">${escapeHtml(u.callSign)} (${escapeHtml(u.id)})</option>`)
        .join("")}</select></label>`
    : "";
  const head = `<tr><th></th><th></th><th>${t("unit")}</th><th>${t("eta")}</th><th>${t("distance")}</th><th>${t("target")}</th></tr>`;
  $("recommendation").innerHTML = `<div>${zone}</div>${tiers}
    ${rows || added ? `<table>${head}${rows}${added}</table>` : `<div class="missed">${t("none_available")}</div>`}
    ${unheld}${addList}`;
  for (const box of document.querySelectorAll<HTMLInputElement>("#recommendation input[data-unit-box]")) {
    box.onchange = () => toggle(box.dataset.unitBox!, box.checked);
  }
  const select = document.querySelector<HTMLSelectElement>("#add-unit");
  if (select) select.onchange = () => select.value && addUnit(select.value);
  setData("routes", {
    type: "FeatureCollection",
    features: r.candidates
      .filter((c) => c.route.length > 1 && !call!.dropped.has(c.unitId))
      .map((c) => ({
        type: "Feature",
        geometry: { type: "LineString", coordinates: c.route.map((p) => [p.lng, p.lat]) },
        properties: { unit: c.unitId, colour: TIER_COLOURS[c.tier] ?? "#000" },
      })),
  });
  updateButton();
}

function candidateRow(c: Candidate, on: boolean): string {
  const id = escapeHtml(c.unitId);
  return `<tr data-unit="${id}" data-eta="${c.etaS}" data-tier="${c.tier}" data-route="${c.route.length > 1 && on ? 1 : 0}" class="${on ? "" : "dropped"}">
      <td><input type="checkbox" ${on ? "checked" : ""} data-unit-box="${id}"></td>
      <td>${t(`tier_${c.tier}`)}</td><td>${escapeHtml(c.callSign || c.unitId)}${c.stale ? ` <span class="missed">(${t("stale")})</span>` : ""}</td>
      <td>${Math.round(c.etaS)} ${t("seconds")}</td><td>${(c.distanceM / 1000).toFixed(1)} km</td>
      <td class="${c.meetsTarget ? "met" : "missed"}">${t(c.meetsTarget ? "met" : "missed")}</td></tr>
      <tr class="reason"><td></td><td colspan="5">${escapeHtml(c.reason)}</td></tr>`;
}

function toggle(unit: string, on: boolean): void {
  if (!call) return;
  if (call.added.includes(unit)) {
    if (!on) call.added = call.added.filter((id) => id !== unit);
  } else if (on) call.dropped.delete(unit);
  else call.dropped.add(unit);
  render();
}

/** Adds a unit the recommendation did not name (from the list or the map). */
export function addUnit(unit: string): void {
  if (!call?.shown || call.added.includes(unit)) return;
  if (call.shown.candidates.some((c) => c.unitId === unit)) {
    call.dropped.delete(unit);
  } else {
    call.added.push(unit);
  }
  render();
}

/**
 * The units to send: the ticked candidates as shown (tier and goal), then
 * the added ones, driving to the incident, the first of them handling it
 * when no handling unit is left ticked.
 */
export function chosenUnits(): ConfirmedUnit[] {
  if (!call?.shown) return [];
  const kept = call.shown.candidates
    .filter((c) => !call!.dropped.has(c.unitId))
    .map((c) => create(ConfirmedUnitSchema, { unitId: c.unitId, tier: c.tier, goal: c.goal }));
  let handled = kept.some((u) => u.tier === HANDLE);
  for (const id of call.added) {
    kept.push(create(ConfirmedUnitSchema, { unitId: id, tier: handled ? SUPPORT : HANDLE, goal: call.at }));
    handled = true;
  }
  return kept;
}

function updateButton(): void {
  const ready = !!call?.shown && !call.busy && call.shownPriority === priority() && chosenUnits().length > 0;
  $<HTMLButtonElement>("confirm").disabled = !ready;
}

export async function confirmCall(): Promise<void> {
  if (!call?.shown || call.busy || call.shownPriority !== priority()) return;
  const units = chosenUnits();
  if (units.length === 0) return;
  const current = call;
  current.busy = true;
  updateButton();
  const category = $<HTMLSelectElement>("category").value;
  try {
    if (!current.incidentId) {
      const reported = await command((requestId) =>
        client.reportIncident({ location: current.at, priority: current.shownPriority, category, requestId }),
      );
      current.incidentId = reported.incident?.id ?? "";
    }
    const incident = await command((requestId) =>
      client.confirmAssignment({ incidentId: current.incidentId, units, requestId }),
    );
    $("call-result").innerHTML = `<div class="met">${t("dispatched_to")}<b id="dispatched-incident">${escapeHtml(incident.id)}</b> → ${escapeHtml(incident.unitIds.join(", "))}</div>`;
    onDispatched?.(incident);
    clearCall(false);
  } catch (e) {
    current.busy = false;
    const fresh = freshRecommendation(e);
    if (fresh && call === current) {
      // Someone else took a unit shown: show what holds now.
      show(fresh, current.shownPriority);
      $("call-result").innerHTML = `<div class="error" id="call-refused">${t("recommendation_changed")} ${escapeHtml(message(e))}</div>`;
      return;
    }
    const why = isPermissionDenied(e) ? t("not_allowed") : t("refused");
    $("call-result").innerHTML = `<div class="error" id="call-refused">${why}: ${escapeHtml(message(e))}</div>`;
    updateButton();
  }
}

let onDispatched: ((incident: import("./gen/kuaifan/v1/dispatch_pb").Incident) => void) | undefined;
export function whenDispatched(f: typeof onDispatched): void {
  onDispatched = f;
}

/** Drops the call (Esc), keeping the last result line unless asked. */
export function clearCall(clearResult = true): void {
  call = null;
  asked++;
  $("recommendation").innerHTML = "";
  $("call-at").textContent = t("click_map");
  if (clearResult) $("call-result").innerHTML = "";
  $<HTMLButtonElement>("confirm").disabled = true;
  setData("call", EMPTY);
  setData("routes", EMPTY);
}

/** Whether a call is open (so a click on a unit may add it). */
export function callOpen(): boolean {
  return !!call?.shown;
}

export function onPriorityChange(): void {
  if (call?.incidentId) {
    // The incident is reported at its priority; only its units may change.
    $<HTMLSelectElement>("priority").value = String(call.shownPriority);
    return;
  }
  void recommend();
}
