//! The resume decision: given what has arrived and how the last answer ended,
//! what to ask the server for next. A plain function of plain values, so every
//! case is one row of a table test; the download loop only carries it out.

/// What the download has so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Have {
    /// Bytes of the archive received and handed to the pipeline.
    pub(super) written: u64,
    /// The archive's size, when the server said.
    pub(super) total: Option<u64>,
    /// How many times the archive was requested again already.
    pub(super) resumes: u32,
    /// How many times it may be requested again at most.
    pub(super) max_resumes: u32,
}

/// How the last answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// The response did not fit the request (a `206` for another range, a size
    /// that changed, an unparseable header): nothing of it was used.
    Inconsistent,
    /// The body ended normally (the stream closed).
    Ended,
    /// The body broke: transport error, idle timeout, or it ended before its
    /// announced length.
    Broken,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Every byte is here: finish and check.
    Finish,
    /// Ask for the rest, from this offset (`Range: bytes=offset-`).
    Resume(u64),
    /// Ask for the whole archive again, discarding whatever was received.
    Restart,
    /// More bytes arrived than the archive has: the answer cannot be trusted.
    Overrun {
        /// The announced size.
        expected: u64,
    },
    /// No resume is left: fail with what went wrong last (a body that ended
    /// early when the answer was [`Answer::Ended`]).
    GiveUp,
}

/// Decides what to ask for next.
pub(super) fn next(have: Have, answer: Answer) -> Next {
    let Have {
        written,
        total,
        resumes,
        max_resumes,
    } = have;
    let broken = match answer {
        Answer::Ended => match total {
            Some(expected) if written > expected => return Next::Overrun { expected },
            // Ended before its announced size: as good as broken.
            Some(expected) if written < expected => true,
            _ => return Next::Finish,
        },
        Answer::Broken => true,
        Answer::Inconsistent => false,
    };
    if broken && total == Some(written) {
        // Every byte arrived before the body broke; the checks decide.
        return Next::Finish;
    }
    if resumes >= max_resumes {
        return Next::GiveUp;
    }
    if broken && written > 0 {
        Next::Resume(written)
    } else {
        Next::Restart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_table() {
        let have = |written, total, resumes| Have {
            written,
            total,
            resumes,
            max_resumes: 3,
        };
        let cases = [
            // A body that ended complete or too long, whatever the resumes.
            (have(100, Some(100), 0), Answer::Ended, Next::Finish),
            (have(100, None, 0), Answer::Ended, Next::Finish),
            (have(0, None, 3), Answer::Ended, Next::Finish),
            (
                have(120, Some(100), 3),
                Answer::Ended,
                Next::Overrun { expected: 100 },
            ),
            // One that ended short is resumed like a broken one.
            (have(60, Some(100), 0), Answer::Ended, Next::Resume(60)),
            (have(0, Some(100), 1), Answer::Ended, Next::Restart),
            (have(60, Some(100), 3), Answer::Ended, Next::GiveUp),
            // A broken body resumes from what arrived, restarts from nothing.
            (have(60, Some(100), 0), Answer::Broken, Next::Resume(60)),
            (have(60, None, 2), Answer::Broken, Next::Resume(60)),
            (have(0, Some(100), 0), Answer::Broken, Next::Restart),
            // ... unless everything arrived, or no resume is left.
            (have(100, Some(100), 3), Answer::Broken, Next::Finish),
            (have(60, Some(100), 3), Answer::Broken, Next::GiveUp),
            (have(0, None, 3), Answer::Broken, Next::GiveUp),
            // An inconsistent answer starts over, while resumes last.
            (have(60, Some(100), 0), Answer::Inconsistent, Next::Restart),
            (have(0, None, 2), Answer::Inconsistent, Next::Restart),
            (have(60, Some(100), 3), Answer::Inconsistent, Next::GiveUp),
            (have(100, Some(100), 3), Answer::Inconsistent, Next::GiveUp),
        ];
        for (have, answer, expected) in cases {
            assert_eq!(next(have, answer), expected, "{have:?} {answer:?}");
        }
        let never = Have {
            max_resumes: 0,
            ..have(10, Some(100), 0)
        };
        assert_eq!(next(never, Answer::Broken), Next::GiveUp);
        assert_eq!(next(never, Answer::Inconsistent), Next::GiveUp);
    }
}
