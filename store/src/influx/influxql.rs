//! InfluxQL text for [`Query`]s. Every name is a double-quoted identifier and every value a
//! single-quoted literal, both escaped, so no caller-supplied string is spliced in raw.

use std::fmt::Write as _;

use crate::query::{Agg, Downsample, Query, TimeRange};

/// Largest timestamp InfluxDB stores. `GROUP BY time` without an upper bound stops at
/// `now()`, so downsampling queries always carry an explicit one.
pub(crate) const MAX_TIME_NS: i64 = i64::MAX - 1;

/// `"name"` with `\`, `"` and newlines escaped.
pub(crate) fn ident(s: &str) -> String {
    quote(s, '"')
}

/// `'value'` with `\`, `'` and newlines escaped.
pub(crate) fn string_lit(s: &str) -> String {
    quote(s, '\'')
}

fn quote(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\n' => out.push_str(r"\n"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// ` WHERE …` for a time range and tag equalities (empty when unconstrained).
pub(crate) fn where_clause(
    range: &TimeRange,
    tags: &[(String, String)],
    bound_end: bool,
) -> String {
    let mut conds: Vec<String> = Vec::new();
    if let Some(s) = range.start_ns {
        conds.push(format!("time >= {s}"));
    }
    match range.end_ns {
        Some(e) => conds.push(format!("time < {e}")),
        None if bound_end => conds.push(format!("time <= {MAX_TIME_NS}")),
        None => {}
    }
    for (t, v) in tags {
        conds.push(format!("{}::tag = {}", ident(t), string_lit(v)));
    }
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

fn agg_fn(agg: Agg) -> &'static str {
    match agg {
        Agg::First => "first",
        Agg::Last => "last",
        Agg::Min => "min",
        Agg::Max => "max",
        Agg::Sum => "sum",
        Agg::Mean => "mean",
        Agg::Count => "count",
    }
}

/// The `SELECT` of a query. `fields` are the raw fields to read (ignored when
/// downsampling). Grouped by every tag, so `LIMIT` applies per series: the caller merges the
/// series and applies the global limit again.
pub(crate) fn select(q: &Query, fields: &[String]) -> String {
    let mut s = String::from("SELECT ");
    match &q.downsample {
        Some(Downsample {
            every_ns,
            aggregates,
        }) => {
            let cols: Vec<String> = aggregates
                .iter()
                .map(|(f, agg, out)| format!("{}({}) AS {}", agg_fn(*agg), ident(f), ident(out)))
                .collect();
            s.push_str(&cols.join(", "));
            write!(s, " FROM {}", ident(&q.measurement)).expect("write to String");
            s.push_str(&where_clause(&q.range, &q.tags, true));
            write!(s, " GROUP BY time({every_ns}ns), * fill(none)").expect("write to String");
        }
        None => {
            let cols: Vec<String> = fields
                .iter()
                .map(|f| format!("{}::field", ident(f)))
                .collect();
            s.push_str(&cols.join(", "));
            write!(s, " FROM {}", ident(&q.measurement)).expect("write to String");
            s.push_str(&where_clause(&q.range, &q.tags, false));
            s.push_str(" GROUP BY *");
        }
    }
    if q.descending {
        s.push_str(" ORDER BY time DESC");
    }
    // InfluxDB 1.x applies LIMIT per aggregate iterator, which yields partial rows when a
    // downsample has several aggregates: only raw selects get it pushed down.
    if let (Some(n), None) = (q.limit, &q.downsample) {
        write!(s, " LIMIT {n}").expect("write to String");
    }
    s
}

/// The latest row of every series matching `tags`.
pub(crate) fn last(measurement: &str, tags: &[(String, String)]) -> String {
    format!(
        "SELECT *::field FROM {}{} GROUP BY * ORDER BY time DESC LIMIT 1",
        ident(measurement),
        where_clause(&TimeRange::default(), tags, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Downsample;

    #[test]
    fn influxql_escapes_identifiers_and_literals() {
        assert_eq!(ident(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string_lit("it's"), r"'it\'s'");
        let evil = "x\\' \" OR 1=1 --\n";
        let q = Query::new("crypto_market").tag("crypto_id", evil);
        let text = select(&q, &["price".into()]);
        assert_eq!(
            text,
            r#"SELECT "price"::field FROM "crypto_market" WHERE "crypto_id"::tag = 'x\\\' " OR 1=1 --\n' GROUP BY *"#
        );
        // The literal closes only at the final quote: every inner `'` is preceded by an odd
        // number of backslashes.
        let lit = string_lit(evil);
        let inner = &lit[1..lit.len() - 1];
        let mut backslashes = 0;
        for c in inner.chars() {
            if c == '\'' {
                assert_eq!(backslashes % 2, 1, "unescaped quote in {lit}");
            }
            backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        }
    }

    #[test]
    fn influxql_select_shapes() {
        let q = Query::new("m")
            .range(10, 20)
            .tag("source", "coingecko")
            .descending()
            .limit(5);
        assert_eq!(
            select(&q, &["p".into(), "v".into()]),
            r#"SELECT "p"::field, "v"::field FROM "m" WHERE time >= 10 AND time < 20 AND "source"::tag = 'coingecko' GROUP BY * ORDER BY time DESC LIMIT 5"#
        );
        let q = Query::new("m").downsample(
            Downsample::every(60_000_000_000)
                .agg("p", Agg::Mean, "avg")
                .agg("p", Agg::Count, "n"),
        );
        assert_eq!(
            select(&q, &[]),
            format!(
                r#"SELECT mean("p") AS "avg", count("p") AS "n" FROM "m" WHERE time <= {MAX_TIME_NS} GROUP BY time(60000000000ns), * fill(none)"#
            )
        );
        assert_eq!(
            last("m", &[("c".into(), "b".into())]),
            r#"SELECT *::field FROM "m" WHERE "c"::tag = 'b' GROUP BY * ORDER BY time DESC LIMIT 1"#
        );
    }
}
