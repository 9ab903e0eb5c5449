//! The one gate between a string from the service or the user and the
//! terminal: [`clean`]. A status, a percentage, an export id, a server id or
//! an error message printed as text goes through it, so an escape sequence,
//! a carriage return or a newline from the service can neither drive the
//! terminal nor forge a line. JSON output does not: JSON escaping is its
//! sanitiser, and values stay exact.

/// `text` fit for a terminal: the library's own sanitiser for error fields
/// (`clouddc::error::snippet`: control and bidirectional-override
/// characters replaced, cut to a bounded length), so the CLI and the
/// library's error messages clean the same way.
pub fn clean(text: &str) -> String {
    clouddc::error::snippet(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_line_breaks_cannot_reach_the_terminal() {
        let hostile = "\u{1b}]0;PWNED\u{7}\u{1b}[31mprocessing\rFAKE\nsrv\u{202e}x";
        let cleaned = clean(hostile);
        assert!(
            !cleaned.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{cleaned:?}"
        );
        assert!(cleaned.contains("processing"), "{cleaned:?}");
        assert_eq!(clean("srv-0001"), "srv-0001");
    }
}
