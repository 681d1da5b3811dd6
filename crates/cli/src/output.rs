//! Small helpers for printing: JSON to stdout, timestamps.

use std::io::Write;

pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// RFC 3339 UTC time of a millisecond timestamp.
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|timestamp| timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// Model usage in one line: `12,345 in / 678 out tokens, $0.0123`.
pub fn usage_line(usage: &apiwright_agents::Usage) -> String {
    format!(
        "{} in / {} out tokens, ${:.4}",
        thousands(usage.input_tokens),
        thousands(usage.output_tokens),
        usage.cost_usd
    )
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn usage_lines_group_thousands() {
        let usage = apiwright_agents::Usage {
            input_tokens: 1_234_567,
            output_tokens: 89,
            cost_usd: 0.5,
        };
        assert_eq!(
            super::usage_line(&usage),
            "1,234,567 in / 89 out tokens, $0.5000"
        );
    }
}
