//! Saving a prepared [`Router`] to a file and loading it back, so a server
//! restarts in well under a second instead of preparing again.
//!
//! The format is little-endian arrays behind a magic, a version and the
//! caller's fingerprint of the source, closed by a checksum. Loading checks
//! every index, so a damaged file is an error, never a panic or a wrong answer.

use std::io::{self, Read, Write};

use crate::geo::LatLon;
use crate::road::build::BuildReport;
use crate::road::class::RoadClass;
use crate::road::graph::{RoadGraph, Segment};
use crate::road::names::{MapPlace, RoadName, RoadNames};
use crate::route::Cost;
use crate::route::hierarchy::{EdgeRange, Hierarchy, HierarchyEdge, NO_MIDDLE, Router};

const MAGIC: &[u8; 16] = b"kuaifan-router\0\0";
/// The format version. Version 2 added the road class of every segment,
/// version 3 the road names (a table and an index per segment) and the named
/// places; a file of another version is refused (and rebuilt by
/// [`Router::from_pbf_cached`]) rather than read with the wrong layout.
const VERSION: u32 = 3;

/// Why a cache file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Reading or writing failed.
    #[error("cache file I/O: {0}")]
    Io(#[from] io::Error),
    /// Not a kuaifan router cache at all.
    #[error("not a kuaifan router cache of version {VERSION}")]
    WrongFormat,
    /// A kuaifan router cache in another format version, written by an
    /// older (or newer) kuaifan: it is out of date, not damaged.
    #[error("the cache is in format version {found}; this kuaifan reads version {VERSION}")]
    Version {
        /// The version the file declares.
        found: u32,
    },
    /// Made from another map or profile.
    #[error("the cache was made from another map or profile")]
    Stale,
    /// The content is damaged.
    #[error("the cache file is corrupt: {0}")]
    Corrupt(&'static str),
}

impl Router {
    /// Writes the router. `fingerprint` identifies what it was built from
    /// (map and profile); [`Router::load`] refuses a file with another one.
    pub fn save(&self, fingerprint: u64, out: &mut impl Write) -> Result<(), CacheError> {
        let g = &self.graph;
        let h = &self.hierarchy;
        let mut w = Writer { buf: Vec::new() };
        w.buf.extend_from_slice(MAGIC);
        w.buf.extend_from_slice(&VERSION.to_le_bytes());
        w.buf.extend_from_slice(&fingerprint.to_le_bytes());
        w.u64s(
            g.coords
                .iter()
                .flat_map(|p| [p.lat().to_bits(), p.lon().to_bits()]),
            2 * g.coords.len(),
        );
        w.u32s(
            g.segments.iter().flat_map(|s| [s.a, s.b]),
            2 * g.segments.len(),
        );
        w.u64s(
            g.segments
                .iter()
                .flat_map(|s| [s.forward.to_bits(), s.backward.to_bits()]),
            2 * g.segments.len(),
        );
        w.bytes(g.classes.iter().map(|c| c.to_byte()), g.classes.len());
        w.strings(
            g.names
                .table
                .iter()
                .flat_map(|n| [&n.name, &n.reference, &n.name_en]),
        );
        w.u32s(g.names.by_segment.iter().copied(), g.names.by_segment.len());
        w.strings(g.places.iter().flat_map(|p| [&p.name, &p.name_en, &p.kind]));
        w.u64s(
            g.places
                .iter()
                .flat_map(|p| [p.at.lat().to_bits(), p.at.lon().to_bits()]),
            2 * g.places.len(),
        );
        let r = &g.report;
        let report = [r.ways, r.road_nodes, r.dropped_nodes, r.missing_node_refs];
        w.u64s(report.iter().map(|&v| v as u64), report.len());
        w.u32s(h.rank.iter().copied(), h.rank.len());
        w.u32s(
            h.ranges.iter().flat_map(|r| [r.first, r.split]),
            2 * h.ranges.len(),
        );
        w.u64s(h.edges.iter().map(|e| e.cost.to_bits()), h.edges.len());
        w.u32s(
            h.edges.iter().flat_map(|e| [e.head, e.middle]),
            2 * h.edges.len(),
        );
        let mut hash = Fnv::new();
        hash.update(&w.buf);
        out.write_all(&w.buf)?;
        out.write_all(&hash.0.to_le_bytes())?;
        Ok(())
    }

    /// Reads a router written by [`Router::save`] with the same fingerprint.
    pub fn load(fingerprint: u64, input: &mut impl Read) -> Result<Router, CacheError> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let (body, checksum) = bytes
            .split_at_checked(bytes.len().saturating_sub(8))
            .ok_or(CacheError::WrongFormat)?;
        let mut r = Reader { bytes: body };
        if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
            return Err(CacheError::WrongFormat);
        }
        match r.u32() {
            Ok(VERSION) => {}
            Ok(found) => return Err(CacheError::Version { found }),
            Err(_) => return Err(CacheError::WrongFormat),
        }
        if r.u64()? != fingerprint {
            return Err(CacheError::Stale);
        }
        let mut hash = Fnv::new();
        hash.update(body);
        if checksum != hash.0.to_le_bytes() {
            return Err(CacheError::Corrupt("checksum mismatch"));
        }

        let raw_coords = r.u64s()?;
        let coords = raw_coords
            .chunks_exact(2)
            .map(|c| LatLon::new(f64::from_bits(c[0]), f64::from_bits(c[1])))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| CacheError::Corrupt("invalid coordinate"))?;
        let n = coords.len();
        let ends = r.u32s()?;
        let costs = r.u64s()?;
        if ends.len() != costs.len() || ends.iter().any(|&v| v as usize >= n) {
            return Err(CacheError::Corrupt("segments"));
        }
        let segments = ends
            .chunks_exact(2)
            .zip(costs.chunks_exact(2))
            .map(|(e, c)| Segment {
                a: e[0],
                b: e[1],
                forward: Cost::from_bits(c[0]),
                backward: Cost::from_bits(c[1]),
            })
            .collect();
        let raw_classes = r.bytes()?;
        if raw_classes.len() != ends.len() / 2 {
            return Err(CacheError::Corrupt("road classes"));
        }
        let classes = raw_classes
            .iter()
            .map(|&b| RoadClass::from_byte(b))
            .collect::<Option<Vec<_>>>()
            .ok_or(CacheError::Corrupt("road class"))?;
        let names = r.names(classes.len())?;
        let places = r.places()?;
        let report = match r.u64s()?.as_slice() {
            &[ways, road_nodes, dropped_nodes, missing_node_refs] => BuildReport {
                ways: ways as usize,
                road_nodes: road_nodes as usize,
                dropped_nodes: dropped_nodes as usize,
                missing_node_refs: missing_node_refs as usize,
                scc_time: std::time::Duration::ZERO,
            },
            _ => return Err(CacheError::Corrupt("build report")),
        };
        let rank = r.u32s()?;
        let mut node = vec![u32::MAX; n];
        if rank.len() != n {
            return Err(CacheError::Corrupt("rank"));
        }
        for (x, &rk) in rank.iter().enumerate() {
            match node.get_mut(rk as usize) {
                Some(slot) if *slot == u32::MAX => *slot = x as u32,
                _ => return Err(CacheError::Corrupt("rank is not a permutation")),
            }
        }
        let (ranges, edges) = r.edges(n)?;
        if !r.bytes.is_empty() {
            return Err(CacheError::Corrupt("trailing bytes"));
        }
        Ok(Router {
            graph: RoadGraph::from_segments(coords, segments, classes, names, places, report),
            hierarchy: Hierarchy {
                rank,
                node,
                ranges,
                edges,
            },
        })
    }
}

