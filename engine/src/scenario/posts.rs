//! The move-up posts (动中备勤点) of a city: the places a free unit may be
//! sent to wait on the move so that the city stays covered while others
//! are on calls. Every unit's standby point is a post (with the unit's id);
//! the posts file adds stations, key sites and junction posts (路口岗).

use crate::geo::LatLon;
use crate::scenario::features::{self, PropFault, Props};
use crate::scenario::ids::{PostId, StationId};
use crate::scenario::kinds::{PostKind, SiteKind};
use crate::scenario::problem::{Item, ItemKind, Problems};
use crate::scenario::units::Units;

/// A place a unit may wait at.
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    /// Its id: the unit's id for a standby point, the file's for the rest.
    pub id: PostId,
    /// Its name, as dispatchers say it.
    pub name: String,
    /// What it is.
    pub kind: PostKind,
    /// For a key site or a standby point, what kind of place.
    pub site: Option<SiteKind>,
    /// For a station post, the station.
    pub station: Option<StationId>,
    /// Where it is.
    pub location: LatLon,
}

/// The posts of a posts file, with unique ids (the units' standby points
/// are added by [`crate::Scenario::load`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Posts {
    posts: Vec<Post>,
}

/// The words a posts file's `kind` may be.
const FILE_KINDS: &str = "station | key_site | junction";

impl Posts {
    /// Reads and checks a posts GeoJSON text: Point features with `id`,
    /// `name`, `kind` (`station`, `key_site` or `junction`), and `station`
    /// (a station id) for a station post or `site` (as a standby point's)
    /// for a key site. Every problem in the text is reported; station
    /// references, ids shared with units and roads are checked by
    /// [`crate::Scenario::load`].
    ///
    /// ```
    /// let text = r#"{"type": "FeatureCollection", "features": [
    ///   {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.8456, 35.5012]},
    ///    "properties": {"id": "P01", "name": "泽州路-凤台街路口岗", "kind": "junction"}}]}"#;
    /// let posts = kuaifan_engine::Posts::from_geojson_str(text)?;
    /// assert_eq!(posts.as_slice()[0].kind, kuaifan_engine::PostKind::Junction);
    /// # Ok::<(), kuaifan_engine::Problems>(())
    /// ```
    pub fn from_geojson_str(text: &str) -> Result<Posts, Problems> {
        let features = features::collection(text)?;
        let mut problems = Vec::new();
        let mut posts = Vec::with_capacity(features.len());
        let mut ids = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let props = Props::of(feature);
            let id_text = props.code("id").ok().flatten();
            let item = Item::new(ItemKind::Post, index, id_text.as_deref());
            let before = problems.len();
            let mut fault = |f: PropFault| problems.push(f.into_problem(item.clone()));
            let id = props
                .id(PostId::new, "a post id", index, &mut ids)
                .map_err(&mut fault)
                .ok();
            let name = props.required_text("name").map_err(&mut fault).ok();
            let kind = match props.required_text("kind") {
                Ok(word) => match word.parse::<PostKind>() {
                    Ok(PostKind::Standby) | Err(_) => {
                        fault(PropFault::Bad {
                            field: "kind",
                            value: format!("{word:?}"),
                            expected: FILE_KINDS,
                        });
                        None
                    }
                    Ok(kind) => Some(kind),
                },
                Err(f) => {
                    fault(f);
                    None
                }
            };
            let site = match props.text("site") {
                Ok(None) => {
                    if kind == Some(PostKind::KeySite) {
                        fault(PropFault::Missing("site"));
                    }
                    None
                }
                Ok(Some(word)) => word
                    .parse::<SiteKind>()
                    .map_err(|_| {
                        fault(PropFault::Bad {
                            field: "site",
                            value: format!("{word:?}"),
                            expected: "commercial_centre | school | hospital | transport_hub | government | residential | scenic | industrial",
                        })
                    })
                    .ok(),
                Err(f) => {
                    fault(f);
                    None
                }
            };
            let station = match props.code("station") {
                Ok(None) => {
                    if kind == Some(PostKind::Station) {
                        fault(PropFault::Missing("station"));
                    }
                    None
                }
                Ok(Some(text)) => StationId::new(text)
                    .map_err(|e| {
                        fault(PropFault::Bad {
                            field: "station",
                            value: format!("{:?}", e.value),
                            expected: "a station id",
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
            if let (Some(id), Some(name), Some(kind), Some(location), true) =
                (id, name, kind, location, problems.len() == before)
            {
                posts.push(Post {
                    id,
                    name,
                    kind,
                    site,
                    station,
                    location,
                });
            }
        }
        problems.extend(features::duplicates(
            ItemKind::Post,
            ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        Problems::check(problems)?;
        Ok(Posts { posts })
    }

    /// [`Posts::from_geojson_str`] on bytes that should be UTF-8.
    pub fn from_geojson_bytes(bytes: &[u8]) -> Result<Posts, Problems> {
        Self::from_geojson_str(features::utf8(bytes)?)
    }

    /// The posts, in file order.
    pub fn as_slice(&self) -> &[Post] {
        &self.posts
    }

    /// How many posts there are.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// Every unit's standby point as a post (with the unit's id), then
    /// these posts: the scenario's list, in which a unit's own post has
    /// the unit's slot as its position.
    pub(crate) fn with_standby_points(self, units: &Units) -> Vec<Post> {
        units
            .iter()
            .map(|u| Post {
                id: PostId::from(&u.id),
                name: u.standby.name.clone(),
                kind: PostKind::Standby,
                site: Some(u.standby.site),
                station: None,
                location: u.standby.location,
            })
            .chain(self.posts)
            .collect()
    }
}
