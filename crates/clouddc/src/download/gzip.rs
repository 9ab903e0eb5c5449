//! The checker stage: verifies, incrementally and in flat memory, that the
//! archive is one or more complete gzip members (RFC 1952), each with a
//! matching CRC-32 and size. The service publishes no checksum, so the gzip
//! trailer is the only end-to-end check there is.

use super::stage::{Stage, StageError};

/// The inflater's output buffer (the output is only checksummed, then dropped).
/// zlib-rs inflates about 1.2x faster into 256 KiB than into 32 KiB, but every
/// download in flight holds one, and a fleet on a WAN keeps hundreds in flight:
/// 64 KiB is most of the speed at a quarter of the memory.
const INFLATE_BUFFER_BYTES: usize = 64 << 10;

/// Where the checker is in the gzip stream (RFC 1952).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzipState {
    /// In a member header.
    Header(HeaderStep),
    /// In a member's deflate data.
    Deflate,
    /// In a member's 8-byte trailer; this many bytes of it seen.
    Trailer(usize),
    /// After a complete member: another member, zero padding, or the end.
    Between,
    /// In the zero padding after the last member.
    Padding,
}

/// Where the checker is in a member header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderStep {
    /// The 10 fixed bytes; this many seen.
    Fixed(usize),
    /// The 2-byte length of the extra field; the length so far and bytes seen.
    ExtraLen(u16, usize),
    /// The extra field; this many bytes left.
    Extra(u16),
    /// The zero-terminated file name.
    Name,
    /// The zero-terminated comment.
    Comment,
    /// The 2-byte header CRC; this many seen.
    HeaderCrc(usize),
}

const FLAG_HCRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;
const FLAG_RESERVED: u8 = 0xE0;

/// Checks, incrementally, that the bytes are one or more complete gzip members
/// (optionally followed by zero padding), each with a matching CRC-32 and size.
pub(super) struct GzipCheck {
    state: GzipState,
    flags: u8,
    fixed: [u8; 10],
    trailer: [u8; 8],
    inflate: flate2::Decompress,
    crc: crc32fast::Hasher,
    /// The member's inflated size modulo 2^32, as the trailer's ISIZE.
    size: u32,
    out: Box<[u8]>,
    /// Bytes fed so far, for error messages.
    offset: u64,
    members: u64,
}

impl GzipCheck {
    /// A checker expecting the first byte of the archive.
    pub(super) fn new() -> Self {
        Self {
            out: vec![0; INFLATE_BUFFER_BYTES].into_boxed_slice(),
            ..Self::new_without_buffer()
        }
    }

    /// A fresh checker whose output buffer is to be supplied by the caller.
    fn new_without_buffer() -> Self {
        Self {
            state: GzipState::Header(HeaderStep::Fixed(0)),
            flags: 0,
            fixed: [0; 10],
            trailer: [0; 8],
            inflate: flate2::Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            out: Box::default(),
            offset: 0,
            members: 0,
        }
    }

    fn corrupt(&self, what: impl std::fmt::Display) -> StageError {
        StageError::Corrupt(format!("not a valid gzip archive: {what}"))
    }

    /// The step after the header's fixed part or an optional field.
    fn next_header_step(&self, after: HeaderStep) -> GzipState {
        let order = [
            (FLAG_EXTRA, HeaderStep::ExtraLen(0, 0)),
            (FLAG_NAME, HeaderStep::Name),
            (FLAG_COMMENT, HeaderStep::Comment),
            (FLAG_HCRC, HeaderStep::HeaderCrc(0)),
        ];
        let position = match after {
            HeaderStep::Fixed(_) => 0,
            HeaderStep::ExtraLen(..) | HeaderStep::Extra(_) => 1,
            HeaderStep::Name => 2,
            HeaderStep::Comment => 3,
            HeaderStep::HeaderCrc(_) => 4,
        };
        order[position..]
            .iter()
            .find(|(flag, _)| self.flags & flag != 0)
            .map_or(GzipState::Deflate, |&(_, step)| GzipState::Header(step))
    }

