//! The importance of a road, from its OSM `highway` class: what the
//! dispatcher ranks zone exits by.

use std::fmt;

/// How important a road is, from its `highway` tag. `*_link` ramps count as
/// the road they serve; every other routable class (`unclassified`,
/// `residential`, `service`, classes a profile adds) is [`RoadClass::Minor`].
///
/// Ordered by importance: a greater class is a more important road.
///
/// ```
/// use kuaifan_engine::RoadClass;
/// assert_eq!(RoadClass::from_highway("trunk_link"), RoadClass::Trunk);
/// assert_eq!(RoadClass::from_highway("residential"), RoadClass::Minor);
/// assert!(RoadClass::Motorway > RoadClass::Primary);
/// assert!(RoadClass::Tertiary.is_exit_class() && !RoadClass::Minor.is_exit_class());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoadClass {
    /// Any other routable road. The default, for ways added by hand.
    #[default]
    Minor,
    /// `tertiary`, `tertiary_link`.
    Tertiary,
    /// `secondary`, `secondary_link`.
    Secondary,
    /// `primary`, `primary_link`.
    Primary,
    /// `trunk`, `trunk_link`.
    Trunk,
    /// `motorway`, `motorway_link`.
    Motorway,
}

impl RoadClass {
    /// Every class, least important first.
    pub const ALL: [RoadClass; 6] = [
        RoadClass::Minor,
        RoadClass::Tertiary,
        RoadClass::Secondary,
        RoadClass::Primary,
        RoadClass::Trunk,
        RoadClass::Motorway,
    ];

    /// The class of a `highway` tag value.
    pub fn from_highway(highway: &str) -> RoadClass {
        let parent = highway.strip_suffix("_link").unwrap_or(highway);
        match parent {
            "motorway" => RoadClass::Motorway,
            "trunk" => RoadClass::Trunk,
            "primary" => RoadClass::Primary,
            "secondary" => RoadClass::Secondary,
            "tertiary" => RoadClass::Tertiary,
            _ => RoadClass::Minor,
        }
    }

    /// Whether a road of this class is an exit of a zone when it crosses
    /// the boundary: tertiary or more important. Minor roads are too many
    /// to hold and lead mostly to other minor roads.
    pub fn is_exit_class(self) -> bool {
        self >= RoadClass::Tertiary
    }

    /// The name of the class, as the `highway` tag spells its main road.
    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Minor => "minor",
            RoadClass::Tertiary => "tertiary",
            RoadClass::Secondary => "secondary",
            RoadClass::Primary => "primary",
            RoadClass::Trunk => "trunk",
            RoadClass::Motorway => "motorway",
        }
    }

    /// The byte the cache file stores.
    pub(crate) fn to_byte(self) -> u8 {
        self as u8
    }

    /// The class of a cache byte, `None` for a byte no class writes.
    pub(crate) fn from_byte(byte: u8) -> Option<RoadClass> {
        RoadClass::ALL.get(usize::from(byte)).copied()
    }
}

impl fmt::Display for RoadClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_count_as_their_parent() {
        for (tag, class) in [
            ("motorway", RoadClass::Motorway),
            ("motorway_link", RoadClass::Motorway),
            ("trunk_link", RoadClass::Trunk),
            ("primary_link", RoadClass::Primary),
            ("secondary_link", RoadClass::Secondary),
            ("tertiary_link", RoadClass::Tertiary),
            ("unclassified", RoadClass::Minor),
            ("residential", RoadClass::Minor),
            ("service", RoadClass::Minor),
            ("residential_link", RoadClass::Minor),
            ("_link", RoadClass::Minor),
            ("", RoadClass::Minor),
        ] {
            assert_eq!(RoadClass::from_highway(tag), class, "{tag:?}");
        }
    }

    #[test]
    fn order_and_exit_classes() {
        assert!(RoadClass::ALL.windows(2).all(|w| w[0] < w[1]));
        let exits: Vec<_> = RoadClass::ALL
            .iter()
            .filter(|c| c.is_exit_class())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            exits,
            ["tertiary", "secondary", "primary", "trunk", "motorway"]
        );
    }

    #[test]
    fn cache_bytes_round_trip() {
        for class in RoadClass::ALL {
            assert_eq!(RoadClass::from_byte(class.to_byte()), Some(class));
        }
        assert_eq!(RoadClass::from_byte(6), None);
        assert_eq!(RoadClass::from_byte(255), None);
    }
}
