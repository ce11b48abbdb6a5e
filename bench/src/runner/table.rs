//! The results as markdown: a header of facts, the table of medians and
//! goro/peer ratios, every sample, and any failures.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::stats::{median, min_max};
use super::Impl;
use crate::spec::{Benchmark, Better};

/// One run of one benchmark program.
#[derive(Clone, Debug)]
pub enum Sample {
    /// The value it reported.
    Ok(f64),
    /// Why it produced no valid value.
    Failed(String),
    /// The implementation cannot run this benchmark, for this reason.
    Unsupported(String),
}

/// All runs of one benchmark.
#[derive(Debug)]
pub struct BenchResult {
    /// The benchmark.
    pub bench: &'static Benchmark,
    /// The procs it ran with.
    pub procs: usize,
    /// Samples per implementation, in run order.
    pub samples: BTreeMap<Impl, Vec<Sample>>,
}

impl BenchResult {
    /// No samples yet.
    pub fn new(bench: &'static Benchmark, procs: usize) -> Self {
        BenchResult {
            bench,
            procs,
            samples: BTreeMap::new(),
        }
    }

    /// The successful values of `imp`, and how many runs failed.
    fn values(&self, imp: Impl) -> (Vec<f64>, usize) {
        let samples = self.samples.get(&imp).map_or(&[][..], Vec::as_slice);
        let values: Vec<f64> = samples
            .iter()
            .filter_map(|s| match s {
                Sample::Ok(v) => Some(*v),
                _ => None,
            })
            .collect();
        let failed = samples
            .iter()
            .filter(|s| matches!(s, Sample::Failed(_)))
            .count();
        (values, failed)
    }

    /// Why `imp` does not support this benchmark, if it said so.
    pub fn unsupported(&self, imp: Impl) -> Option<&str> {
        self.samples.get(&imp)?.iter().find_map(|s| match s {
            Sample::Unsupported(why) => Some(why.as_str()),
            _ => None,
        })
    }

    /// The median of `imp`, if it ran and never failed.
    pub fn median(&self, imp: Impl) -> Option<f64> {
        match self.values(imp) {
            (values, 0) => median(&values),
            _ => None,
        }
    }
}

/// Everything the report shows.
#[derive(Debug)]
pub struct Report {
    /// Facts for the header (date, machine, versions...), in order.
    pub facts: Vec<(String, String)>,
    /// Implementations asked for, in column order.
    pub impls: Vec<Impl>,
    /// Implementations that could not be run, with the reason.
    pub unavailable: Vec<(Impl, String)>,
    /// One entry per benchmark run.
    pub results: Vec<BenchResult>,
}

/// A measured value with a precision that suits its size.
pub fn format_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `goro ÷ peer`, annotated with which side it favours.
pub fn format_ratio(goro: f64, peer: f64, better: Better) -> String {
    if peer == 0.0 {
        return "n/a".into();
    }
    let ratio = goro / peer;
    let goro_better = match better {
        Better::Lower => ratio < 1.0,
        Better::Higher => ratio > 1.0,
    };
    let verdict = if (ratio - 1.0).abs() < 0.005 {
        "even"
    } else if goro_better {
        "goro better"
    } else {
        "goro worse"
    };
    format!("{ratio:.2} ({verdict})")
}

fn cell(result: &BenchResult, imp: Impl) -> String {
    match result.values(imp) {
        (values, 0) if values.is_empty() && result.unsupported(imp).is_some() => {
            "n/a (unsupported)".into()
        }
        (values, 0) if values.is_empty() => "n/a".into(),
        (values, 0) => median(&values).map_or("n/a".into(), format_value),
        (values, failed) => format!("FAIL ({failed} of {})", values.len() + failed),
    }
}

