//! The map console's side of the real `kuaifan serve`: the page, the
//! vector tiles (decoded with mvt-reader, a decoder of its own) and
//! gRPC-Web (tonic-web's client over HTTP/1.1, as a browser speaks it) on
//! the same port as gRPC.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::f64::consts::PI;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{
    GetHeatMapRequest, LatLng, ListUnitsRequest, ListZonesRequest, Priority, ReportIncidentRequest,
};
use kuaifan_engine::{OsmRoads, Profile, RoadGraph};
use mvt_reader::Reader;
use mvt_reader::feature::Value;

/// One HTTP/1.1 GET: the status code, the headers (lower-case names) and
/// the body.
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let auth = token.map_or_else(String::new, |t| format!("authorization: Bearer {t}\r\n"));
    get_with(addr, path, &auth)
}

/// One HTTP/1.1 GET with more header lines (each ending in CRLF).
fn get_with(addr: SocketAddr, path: &str, more: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{more}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    (status, headers, if chunked { unchunk(&body) } else { body })
}

fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The slippy-map position of a point at zoom `z`, in tiles (fractional).
fn tile_position(lat: f64, lon: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lat = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * n;
    (x, y)
}

fn decode(bytes: Vec<u8>) -> (Reader, Vec<String>) {
    let reader = Reader::new(bytes).expect("a valid vector tile");
    let names = reader.get_layer_names().unwrap();
    (reader, names)
}

