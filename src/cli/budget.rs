//! Budgets as people type them (`--max-tokens 200000`, `--max-cost 2.50`).

/// A `--max-tokens`: a whole number of tokens, at least 1.
pub(super) fn parse_max_tokens(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of tokens (e.g. 200000)"))?;
    if n == 0 {
        return Err("a token budget of 0 allows nothing: give at least 1".into());
    }
    Ok(n)
}

/// A `--max-cost`: US dollars, more than 0 (a leading `$` is allowed).
pub(super) fn parse_max_cost(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let digits = t.strip_prefix('$').unwrap_or(t);
    // Digits and a point only: no signs, exponents, `inf` or `NaN`.
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().any(|c| c.is_ascii_digit());
    let usd: f64 = match digits.parse() {
        Ok(v) if plain => v,
        _ => return Err(format!("'{s}' is not an amount of US dollars (e.g. 2.50)")),
    };
    if usd <= 0.0 {
        return Err(format!(
            "a cost budget of '{s}' allows nothing: give more than 0"
        ));
    }
    Ok(usd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_budgets() {
        assert_eq!(parse_max_tokens("200000"), Ok(200_000));
        assert_eq!(parse_max_tokens(" 1 "), Ok(1));
        for bad in [
            "0",
            "-5",
            "1.5",
            "lots",
            "",
            "1e6",
            "99999999999999999999999",
        ] {
            assert!(parse_max_tokens(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cost_budgets() {
        assert_eq!(parse_max_cost("2.50"), Ok(2.5));
        assert_eq!(parse_max_cost("$5"), Ok(5.0));
        assert_eq!(parse_max_cost(".25"), Ok(0.25));
        for bad in [
            "0", "0.0", "$0", "-1", "-0.5", "1e3", "inf", "NaN", "$", ".", "", "five",
        ] {
            assert!(parse_max_cost(bad).is_err(), "{bad:?}");
        }
    }
}
