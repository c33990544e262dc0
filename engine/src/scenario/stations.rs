//! The police stations of a city, read from `stations.geojson`.

use crate::geo::LatLon;
use crate::scenario::features::{self, PropFault, Props};
use crate::scenario::ids::StationId;
use crate::scenario::kinds::StationKind;
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
}

/// The stations of a scenario, with unique ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stations {
    stations: Vec<Station>,
}

impl Stations {
    /// Reads and checks a stations GeoJSON text: Point features with
    /// properties `id`, `name`, `kind` and `county`. Every problem in the
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
            let id = match props.code("id") {
                Ok(Some(text)) => {
                    ids.push((index, text.clone()));
                    StationId::new(text)
                        .map_err(|e| {
                            fault(PropFault::Bad {
                                field: "id",
                                value: format!("{:?}", e.value),
                                expected: "a station id",
                            })
                        })
                        .ok()
                }
                Ok(None) => {
                    fault(PropFault::Missing("id"));
                    None
                }
                Err(f) => {
                    fault(f);
                    None
                }
            };
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
            let location = features::point(&item, feature)
                .map_err(|p| problems.push(p))
                .ok();
            if let (Some(id), Some(name), Some(county), Some(kind), Some(location), true) =
                (id, name, county, kind, location, problems.len() == before)
            {
                stations.push(Station {
                    id,
                    name,
                    kind,
                    county,
                    location,
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
