//! The drill's report: one self-contained HTML file (inline SVG plots, no
//! script, nothing fetched), so it opens in any browser at a command
//! centre with no internet.
//!
//! It shows the response-time distribution per tier against its target,
//! the share of incidents handled in time per zone, the coverage over the
//! day (beside the same day without move-ups, when given), each unit's
//! utilisation, a map of the day: the zones and every incident, green when
//! its handling unit arrived in time, red when not; and, when the
//! dispatcher took move-up advice, a map of the moves.

use plotters::prelude::*;

use kuaifan_engine::{Incident, Tier, World};

use crate::drill::run::{DrillOutcome, MoveUpTaken};
use crate::drill::summary::DrillSummary;

const WIDTH: u32 = 900;
const MET: RGBColor = RGBColor(34, 139, 34);
const MISSED: RGBColor = RGBColor(200, 40, 40);
const TARGET: RGBColor = RGBColor(30, 30, 30);

type Plot = Result<String, Box<dyn std::error::Error>>;

/// The report as HTML; `without_move_ups`, the same day's figures with
/// no move-up taken, for the coverage beside it.
pub fn html(
    world: &World,
    outcome: &DrillOutcome,
    summary: &DrillSummary,
    without_move_ups: Option<&DrillSummary>,
) -> String {
    let incidents: Vec<&Incident> = outcome.state.incidents().collect();
    let mut plots = Vec::new();
    for tier in [Tier::Handle, Tier::Support, Tier::Encircle] {
        plots.push((
            format!("{tier}: response times (target {} s)", world.target_s(tier)),
            response_histogram(&incidents, tier, world.target_s(tier)),
        ));
    }
    plots.push((
        "Share of incidents handled in time, per zone".to_string(),
        zones_chart(summary),
    ));
    plots.push((
        "Coverage of the zoned area over the day".to_string(),
        coverage_chart(summary, without_move_ups),
    ));
    plots.push((
        "Unit utilisation (sent, on scene or returning)".to_string(),
        utilisation_chart(world, summary),
    ));
    plots.push((
        "The day on the map: green handled in time, red not".to_string(),
        map(world, &incidents, &[]),
    ));
    if !outcome.move_ups.is_empty() {
        plots.push((
            format!(
                "Move-ups taken: {} moves, {:.0} km (from where the unit was to its post)",
                outcome.move_ups.len(),
                summary.move_up_km
            ),
            map(world, &[], &outcome.move_ups),
        ));
    }
    let mut body = String::new();
    for (title, plot) in plots {
        body.push_str(&format!("<h2>{}</h2>\n", escape(&title)));
        match plot {
            Ok(svg) => body.push_str(&svg),
            Err(e) => body.push_str(&format!(
                "<p>could not draw: {}</p>",
                escape(&e.to_string())
            )),
        }
        body.push('\n');
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>kuaifan drill: seed {seed}, {policy}</title>\
         <style>body{{font-family:sans-serif;max-width:{WIDTH}px;margin:2em auto}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
         pre{{background:#f6f6f6;padding:1em}}</style></head><body>\n\
         <h1>kuaifan drill</h1>\n<pre>{text}</pre>\n{body}</body></html>\n",
        seed = summary.seed,
        policy = escape(&summary.policy),
        text = escape(&summary.to_string()),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn response_histogram(incidents: &[&Incident], tier: Tier, target_s: u32) -> Plot {
    const BIN_S: f64 = 30.0;
    const BINS: usize = 30;
    let mut counts = [0u32; BINS];
    for a in incidents.iter().flat_map(|i| &i.assignments) {
        if a.tier == tier
            && let Some(s) = a.response_s()
        {
            counts[((s / BIN_S) as usize).min(BINS - 1)] += 1;
        }
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..BIN_S * BINS as f64, 0u32..top + top / 10 + 1)?;
        chart
            .configure_mesh()
            .x_desc("seconds from confirmation to arrival (the last bin: 870 s or more)")
            .y_desc("units")
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &n)| {
            let x0 = i as f64 * BIN_S;
            let colour = if x0 + BIN_S <= f64::from(target_s) {
                MET
            } else {
                MISSED
            };
            Rectangle::new([(x0, 0), (x0 + BIN_S * 0.9, n)], colour.filled())
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![
                (f64::from(target_s), 0),
                (f64::from(target_s), top + top / 10 + 1),
            ],
            TARGET.stroke_width(2),
        )))?;
        root.present()?;
    }
    Ok(svg)
}

fn zones_chart(summary: &DrillSummary) -> Plot {
    let labels: Vec<String> = summary.zones.iter().map(|z| z.zone_id.clone()).collect();
    let values: Vec<f64> = summary
        .zones
        .iter()
        .map(|z| z.handle_within_target * 100.0)
        .collect();
    bar_chart(&labels, &values, "% handled within 60 s", MET)
}

/// Bars of percentages, one per label.
fn bar_chart(labels: &[String], values: &[f64], y_desc: &str, colour: RGBColor) -> Plot {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = values.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..n as f64, 0.0..100.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
            .y_desc(y_desc)
            .draw()?;
        chart.draw_series(values.iter().enumerate().map(|(i, v)| {
            let x = i as f64;
            Rectangle::new([(x + 0.1, 0.0), (x + 0.9, *v)], colour.filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

fn coverage_chart(summary: &DrillSummary, without_move_ups: Option<&DrillSummary>) -> Plot {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let hours = summary.hours.max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..hours, 0.0..100.0)?;
        chart
            .configure_mesh()
            .x_desc("hour of the drill")
            .y_desc("% of the zoned area")
            .draw()?;
        let series = |pick: fn(&crate::drill::run::CoverageSample) -> f64| {
            summary
                .coverage
                .iter()
                .map(move |c| (c.at_s / 3600.0, pick(c) * 100.0))
                .collect::<Vec<_>>()
        };
        for (label, colour, points) in [
            ("within 60 s", MISSED, series(|c| c.within_60s)),
            ("within 180 s", BLUE, series(|c| c.within_180s)),
            ("within 300 s", MET, series(|c| c.within_300s)),
        ] {
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        if let Some(without) = without_move_ups {
            let points: Vec<(f64, f64)> = without
                .coverage
                .iter()
                .map(|c| (c.at_s / 3600.0, c.within_180s * 100.0))
                .collect();
            let grey = BLACK.mix(0.45);
            chart
                .draw_series(LineSeries::new(points, grey.stroke_width(2)))?
                .label("within 180 s, the same day without move-ups")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

fn utilisation_chart(world: &World, summary: &DrillSummary) -> Plot {
    let labels: Vec<String> = world
        .scenario()
        .units()
        .iter()
        .map(|u| u.id.as_str().to_string())
        .collect();
    let values: Vec<f64> = summary.utilisation.iter().map(|u| u * 100.0).collect();
    bar_chart(&labels, &values, "% of the drill busy", BLUE)
}

/// The zones with the incidents on them (green handled in time, red not)
/// and the move-ups (a line from where the unit was, a dot at its post).
fn map(world: &World, incidents: &[&Incident], moves: &[MoveUpTaken]) -> Plot {
    let zones = world.scenario().zones().as_slice();
    let mut lons = Vec::new();
    let mut lats = Vec::new();
    for zone in zones {
        for polygon in &zone.geometry.0 {
            for c in polygon.exterior().coords() {
                lons.push(c.x);
                lats.push(c.y);
            }
        }
    }
    let range = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    };
    let (lon0, lon1) = range(&lons);
    let (lat0, lat1) = range(&lats);
    if !(lon0 < lon1 && lat0 < lat1) {
        return Err("the zones have no extent".into());
    }
    // Keep the map's proportions: a degree of longitude is cos(lat) of one
    // of latitude.
    let aspect = (lat1 - lat0) / ((lon1 - lon0) * ((lat0 + lat1) / 2.0).to_radians().cos());
    let height = ((f64::from(WIDTH) * aspect) as u32).clamp(300, 1400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(lon0..lon1, lat0..lat1)?;
        chart.configure_mesh().disable_mesh().draw()?;
        for zone in zones {
            for polygon in &zone.geometry.0 {
                let ring: Vec<(f64, f64)> =
                    polygon.exterior().coords().map(|c| (c.x, c.y)).collect();
                chart.draw_series(std::iter::once(PathElement::new(ring, BLACK.mix(0.5))))?;
            }
        }
        chart.draw_series(incidents.iter().map(|i| {
            let met = i
                .assignments
                .iter()
                .any(|a| a.tier == Tier::Handle && a.met_target() == Some(true));
            let colour = if met { MET } else { MISSED };
            Circle::new((i.location.lon(), i.location.lat()), 3, colour.filled())
        }))?;
        for m in moves {
            let (from, to) = ((m.from.lon(), m.from.lat()), (m.to.lon(), m.to.lat()));
            chart.draw_series(std::iter::once(PathElement::new(
                vec![from, to],
                BLUE.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(to, 4, BLUE.filled())))?;
        }
        root.present()?;
    }
    Ok(svg)
}
