//! A minimal SVG line-and-dot chart for the HTML report: linear axes, five ticks each,
//! polylines, dots with tooltips and filled bands. Enough for three plots without pulling a
//! plotting crate (plotters and friends render through a backend and fonts we do not need).

use std::fmt::Write;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 15.0;
const BOTTOM: f64 = 35.0;

/// Escapes text for HTML and SVG.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart being drawn over data ranges `x` and `y`.
pub(crate) struct Chart {
    x: (f64, f64),
    y: (f64, f64),
    body: String,
}

/// A range that contains `values`, padded 5 % (and never empty).
pub(crate) fn range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    (lo - pad, hi + pad)
}

impl Chart {
    pub(crate) fn new(x: (f64, f64), y: (f64, f64)) -> Self {
        Self {
            x,
            y,
            body: String::new(),
        }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }

    fn points(&self, pts: &[(f64, f64)]) -> String {
        let mut s = String::new();
        for &(x, y) in pts {
            let _ = write!(s, "{:.1},{:.1} ", self.px(x), self.py(y));
        }
        s
    }

    /// A polyline through `pts`.
    pub(crate) fn line(&mut self, pts: &[(f64, f64)], color: &str, width: f64) {
        let p = self.points(pts);
        let _ = writeln!(
            self.body,
            r#"<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{p}"/>"#
        );
    }

    /// A filled band between `lower` and `upper` (same x values).
    pub(crate) fn band(&mut self, lower: &[(f64, f64)], upper: &[(f64, f64)], color: &str) {
        let mut outline: Vec<(f64, f64)> = lower.to_vec();
        outline.extend(upper.iter().rev());
        let p = self.points(&outline);
        let _ = writeln!(
            self.body,
            r#"<polygon fill="{color}" fill-opacity="0.25" stroke="none" points="{p}"/>"#
        );
    }

    /// A dot with a tooltip.
    pub(crate) fn dot(&mut self, x: f64, y: f64, radius: f64, color: &str, title: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}" fill="{color}"><title>{}</title></circle>"#,
            self.px(x),
            self.py(y),
            escape(title)
        );
    }

    /// The finished `<svg>` with axes, tick labels from `x_tick`/`y_tick`, and a legend.
    pub(crate) fn finish(
        self,
        x_tick: impl Fn(f64) -> String,
        y_tick: impl Fn(f64) -> String,
        legend: &[(&str, &str)],
    ) -> String {
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">"#
        );
        s.push('\n');
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            x1 - x0,
            y1 - y0
        );
        for i in 0..5 {
            let f = i as f64 / 4.0;
            let xv = self.x.0 + f * (self.x.1 - self.x.0);
            let yv = self.y.0 + f * (self.y.1 - self.y.0);
            let (px, py) = (self.px(xv), self.py(yv));
            let _ = writeln!(
                s,
                r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{y1}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                y1 + 15.0,
                escape(&x_tick(xv))
            );
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0 - 5.0,
                py + 4.0,
                escape(&y_tick(yv))
            );
        }
        s.push_str(&self.body);
        for (i, (name, color)) in legend.iter().enumerate() {
            let y = TOP + 14.0 + 14.0 * i as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{y}">{}</text>"#,
                x0 + 10.0,
                y - 9.0,
                x0 + 25.0,
                escape(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_ranges_onto_the_plot_area() {
        let c = Chart::new((0.0, 10.0), (0.0, 1.0));
        assert_eq!(c.px(0.0), LEFT);
        assert_eq!(c.px(10.0), WIDTH - RIGHT);
        assert_eq!(c.py(0.0), HEIGHT - BOTTOM);
        assert_eq!(c.py(1.0), TOP);
        assert_eq!(range([1.0, 3.0]), (0.9, 3.1));
        assert_eq!(range([f64::NAN]), (0.0, 1.0));
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
