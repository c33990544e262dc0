// The map: MapLibre GL JS drawing kuaifan's own vector tiles (roads,
// zones, rings, stations, checkpoints) under the live layers the page
// keeps as GeoJSON (units, incidents, the call, routes, coverage cells,
// the heat map, a containment plan). No glyphs or sprites are used, so
// nothing but kuaifan is ever asked for anything.
import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, StyleSpecification } from "maplibre-gl";
import type { FeatureCollection } from "geojson";
import { token } from "./api";

maplibregl.setWorkerUrl(new URL("/assets/maplibre-gl-worker.mjs", location.origin).href);
// The worker boots (fetches and compiles its 0.5 MB script) while the page
// asks for its lists, not after the map is made: the units cannot be drawn
// before it runs.

maplibregl.prewarm();

export const STATUS_COLOURS: Record<number, string> = {
  1: "#1e8a3c", // free
  2: "#d9480f", // dispatched
  3: "#c2255c", // on scene
  4: "#1c7ed6", // returning
  5: "#495057", // out of service
};
export const STALE_COLOUR = "#adb5bd";

/** Cell colours by the best ETA's band: ≤ 60, ≤ 180, ≤ 300, > 300 s. */
export const BAND_COLOURS = ["#2b8a3e", "#94d82d", "#fab005", "#e03131"];

/** Incident markers: fill by priority, outline by stage. */
export const PRIORITY_COLOURS: Record<number, string> = { 1: "#c92a2a", 2: "#f76707", 3: "#fab005" };
export const STAGE_COLOURS: Record<number, string> = {
  1: "#ffffff", // reported: nobody sent yet
  2: "#ffffff",
  3: "#000000", // assigned: on the way
  4: "#7048e8", // handling: on scene
  5: "#868e96", // feedback
  6: "#868e96",
};

/** Containment crossings by verdict (see CrossingVerdict). */
export const VERDICT_COLOURS: Record<number, string> = {
  1: "#2b8a3e", // closed in time
  2: "#e03131", // too late
  3: "#862e9c", // already passed
  4: "#f08c00", // unheld
  5: "#adb5bd", // out of reach
};

export const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** The live layers' sources, each a GeoJSON collection the page replaces. */
export type LiveSource =
  | "coverage"
  | "heat"
  | "area"
  | "running-area"
  | "routes"
  | "moves"
  | "crossings"
  | "running"
  | "sightings"
  | "incidents"
  | "call"
  | "units";