fn string_property(feature: &mvt_reader::feature::Feature, key: &str) -> String {
    match feature.properties.as_ref().and_then(|p| p.get(key)) {
        Some(Value::String(s)) => s.clone(),
        other => panic!("property {key} is {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_draw_the_graph_zones_and_sites_and_grpc_web_shares_the_port() {
    let server = ServerProcess::ready(&[]);
    let addr = server.addr;

    // The page.
    let (status, headers, body) = get(addr, "/", None);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8(body).unwrap().contains("<html"));
    let (status, _, _) = get(addr, "/assets/nothing-here.js", None);
    assert_eq!(status, 404);
    let (status, _, _) = get(addr, "/no/such/page", None);
    assert_eq!(status, 404);

    // Bad tile addresses are refused, each with its reason.
    let (status, _, body) = get(addr, "/tiles/19/0/0.mvt", None);
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("zoom must be at most 18"));
    let (status, _, _) = get(addr, "/tiles/3/8/0.mvt", None);
    assert_eq!(status, 404);
    let (status, _, body) = get(addr, "/tiles/a/1/2.mvt", None);
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("not a tile address"));

    // TileJSON names the tiles on this origin and the map's bounds.
    let (status, _, body) = get(addr, "/tiles/tiles.json", None);
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["tiles"][0],
        format!("http://{addr}/tiles/{{z}}/{{x}}/{{y}}.mvt")
    );
    let bounds: Vec<f64> = json["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let [west, south, east, north] = bounds[..] else {
        panic!("bounds {bounds:?}")
    };

    // Every zone and every station, over the zoom-8 tiles of the map.
    let z = 8;
    let (x0, y0) = tile_position(north, west, z);
    let (x1, y1) = tile_position(south, east, z);
    let (mut zones, mut stations, mut checkpoints, mut rings) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for x in x0 as u32..=x1 as u32 {
        for y in y0 as u32..=y1 as u32 {
            let (status, headers, body) = get(addr, &format!("/tiles/{z}/{x}/{y}.mvt"), None);
            assert_eq!(status, 200);
            assert_eq!(
                header(&headers, "content-type"),
                Some("application/vnd.mapbox-vector-tile")
            );
            let (reader, names) = decode(body);
            for (i, name) in names.iter().enumerate() {
                for f in reader.get_features(i).unwrap() {
                    match name.as_str() {
                        "zones" => zones.insert(string_property(&f, "id")),
                        "stations" => stations.insert(string_property(&f, "id")),
                        "checkpoints" => checkpoints.insert(string_property(&f, "id")),
                        "rings" => rings.insert(string_property(&f, "id")),
                        _ => false,
                    };
                }
            }
        }
    }
    let mut grpc = DispatchClient::connect(server.url()).await.unwrap();
    let listed: BTreeSet<String> = grpc
        .list_zones(ListZonesRequest {})
        .await
        .unwrap()
        .into_inner()
        .zones
        .into_iter()
        .map(|z| z.id)
        .collect();
    assert_eq!(zones, listed);
    assert_eq!(zones.len(), 34);
    let scenario_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/jincheng");
    let text = std::fs::read_to_string(format!("{scenario_dir}/stations.geojson")).unwrap();
    let station_count = kuaifan_engine::Stations::from_geojson_str(&text)
        .unwrap()
        .len();
    assert_eq!(stations.len(), station_count);
    let text = std::fs::read_to_string(format!("{scenario_dir}/rings.geojson")).unwrap();
    let scenario_rings = kuaifan_engine::Rings::from_geojson_str(&text).unwrap();
    assert_eq!(checkpoints.len(), scenario_rings.checkpoints().len());
    assert_eq!(rings.len(), scenario_rings.rings().len());

    // A city-centre tile at zoom 14: every road vertex drawn is a node of
    // the graph (to the pixel), and minor roads are there; at zoom 12
    // they are not.
    let pbf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/jincheng/jincheng.osm.pbf"
    );
    let graph =
        RoadGraph::build(OsmRoads::read(pbf.as_ref(), &Profile::default()).unwrap()).unwrap();
    let (cx, cy) = tile_position(35.4957, 112.8521, 14);
    let (tx, ty) = (cx as u32, cy as u32);
    let pixel = |lat: f64, lon: f64| {
        let (x, y) = tile_position(lat, lon, 14);
        (
            ((x - f64::from(tx)) * 4096.0).floor() as i64,
            ((y - f64::from(ty)) * 4096.0).floor() as i64,
        )
    };
    let nodes: HashSet<(i64, i64)> = (0..graph.node_count() as u32)
        .map(|n| {
            let p = graph.position(n);
            pixel(p.lat(), p.lon())
        })
        .collect();
    let (_, _, body) = get(addr, &format!("/tiles/14/{tx}/{ty}.mvt"), None);
    let (reader, names) = decode(body);
    let roads = names
        .iter()
        .position(|n| n == "roads")
        .expect("a roads layer");
    let mut classes = BTreeSet::new();
    let mut vertices = 0;
    for f in reader.get_features(roads).unwrap() {
        classes.insert(string_property(&f, "class"));
        let geo::Geometry::MultiLineString(lines) = &f.geometry else {
            panic!("roads are lines: {:?}", f.geometry)
        };
        for c in lines.0.iter().flat_map(|l| l.0.iter()) {
            vertices += 1;
            let (x, y) = (c.x as i64, c.y as i64);
            let near = (-1..=1).any(|dx| (-1..=1).any(|dy| nodes.contains(&(x + dx, y + dy))));
            assert!(
                near,
                "vertex ({x}, {y}) of the roads layer is no graph node"
            );
        }
    }
    assert!(
        vertices > 100,
        "a city-centre tile draws its streets: {vertices}"
    );
    assert!(classes.contains("minor"), "{classes:?}");
    let (_, _, body) = get(addr, &format!("/tiles/12/{}/{}.mvt", tx / 4, ty / 4), None);
    let (reader, names) = decode(body);
    let roads = names
        .iter()
        .position(|n| n == "roads")
        .expect("a roads layer");
    let classes: BTreeSet<String> = reader
        .get_features(roads)
        .unwrap()
        .iter()
        .map(|f| string_property(f, "class"))
        .collect();
    assert!(
        !classes.contains("minor") && !classes.is_empty(),
        "{classes:?}"
    );

    // gRPC-Web over HTTP/1.1 on the same port answers as gRPC does.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let web = tower::ServiceBuilder::new()
        .layer(tonic_web::GrpcWebClientLayer::new())
        .service(client);
    let mut web = DispatchClient::with_origin(web, server.url().parse().unwrap());
    let over_web = web
        .list_units(ListUnitsRequest {})
        .await
        .unwrap()
        .into_inner();
    let over_grpc = grpc
        .list_units(ListUnitsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_web.units.len(), 39);
    assert_eq!(over_web, over_grpc);
}

const AUTH: &str = r#"
[[token]]
name = "wall-screen"
role = "observer"
token = "observer-token-0123456789"
"#;

/// The page a browser loads first: the HTML, the script, the style and
/// MapLibre's worker.
const FIRST_LOAD: [&str; 4] = [
    "/",
    "/assets/console.js",
    "/assets/console.css",
    "/assets/maplibre-gl-worker.mjs",
];

