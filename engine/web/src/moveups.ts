// Move-up advice (动中备勤): which free units should shift to which posts
// so that the city stays covered, from GetMoveUps at start and from every
// `move_ups` event of WatchEvents after; each move drawn as a dashed line
// from the unit to its post, listed with its drive and what it buys, and
// accepted with one click (AcceptMoveUp, a command with a request id).
// The units standing by at a post they were moved to are listed with the
// post (drawn too) and released with one click (ReleaseMoveUp).
//
// Advice carries the journal entry and the clock it was computed on, so
// an answer that arrives after a newer event never replaces it (without
// a journal every entry is 0, and the clock decides).
import type { Feature } from "geojson";
import type { MoveUp, MoveUpAdvice, MoveUpResponse, Unit } from "./gen/kuaifan/v1/dispatch_pb";
import { client, command, isPermissionDenied, message } from "./api";
import { $, clock, escapeHtml, lngLat } from "./dom";
import { t } from "./i18n";
import { EMPTY, setData } from "./map";
import { drawUnits, units, updateUnit } from "./units";

let shown: MoveUpAdvice | null = null;
/** Every post's place that advice named: where an accepted move's post is. */
const postPlaces = new Map<string, [number, number]>();
/** The last command's outcome, kept across redraws until the next one. */
let outcome = "";

/** What tests and automation read: the advice on screen and the units moved. */
export function moveUpsShown(): {
  journalSeq: number;
  computedAtMs: number;
  moves: { unit: string; post: string; reason: string }[];
  moved: { unit: string; post: string }[];
} | null {
  return shown
    ? {
        journalSeq: Number(shown.journalSeq),
        computedAtMs: Number(shown.computedAtMs),
        moves: shown.moves.map((m) => ({ unit: m.unitId, post: m.postId, reason: m.reason })),
        moved: movedUnits().map((u) => ({ unit: u.id, post: u.postId })),
      }
    : null;
}

/** Takes advice (an event, an answer): the newest by journal entry wins. */
export function takeAdvice(advice: MoveUpAdvice | undefined): void {
  if (!advice) return;
  for (const m of advice.moves) postPlaces.set(m.postId, lngLat(m.postLocation));
  if (shown && older(advice, shown)) return;
  shown = advice;
  render();
}

function older(a: MoveUpAdvice, than: MoveUpAdvice): boolean {
  return a.journalSeq < than.journalSeq || (a.journalSeq === than.journalSeq && a.computedAtMs < than.computedAtMs);
}

export async function refreshMoveUps(): Promise<void> {
  try {
    takeAdvice(await client.getMoveUps({}));
  } catch (e) {
    $("moveups").innerHTML = `<div class="error">${escapeHtml(message(e))}</div>`;
  }
}

/** Units standing by at a post an accepted move sent them to. */
function movedUnits(): Unit[] {
  return [...units.values()].filter((u) => u.postId !== "" && u.postId !== u.id).sort((a, b) => a.id.localeCompare(b.id));
}

const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;

