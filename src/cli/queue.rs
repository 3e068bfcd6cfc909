//! Values of the queue's options (`--max-running`, `--group`, `--after`),
//! checked before anything is created.

/// A `--max-running`: at least one, or nothing would ever start.
pub(super) fn parse_max_running(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err("0 would never start anything: give 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{}' is not a whole number of sessions", s.trim())),
    }
}

/// A `--group`: it names a folder, so only a plain word.
pub(super) fn parse_group(s: &str) -> Result<String, String> {
    if crate::queue::valid_group(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a group name: letters, digits, '.', '_' and '-', starting with a letter or digit, 64 at most",
            s.escape_debug()
        ))
    }
}

/// One id of `--after`: an id or a prefix of one; whether it names a
/// session is the store's to say.
pub(super) fn parse_after_id(s: &str) -> Result<String, String> {
    let s = s.trim();
    if crate::model::SessionId::is_valid(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not a session id (hex digits and dashes)",
            s.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_names_are_checked() {
        assert!(parse_max_running("0").is_err());
        assert!(parse_max_running("-1").is_err());
        assert!(parse_max_running("x").is_err());
        assert_eq!(parse_max_running("4"), Ok(4));
        assert!(parse_group("").is_err());
        assert!(parse_group("../x").is_err());
        assert!(parse_group(".hidden").is_err());
        assert_eq!(parse_group("db-1.a_b"), Ok("db-1.a_b".into()));
        assert!(parse_after_id("3f2a").is_ok());
        assert!(parse_after_id("--x").is_err());
        assert!(parse_after_id("").is_err());
    }
}
