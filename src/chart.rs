//! The briefing's chart: the fleet's health and its monthly cost, one point a day, drawn
//! in memory as a PNG. The font is embedded (DejaVu Sans Mono, its licence beside it in
//! `assets/fonts`), so no system font is needed.

use std::sync::Once;

use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::FontStyle;
use thiserror::Error;

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono.ttf");
const FAMILY: &str = "sans-serif";

#[derive(Debug, Error)]
pub enum ChartError {
    #[error("the chart cannot be drawn: {0}")]
    Draw(String),
    #[error("the chart cannot be encoded as PNG: {0}")]
    Encode(String),
    #[error("a chart of {0}x{1} pixels is outside 200x150 to 2000x2000")]
    Size(u32, u32),
}

/// One day of the chart; `None` where nothing was recorded that day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// The fleet's mean health score (0-100).
    pub health: Option<f64>,
    /// The monthly run-rate, in the currency's main unit.
    pub cost: Option<f64>,
}

fn font_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            tracing::error!("the embedded chart font was refused");
        }
    });
}

/// The chart as PNG bytes, `width` by `height` pixels; `currency` labels the cost axis.
pub fn health_and_cost(
    days: &[Day],
    currency: &str,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ChartError> {
    if !(200..=2000).contains(&width) || !(150..=2000).contains(&height) {
        return Err(ChartError::Size(width, height));
    }
    font_once();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    draw(&mut pixels, days, currency, width, height)
        .map_err(|e| ChartError::Draw(e.to_string()))?;
    encode(&pixels, width, height)
}

fn draw(
    pixels: &mut [u8],
    days: &[Day],
    currency: &str,
    width: u32,
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(pixels, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(height / 2);
    let health = Panel {
        caption: "Fleet health (mean score)".into(),
        top: 100.0,
        color: RGBColor(30, 150, 70),
        value: &|d: &Day| d.health,
    };
    panel(&top, days, &health, width, height)?;
    let cost = Panel {
        caption: format!("Monthly cost ({currency})"),
        top: days
            .iter()
            .filter_map(|d| d.cost)
            .fold(0f64, f64::max)
            .max(1.0)
            * 1.2,
        color: RGBColor(40, 90, 200),
        value: &|d: &Day| d.cost,
    };
    panel(&bottom, days, &cost, width, height)?;
    root.present()?;
    Ok(())
}

/// One half of the chart: a line over the days, from 0 to `top`.
struct Panel<'a> {
    caption: String,
    top: f64,
    color: RGBColor,
    value: &'a dyn Fn(&Day) -> Option<f64>,
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    days: &[Day],
    p: &Panel<'_>,
    width: u32,
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = days.len().max(2) as i32;
    let label = |i: &i32| {
        days.get(*i as usize)
            .map(|d| d.date.format("%d.%m").to_string())
            .unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.caption, (FAMILY, (height / 22).max(12) as i32))
        .margin(10)
        .x_label_area_size(height / 16)
        .y_label_area_size(width / 14)
        .build_cartesian_2d(0..n - 1, 0f64..p.top)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(5)
        .x_label_formatter(&label)
        .label_style((FAMILY, (height / 28).max(10) as i32))
        .draw()?;
    for run in runs(days, p.value) {
        chart.draw_series(LineSeries::new(run.clone(), p.color.stroke_width(3)))?;
        chart.draw_series(
            run.into_iter()
                .map(|at| Circle::new(at, 3, p.color.filled())),
        )?;
    }
    Ok(())
}

/// The stretches of consecutive days that have a value: a gap in the data is a gap in
/// the line, not a drop to zero.
fn runs(days: &[Day], value: &dyn Fn(&Day) -> Option<f64>) -> Vec<Vec<(i32, f64)>> {
    let mut out: Vec<Vec<(i32, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, d) in days.iter().enumerate() {
        match value(d) {
            Some(v) => current.push((i as i32, v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .write_image_data(pixels)
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days() -> Vec<Day> {
        let start = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        (0..14)
            .map(|i| Day {
                date: start + chrono::Days::new(i),
                health: (i != 5).then_some(80.0 + i as f64),
                cost: Some(20.0 + i as f64 * 1.5),
            })
            .collect()
    }

    #[test]
    fn the_chart_is_a_png_of_the_asked_size_and_not_blank() {
        let png_bytes = health_and_cost(&days(), "EUR", 640, 400).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (640, 400));
        let pixels = &pixels[..info.buffer_size()];
        let white = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let green = pixels.chunks(3).filter(|p| p == &[30, 150, 70]).count();
        let blue = pixels.chunks(3).filter(|p| p == &[40, 90, 200]).count();
        let total = pixels.len() / 3;
        assert!(white < total, "all white");
        assert!(
            green > 200 && blue > 200,
            "lines drawn: {green} green, {blue} blue"
        );
    }

    #[test]
    fn a_size_out_of_bounds_is_refused() {
        assert!(matches!(
            health_and_cost(&days(), "EUR", 10, 10),
            Err(ChartError::Size(10, 10))
        ));
    }
}
