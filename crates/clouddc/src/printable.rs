//! Text from the service made fit for an error message or a terminal: the
//! service is untrusted, so nothing it sends is shown as it came.

/// How much of an unparsed error body is kept, in characters.
pub const MAX_BODY_SNIPPET: usize = 512;

/// Text fit for an error message or a terminal: valid UTF-8 (lossy), control
/// characters and the bidirectional overrides (which reorder what a terminal
/// shows) replaced, cut to [`MAX_BODY_SNIPPET`] characters.
pub fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let mut out: String = text
        .trim()
        .chars()
        .take(MAX_BODY_SNIPPET)
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
    if text.trim().chars().count() > MAX_BODY_SNIPPET {
        out.push('…');
    }
    out
}
