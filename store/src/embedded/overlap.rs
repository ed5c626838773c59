//! Which rows of a snapshot can still hold duplicates.
//!
//! Every file is sorted and deduplicated on its own, and the outputs of one compaction share
//! a rank and hold disjoint keys, so a (tags…, time) key can only be repeated by two files
//! of different ranks whose time ranges both contain its time. [`plan`] finds the *conflicts*:
//! the times covered by at least two files of different ranks, as disjoint intervals. A row
//! whose time is outside every conflict is the only row of its key and is read straight from
//! its file (projection, filters, limits and statistics pushed down to Parquet); only the
//! rows inside a conflict go through the deduplicating window. After an import in time
//! order, or once compaction has merged the tail, that is a few edges or nothing at all.
//!
//! Whole-file ranges overlap much more than a series' ranges do (`series.rs`), so
//! [`plan_files`] finds the conflicts series by series where the files know their series,
//! and marks a file's rows dirty by (series, time); a file whose series are unknown, or that
//! would need too many such terms, is split by time alone. Marking more rows dirty than
//! needed is always correct (the window keeps a key's only row), as long as every row that
//! may be repeated in another file of another rank is dirty in both.

use std::collections::BTreeMap;

use super::series::SeriesSpan;

/// A file's time range (inclusive) and dedup rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub rank: u64,
    pub min: i64,
    pub max: i64,
}

/// An inclusive time interval `[lo, hi]`.
pub(crate) type Interval = (i64, i64);

/// How to read each file of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The conflicts: sorted, disjoint and not adjacent.
    pub conflicts: Vec<Interval>,
    /// Per input span: its parts inside a conflict (rows to deduplicate), in time order.
    pub dirty: Vec<Vec<Interval>>,
    /// Per input span: the parts of its range outside every conflict (rows to read as they
    /// are), in time order. A span with no conflict has its whole range here.
    pub clean: Vec<Vec<Interval>>,
}

/// A file as the planner sees it: its time range (clipped to the query's) and its series.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileSpan<'a> {
    pub rank: u64,
    pub min: i64,
    pub max: i64,
    /// `None`: unknown, any series may be anywhere in `[min, max]`.
    pub series: Option<&'a [SeriesSpan]>,
}

/// The rows of one file that need the dedup window; the others are read as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dirty<'a> {
    /// None: the whole file is read as it is.
    Clean,
    /// The rows of these series within these times (sorted, disjoint).
    Series(Vec<(&'a [String], Vec<Interval>)>),
    /// The rows within `dirty`, any series; `clean` is the rest of the file's range.
    Times {
        dirty: Vec<Interval>,
        clean: Vec<Interval>,
    },
}

/// Which rows of each file need dedup, series by series where the series are known. A file
/// that would need more than `max_terms` (series, times) terms is split by time instead.
pub(crate) fn plan_files<'a>(files: &[FileSpan<'a>], max_terms: usize) -> Vec<Dirty<'a>> {
    let clip = |f: &FileSpan<'_>, s: &SeriesSpan| Span {
        rank: f.rank,
        min: s.min.max(f.min),
        max: s.max.min(f.max),
    };
    let whole = |f: &FileSpan<'_>| Span {
        rank: f.rank,
        min: f.min,
        max: f.max,
    };
    let wild: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].series.is_none())
        .collect();
    let mut by_key: BTreeMap<&'a [String], Vec<(usize, Span)>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for s in f.series.unwrap_or_default() {
            by_key.entry(&s.key).or_default().push((i, clip(f, s)));
        }
    }
    let mut terms: Vec<Vec<(&'a [String], Vec<Interval>)>> = vec![Vec::new(); files.len()];
    let mut coarse: Vec<Vec<Interval>> = vec![Vec::new(); files.len()];
    for (key, mut spans) in by_key {
        // A file of unknown series may hold this one anywhere in its range.
        spans.extend(wild.iter().map(|&i| (i, whole(&files[i]))));
        let only: Vec<Span> = spans.iter().map(|(_, s)| *s).collect();
        let p = plan(&only);
        for ((i, _), dirty) in spans.into_iter().zip(p.dirty) {
            if dirty.is_empty() {
                continue;
            }
            if files[i].series.is_some() {
                terms[i].push((key, dirty));
            } else {
                coarse[i].extend(dirty);
            }
        }
    }
    // Files of unknown series against each other.
    let p = plan(&wild.iter().map(|&i| whole(&files[i])).collect::<Vec<_>>());
    for (&i, dirty) in wild.iter().zip(p.dirty) {
        coarse[i].extend(dirty);
    }
    files
        .iter()
        .zip(terms.into_iter().zip(coarse))
        .map(|(f, (terms, mut coarse))| {
            if f.series.is_some() && terms.len() <= max_terms {
                return if terms.is_empty() {
                    Dirty::Clean
                } else {
                    Dirty::Series(terms)
                };
            }
            coarse.extend(terms.into_iter().flat_map(|(_, t)| t));
            let dirty = merge(coarse);
            if dirty.is_empty() {
                return Dirty::Clean;
            }
            let clean = complement((f.min, f.max), &dirty);
            Dirty::Times { dirty, clean }
        })
        .collect()
}

