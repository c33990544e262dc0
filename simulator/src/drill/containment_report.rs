//! The containment drill's report: one self-contained HTML file (inline
//! SVG, nothing fetched), the sweep's table and the share caught against
//! the report delay, with and without camera sightings.

use plotters::prelude::*;

use crate::drill::containment_sweep::Sweep;

const WIDTH: u32 = 900;
const WITH: RGBColor = RGBColor(34, 139, 34);
const WITHOUT: RGBColor = RGBColor(200, 40, 40);

/// The report as HTML.
pub fn containment_html(sweep: &Sweep) -> String {
    let plot = match interception_plot(sweep) {
        Ok(svg) => svg,
        Err(e) => format!("<p>could not draw: {}</p>", escape(&e.to_string())),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>kuaifan containment drill</title>\
         <style>body{{font-family:sans-serif;max-width:{WIDTH}px;margin:2em auto}}\
         pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style></head><body>\n\
         <h1>kuaifan containment drill (三层查控圈)</h1>\n<pre>{text}</pre>\n\
         <h2>Suspects caught against the report delay</h2>\n{plot}\n\
         <p>Green: with the fixed checkpoints' camera sightings; red: without.</p>\n\
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
