//! The containment drill's report: one self-contained HTML file (inline
//! SVG, nothing fetched), the sweep's table, the share caught against the
//! report delay with and without camera sightings, and where the
//! suspects were caught or got away, ring by ring, against the delay.

use plotters::prelude::*;

use crate::drill::containment_sweep::Sweep;

const WIDTH: u32 = 900;
const WITH: RGBColor = RGBColor(34, 139, 34);
const WITHOUT: RGBColor = RGBColor(200, 40, 40);

/// The report as HTML.
pub fn containment_html(sweep: &Sweep) -> String {
    let drawn = |plot: Result<String, Box<dyn std::error::Error>>| match plot {
        Ok(svg) => svg,
        Err(e) => format!("<p>could not draw: {}</p>", escape(&e.to_string())),
    };
    let plot = drawn(interception_plot(sweep));
    let rings = drawn(ring_plot(sweep));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>kuaifan containment drill</title>\
         <style>body{{font-family:sans-serif;max-width:{WIDTH}px;margin:2em auto}}\
         pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style></head><body>\n\
         <h1>kuaifan containment drill (三层查控圈)</h1>\n<pre>{text}</pre>\n\
         <h2>Suspects caught against the report delay</h2>\n{plot}\n\
         <p>Green: with the fixed checkpoints' camera sightings; red: without.</p>\n\
         <h2>Where they were caught or got away, ring by ring (with sightings)</h2>\n{rings}\n\
         <p>Each bar is one report delay's flights: caught at ring 1 (the incident's \
         area), ring 2 (the city boundary) or ring 3 (the Henan border), or away \
         into the rest of Shanxi or into Henan.</p>\n\
         </body></html>\n",
        text = escape(&sweep.to_string()),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn interception_plot(sweep: &Sweep) -> Result<String, Box<dyn std::error::Error>> {
    let longest = sweep
        .rows
        .iter()
        .map(|r| r.delay_min)
        .fold(1.0_f64, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..longest, 0.0..100.0)?;
        chart
            .configure_mesh()
            .x_desc("minutes from the escape to the 110 call")
            .y_desc("% of suspects caught")
            .draw()?;
        for (sightings, colour) in [(true, WITH), (false, WITHOUT)] {
            let points: Vec<(f64, f64)> = sweep
                .rows
                .iter()
                .filter(|r| r.sightings == sightings)
                .map(|r| (r.delay_min, 100.0 * r.share()))
                .collect();
            chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, colour.filled())),
            )?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// Caught at ring 1, 2, 3 and away through ring 2 and 3, stacked, as
/// shares of each delay's flights, for the rows with sightings.
fn ring_plot(sweep: &Sweep) -> Result<String, Box<dyn std::error::Error>> {
    const PARTS: [(&str, RGBColor); 5] = [
        ("caught at ring 1", RGBColor(0, 100, 0)),
        ("caught at ring 2", RGBColor(34, 139, 34)),
        ("caught at ring 3", RGBColor(144, 200, 120)),
        ("away into Shanxi", RGBColor(240, 150, 60)),
        ("away into Henan", RGBColor(200, 40, 40)),
    ];
    let rows: Vec<_> = sweep.rows.iter().filter(|r| r.sightings).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..rows.len().max(1) as f64, 0.0..100.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            // A label at each bar's middle (i + 0.5), none between.
            .x_labels(2 * rows.len().max(1) + 1)
            .x_label_formatter(&|x| {
                let i = x.floor();
                if (x - i - 0.5).abs() > 1e-6 {
                    return String::new();
                }
                rows.get(i as usize)
                    .map_or(String::new(), |r| format!("{} min", r.delay_min))
            })
            .x_desc("minutes from the escape to the 110 call")
            .y_desc("% of the flights")
            .draw()?;
        for (i, r) in rows.iter().enumerate() {
            let counts = [
                r.caught_by_ring[0],
                r.caught_by_ring[1],
                r.caught_by_ring[2],
                r.escaped_by_ring[1],
                r.escaped_by_ring[2],
            ];
            let mut bottom = 0.0;
            for (n, (_, colour)) in counts.iter().zip(PARTS) {
                let height = 100.0 * *n as f64 / r.flights.max(1) as f64;
                let x = i as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.15, bottom), (x + 0.85, bottom + height)],
                    colour.filled(),
                )))?;
                bottom += height;
            }
        }
        root.present()?;
    }
    // The legend as text under the plot, where it covers no bar.
    svg.push_str("\n<p>");
    for (label, colour) in PARTS {
        svg.push_str(&format!(
            "<span style=\"display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;\
             background:rgb({},{},{})\"></span>{label}",
            colour.0, colour.1, colour.2
        ));
    }
    svg.push_str("</p>");
    Ok(svg)
}
