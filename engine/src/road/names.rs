//! The names a map gives its roads and places: what a caller says
//! ("凤台街与书院街", "下原村") rather than coordinates.
//!
//! Road names are interned: the graph keeps one table of distinct
//! [`RoadName`]s and one `u32` per segment pointing into it, so a city of
//! 345,000 segments pays 1.4 MB for the index and a few hundred kilobytes for
//! the strings, whatever the number of ways sharing a name.

use std::collections::HashMap;

use crate::geo::LatLon;

/// The names of one road, as its OSM way tags them. A tag the way lacks is
/// an empty string (there are no empty names in OSM).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoadName {
    /// `name`: what signs and people call it (`凤台街`).
    pub name: String,
    /// `ref`: its number in the national or provincial system (`G207`).
    pub reference: String,
    /// `name:en`, when the map has it.
    pub name_en: String,
}

impl RoadName {
    /// Whether the way carries no name at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.reference.is_empty() && self.name_en.is_empty()
    }

    /// The name to show: `name`, else `ref`, else `name:en`.
    pub fn label(&self) -> &str {
        [&self.name, &self.reference, &self.name_en]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("", |s| s.as_str())
    }

    /// Reads the name tags of a way; `None` when it has none.
    pub(crate) fn from_tags<'t>(
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<Self> {
        let mut out = RoadName::default();
        for (key, value) in tags {
            let value = value.trim();
            match key {
                "name" => out.name = value.to_string(),
                "ref" => out.reference = value.to_string(),
                "name:en" => out.name_en = value.to_string(),
                _ => {}
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// The index of a name in [`RoadGraph::road_names`](crate::RoadGraph::road_names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoadNameId(pub u32);

/// The interned names and the name of each segment.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoadNames {
    pub(crate) table: Vec<RoadName>,
    /// Per segment, an index into `table`, or [`RoadNames::NONE`].
    pub(crate) by_segment: Vec<u32>,
}

impl RoadNames {
    pub(crate) const NONE: u32 = u32::MAX;

    /// The name of a segment, if it has one and exists.
    pub(crate) fn of_segment(&self, segment: usize) -> Option<RoadNameId> {
        match self.by_segment.get(segment) {
            Some(&i) if i != Self::NONE => Some(RoadNameId(i)),
            _ => None,
        }
    }
}

/// Builds a [`RoadNames`] one segment at a time, interning equal names.
#[derive(Debug, Default)]
pub(crate) struct RoadNamesBuilder {
    names: RoadNames,
    ids: HashMap<RoadName, u32>,
}

impl RoadNamesBuilder {
    /// The table index for a name (interning it), or `NONE`.
    pub(crate) fn intern(&mut self, name: Option<&RoadName>) -> u32 {
        let Some(name) = name else {
            return RoadNames::NONE;
        };
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.table.len() as u32;
        self.names.table.push(name.clone());
        self.ids.insert(name.clone(), id);
        id
    }

    /// Finishes with a per-segment index already filtered to the kept
    /// segments; names no kept segment uses are dropped and the rest
    /// renumbered in order of first use, so equal maps give equal tables.
    pub(crate) fn finish(self, by_segment: Vec<u32>) -> RoadNames {
        let mut renumber = vec![RoadNames::NONE; self.names.table.len()];
        let mut table = Vec::new();
        let mut table_source = self.names.table.into_iter().map(Some).collect::<Vec<_>>();
        let by_segment = by_segment
            .into_iter()
            .map(|old| {
                if old == RoadNames::NONE {
                    return old;
                }
                let slot = &mut renumber[old as usize];
                if *slot == RoadNames::NONE {
                    *slot = table.len() as u32;
                    table.push(table_source[old as usize].take().unwrap_or_default());
                }
                *slot
            })
            .collect();
        RoadNames { table, by_segment }
    }
}

/// A named point of the map a caller may give as the location: a village,
/// a town, a district (OSM `place=*`), or a named point of interest (a
/// hospital, a school, a station, a shop) drawn as an OSM node.
#[derive(Clone, Debug, PartialEq)]
pub struct MapPlace {
    /// `name`.
    pub name: String,
    /// `name:en`, or empty.
    pub name_en: String,
    /// What it is: the value of the tag that made it a place (`village`,
    /// `town` for `place=*`; `hospital`, `school` for `amenity=*`; and so on).
    pub kind: String,
    /// Where it is.
    pub at: LatLon,
}

/// The keys whose presence, with a `name`, makes a node a place: `place`
/// first (settlements), then points of interest a caller names.
const PLACE_KEYS: [&str; 11] = [
    "place",
    "amenity",
    "shop",
    "tourism",
    "leisure",
    "office",
    "healthcare",
    "historic",
    "public_transport",
    "railway",
    "barrier",
];

impl MapPlace {
    /// Reads a node's tags; `None` unless it has a `name` and one of the
    /// place keys (`railway` only for stations and halts, `barrier` only
    /// for toll stations: "G55 秦家庄收费站" is a place a caller gives).
    pub(crate) fn from_tags<'t>(
        at: LatLon,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<Self> {
        let mut name = "";
        let mut name_en = "";
        let mut kind: Option<(usize, &str)> = None;
        for (key, value) in tags {
            match key {
                "name" => name = value.trim(),
                "name:en" => name_en = value.trim(),
                _ => {
                    if let Some(rank) = PLACE_KEYS.iter().position(|k| *k == key) {
                        let wanted = match key {
                            "railway" => matches!(value, "station" | "halt"),
                            "barrier" => value == "toll_booth",
                            _ => true,
                        };
                        if wanted && kind.is_none_or(|(r, _)| rank < r) {
                            kind = Some((rank, value));
                        }
                    }
                }
            }
        }
        let (_, kind) = kind?;
        (!name.is_empty()).then(|| MapPlace {
            name: name.to_string(),
            name_en: name_en.to_string(),
            kind: kind.to_string(),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_without_name_tags_has_no_name_and_a_label_falls_back_to_the_ref() {
        assert_eq!(RoadName::from_tags([("highway", "primary")]), None);
        let n = RoadName::from_tags([("ref", "G207"), ("highway", "trunk")]);
        assert_eq!(n.as_ref().map(RoadName::label), Some("G207"));
        let n = RoadName::from_tags([("name", " 凤台街 "), ("ref", "S331")]);
        assert_eq!(n.as_ref().map(RoadName::label), Some("凤台街"));
    }

    #[test]
    fn interning_shares_equal_names_and_drops_unused_ones_in_first_use_order() {
        let a = RoadName {
            name: "A".into(),
            ..RoadName::default()
        };
        let b = RoadName {
            name: "B".into(),
            ..RoadName::default()
        };
        let mut builder = RoadNamesBuilder::default();
        let ids = [
            builder.intern(Some(&a)),
            builder.intern(None),
            builder.intern(Some(&b)),
            builder.intern(Some(&a)),
        ];
        assert_eq!(ids, [0, RoadNames::NONE, 1, 0]);
        // Only the segments using B are kept: A goes, B becomes 0.
        let names = builder.finish(vec![ids[1], ids[2]]);
        assert_eq!(names.table, vec![b]);
        assert_eq!(names.by_segment, vec![RoadNames::NONE, 0]);
        assert_eq!(names.of_segment(1), Some(RoadNameId(0)));
        assert_eq!(names.of_segment(0), None);
        assert_eq!(names.of_segment(7), None);
    }

    #[test]
    fn a_node_is_a_place_with_a_name_and_a_place_key_settlements_first() {
        let at = LatLon::new(35.5, 112.8).unwrap();
        assert_eq!(MapPlace::from_tags(at, [("place", "village")]), None);
        assert_eq!(
            MapPlace::from_tags(at, [("name", "X"), ("barrier", "gate")]),
            None
        );
        let p = MapPlace::from_tags(at, [("barrier", "toll_booth"), ("name", "常河收费站")]);
        assert_eq!(p.map(|p| p.kind), Some("toll_booth".to_string()));
        assert_eq!(
            MapPlace::from_tags(at, [("name", "X"), ("railway", "level_crossing")]),
            None
        );
        let p = MapPlace::from_tags(
            at,
            [("amenity", "townhall"), ("name", "X"), ("place", "town")],
        );
        assert_eq!(p.map(|p| p.kind), Some("town".to_string()));
        let p = MapPlace::from_tags(at, [("railway", "station"), ("name", "晋城站")]);
        assert_eq!(p.map(|p| p.kind), Some("station".to_string()));
    }
}