/// FNV-1a over 64-bit words (with the byte tail folded in); checksums a
/// 30 MB cache in a few milliseconds.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0 ^ word).wrapping_mul(0x0000_0100_0000_01b3);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Collects the body in memory so it can be checksummed in one pass, as
/// the reader does.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn section(&mut self, data: impl Iterator<Item = u8>, len: usize) {
        self.buf.extend_from_slice(&(len as u64).to_le_bytes());
        let before = self.buf.len();
        self.buf.extend(data);
        debug_assert_eq!(self.buf.len() - before, len);
    }

    fn bytes(&mut self, values: impl Iterator<Item = u8>, count: usize) {
        self.section(values, count);
    }

    fn u32s(&mut self, values: impl Iterator<Item = u32>, count: usize) {
        self.section(values.flat_map(u32::to_le_bytes), count * 4);
    }

    fn u64s(&mut self, values: impl Iterator<Item = u64>, count: usize) {
        self.section(values.flat_map(u64::to_le_bytes), count * 8);
    }

    /// Strings as two sections: their byte lengths, then their UTF-8
    /// bytes one after another.
    fn strings<'s>(&mut self, values: impl Iterator<Item = &'s String> + Clone) {
        let count = values.clone().count();
        self.u32s(values.clone().map(|s| s.len() as u32), count);
        let total = values.clone().map(String::len).sum();
        self.bytes(values.flat_map(|s| s.bytes()), total);
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], CacheError> {
        let (head, rest) = self
            .bytes
            .split_at_checked(n)
            .ok_or(CacheError::Corrupt("unexpected end"))?;
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, CacheError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, CacheError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn section(&mut self, width: usize) -> Result<&'b [u8], CacheError> {
        let len =
            usize::try_from(self.u64()?).map_err(|_| CacheError::Corrupt("section length"))?;
        if len % width != 0 {
            return Err(CacheError::Corrupt("section length"));
        }
        self.take(len)
    }

    fn bytes(&mut self) -> Result<&'b [u8], CacheError> {
        self.section(1)
    }

    fn u32s(&mut self) -> Result<Vec<u32>, CacheError> {
        let data = self.section(4)?;
        Ok(data
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn u64s(&mut self) -> Result<Vec<u64>, CacheError> {
        let data = self.section(8)?;
        Ok(data
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect())
    }

    /// Reads what [`Writer::strings`] wrote.
    fn strings(&mut self) -> Result<Vec<String>, CacheError> {
        let lengths = self.u32s()?;
        let mut text = self.bytes()?;
        let mut out = Vec::with_capacity(lengths.len());
        for len in lengths {
            let (head, rest) = text
                .split_at_checked(len as usize)
                .ok_or(CacheError::Corrupt("string lengths"))?;
            let s =
                std::str::from_utf8(head).map_err(|_| CacheError::Corrupt("string not UTF-8"))?;
            out.push(s.to_string());
            text = rest;
        }
        if !text.is_empty() {
            return Err(CacheError::Corrupt("string lengths"));
        }
        Ok(out)
    }

    /// Reads the road name table and the name index of `segments` segments.
    fn names(&mut self, segments: usize) -> Result<RoadNames, CacheError> {
        let strings = self.strings()?;
        if strings.len() % 3 != 0 {
            return Err(CacheError::Corrupt("road names"));
        }
        let table: Vec<RoadName> = strings
            .chunks_exact(3)
            .map(|c| RoadName {
                name: c[0].clone(),
                reference: c[1].clone(),
                name_en: c[2].clone(),
            })
            .collect();
        let by_segment = self.u32s()?;
        let known = |&i: &u32| i == RoadNames::NONE || (i as usize) < table.len();
        if by_segment.len() != segments || !by_segment.iter().all(known) {
            return Err(CacheError::Corrupt("road name index"));
        }
        Ok(RoadNames { table, by_segment })
    }

    /// Reads the named places.
    fn places(&mut self) -> Result<Vec<MapPlace>, CacheError> {
        let strings = self.strings()?;
        let coords = self.u64s()?;
        if strings.len() % 3 != 0 || strings.len() / 3 * 2 != coords.len() {
            return Err(CacheError::Corrupt("places"));
        }
        strings
            .chunks_exact(3)
            .zip(coords.chunks_exact(2))
            .map(|(s, c)| {
                let at = LatLon::new(f64::from_bits(c[0]), f64::from_bits(c[1]))
                    .map_err(|_| CacheError::Corrupt("place coordinate"))?;
                Ok(MapPlace {
                    name: s[0].clone(),
                    name_en: s[1].clone(),
                    kind: s[2].clone(),
                    at,
                })
            })
            .collect()
    }

    /// Reads hierarchy edges over `n` nodes, checking that every edge climbs
    /// and every shortcut's middle lies below.
    fn edges(&mut self, n: usize) -> Result<(Vec<EdgeRange>, Vec<HierarchyEdge>), CacheError> {
        let raw_ranges = self.u32s()?;
        let costs = self.u64s()?;
        let ends = self.u32s()?;
        let m = costs.len();
        if raw_ranges.len() != 2 * (n + 1) || ends.len() != 2 * m {
            return Err(CacheError::Corrupt("hierarchy sizes"));
        }
        let ranges: Vec<EdgeRange> = raw_ranges
            .chunks_exact(2)
            .map(|r| EdgeRange {
                first: r[0],
                split: r[1],
            })
            .collect();
        let edges: Vec<HierarchyEdge> = costs
            .iter()
            .zip(ends.chunks_exact(2))
            .map(|(&c, e)| HierarchyEdge {
                cost: Cost::from_bits(c),
                head: e[0],
                middle: e[1],
            })
            .collect();
        if ranges[0].first != 0 || ranges[n].first as usize != m {
            return Err(CacheError::Corrupt("hierarchy edge ranges"));
        }
        for v in 0..n {
            let (r, next) = (ranges[v], ranges[v + 1]);
            if !(r.first <= r.split && r.split <= next.first) {
                return Err(CacheError::Corrupt("hierarchy edge ranges"));
            }
            for e in &edges[r.first as usize..next.first as usize] {
                let climbs = (e.head as usize) < n && e.head as usize > v;
                let middle_ok = e.middle == NO_MIDDLE || (e.middle as usize) < v;
                if !climbs || !middle_ok {
                    return Err(CacheError::Corrupt("hierarchy edge"));
                }
            }
        }
        Ok((ranges, edges))
    }
}