    /// Consumes header bytes; returns how many were used.
    fn header(&mut self, step: HeaderStep, data: &[u8]) -> Result<usize, StageError> {
        match step {
            HeaderStep::Fixed(seen) => {
                let take = (10 - seen).min(data.len());
                self.fixed[seen..seen + take].copy_from_slice(&data[..take]);
                let seen = seen + take;
                if seen < 10 {
                    self.state = GzipState::Header(HeaderStep::Fixed(seen));
                    return Ok(take);
                }
                let start = self.offset + take as u64 - 10;
                if self.fixed[0] != 0x1f || self.fixed[1] != 0x8b {
                    return Err(self.corrupt(format_args!("no gzip magic at byte {start}")));
                }
                if self.fixed[2] != 8 {
                    return Err(self.corrupt(format_args!(
                        "unknown compression method {} at byte {start}",
                        self.fixed[2]
                    )));
                }
                self.flags = self.fixed[3];
                if self.flags & FLAG_RESERVED != 0 {
                    return Err(
                        self.corrupt(format_args!("reserved header flags set at byte {start}"))
                    );
                }
                self.state = self.next_header_step(step);
                Ok(take)
            }
            HeaderStep::ExtraLen(len, seen) => {
                let len = len | (u16::from(data[0]) << (8 * seen));
                self.state = if seen == 0 {
                    GzipState::Header(HeaderStep::ExtraLen(len, 1))
                } else if len == 0 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::Extra(len))
                };
                Ok(1)
            }
            HeaderStep::Extra(left) => {
                let take = usize::from(left).min(data.len());
                // `take <= left`, a u16.
                let left = left - take as u16;
                self.state = if left == 0 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::Extra(left))
                };
                Ok(take)
            }
            HeaderStep::Name | HeaderStep::Comment => match data.iter().position(|&b| b == 0) {
                Some(nul) => {
                    self.state = self.next_header_step(step);
                    Ok(nul + 1)
                }
                None => Ok(data.len()),
            },
            HeaderStep::HeaderCrc(seen) => {
                let take = (2 - seen).min(data.len());
                self.state = if seen + take == 2 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::HeaderCrc(seen + take))
                };
                Ok(take)
            }
        }
    }

    /// Consumes deflate data; returns how many bytes were used.
    fn deflate(&mut self, data: &[u8]) -> Result<usize, StageError> {
        let mut used = 0;
        loop {
            let in_before = self.inflate.total_in();
            let out_before = self.inflate.total_out();
            let status = self
                .inflate
                .decompress(&data[used..], &mut self.out, flate2::FlushDecompress::None)
                .map_err(|e| self.corrupt(format_args!("bad deflate data ({e})")))?;
            let consumed = usize::try_from(self.inflate.total_in() - in_before).unwrap_or(0);
            let produced = usize::try_from(self.inflate.total_out() - out_before).unwrap_or(0);
            let produced = produced.min(self.out.len());
            self.crc.update(&self.out[..produced]);
            // ISIZE is the size modulo 2^32: truncation is the format.
            self.size = self.size.wrapping_add(produced as u32);
            used = (used + consumed).min(data.len());
            if status == flate2::Status::StreamEnd {
                self.state = GzipState::Trailer(0);
                return Ok(used);
            }
            if used == data.len() && produced < self.out.len() {
                return Ok(used);
            }
            if consumed == 0 && produced == 0 {
                return Err(self.corrupt("the deflate data makes no progress"));
            }
        }
    }

    /// Consumes trailer bytes; checks the member when the trailer is complete.
    fn trailer(&mut self, seen: usize, data: &[u8]) -> Result<usize, StageError> {
        let take = (8 - seen).min(data.len());
        self.trailer[seen..seen + take].copy_from_slice(&data[..take]);
        let seen = seen + take;
        if seen < 8 {
            self.state = GzipState::Trailer(seen);
            return Ok(take);
        }
        let [c0, c1, c2, c3, s0, s1, s2, s3] = self.trailer;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let size = u32::from_le_bytes([s0, s1, s2, s3]);
        if crc != self.crc.clone().finalize() {
            return Err(self.corrupt(format_args!(
                "CRC-32 mismatch in member {} (data is damaged)",
                self.members + 1
            )));
        }
        if size != self.size {
            return Err(self.corrupt(format_args!(
                "size mismatch in member {} (data is damaged)",
                self.members + 1
            )));
        }
        self.members += 1;
        self.inflate.reset(false);
        self.crc.reset();
        self.size = 0;
        self.state = GzipState::Between;
        Ok(take)
    }
}

impl Stage for GzipCheck {
    type Output = ();