function drive(s: number): string {
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** The unit's line to its post, from where the unit is drawn now, and the post. */
function line(m: MoveUp): Feature[] {
  const from = units.get(m.unitId)?.position;
  const to = lngLat(m.postLocation);
  const props = { unit: m.unitId, post: m.postId, kind: "advised" };
  const head: Feature = { type: "Feature", geometry: { type: "Point", coordinates: to }, properties: props };
  if (!from) return [head];
  return [{ type: "Feature", geometry: { type: "LineString", coordinates: [lngLat(from), to] }, properties: props }, head];
}

/** A moved unit's line to the post it stands by at, and the post. */
function postFeatures(u: Unit): Feature[] {
  const to = postPlaces.get(u.postId);
  if (!to) return [];
  const props = { unit: u.id, post: u.postId, kind: "accepted" };
  return [
    { type: "Feature", geometry: { type: "LineString", coordinates: [lngLat(u.position), to] }, properties: props },
    { type: "Feature", geometry: { type: "Point", coordinates: to }, properties: props },
  ];
}

/** The moved units' list as last drawn: redrawn only when it changes. */
let movedKey = "";

/** Draws each move's line and the accepted posts again (the units move). */
export function drawMoves(): void {
  const moves = shown?.moves ?? [];
  const moved = movedUnits();
  const features = [...moves.flatMap(line), ...moved.flatMap(postFeatures)];
  setData("moves", features.length ? { type: "FeatureCollection", features } : EMPTY);
  const key = moved.map((u) => `${u.id}@${u.postId}@${u.movedAtMs}`).join(",");
  if (key !== movedKey) renderMoved(moved);
}

function renderMoved(moved: Unit[]): void {
  const el = document.getElementById("moved-units");
  if (!el) return;
  movedKey = moved.map((u) => `${u.id}@${u.postId}@${u.movedAtMs}`).join(",");
  el.innerHTML = moved.length
    ? `<div>${t("moved_units")}</div><table>${moved
        .map(
          (u) => `<tr data-moved-unit="${escapeHtml(u.id)}" data-post="${escapeHtml(u.postId)}">
          <td><b>${escapeHtml(u.callSign || u.id)}</b> @ ${escapeHtml(u.postName || u.postId)}</td>
          <td>${t("moved_since", { at: clock(u.movedAtMs), until: clock(u.moveHeldUntilMs) })}</td>
          <td><button type="button" data-release="${escapeHtml(u.id)}">${t("release")}</button></td></tr>`,
        )
        .join("")}</table>`
    : "";
  for (const b of el.querySelectorAll<HTMLButtonElement>("button[data-release]")) {
    b.onclick = () => void release(b.dataset.release ?? "", b);
  }
}

/** Redraws the advice (also on a language switch). */
export function render(): void {
  const a = shown;
  if (!a) return;
  const busy = Math.round(a.busyFraction * 100);
  const summary = t("moveups_summary", {
    free: a.freeUnits,
    busy,
    before: percent(a.cityCoveredBefore),
    after: percent(a.cityCoveredAfter),
    eBefore: percent(a.expectedBefore),
    eAfter: percent(a.expectedAfter),
  });
  const rows = a.moves
    .map(
      (m) => `<tr data-move-unit="${escapeHtml(m.unitId)}" data-post="${escapeHtml(m.postId)}">
        <td><b>${escapeHtml(m.callSign || m.unitId)}</b> → ${escapeHtml(m.postName || m.postId)}</td>
        <td>${drive(m.driveS)} · ${(m.driveM / 1000).toFixed(1)} km</td>
        <td><button type="button" data-accept="${escapeHtml(m.unitId)}" data-post="${escapeHtml(m.postId)}">${t("accept")}</button></td></tr>
        <tr class="reason"><td colspan="3">${escapeHtml(m.reason)}</td></tr>`,
    )
    .join("");
  const table = a.moves.length ? `<table>${rows}</table>` : `<div>${t("no_moves")}</div>`;
  $("moveups").innerHTML = `<div id="moveups-summary">${summary}</div>${table}<div id="moved-units"></div><div id="moveup-result">${outcome}</div>`;
  for (const b of $("moveups").querySelectorAll<HTMLButtonElement>("button[data-accept]")) {
    b.onclick = () => void accept(b.dataset.accept ?? "", b.dataset.post ?? "", b);
  }
  movedKey = "";
  drawMoves();
}

/** Takes a command's answer: the unit as it stands now and the advice after. */
function took(r: MoveUpResponse): Unit | undefined {
  const u = r.unit;
  if (u) {
    updateUnit(u);
    drawUnits();
  }
  return u;
}

function refused(e: unknown, unitId: string): void {
  const why = isPermissionDenied(e) ? t("not_allowed") : `${t("refused")}: ${message(e)}`;
  outcome = `<span class="error" data-refused="${escapeHtml(unitId)}">${escapeHtml(why)}</span>`;
  render();
}

async function accept(unitId: string, postId: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const r = await command((requestId) => client.acceptMoveUp({ unitId, postId, requestId }));
    const u = took(r);
    outcome = `<span class="met" data-accepted="${escapeHtml(unitId)}">${t("moved_up", {
      unit: escapeHtml(u?.callSign || unitId),
      post: escapeHtml(u?.postName || postId),
      until: u ? clock(u.moveHeldUntilMs) : "",
    })}</span>`;
    if (r.advice) takeAdvice(r.advice);
    render();
  } catch (e) {
    refused(e, unitId);
  }
}

async function release(unitId: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const r = await command((requestId) => client.releaseMoveUp({ unitId, requestId }));
    const u = took(r);
    outcome = `<span class="met" data-released="${escapeHtml(unitId)}">${t("released", {
      unit: escapeHtml(u?.callSign || unitId),
    })}</span>`;
    if (r.advice) takeAdvice(r.advice);
    render();
  } catch (e) {
    refused(e, unitId);
  }
}
