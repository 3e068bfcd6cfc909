//! Durations as people type them (`--older-than 7d`, `--timeout 30m`).

/// A `--timeout`: a duration, and not zero.
pub(super) fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "'{}' is no time at all: a timeout must be longer",
            s.trim()
        ));
    }
    Ok(d)
}

/// "90", "90s", "1.5m", "2h", "7d", "250ms".
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 30s, 10m, 2h, 7d)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" | "hr" | "hours" => n * 3600.0,
        "d" | "days" => n * 86400.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}' (use ms, s, m, h or d)"
            ))
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{s}' is not a duration"));
    }
    // Far beyond any wait or age that means something, and small enough
    // that adding it to a clock reading cannot overflow.
    if secs > MAX_DURATION_DAYS * 86400.0 {
        return Err(format!(
            "'{s}' is too long a duration (at most {MAX_DURATION_DAYS}d)"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

const MAX_DURATION_DAYS: f64 = 36500.0;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5w").is_err());
        assert_eq!(
            parse_duration("36500d").unwrap(),
            Duration::from_secs(36500 * 86400)
        );
        for huge in [
            "36501d",
            "99999999999999999d",
            "18446744073709551615s",
            "1e300",
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(e.contains(huge), "{e}");
        }
    }
}
