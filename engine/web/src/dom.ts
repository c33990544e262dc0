// Small helpers for the page's own elements.

/** The element with this id (the page's HTML defines every one used). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Text made safe to put into HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A wire position as MapLibre's [lng, lat]. */
export function lngLat(at: { lat: number; lng: number } | undefined): [number, number] {
  return [at?.lng ?? 0, at?.lat ?? 0];
}

/** A clock time of the day, from milliseconds since the epoch. */
export function clock(ms: bigint | number): string {
  return new Date(Number(ms)).toLocaleTimeString(undefined, { hour12: false });
}
