//! The police stations of a city, read from `stations.geojson`.

use crate::geo::LatLon;
use crate::scenario::features::{self, PropFault, Props};
use crate::scenario::ids::StationId;
use crate::scenario::kinds::{MAX_TEAMS, MAX_TURNOUT_S, StationKind};
use crate::scenario::problem::{Item, ItemKind, Problems};

/// A police station.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    /// Its id.
    pub id: StationId,
    /// Its name.
    pub name: String,
    /// Its level.
    pub kind: StationKind,
    /// The county it serves.
    pub county: String,
    /// Where it is.
    pub location: LatLon,
    /// How many teams it can send to hold crossings of a containment
    /// ring (`teams`, by default [`StationKind::default_teams`]).
    pub teams: u32,
    /// Seconds from the order until a team drives off (`turnout_s`, by
    /// default [`StationKind::default_turnout_s`]).
    pub turnout_s: u32,
}

/// A whole number property in `0..=max`, or `None` if absent.
fn count(props: &Props<'_>, field: &'static str, max: u32) -> Result<Option<u32>, PropFault> {
    let bad = |value: String| PropFault::Bad {
        field,
        value,
        expected: "a whole number from 0 to its limit (teams 50, turnout_s 3600)",
    };
    match props.number(field) {
        Ok(None) => Ok(None),
        Ok(Some(n)) if n.fract() == 0.0 && (0.0..=f64::from(max)).contains(&n) => {
            Ok(Some(n as u32))
        }
        Ok(Some(n)) => Err(bad(n.to_string())),
        Err(PropFault::Bad { value, .. }) => Err(bad(value)),
        Err(f) => Err(f),
    }
}

/// The stations of a scenario, with unique ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stations {
    stations: Vec<Station>,
}

impl Stations {
    /// Reads and checks a stations GeoJSON text: Point features with
    /// properties `id`, `name`, `kind` and `county`, and optionally
    /// `teams` (0 to [`MAX_TEAMS`]) and `turnout_s` (0 to
    /// [`MAX_TURNOUT_S`]), which default by kind. Every problem in the
    /// text is reported.
    pub fn from_geojson_str(text: &str) -> Result<Stations, Problems> {
        let features = features::collection(text)?;
        let mut problems = Vec::new();
        let mut stations = Vec::with_capacity(features.len());
        let mut ids = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let props = Props::of(feature);
            let id_text = props.code("id").ok().flatten();
            let item = Item::new(ItemKind::Station, index, id_text.as_deref());
            let before = problems.len();
            let mut fault = |f: PropFault| problems.push(f.into_problem(item.clone()));
            let id = props
                .id(StationId::new, "a station id", index, &mut ids)
                .map_err(&mut fault)
                .ok();
            let name = props.required_text("name").map_err(&mut fault).ok();
            let county = props.required_text("county").map_err(&mut fault).ok();
            let kind = match props.required_text("kind") {
                Ok(word) => word
                    .parse::<StationKind>()
                    .map_err(|e| {
                        fault(PropFault::Bad {
                            field: "kind",
                            value: format!("{:?}", e.value),
                            expected: "city_bureau | county_bureau | urban_sub_bureau | police_station",
                        })
                    })
                    .ok(),
                Err(f) => {
                    fault(f);
                    None
                }
            };
            let teams = count(&props, "teams", MAX_TEAMS).map_err(&mut fault).ok();
            let turnout_s = count(&props, "turnout_s", MAX_TURNOUT_S)
                .map_err(&mut fault)
                .ok();
            let location = features::point(&item, feature)
                .map_err(|p| problems.push(p))
                .ok();
            if let (
                Some(id),
                Some(name),
                Some(county),
                Some(kind),
                Some(location),
                Some(teams),
                Some(turnout_s),
                true,
            ) = (
                id,
                name,
                county,
                kind,
                location,
                teams,
                turnout_s,
                problems.len() == before,
            ) {
                stations.push(Station {
                    id,
                    name,
                    kind,
                    county,
                    location,
                    teams: teams.unwrap_or_else(|| kind.default_teams()),
                    turnout_s: turnout_s.unwrap_or_else(|| kind.default_turnout_s()),
                });
            }
        }
        problems.extend(features::duplicates(
            ItemKind::Station,
            ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        Problems::check(problems)?;
        Ok(Stations { stations })
    }

    /// [`Stations::from_geojson_str`] on bytes that should be UTF-8.
    pub fn from_geojson_bytes(bytes: &[u8]) -> Result<Stations, Problems> {
        Self::from_geojson_str(features::utf8(bytes)?)
    }

    /// The stations, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Station> {
        self.stations.iter()
    }

    /// How many stations there are.
    pub fn len(&self) -> usize {
        self.stations.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.stations.is_empty()
    }
}
