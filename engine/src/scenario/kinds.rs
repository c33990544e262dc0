//! The closed vocabularies of scenario files: kinds of unit, standby site,
//! station and checkpoint, each written in snake case.

use std::fmt;

/// Why a word is not one of a vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of {}", expected.join(" | "))]
pub struct UnknownKind {
    /// The word given.
    pub value: String,
    /// The words accepted.
    pub expected: &'static [&'static str],
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every word, in order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word for it, as written in files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownKind;
            fn from_str(s: &str) -> Result<Self, UnknownKind> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownKind { value: s.to_owned(), expected: Self::WORDS }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What a unit is.
    UnitKind {
        /// A patrol car.
        PatrolCar = "patrol_car",
        /// A special weapons and tactics vehicle.
        SwatVehicle = "swat_vehicle",
        /// A police motorcycle.
        Motorcycle = "motorcycle",
        /// Officers on foot.
        FootPatrol = "foot_patrol",
    }
);

vocabulary!(
    /// What kind of place a unit waits at.
    SiteKind {
        /// A shopping or business centre.
        CommercialCentre = "commercial_centre",
        /// A school.
        School = "school",
        /// A hospital.
        Hospital = "hospital",
        /// A station, terminal or interchange.
        TransportHub = "transport_hub",
        /// A government building.
        Government = "government",
        /// A residential district.
        Residential = "residential",
        /// A scenic area.
        Scenic = "scenic",
        /// An industrial area.
        Industrial = "industrial",
    }
);

vocabulary!(
    /// The level of a police station.
    StationKind {
        /// The city public security bureau.
        CityBureau = "city_bureau",
        /// A county public security bureau.
        CountyBureau = "county_bureau",
        /// An urban sub-bureau.
        UrbanSubBureau = "urban_sub_bureau",
        /// A local police station.
        PoliceStation = "police_station",
    }
);

/// The most teams a station may list: more than any real station keeps
/// ready, and a bound keeps a typo from making thousands of responders.
pub const MAX_TEAMS: u32 = 50;

/// The longest turnout time a station may list, in seconds.
pub const MAX_TURNOUT_S: u32 = 3_600;

impl StationKind {
    /// How many teams a station of this kind can send to hold crossings
    /// when `stations.geojson` does not say: a city bureau 6, a county
    /// bureau or an urban sub-bureau 4, a police station 2.
    pub fn default_teams(self) -> u32 {
        match self {
            StationKind::CityBureau => 6,
            StationKind::CountyBureau | StationKind::UrbanSubBureau => 4,
            StationKind::PoliceStation => 2,
        }
    }

    /// Seconds from the order until a team drives off, when
    /// `stations.geojson` does not say: 300 for a city or county bureau,
    /// 240 for an urban sub-bureau, 180 for a police station.
    pub fn default_turnout_s(self) -> u32 {
        match self {
            StationKind::CityBureau | StationKind::CountyBureau => 300,
            StationKind::UrbanSubBureau => 240,
            StationKind::PoliceStation => 180,
        }
    }
}

vocabulary!(
    /// What a move-up post (动中备勤点) is.
    PostKind {
        /// A unit's own standby point (from `units.toml`, never written in
        /// the posts file).
        Standby = "standby",
        /// A police station.
        Station = "station",
        /// A key site: a school, hospital, hub, government building.
        KeySite = "key_site",
        /// A junction post (路口岗) on an arterial.
        Junction = "junction",
    }
);

vocabulary!(
    /// What stands at a checkpoint.
    CheckpointKind {
        /// A motorway toll station.
        TollStation = "toll_station",
        /// A provincial border post.
        BorderPost = "border_post",
        /// A road checkpoint.
        Checkpoint = "checkpoint",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for w in UnitKind::WORDS {
            assert_eq!(w.parse::<UnitKind>().map(UnitKind::as_str), Ok(*w));
        }
        let e = "tank".parse::<UnitKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"tank\" is not one of patrol_car | swat_vehicle | motorcycle | foot_patrol"
        );
    }
}
