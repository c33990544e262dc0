//! The map console's side of the server: the page and its assets, built
//! into the binary, and the city's vector tiles, on the same port as the
//! gRPC service. The page speaks gRPC-Web to that same origin, so a browser
//! needs no CORS and the console needs no server of its own.
//!
//! - `GET /` and `GET /assets/…`: the built page (`engine/web/dist`),
//!   gzipped for a browser that accepts it (2.1 MB of script and style
//!   is about 0.6 MB so). Each file is compressed once, when the server
//!   starts, not on every request.
//! - `GET /tiles/{z}/{x}/{y}.mvt`: a vector tile of roads, zones, rings,
//!   stations and checkpoints (see [`TileMaker`]); 503 while the map loads.
//! - `GET /tiles/tiles.json`: the TileJSON 3.0 description of the tiles.
//!
//! With an auth file, tiles need a valid token (any role) in
//! `authorization: Bearer <token>`: they show where stations and
//! checkpoints are. The page itself holds no data and is served to anyone.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::service::auth::Tokens;
use crate::space::{MAX_TILE_ZOOM, TileId, TileMaker};

/// The built page: `engine/web/dist`, made from `engine/web/src` by
/// `npm run build` and committed.
#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Page;

/// What the tile routes need: the tiles once the map has loaded, and the
/// tokens.
#[derive(Clone, Debug)]
pub struct WebState {
    /// Set once the scenario is loaded.
    pub tiles: Arc<OnceLock<Arc<TileMaker>>>,
    /// The map's bounds (west, south, east, north), set with the tiles.
    pub bounds: Arc<OnceLock<[f64; 4]>>,
    /// The auth file's tokens, when there is one.
    pub tokens: Option<Arc<Tokens>>,
    /// `https` with TLS, else `http`: the tile addresses TileJSON gives.
    pub scheme: &'static str,
}

/// The page's files, gzipped: made once, by the first to ask (the server
/// asks when it makes its routes, so a browser rarely waits).
static GZIPPED: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();

/// Files worth compressing: text. (Nothing else is in the page.)
fn compressible(path: &str) -> bool {
    matches!(
        path.rsplit('.').next(),
        Some("html" | "js" | "mjs" | "css" | "json" | "svg" | "map")
    )
}

fn gzipped() -> &'static HashMap<String, Vec<u8>> {
    GZIPPED.get_or_init(|| {
        Page::iter()
            .filter(|path| compressible(path))
            .filter_map(|path| {
                let file = Page::get(&path)?;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                // Writing to memory cannot fail; a file that somehow does is
                // served as it is.
                gz.write_all(&file.data).ok()?;
                Some((path.into_owned(), gz.finish().ok()?))
            })
            .collect()
    })
}

/// Whether the request's Accept-Encoding takes gzip (RFC 9110 §12.5.3: a
/// coding listed with q=0 is refused; `*` stands for any not listed).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(accepted) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut gzip = None;
    let mut any = None;
    for item in accepted.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("").to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(!refused),
            "*" => any = Some(!refused),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The console's routes, to be merged with the gRPC routes.
pub fn routes(state: WebState) -> Router {
    // Compressed while the map loads, so the first browser does not wait.
    std::thread::spawn(gzipped);
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        .route("/tiles/tiles.json", get(tile_json))
        .route("/tiles/{z}/{x}/{y}", get(tile))
        .with_state(state)
}

/// Anything else: gRPC's UNIMPLEMENTED for a gRPC call, 404 for a
/// browser.
pub async fn not_found(headers: HeaderMap) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        let (parts, ()) = tonic::Status::unimplemented("no such method")
            .into_http::<()>()
            .into_parts();
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    (StatusCode::NOT_FOUND, "no such page\n").into_response()
}

async fn index(headers: HeaderMap) -> Response {
    embedded("index.html", &headers).await
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    embedded(&format!("assets/{path}"), &headers).await
}

async fn embedded(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Page::get(path) else {
        return (StatusCode::NOT_FOUND, format!("no such file: /{path}\n")).into_response();
    };
    let kind = HeaderValue::from_static(content_type(path));
    let no_cache = HeaderValue::from_static("no-cache");
    // Caches keep the two forms apart.
    let vary = HeaderValue::from_static("accept-encoding");
    if compressible(path) && accepts_gzip(headers) {
        // Waits only if the compression begun at start is not done yet.
        let all = tokio::task::spawn_blocking(gzipped).await.ok();
        if let Some(body) = all.and_then(|all| all.get(path)) {
            return (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, no_cache),
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                    (header::VARY, vary),
                ],
                axum::body::Bytes::from_static(body.as_slice()),
            )
                .into_response();
        }
    }
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, no_cache),
            (header::VARY, vary),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("map") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The refusal of a tile request without a valid token, when there is an
/// auth file.
fn refusal(state: &WebState, headers: &HeaderMap) -> Option<Response> {
    let tokens = state.tokens.as_ref()?;
    let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    let status = tokens.authenticate(&metadata).err()?;
    Some((StatusCode::UNAUTHORIZED, format!("{}\n", status.message())).into_response())
}

fn loading() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        "the map is still loading\n",
    )
        .into_response()
}

async fn tile(
    State(state): State<WebState>,
    Path((z, x, y)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let y = y
        .strip_suffix(".mvt")
        .or_else(|| y.strip_suffix(".pbf"))
        .unwrap_or(&y);
    let id = match (z.parse::<u32>(), x.parse::<u32>(), y.parse::<u32>()) {
        (Ok(z), Ok(x), Ok(y)) => TileId::new(z, x, y),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                format!("{z}/{x}/{y} is not a tile address: three whole numbers z/x/y\n"),
            )
                .into_response();
        }
    };
    let id = match id {
        Ok(id) => id,
        Err(e) => return (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    };
    let Some(maker) = state.tiles.get().cloned() else {
        return loading();
    };
    // A tile not yet made takes milliseconds of CPU: off the I/O threads.
    match tokio::task::spawn_blocking(move || maker.tile(id)).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=3600"),
                ),
            ],
            bytes.to_vec(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("making the tile: {e}\n"),
        )
            .into_response(),
    }
}

async fn tile_json(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&state, &headers) {
        return refused;
    }
    let Some([west, south, east, north]) = state.bounds.get().copied() else {
        return loading();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let json = serde_json::json!({
        "tilejson": "3.0.0",
        "name": "kuaifan",
        "tiles": [format!("{}://{host}/tiles/{{z}}/{{x}}/{{y}}.mvt", state.scheme)],
        "minzoom": 0,
        "maxzoom": MAX_TILE_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2.0, (south + north) / 2.0, 10],
        "vector_layers": [
            {"id": "roads", "fields": {"class": "String"}},
            {"id": "zones", "fields": {"id": "String", "name": "String"}},
            {"id": "zone_borders", "fields": {"id": "String", "name": "String"}},
            {"id": "rings", "fields": {"id": "String", "name": "String", "level": "Number"}},
            {"id": "stations", "fields": {"id": "String", "name": "String", "kind": "String"}},
            {"id": "checkpoints", "fields": {"id": "String", "name": "String", "kind": "String", "ring": "Number", "road": "String"}},
        ],
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json.to_string(),
    )
        .into_response()
}