#[test]
fn the_page_is_gzipped_for_a_browser_that_accepts_it_and_plain_otherwise() {
    let server = ServerProcess::ready(&[]);
    let addr = server.addr;
    let (mut plain_total, mut gzip_total) = (0, 0);
    for path in FIRST_LOAD {
        let (status, headers, plain) = get(addr, path, None);
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-encoding"), None, "{path}");
        assert_eq!(header(&headers, "vary"), Some("accept-encoding"), "{path}");
        // As Chromium asks.
        let (status, headers, gzipped) =
            get_with(addr, path, "accept-encoding: gzip, deflate, br, zstd\r\n");
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-encoding"), Some("gzip"), "{path}");
        assert_eq!(header(&headers, "vary"), Some("accept-encoding"), "{path}");
        assert_eq!(
            header(&headers, "content-length").and_then(|n| n.parse().ok()),
            Some(gzipped.len()),
            "{path}"
        );
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert!(unzipped == plain, "{path}: gunzipped, it is not the page");
        assert!(
            gzipped.len() * 2 < plain.len(),
            "{path}: {} of {} bytes",
            gzipped.len(),
            plain.len()
        );
        eprintln!("{path}: {} bytes, {} gzipped", plain.len(), gzipped.len());
        plain_total += plain.len();
        gzip_total += gzipped.len();
    }
    eprintln!("first load: {plain_total} bytes, {gzip_total} gzipped");
    // The console's target for a first load: at most 1 MB compressed.
    assert!(gzip_total <= 1_000_000, "{gzip_total} bytes gzipped");

    // Refused codings are honoured: gzip;q=0, or only others offered.
    for refused in ["gzip;q=0, deflate", "br", "identity", "*;q=0"] {
        let (status, headers, _) = get_with(
            addr,
            "/assets/console.js",
            &format!("accept-encoding: {refused}\r\n"),
        );
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding"), None, "{refused}");
    }
    let (_, headers, _) = get_with(addr, "/assets/console.js", "accept-encoding: *\r\n");
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
}

#[test]
fn with_an_auth_file_tiles_need_a_token_and_the_page_does_not() {
    let dir = std::env::temp_dir().join(format!("kuaifan-console-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).unwrap();
    let server = ServerProcess::ready(&["--auth", auth.to_str().unwrap()]);
    let addr = server.addr;
    assert_eq!(get(addr, "/", None).0, 200);
    let (status, _, body) = get(addr, "/tiles/8/208/102.mvt", None);
    assert_eq!(status, 401);
    assert!(String::from_utf8_lossy(&body).contains("authorization"));
    assert_eq!(
        get(addr, "/tiles/8/208/102.mvt", Some("wrong-token-0123456789")).0,
        401
    );
    assert_eq!(get(addr, "/tiles/tiles.json", None).0, 401);
    let (status, _, body) = get(
        addr,
        "/tiles/8/208/102.mvt",
        Some("observer-token-0123456789"),
    );
    assert_eq!(status, 200);
    decode(body);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heat_map_counts_each_reported_incident_in_its_cell_and_refuses_a_window_past_the_horizon()
 {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let empty = c
        .get_heat_map(GetHeatMapRequest { window_s: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.incidents, 0);
    assert!(empty.cells.is_empty());
    assert_eq!(empty.horizon_s, 86_400);
    assert_eq!(empty.window_s, 86_400);
    assert_eq!(empty.resolution, 9);
    // Two incidents at one place and one elsewhere: two cells, counts 2 and 1.
    let places = [
        (35.4957, 112.8521),
        (35.4957, 112.8521),
        (35.5029, 112.8608),
    ];
    for (lat, lng) in places {
        c.report_incident(ReportIncidentRequest {
            location: Some(LatLng { lat, lng }),
            priority: Priority::P3 as i32,
            category: "theft".to_string(),
            ..ReportIncidentRequest::default()
        })
        .await
        .unwrap();
    }
    let cell = |lat: f64, lng: f64| {
        u64::from(
            h3o::LatLng::new(lat, lng)
                .unwrap()
                .to_cell(h3o::Resolution::Nine),
        )
    };
    let mut wanted = vec![(cell(35.4957, 112.8521), 2), (cell(35.5029, 112.8608), 1)];
    wanted.sort_unstable();
    let heat = c
        .get_heat_map(GetHeatMapRequest { window_s: 3600 })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(u64, u32)> = heat.cells.iter().map(|c| (c.h3, c.incidents)).collect();
    assert_eq!(got, wanted);
    assert_eq!(heat.incidents, 3);
    assert_eq!(heat.window_s, 3600);
    let refused = c
        .get_heat_map(GetHeatMapRequest { window_s: 90_000 })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "window_s 90000 is longer than the 86400 s the heat map keeps"
    );
}