/// Splits every span into the parts that may hold a duplicate key (a time also covered by a
/// span of another rank) and the parts that cannot.
pub(crate) fn plan(spans: &[Span]) -> Plan {
    let conflicts = merge(raw_conflicts(spans));
    let mut dirty = Vec::with_capacity(spans.len());
    let mut clean = Vec::with_capacity(spans.len());
    for s in spans {
        // Conflicts are sorted and disjoint: the ones touching `s` are a contiguous run.
        let first = conflicts.partition_point(|c| c.1 < s.min);
        let touching: Vec<Interval> = conflicts[first..]
            .iter()
            .take_while(|c| c.0 <= s.max)
            .map(|&(lo, hi)| (lo.max(s.min), hi.min(s.max)))
            .collect();
        clean.push(complement((s.min, s.max), &touching));
        dirty.push(touching);
    }
    Plan {
        conflicts,
        dirty,
        clean,
    }
}

/// Pairwise intersections of spans of different ranks, unmerged: one sweep in order of start.
///
/// Every span intersects the earlier-starting spans of other ranks in `[min, min(max, e)]`,
/// `e` the latest end among them; the sweep keeps the latest end and the latest end among
/// ranks other than that one's, which answers "latest end of a rank other than r" for any r.
fn raw_conflicts(spans: &[Span]) -> Vec<Interval> {
    let mut order: Vec<&Span> = spans.iter().filter(|s| s.min <= s.max).collect();
    order.sort_by_key(|s| s.min);
    // (latest end, its rank), and the latest end of any other rank.
    let mut best: Option<(i64, u64)> = None;
    let mut other: Option<i64> = None;
    let mut out = Vec::new();
    for s in order {
        let end_elsewhere = match best {
            Some((end, rank)) if rank != s.rank => Some(end),
            Some(_) => other,
            None => None,
        };
        if let Some(end) = end_elsewhere
            && end >= s.min
        {
            out.push((s.min, s.max.min(end)));
        }
        match best {
            Some((end, rank)) if s.max > end => {
                if rank != s.rank {
                    other = Some(end);
                }
                best = Some((s.max, s.rank));
            }
            Some((_, rank)) => {
                if rank != s.rank {
                    other = Some(other.map_or(s.max, |o| o.max(s.max)));
                }
            }
            None => best = Some((s.max, s.rank)),
        }
    }
    out
}

