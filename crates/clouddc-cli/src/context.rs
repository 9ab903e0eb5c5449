//! How a command presents what it does: the format of stdout, the progress
//! on stderr, and whether informational lines are shown. Built once from the
//! output flags; every command receives it.

use crate::args::Format;
use crate::progress::Mode;

/// How a command presents what it does.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The format of results on stdout.
    pub format: Format,
    /// How progress is shown on stderr.
    pub mode: Mode,
    /// Whether informational lines on stderr are suppressed.
    pub quiet: bool,
}

impl Context {
    /// The context the output flags ask for; progress bars only on a terminal.
    pub fn new(format: Format, quiet: bool) -> Self {
        Self {
            format,
            mode: Mode::detect(quiet),
            quiet,
        }
    }

    /// An informational line on stderr, unless `--quiet`. The line is the
    /// caller's own text; anything in it from the service or the user has
    /// been through [`crate::text::clean`].
    pub fn inform(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}