function style(tiles: string, bounds: [number, number, number, number], units: FeatureCollection): StyleSpecification {
  const road = (cls: string, colour: string, width: number, minzoom = 0) => ({
    id: `road-${cls}`,
    type: "line" as const,
    source: "city",
    "source-layer": "roads",
    minzoom,
    filter: ["==", ["get", "class"], cls] as maplibregl.FilterSpecification,
    paint: {
      "line-color": colour,
      "line-width": ["interpolate", ["linear"], ["zoom"], 8, width * 0.4, 14, width * 1.6] as maplibregl.DataDrivenPropertyValueSpecification<number>,
    },
  });
  const live = (data: FeatureCollection = EMPTY) => ({ type: "geojson" as const, data });
  return {
    version: 8,
    sources: {
      city: { type: "vector", tiles: [tiles], minzoom: 0, maxzoom: 18, bounds },
      coverage: live(),
      heat: live(),
      area: live(),
      "running-area": live(),
      routes: live(),
      moves: live(),
      crossings: live(),
      running: live(),
      sightings: live(),
      incidents: live(),
      call: live(),
      units: live(units),
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef0ea" } },
      { id: "zones", type: "fill", source: "city", "source-layer": "zones", paint: { "fill-color": "#dfe6d5", "fill-opacity": 0.6 } },
      { id: "coverage", type: "fill", source: "coverage", paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.35 } },
      { id: "gap-zones", type: "line", source: "coverage", filter: ["==", ["get", "gap"], true], paint: { "line-color": "#e03131", "line-width": 3 } },
      {
        id: "heat", type: "heatmap", source: "heat",
        layout: { visibility: "none" },
        paint: {
          "heatmap-weight": ["get", "weight"],
          "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 8, 12, 14, 40],
          "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 8, 0.8, 14, 2],
          "heatmap-opacity": 0.75,
        },
      },
      { id: "area", type: "fill", source: "area", paint: { "fill-color": "#862e9c", "fill-opacity": 0.18 } },
      { id: "running-area", type: "fill", source: "running-area", paint: { "fill-color": "#c92a2a", "fill-opacity": 0.16 } },
      road("minor", "#ffffff", 1, 13),
      road("tertiary", "#fefefe", 1.5, 11),
      road("secondary", "#fbe3a3", 2, 9),
      road("primary", "#f9c66b", 2.5, 7),
      road("trunk", "#f29b4b", 3),
      road("motorway", "#e8743b", 3.5),
      { id: "zone-borders", type: "line", source: "city", "source-layer": "zone_borders", paint: { "line-color": "#5c7cfa", "line-width": 1.2, "line-dasharray": [3, 2] } },
      {
        id: "rings", type: "line", source: "city", "source-layer": "rings",
        paint: { "line-color": ["match", ["get", "level"], 1, "#e8590c", 2, "#c92a2a", "#862e9c"], "line-width": 2.5 },
      },
      { id: "stations", type: "circle", source: "city", "source-layer": "stations", paint: { "circle-radius": 4, "circle-color": "#13294b", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
      { id: "checkpoints", type: "circle", source: "city", "source-layer": "checkpoints", minzoom: 8, paint: { "circle-radius": 3, "circle-color": "#862e9c" } },
      { id: "routes", type: "line", source: "routes", paint: { "line-color": ["get", "colour"], "line-width": 4, "line-opacity": 0.85 } },
      // Advised moves dashed blue, accepted ones (the unit on its way to or at its post) green.
      {
        id: "moves", type: "line", source: "moves", filter: ["==", ["geometry-type"], "LineString"],
        paint: { "line-color": ["match", ["get", "kind"], "accepted", "#2b8a3e", "#1c7ed6"], "line-width": 3, "line-dasharray": [2, 1] },
      },
      {
        id: "move-heads", type: "circle", source: "moves", filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-radius": 5, "circle-color": ["match", ["get", "kind"], "accepted", "#2b8a3e", "#1c7ed6"], "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 },
      },
      {
        id: "crossings", type: "circle", source: "crossings",
        paint: { "circle-radius": 6, "circle-color": ["get", "colour"], "circle-stroke-color": "#000", "circle-stroke-width": 1 },
      },
      {
        id: "running", type: "circle", source: "running",
        paint: { "circle-radius": 7, "circle-color": ["get", "colour"], "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
      },
      {
        id: "sightings", type: "circle", source: "sightings",
        paint: { "circle-radius": 8, "circle-color": "#000", "circle-stroke-color": "#fab005", "circle-stroke-width": 3 },
      },
      {
        id: "incidents", type: "circle", source: "incidents",
        paint: {
          "circle-radius": ["match", ["get", "priority"], 1, 9, 2, 7, 6],
          "circle-color": ["get", "colour"],
          "circle-stroke-color": ["get", "stageColour"],
          "circle-stroke-width": 2.5,
        },
      },
      { id: "call", type: "circle", source: "call", paint: { "circle-radius": 10, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#c92a2a", "circle-stroke-width": 3 } },
      {
        id: "units", type: "circle", source: "units",
        paint: {
          "circle-radius": 6,
          "circle-color": ["get", "colour"],
          "circle-opacity": ["case", ["get", "stale"], 0.6, 1],
          "circle-stroke-color": ["case", ["get", "stale"], "#495057", "#fff"],
          "circle-stroke-width": 1.5,
        },
      },
    ],
  };
}

/** What the map needs before it can be made: the tiles' description. */
export interface TileJson {
  tiles: string[];
  bounds: [number, number, number, number];
}

export async function tileJson(): Promise<TileJson> {
  const headers: Record<string, string> = {};
  const current = token();
  if (current) headers.authorization = `Bearer ${current}`;
  const response = await fetch("/tiles/tiles.json", { headers });
  if (!response.ok) throw new TilesRefused(response.status, await response.text());
  return (await response.json()) as TileJson;
}

export class TilesRefused extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`tiles.json: ${status} ${text}`);
  }
}

let theMap: maplibregl.Map | undefined;

/** The map, once made. */
export function map(): maplibregl.Map {
  if (!theMap) throw new Error("the map is not made yet");
  return theMap;
}

/**
 * Makes the map with the units already in it, without waiting for its
 * tiles: the units are drawn in the first frame the style allows.
 */
export function createMap(container: string, tiles: TileJson, units: FeatureCollection): maplibregl.Map {
  const [west, south, east, north] = tiles.bounds;
  const current = token();
  const made = new maplibregl.Map({
    container,
    style: style(tiles.tiles[0], tiles.bounds, units),
    bounds: [[west, south], [east, north]],
    maxZoom: 18,
    attributionControl: { compact: true, customAttribution: "© OpenStreetMap contributors" },
    transformRequest: (url: string) =>
      url.startsWith(location.origin) && current ? { url, headers: { authorization: `Bearer ${current}` } } : { url },
  });
  made.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  made.addControl(new maplibregl.ScaleControl({ unit: "metric" }));
  theMap = made;
  return made;
}

/** Replaces a live layer's features (a no-op until the style has loaded it). */
export function setData(source: LiveSource, data: FeatureCollection): void {
  const s = theMap?.getSource(source) as GeoJSONSource | undefined;
  if (s) s.setData(data);
  else pending.set(source, data);
}

// Data set before the style was parsed waits for it.
const pending = new Map<LiveSource, FeatureCollection>();
export function flushPending(): void {
  for (const [source, data] of pending) (theMap?.getSource(source) as GeoJSONSource | undefined)?.setData(data);
  pending.clear();
}

export { maplibregl };