/// Sorts intervals and merges the overlapping and adjacent ones.
fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (lo, hi) in intervals {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// `range` minus sorted disjoint `holes`.
fn complement(range: Interval, holes: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut from = Some(range.0);
    for &(lo, hi) in holes {
        let Some(start) = from else { break };
        if lo > start {
            out.push((start, (lo - 1).min(range.1)));
        }
        from = hi.checked_add(1).filter(|next| *next <= range.1);
    }
    if let Some(start) = from
        && start <= range.1
    {
        out.push((start, range.1));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn span(rank: u64, min: i64, max: i64) -> Span {
        Span { rank, min, max }
    }

    #[test]
    fn disjoint_files_and_one_compaction_need_no_dedup() {
        // Three writes in time order, then the three outputs of one compaction (one rank,
        // overlapping times, disjoint keys).
        let p = plan(&[
            span(1, 0, 9),
            span(2, 10, 19),
            span(3, 20, 29),
            span(4, 30, 59),
            span(4, 30, 59),
            span(4, 31, 40),
        ]);
        assert!(p.conflicts.is_empty());
        assert!(p.dirty.iter().all(Vec::is_empty));
        assert_eq!(p.clean[0], [(0, 9)]);
    }

    #[test]
    fn only_the_overlap_of_two_ranks_is_dirty() {
        let p = plan(&[span(1, 0, 100), span(2, 90, 200), span(3, 300, 400)]);
        assert_eq!(p.conflicts, [(90, 100)]);
        assert_eq!(p.dirty[0], [(90, 100)]);
        assert_eq!(p.clean[0], [(0, 89)]);
        assert_eq!(p.clean[1], [(101, 200)]);
        assert!(p.dirty[2].is_empty());
        // A late write inside an older file's range: that file is split in three.
        let p = plan(&[span(1, 0, 100), span(2, 40, 50)]);
        assert_eq!(p.clean[0], [(0, 39), (51, 100)]);
        assert!(p.clean[1].is_empty());
    }

    #[test]
    fn the_extremes_of_time_do_not_overflow() {
        let p = plan(&[span(1, i64::MIN, i64::MAX), span(2, i64::MAX, i64::MAX)]);
        assert_eq!(p.conflicts, [(i64::MAX, i64::MAX)]);
        assert_eq!(p.clean[0], [(i64::MIN, i64::MAX - 1)]);
        let p = plan(&[span(1, i64::MIN, i64::MAX), span(2, i64::MIN, i64::MIN)]);
        assert_eq!(p.clean[0], [(i64::MIN + 1, i64::MAX)]);
    }

    fn spans() -> impl Strategy<Value = Vec<Span>> {
        prop::collection::vec((0u64..4, -20i64..20, 0i64..15), 0..8).prop_map(|v| {
            v.into_iter()
                .map(|(rank, min, len)| span(rank, min, min + len))
                .collect()
        })
    }

    fn key(s: &str) -> Box<[String]> {
        vec![s.to_owned()].into_boxed_slice()
    }

    #[test]
    fn files_overlapping_in_time_but_not_per_series_are_clean() {
        // Two partitions' coins flushed together: each file spans both coins' hours, but
        // every coin's own ranges follow each other.
        let first = [
            SeriesSpan {
                key: key("a"),
                min: 0,
                max: 50,
            },
            SeriesSpan {
                key: key("b"),
                min: 0,
                max: 20,
            },
        ];
        let second = [
            SeriesSpan {
                key: key("a"),
                min: 51,
                max: 90,
            },
            SeriesSpan {
                key: key("b"),
                min: 21,
                max: 60,
            },
        ];
        let f = |rank, s: &'static [SeriesSpan]| FileSpan {
            rank,
            min: s.iter().map(|s| s.min).min().unwrap(),
            max: s.iter().map(|s| s.max).max().unwrap(),
            series: Some(s),
        };
        let first: &'static [SeriesSpan] = Box::leak(Box::new(first));
        let second: &'static [SeriesSpan] = Box::leak(Box::new(second));
        let files = [f(1, first), f(2, second)];
        assert_eq!(plan_files(&files, 64), [Dirty::Clean, Dirty::Clean]);
        // A late write of `b` at 10: only b's rows at 10 are dirty in the first file.
        let late: &'static [SeriesSpan] = Box::leak(Box::new([SeriesSpan {
            key: key("b"),
            min: 10,
            max: 10,
        }]));
        let files = [f(1, first), f(2, second), f(3, late)];
        let plans = plan_files(&files, 64);
        assert_eq!(
            plans[0],
            Dirty::Series(vec![(&*first[1].key, vec![(10, 10)])])
        );
        assert_eq!(plans[1], Dirty::Clean);
        // Unknown series, or too many terms: by time.
        let files = [
            f(1, first),
            FileSpan {
                series: None,
                ..f(3, late)
            },
        ];
        assert_eq!(
            plan_files(&files, 64)[0],
            Dirty::Series(vec![
                (&*first[0].key, vec![(10, 10)]),
                (&*first[1].key, vec![(10, 10)])
            ])
        );
        let files = [f(1, first), f(2, second), f(3, late)];
        assert_eq!(
            plan_files(&files, 0)[0],
            Dirty::Times {
                dirty: vec![(10, 10)],
                clean: vec![(0, 9), (11, 50)]
            }
        );
    }

    /// Files of random series spans (or unknown series), ranks and ranges.
    fn files() -> impl Strategy<Value = Vec<(u64, Option<Vec<SeriesSpan>>)>> {
        let series =
            prop::collection::btree_map(0usize..3, (-10i64..10, 0i64..10), 1..3).prop_map(|m| {
                m.into_iter()
                    .map(|(k, (min, len))| SeriesSpan {
                        key: key(["a", "b", "c"][k]),
                        min,
                        max: min + len,
                    })
                    .collect::<Vec<_>>()
            });
        prop::collection::vec((0u64..3, prop::option::weighted(0.8, series)), 0..6)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// Every (series, time) that two files of different ranks may both hold is dirty in
        /// both; with every series known and terms to spare, nothing else is dirty.
        #[test]
        fn plan_files_marks_every_possible_duplicate(raw in files(), max_terms in 0usize..4) {
            let spans: Vec<FileSpan<'_>> = raw
                .iter()
                .map(|(rank, series)| {
                    let (min, max) = match series {
                        Some(s) => (
                            s.iter().map(|s| s.min).min().unwrap(),
                            s.iter().map(|s| s.max).max().unwrap(),
                        ),
                        None => (-5, 12),
                    };
                    FileSpan { rank: *rank, min, max, series: series.as_deref() }
                })
                .collect();
            let plans = plan_files(&spans, max_terms);
            let holds = |f: &FileSpan<'_>, k: &str, t: i64| match f.series {
                Some(s) => s.iter().any(|s| &*s.key[0] == k && s.min <= t && t <= s.max),
                None => f.min <= t && t <= f.max,
            };
            let within = |iv: &[Interval], t: i64| iv.iter().any(|&(lo, hi)| lo <= t && t <= hi);
            let dirty = |p: &Dirty<'_>, k: &str, t: i64| match p {
                Dirty::Clean => false,
                Dirty::Series(terms) => terms.iter().any(|(key, iv)| &*key[0] == k && within(iv, t)),
                Dirty::Times { dirty, .. } => within(dirty, t),
            };
            let all_known = spans.iter().all(|f| f.series.is_some());
            for k in ["a", "b", "c"] {
                for t in -12..22 {
                    for (i, a) in spans.iter().enumerate() {
                        if !holds(a, k, t) {
                            continue;
                        }
                        let shared = spans.iter().any(|b| b.rank != a.rank && holds(b, k, t));
                        if shared {
                            prop_assert!(dirty(&plans[i], k, t), "file {} {} {}: {:?}", i, k, t, plans[i]);
                        } else if all_known && max_terms >= 3 {
                            prop_assert!(!dirty(&plans[i], k, t), "file {} {} {}: {:?}", i, k, t, plans[i]);
                        }
                        if let Dirty::Times { dirty, clean } = &plans[i] {
                            prop_assert_ne!(within(dirty, t), within(clean, t));
                        }
                    }
                }
            }
        }

        /// Against the definition, time by time: a time is in a conflict iff two spans of
        /// different ranks cover it; every span's time is in exactly one of its clean or
        /// dirty parts, dirty iff in a conflict.
        #[test]
        fn matches_the_definition_at_every_time(spans in spans()) {
            let p = plan(&spans);
            let inside = |set: &[Interval], t: i64| set.iter().any(|&(lo, hi)| lo <= t && t <= hi);
            for w in p.conflicts.windows(2) {
                prop_assert!(w[0].1.saturating_add(1) < w[1].0, "{:?}", p.conflicts);
            }
            for t in -25..40 {
                let covering: Vec<&Span> =
                    spans.iter().filter(|s| s.min <= t && t <= s.max).collect();
                let conflict = covering.iter().any(|a| covering.iter().any(|b| a.rank != b.rank));
                prop_assert_eq!(inside(&p.conflicts, t), conflict, "t = {}", t);
                for (i, s) in spans.iter().enumerate() {
                    let in_span = s.min <= t && t <= s.max;
                    prop_assert_eq!(inside(&p.dirty[i], t), in_span && conflict);
                    prop_assert_eq!(inside(&p.clean[i], t), in_span && !conflict);
                }
            }
        }
    }
}
