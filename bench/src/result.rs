//! The `RESULT` line protocol.
//!
//! Every benchmark program, in every language, prints exactly one line
//!
//! ```text
//! RESULT <name> <value> <unit>
//! ```
//!
//! on standard output when the benchmark ran and its result validated, and
//! exits with status 0 — plus one such line for each entry the registry says
//! the same run reports ([`crate::spec::Benchmark::reported_by`], e.g.
//! `timers_cpu` after `timers`). It may print other lines (by convention
//! starting with `INFO`). On a validation failure it prints the reason on
//! standard error and exits non-zero, with no `RESULT` line.
//!
//! An implementation that cannot run a benchmark at all prints instead
//!
//! ```text
//! UNSUPPORTED <name> <reason...>
//! ```
//!
//! and exits 0; the table then shows "n/a" with the reason.

/// A parsed `RESULT` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Reported {
    /// Benchmark name.
    pub name: String,
    /// The measured value, in `unit`.
    pub value: f64,
    /// Unit as printed.
    pub unit: String,
}

/// Format a `RESULT` line (without the newline).
pub fn format_line(name: &str, value: f64, unit: &str) -> String {
    format!("RESULT {name} {value:.3} {unit}")
}

/// Format an `UNSUPPORTED` line (without the newline).
pub fn format_unsupported(name: &str, reason: &str) -> String {
    format!("UNSUPPORTED {name} {}", reason.replace('\n', " "))
}

/// The reason of an `UNSUPPORTED` line for `name`, if the output has one.
pub fn parse_unsupported(stdout: &str, name: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.strip_prefix("UNSUPPORTED ")?;
        let (got, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        (got == name).then(|| reason.trim().to_string())
    })
}

/// Find the `RESULT` lines for `names`, exactly one each, in a program's
/// standard output; a `RESULT` line for any other name is an error.
pub fn parse_all(stdout: &str, names: &[&str]) -> Result<Vec<Reported>, String> {
    let mut found: Vec<Option<Reported>> = vec![None; names.len()];
    for line in stdout.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("RESULT") {
            continue;
        }
        let rest: Vec<&str> = fields.collect();
        let [got_name, value, unit] = rest[..] else {
            return Err(format!("malformed RESULT line: {line:?}"));
        };
        let Some(slot) = names.iter().position(|n| *n == got_name) else {
            return Err(format!(
                "RESULT line for {got_name:?}, expected {}",
                names.join(", ")
            ));
        };
        let value: f64 = value
            .parse()
            .map_err(|_| format!("RESULT value is not a number: {line:?}"))?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!("RESULT value out of range: {line:?}"));
        }
        if found[slot].is_some() {
            return Err(format!("more than one RESULT line for {got_name:?}"));
        }
        found[slot] = Some(Reported {
            name: got_name.to_string(),
            value,
            unit: unit.to_string(),
        });
    }
    found
        .into_iter()
        .zip(names)
        .map(|(r, name)| r.ok_or_else(|| format!("no RESULT line for {name:?} in the output")))
        .collect()
}

/// Find the single `RESULT` line for `name` in a program's standard output.
pub fn parse(stdout: &str, name: &str) -> Result<Reported, String> {
    parse_all(stdout, &[name]).map(|mut v| v.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let out = format!(
            "INFO hi\n{}\n",
            format_line("spawn", 123.4567, "ns/goroutine")
        );
        let r = parse(&out, "spawn").unwrap();
        assert_eq!(r.name, "spawn");
        assert!((r.value - 123.457).abs() < 1e-9);
        assert_eq!(r.unit, "ns/goroutine");
    }

    #[test]
    fn rejects_bad_output() {
        assert!(parse("", "spawn").is_err());
        assert!(parse("RESULT spawn 1.0\n", "spawn").is_err());
        assert!(parse("RESULT yield 1.0 ns/yield\n", "spawn").is_err());
        assert!(parse("RESULT spawn abc ns\n", "spawn").is_err());
        assert!(parse("RESULT spawn NaN ns\n", "spawn").is_err());
        assert!(parse("RESULT spawn 1 ns\nRESULT spawn 2 ns\n", "spawn").is_err());
    }

    #[test]
    fn several_lines_and_unsupported() {
        let out = "RESULT timers 101.5 ms\nINFO x\nRESULT timers_cpu 0.4 cpu-s\n";
        let r = parse_all(out, &["timers", "timers_cpu"]).unwrap();
        assert_eq!(r[1].name, "timers_cpu");
        assert_eq!(r[1].value, 0.4);
        assert!(parse_all(out, &["timers"]).is_err());
        assert!(parse_all("RESULT timers 1 ms\n", &["timers", "timers_cpu"]).is_err());
        let line = format_unsupported("skynet", "too many\ncoroutines");
        assert_eq!(
            parse_unsupported(&line, "skynet").as_deref(),
            Some("too many coroutines")
        );
        assert_eq!(parse_unsupported(&line, "sieve"), None);
    }
}
