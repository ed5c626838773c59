//! The HTML report: self-contained, with the three plots and every model's row.

mod common;

use cryptoviz_forecast::backtest::{self, Config, Horizon};
use cryptoviz_forecast::{evaluate, report};

#[test]
fn the_report_is_one_self_contained_page() {
    let bt = backtest::run(&common::simulated(4, 3), &Config::new(Horizon::Hour)).unwrap();
    let scores = evaluate(&bt);
    let html = report::html("bit<coin>", &bt, &scores);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 3, "three plots");
    assert!(!html.contains("<script"), "no script");
    assert!(!html.contains("src="), "no external resource");
    assert!(html.contains("bit&lt;coin&gt;"), "the title is escaped");
    for s in &scores {
        assert!(
            html.contains(&format!("<td>{}</td>", s.name)),
            "{} row",
            s.name
        );
    }
    // One dot per scored forecast in the hits plot, five per interval model in calibration
    // (three levels each).
    assert_eq!(html.matches("<circle").count(), bt.rows.len() + 5 * 3);
}