    fn feed(&mut self, mut data: &[u8]) -> Result<(), StageError> {
        while !data.is_empty() {
            let used = match self.state {
                GzipState::Header(step) => self.header(step, data)?,
                GzipState::Deflate => self.deflate(data)?,
                GzipState::Trailer(seen) => self.trailer(seen, data)?,
                GzipState::Between => {
                    self.state = if data[0] == 0 {
                        GzipState::Padding
                    } else {
                        GzipState::Header(HeaderStep::Fixed(0))
                    };
                    0
                }
                GzipState::Padding => match data.iter().position(|&b| b != 0) {
                    Some(at) => {
                        return Err(self.corrupt(format_args!(
                            "unexpected data at byte {} after the last member",
                            self.offset + at as u64
                        )));
                    }
                    None => data.len(),
                },
            };
            self.offset += used as u64;
            data = &data[used.min(data.len())..];
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), StageError> {
        let out = std::mem::take(&mut self.out);
        *self = Self {
            out,
            ..Self::new_without_buffer()
        };
        Ok(())
    }

    fn finish(self) -> Result<(), StageError> {
        match self.state {
            GzipState::Between | GzipState::Padding => Ok(()),
            GzipState::Header(HeaderStep::Fixed(0)) if self.offset == 0 => {
                Err(self.corrupt("the archive is empty"))
            }
            GzipState::Header(_) => Err(self.corrupt("it ends inside a member header")),
            GzipState::Deflate => Err(self.corrupt(format_args!(
                "it ends early, after {} bytes (truncated)",
                self.offset
            ))),
            GzipState::Trailer(_) => Err(self.corrupt("it ends inside a member trailer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;

    use super::*;

    fn check(chunks: &[&[u8]]) -> Result<(), StageError> {
        let mut checker = GzipCheck::new();
        for chunk in chunks {
            checker.feed(chunk)?;
        }
        checker.finish()
    }

    fn gzip(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut encoder = builder.write(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_check_handles_members_padding_and_optional_header_fields() {
        let a = gzip(b"first member ", flate2::GzBuilder::new());
        let b = gzip(
            b"second member",
            flate2::GzBuilder::new()
                .filename("x.tar")
                .comment("a comment")
                .extra(vec![1, 2, 3, 4])
                .mtime(7),
        );
        let both = [a.clone(), b.clone()].concat();
        assert!(check(&[&both]).is_ok());
        // Byte by byte: every state boundary falls between chunks.
        let bytes: Vec<&[u8]> = both.chunks(1).collect();
        assert!(check(&bytes).is_ok());
        // Zero padding after the last member is tolerated, other data is not.
        assert!(check(&[&a, &[0; 512]]).is_ok());
        assert!(matches!(check(&[&a, b"junk"]), Err(StageError::Corrupt(_))));
        assert!(matches!(
            check(&[&a, &[0, 0, 1]]),
            Err(StageError::Corrupt(_))
        ));
        // A header CRC (FHCRC) is skipped.
        let mut with_hcrc = a[..10].to_vec();
        with_hcrc[3] |= FLAG_HCRC;
        with_hcrc.extend_from_slice(&[0xAB, 0xCD]);
        with_hcrc.extend_from_slice(&a[10..]);
        assert!(check(&[&with_hcrc]).is_ok());
        // Reserved flags and other methods are refused.
        let mut reserved = a.clone();
        reserved[3] |= 0x20;
        assert!(check(&[&reserved]).is_err());
        let mut method = a.clone();
        method[2] = 7;
        assert!(check(&[&method]).is_err());
        // Cut anywhere, it is incomplete.
        for cut in [1, 5, 10, 12, a.len() - 8, a.len() - 1] {
            assert!(check(&[&a[..cut]]).is_err(), "cut at {cut}");
        }
        // A wrong size in the trailer.
        let mut size = a.clone();
        let at = a.len() - 1;
        size[at] ^= 1;
        assert!(check(&[&size]).is_err());
    }

    #[test]
    fn gzip_check_restarts_cleanly() {
        let a = gzip(b"some data to check", flate2::GzBuilder::new());
        let mut checker = GzipCheck::new();
        checker.feed(&a[..a.len() / 2]).unwrap();
        checker.restart().unwrap();
        checker.feed(&a).unwrap();
        assert!(checker.finish().is_ok());
    }
}
