//! The 2020 case, scripted: a home robbery in Jincheng's urban core, the
//! suspects away in the victim's car at once, the victim's 110 call 70
//! minutes later, the car on the fastest road to Jiaozuo in Henan (the
//! suspects were caught there six hours later). The address is not
//! public: the robbery is placed on a residential street of the core.
//! The car heads for the crossing of the provincial border (ring 3)
//! nearest Jiaozuo.

use std::sync::Arc;

use kuaifan_engine::{ContainmentRing, DispatchState, LatLon, RouteQuery, World};

use crate::drill::chase::{ChaseConfig, ChaseOutcome, chase};
use crate::drill::escape::Flight;

/// Where the robbery is placed: a residential street in 城区.
pub const HOME: (f64, f64) = (35.4950, 112.8450);

/// Jiaozuo's centre (35.2158 N, 113.2419 E).
pub const JIAOZUO: (f64, f64) = (35.2158, 113.2419);

/// From the escape to the call, minutes.
pub const REPORT_DELAY_MIN: f64 = 70.0;

/// When the suspects left (2020's date is not public: 2026-11-26 01:00
/// China Standard Time).
const ESCAPE_MS: i64 = 1_795_626_000_000;

/// The replay: the flight and its chase without and with sightings.
#[derive(Clone, Debug)]
pub struct Replay2020 {
    /// The suspects' flight.
    pub flight: Flight,
    /// The crossing they leave Shanxi by, as `label`.
    pub exit_label: String,
    /// The chase without camera sightings.
    pub without_sightings: ChaseOutcome,
    /// The chase with them.
    pub with_sightings: ChaseOutcome,
}

/// Runs the replay on `world` (the Jincheng scenario); `None` if the
/// scenario has no border crossing or the home is off its roads.
pub fn replay_2020(world: &Arc<World>, detection_delay_s: f64) -> Option<Replay2020> {
    let mut query = RouteQuery::new(world.scenario().router());
    let base = DispatchState::new(Arc::clone(world), &mut query);
    let crossings = world.ring_crossings();
    let jiaozuo = LatLon::new(JIAOZUO.0, JIAOZUO.1).ok()?;
    let exit = *crossings
        .outline(ContainmentRing::Border)?
        .sites
        .iter()
        .min_by(|&&a, &&b| {
            let d = |s: usize| crossings.sites()[s].at.haversine_m(jiaozuo);
            d(a).total_cmp(&d(b))
        })?;
    let home = LatLon::new(HOME.0, HOME.1).ok()?;
    let flight = Flight::plan(world, &mut query, home, ESCAPE_MS, exit, None, 1.0)?;
    let run = |sightings: bool, query: &mut RouteQuery<'_>| {
        let mut state = base.clone();
        let config = ChaseConfig {
            report_delay_s: REPORT_DELAY_MIN * 60.0,
            sightings,
            detection_delay_s,
        };
        chase(&mut state, query, &flight, &config)
    };
    let without_sightings = run(false, &mut query);
    let with_sightings = run(true, &mut query);
    Some(Replay2020 {
        exit_label: crossings.sites()[exit].label(world.scenario().rings()),
        flight,
        without_sightings,
        with_sightings,
    })
}

impl Replay2020 {
    /// The replay as text, for the terminal.
    pub fn describe(&self, world: &World) -> String {
        let sites = world.ring_crossings().sites();
        let rings = world.scenario().rings();
        let minutes = |ms: i64| (ms - self.flight.escape_ms) as f64 / 60_000.0;
        let mut out = String::new();
        out.push_str(&format!(
            "2020 replay: robbery at ({:.4}, {:.4}), suspects away at once, the call {} min later; \
             the car drives the fastest road to {} and reaches it {:.0} min after the escape\n",
            HOME.0,
            HOME.1,
            REPORT_DELAY_MIN,
            self.exit_label,
            minutes(self.flight.end_ms())
        ));
        out.push_str("  on its way:\n");
        for p in &self.flight.passes {
            out.push_str(&format!(
                "    {:>5.1} min  ring {}  {}\n",
                minutes(p.at_ms),
                crate::drill::escape::ring_of(world, self.flight.ring1, p.site),
                sites[p.site].label(rings)
            ));
        }
        for c in &self.flight.cameras {
            out.push_str(&format!(
                "    {:>5.1} min  camera {} {}\n",
                minutes(c.at_ms),
                rings.checkpoints()[c.checkpoint].id.as_str(),
                rings.checkpoints()[c.checkpoint].name
            ));
        }
        out.push_str("  kuaifan's plan at the call:\n");
        for r in &self.without_sightings.rings_at_start {
            out.push_str(&format!(
                "    {} {}: {} crossings, {} held in time, {} too late, {} already passed: {}\n",
                r.id,
                r.name,
                r.crossings,
                r.held,
                r.too_late,
                r.already_passed,
                if r.closed { "CLOSED" } else { "OPEN" }
            ));
        }
        if !self.without_sightings.for_neighbours.is_empty() {
            out.push_str("  no ring can be closed; for the neighbours to take over:\n");
            for (label, suspect_ms) in &self.without_sightings.for_neighbours {
                out.push_str(&format!(
                    "    {label}: suspect possibly there from {:.1} min after the escape\n",
                    minutes(*suspect_ms)
                ));
            }
        }
        for (what, o) in [
            ("without sightings", &self.without_sightings),
            ("with sightings", &self.with_sightings),
        ] {
            let at = o.caught_at.or(o.escaped_at).map(|s| sites[s].label(rings));
            out.push_str(&format!(
                "  {what}: {} at ring {} ({}), {:.0} min after the escape; {} responders ordered, {} sightings\n",
                if o.caught() { "caught" } else { "escaped" },
                o.ring,
                at.unwrap_or_default(),
                minutes(o.at_ms),
                o.orders,
                o.sightings
            ));
        }
        out
    }
}