fn one_line(text: &str) -> String {
    let text = text.trim().replace('|', "\\|");
    let mut line = text.lines().map(str::trim).collect::<Vec<_>>().join(" / ");
    if line.len() > 300 {
        let mut cut = 300;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

/// Render the report as markdown.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# goro benchmark comparison\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    for (key, value) in &report.facts {
        let _ = writeln!(w, "| {key} | {} |", one_line(value));
    }
    for (imp, why) in &report.unavailable {
        let _ = writeln!(w, "| {} not run | {} |", imp.label(), one_line(why));
    }

    let peers: Vec<Impl> = if report.impls.contains(&Impl::Goro) {
        report
            .impls
            .iter()
            .copied()
            .filter(|&i| i != Impl::Goro)
            .collect()
    } else {
        Vec::new()
    };
    let _ = writeln!(w, "\n## Medians\n");
    let mut head = String::from("| benchmark | metric | better | procs |");
    let mut rule = String::from("|---|---|---|--:|");
    for imp in &report.impls {
        let _ = write!(head, " {} |", imp.label());
        rule.push_str("--:|");
    }
    for peer in &peers {
        let _ = write!(head, " goro÷{} |", peer.label());
        rule.push_str("--:|");
    }
    let _ = writeln!(w, "{head}\n{rule}");
    for r in &report.results {
        let mut row = format!(
            "| {} | {} | {} | {} |",
            r.bench.name,
            r.bench.unit,
            r.bench.better.as_str(),
            r.procs
        );
        for &imp in &report.impls {
            let _ = write!(row, " {} |", cell(r, imp));
        }
        for &peer in &peers {
            let ratio = match (r.median(Impl::Goro), r.median(peer)) {
                (Some(g), Some(p)) => format_ratio(g, p, r.bench.better),
                _ => "n/a".into(),
            };
            let _ = write!(row, " {ratio} |");
        }
        let _ = writeln!(w, "{row}");
    }
    let _ = writeln!(
        w,
        "\nEach figure is the median over the repetitions. Each ratio is goro's \
         median divided by the peer's: where lower is better, a ratio below 1 \
         means goro did better; where higher is better, a ratio above 1 means \
         goro did better. The note after each ratio says which. FAIL means a \
         program did not report a valid result (see Failures); n/a \
         (unsupported) means the implementation cannot run that benchmark \
         (see Not supported)."
    );

    let _ = writeln!(w, "\n## What is measured\n");
    for r in &report.results {
        let _ = writeln!(
            w,
            "- **{}** ({}, {} is better): {}.",
            r.bench.name,
            r.bench.unit,
            r.bench.better.as_str(),
            r.bench.summary
        );
    }

    let mut sample_rows = Vec::new();
    for r in &report.results {
        for &imp in &report.impls {
            let (values, failed) = r.values(imp);
            let Some((min, max)) = min_max(&values) else {
                continue;
            };
            let med = median(&values).unwrap_or(f64::NAN);
            let spread = if med > 0.0 {
                (max - min) / med * 100.0
            } else {
                0.0
            };
            let list: Vec<String> = values.iter().map(|&v| format_value(v)).collect();
            let failed = if failed > 0 {
                format!(" + {failed} failed")
            } else {
                String::new()
            };
            sample_rows.push(format!(
                "| {} | {} | {} | {} | {} | {spread:.0}% | {}{failed} |",
                r.bench.name,
                imp.label(),
                format_value(med),
                format_value(min),
                format_value(max),
                list.join(", ")
            ));
        }
    }
    if !sample_rows.is_empty() {
        let _ = writeln!(
            w,
            "\n## All samples\n\n\
             | benchmark | implementation | median | min | max | spread | samples (run order) |\n\
             |---|---|--:|--:|--:|--:|---|\n{}",
            sample_rows.join("\n")
        );
    }

    // One line per benchmark, implementation and distinct reason.
    let mut failures = Vec::new();
    for r in &report.results {
        for (imp, samples) in &r.samples {
            let mut reasons: Vec<(String, Vec<usize>)> = Vec::new();
            for (i, sample) in samples.iter().enumerate() {
                let Sample::Failed(why) = sample else {
                    continue;
                };
                let why = one_line(why);
                match reasons.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, reps)) => reps.push(i + 1),
                    None => reasons.push((why, vec![i + 1])),
                }
            }
            for (why, reps) in reasons {
                let reps: Vec<String> = reps.iter().map(usize::to_string).collect();
                let plural = if reps.len() > 1 { "s" } else { "" };
                failures.push(format!(
                    "- {} on {}, repetition{plural} {}: {why}",
                    r.bench.name,
                    imp.label(),
                    reps.join(", ")
                ));
            }
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(w, "\n## Failures\n\n{}", failures.join("\n"));
    }

    let mut unsupported = Vec::new();
    for r in &report.results {
        for &imp in &report.impls {
            if let Some(why) = r.unsupported(imp) {
                unsupported.push(format!(
                    "- {} on {}: {}",
                    r.bench.name,
                    imp.label(),
                    one_line(why)
                ));
            }
        }
    }
    if !unsupported.is_empty() {
        let _ = writeln!(w, "\n## Not supported\n\n{}", unsupported.join("\n"));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;

    #[test]
    fn ratio_direction() {
        assert_eq!(
            format_ratio(50.0, 100.0, Better::Lower),
            "0.50 (goro better)"
        );
        assert_eq!(
            format_ratio(200.0, 100.0, Better::Lower),
            "2.00 (goro worse)"
        );
        assert_eq!(
            format_ratio(200.0, 100.0, Better::Higher),
            "2.00 (goro better)"
        );
        assert_eq!(format_ratio(100.0, 100.0, Better::Higher), "1.00 (even)");
    }

    #[test]
    fn value_precision() {
        assert_eq!(format_value(1234.56), "1235");
        assert_eq!(format_value(12.345), "12.3");
        assert_eq!(format_value(1.2345), "1.23");
    }

    #[test]
    fn renders_medians_ratios_and_failures() {
        let spawn = spec::find("spawn").unwrap();
        let mut r = BenchResult::new(spawn, 2);
        r.samples.insert(
            Impl::Goro,
            vec![Sample::Ok(100.0), Sample::Ok(300.0), Sample::Ok(200.0)],
        );
        r.samples.insert(Impl::Go, vec![Sample::Ok(400.0); 3]);
        let bad = || Sample::Failed("counter is 3 | bad".into());
        r.samples
            .insert(Impl::May, vec![Sample::Ok(1.0), bad(), bad()]);
        let report = Report {
            facts: vec![("procs".into(), "2".into())],
            impls: Impl::ALL.to_vec(),
            unavailable: vec![(Impl::Tokio, "binary missing".into())],
            results: vec![r],
        };
        let md = render(&report);
        assert!(
            md.contains(
                "| spawn | ns/goroutine | lower | 2 | 200 | 400 | FAIL (2 of 3) | n/a | \
             0.50 (goro better) | n/a | n/a |"
            ),
            "{md}"
        );
        assert!(md.contains("| tokio not run | binary missing |"));
        assert!(md.contains("- spawn on may, repetitions 2, 3: counter is 3 \\| bad"));
        assert!(md.contains("| spawn | goro | 200 | 100 | 300 | 100% | 100, 300, 200 |"));
    }

    #[test]
    fn renders_unsupported() {
        let skynet = spec::find("skynet").unwrap();
        let mut r = BenchResult::new(skynet, 2);
        r.samples.insert(Impl::Goro, vec![Sample::Ok(300.0)]);
        r.samples
            .insert(Impl::May, vec![Sample::Unsupported("too deep".into())]);
        let report = Report {
            facts: vec![],
            impls: vec![Impl::Goro, Impl::May],
            unavailable: vec![],
            results: vec![r],
        };
        let md = render(&report);
        assert!(
            md.contains("| skynet | ms | lower | 2 | 300 | n/a (unsupported) | n/a |"),
            "{md}"
        );
        assert!(md.contains("- skynet on may: too deep"));
        assert!(!md.contains("## Failures"));
    }
}
