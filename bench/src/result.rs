//! The `RESULT` line protocol.
//!
//! Every benchmark program, in every language, prints exactly one line
//!
//! ```text
//! RESULT <name> <value> <unit>
//! ```
//!
//! on standard output when the benchmark ran and its result validated, and
//! exits with status 0. It may print other lines (by convention starting with
//! `INFO`). On a validation failure it prints the reason on standard error and
//! exits non-zero, with no `RESULT` line.

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

/// Find the single `RESULT` line for `name` in a program's standard output.
pub fn parse(stdout: &str, name: &str) -> Result<Reported, String> {
    let mut found = None;
    for line in stdout.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("RESULT") {
            continue;
        }
        let rest: Vec<&str> = fields.collect();
        let [got_name, value, unit] = rest[..] else {
            return Err(format!("malformed RESULT line: {line:?}"));
        };
        if got_name != name {
            return Err(format!("RESULT line for {got_name:?}, expected {name:?}"));
        }
        let value: f64 = value
            .parse()
            .map_err(|_| format!("RESULT value is not a number: {line:?}"))?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!("RESULT value out of range: {line:?}"));
        }
        if found.is_some() {
            return Err(format!("more than one RESULT line for {name:?}"));
        }
        found = Some(Reported {
            name: got_name.to_string(),
            value,
            unit: unit.to_string(),
        });
    }
    found.ok_or_else(|| "no RESULT line in the output".to_string())
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
}
