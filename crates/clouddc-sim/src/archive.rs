//! Deterministic `tar.gz` archives that look like a server's log dump, made
//! on the fly at any byte offset.
//!
//! The gzip stream uses *stored* (uncompressed) deflate blocks of a fixed
//! size. That keeps it a real `tar.gz` that `tar xzf` unpacks, while making
//! the length exact before a byte is sent (`Content-Length`) and any offset
//! cheap to start from (`Range`): no byte has to be generated twice and
//! nothing is held in memory but the chunk being sent.
//!
//! The members' content is a pure function of (seed, server, export, line
//! number); only the manifest (each member's sha256) and the gzip trailer's
//! CRC need one pass over the content, done once per archive ([`ArchiveDigest`]).

use std::fmt;

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use crate::faults::{hash_str, mix};

/// The payload of one stored deflate block (the format's maximum).
const BLOCK: u64 = 65_535;
/// A stored block's header: BFINAL/BTYPE byte, LEN, NLEN.
const BLOCK_HEADER: u64 = 5;
/// ID1 ID2 CM FLG MTIME(4) XFL OS; FLG is set to FCOMMENT when padding.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const FCOMMENT: u8 = 0x10;
const GZIP_TRAILER: u64 = 8;
/// Every generated line has this length, newline included, so a line and
/// the offset within it follow from any byte offset by division.
const LINE: usize = 128;
/// The members' modification time: 2026-11-23T00:00:00Z.
const MTIME: u64 = 1_795_392_000;
/// How much [`ArchiveReader`] produces per chunk.
pub(crate) const CHUNK: usize = 64 * 1024;

/// What a member holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// The BMC's System Event Log.
    Sel,
    /// BMC sensor readings, as CSV.
    Sensors,
    /// The OS kernel and daemon log: the bulk of the archive.
    Messages,
    /// `sha256sum`-style lines for every other member; last in the archive.
    Manifest,
}

/// One file in the archive.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its path inside the archive.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    content: Content,
    /// Where its 512-byte header starts in the tar stream.
    header_at: u64,
    seed: u64,
}

impl Member {
    fn data_at(&self) -> u64 {
        self.header_at + 512
    }
    fn padded_end(&self) -> u64 {
        self.data_at() + self.size.div_ceil(512) * 512
    }
}

/// The shape of one export's archive: members, sizes and offsets. Cheap to
/// make and to clone.
#[derive(Clone)]
pub struct ArchiveLayout {
    file_name: String,
    members: Vec<Member>,
    tar_len: u64,
    /// The gzip header comment's length, its NUL included (0: no comment).
    comment: u64,
}

impl fmt::Debug for ArchiveLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveLayout")
            .field("file_name", &self.file_name)
            .field(
                "members",
                &self
                    .members
                    .iter()
                    .map(|m| (&m.path, m.size))
                    .collect::<Vec<_>>(),
            )
            .field("len", &self.len())
            .finish()
    }
}

/// What one pass over an archive's content gives: the manifest and the
/// gzip trailer.
#[derive(Debug, Clone)]
pub struct ArchiveDigest {
    manifest: Vec<u8>,
    crc32: u32,
}

/// Reduces a server id to a safe ASCII file-name stem: letters, digits, `.`,
/// `_` and `-` kept, anything else `_`, no leading dots, at most 64 bytes.
pub fn safe_stem(server: &str) -> String {
    let mut stem: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = stem.trim_start_matches('.').len();
    stem.drain(..stem.len() - trimmed);
    stem.truncate(64);
    if stem.is_empty() {
        "server".to_owned()
    } else {
        stem
    }
}

impl ArchiveLayout {
    /// The layout of the archive of `export_id` on `server`, exactly
    /// `target_bytes` long, or the smallest archive (about 4 KiB) if that is
    /// longer. Tar pads members to 512 bytes, so the last few bytes are made up
    /// by a gzip header comment (`FCOMMENT`), which every gunzip skips.
    pub fn new(seed: u64, server: &str, export_id: &str, target_bytes: u64) -> Self {
        let stem = safe_stem(server);
        let key = mix(seed ^ hash_str(server) ^ mix(hash_str(export_id)));
        let share = |part: u64| (target_bytes / part) / LINE as u64 * LINE as u64;
        let mut small = [share(16), share(32)];
        // Near the smallest archive the small members' padding alone would
        // overshoot; they are left empty there.
        if Self::with_sizes(&stem, key, [small[0], small[1], 0]).len() > target_bytes {
            small = [0, 0];
        }
        let build = |messages: u64| Self::with_sizes(&stem, key, [small[0], small[1], messages]);
        // The largest bulk member that stays within the target: the length
        // is monotonic in it, so a binary search finds it.
        let (mut low, mut high) = (0, target_bytes);
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            if build(mid).len() <= target_bytes {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let mut layout = build(low);
        layout.comment = target_bytes.saturating_sub(layout.len());
        layout
    }

    fn with_sizes(stem: &str, key: u64, [sel, sensors, messages]: [u64; 3]) -> Self {
        let specs = [
            (format!("{stem}/bmc/sel.log"), sel, Content::Sel),
            (format!("{stem}/bmc/sensors.csv"), sensors, Content::Sensors),
            (
                format!("{stem}/var/log/messages"),
                messages,
                Content::Messages,
            ),
        ];
        let manifest_size: u64 = specs
            .iter()
            .map(|(path, _, _)| (64 + 2 + path.len() + 1) as u64)
            .sum();
        let mut members = Vec::with_capacity(4);
        let mut at = 0;
        let all = specs.into_iter().chain(std::iter::once((
            format!("{stem}/MANIFEST.sha256"),
            manifest_size,
            Content::Manifest,
        )));
        for (i, (path, size, content)) in all.enumerate() {
            let member = Member {
                path,
                size,
                content,
                header_at: at,
                seed: mix(key ^ i as u64),
            };
            at = member.padded_end();
            members.push(member);
        }
        Self {
            file_name: format!("{stem}-dump.tar.gz"),
            members,
            tar_len: at + 1024,
            comment: 0,
        }
    }

    /// `<server>-dump.tar.gz`, from the sanitised server id.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The members, in archive order (the manifest last).
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    fn blocks(&self) -> u64 {
        self.tar_len.div_ceil(BLOCK).max(1)
    }

    /// The archive's length in bytes.
    #[allow(clippy::len_without_is_empty)] // An archive is never empty.
    pub fn len(&self) -> u64 {
        self.header_len() + self.tar_len + self.blocks() * BLOCK_HEADER + GZIP_TRAILER
    }

    fn header_len(&self) -> u64 {
        GZIP_HEADER.len() as u64 + self.comment
    }

    /// One pass over the content: the manifest and the CRC. Costs about one
    /// generation of the archive plus sha256 of it.
    pub fn digest(&self) -> ArchiveDigest {
        let mut crc = crc32fast::Hasher::new();
        let mut manifest = Vec::new();
        let mut buf = vec![0u8; CHUNK];
        let (manifest_member, content) = self.members.split_last().expect("four members");
        for member in content {
            let mut sha = Sha256::new();
            let mut header = [0u8; 512];
            self.header(member, &mut header);
            crc.update(&header);
            let mut offset = 0;
            while offset < member.size {
                let n = (member.size - offset).min(CHUNK as u64) as usize;
                fill_lines(member, offset, &mut buf[..n]);
                sha.update(&buf[..n]);
                crc.update(&buf[..n]);
                offset += n as u64;
            }
            let padding = (member.padded_end() - member.data_at() - member.size) as usize;
            crc.update(&vec![0u8; padding]);
            manifest
                .extend_from_slice(format!("{:x}  {}\n", sha.finalize(), member.path).as_bytes());
        }
        debug_assert_eq!(manifest.len() as u64, manifest_member.size);
        let mut header = [0u8; 512];
        self.header(manifest_member, &mut header);
        crc.update(&header);
        crc.update(&manifest);
        let rest = self.tar_len - manifest_member.data_at() - manifest_member.size;
        crc.update(&vec![0u8; rest as usize]);
        ArchiveDigest {
            manifest,
            crc32: crc.finalize(),
        }
    }

    /// The sha256 of the whole archive, lowercase hex: what a client that
    /// downloaded it correctly computes.
    pub fn sha256(&self) -> String {
        let digest = self.digest();
        let mut sha = Sha256::new();
        let mut reader = self.reader(&digest, 0, self.len());
        while let Some(chunk) = reader.next_chunk() {
            sha.update(&chunk);
        }
        format!("{:x}", sha.finalize())
    }

    /// Bytes `[start, end)` of the archive, chunk by chunk.
    pub fn reader<'a>(
        &'a self,
        digest: &'a ArchiveDigest,
        start: u64,
        end: u64,
    ) -> ArchiveReader<'a> {
        ArchiveReader {
            layout: self,
            digest,
            position: start,
            end: end.min(self.len()),
        }
    }

    /// `n` bytes of the archive from `position`, as one chunk.
    pub(crate) fn chunk(&self, digest: &ArchiveDigest, position: u64, n: usize) -> Bytes {
        let mut chunk = BytesMut::zeroed(n);
        self.fill(digest, position, &mut chunk);
        chunk.freeze()
    }

    /// Fills `out` with the archive's bytes from `position`.
    fn fill(&self, digest: &ArchiveDigest, mut position: u64, mut out: &mut [u8]) {
        let header_len = self.header_len();
        let frames_end = header_len + self.tar_len + self.blocks() * BLOCK_HEADER;
        while !out.is_empty() {
            let n;
            if position < GZIP_HEADER.len() as u64 {
                let mut head = GZIP_HEADER;
                if self.comment > 0 {
                    head[3] = FCOMMENT;
                }
                let from = &head[position as usize..];
                n = from.len().min(out.len());
                out[..n].copy_from_slice(&from[..n]);
            } else if position < header_len {
                // The comment: spaces, then the NUL that ends it.
                let left = (header_len - position) as usize;
                n = left.min(out.len());
                out[..n].fill(b' ');
                if n == left {
                    out[n - 1] = 0;
                }
            } else if position < frames_end {
                let p = position - header_len;
                let frame = p / (BLOCK + BLOCK_HEADER);
                let within = p % (BLOCK + BLOCK_HEADER);
                let block_start = frame * BLOCK;
                let block_len = (self.tar_len - block_start).min(BLOCK);
                if within < BLOCK_HEADER {
                    let last = frame + 1 == self.blocks();
                    let len = block_len as u16;
                    let [l0, l1] = len.to_le_bytes();
                    let [n0, n1] = (!len).to_le_bytes();
                    let head = [u8::from(last), l0, l1, n0, n1];
                    let from = &head[within as usize..];
                    n = from.len().min(out.len());
                    out[..n].copy_from_slice(&from[..n]);
                } else {
                    let tar_at = block_start + within - BLOCK_HEADER;
                    let left = block_start + block_len - tar_at;
                    n = (left.min(out.len() as u64)) as usize;
                    self.fill_tar(digest, tar_at, &mut out[..n]);
                }
            } else {
                let mut trailer = [0u8; 8];
                trailer[..4].copy_from_slice(&digest.crc32.to_le_bytes());
                trailer[4..].copy_from_slice(&(self.tar_len as u32).to_le_bytes());
                let from = &trailer[(position - frames_end) as usize..];
                n = from.len().min(out.len());
                out[..n].copy_from_slice(&from[..n]);
            }
            position += n as u64;
            out = &mut out[n..];
        }
    }

    /// Fills `out` with the tar stream's bytes from `position`.
    fn fill_tar(&self, digest: &ArchiveDigest, mut position: u64, mut out: &mut [u8]) {
        while !out.is_empty() {
            let member = self.members.iter().find(|m| position < m.padded_end());
            let n = match member {
                Some(m) if position < m.data_at() => {
                    let mut header = [0u8; 512];
                    self.header(m, &mut header);
                    let from = &header[(position - m.header_at) as usize..];
                    let n = from.len().min(out.len());
                    out[..n].copy_from_slice(&from[..n]);
                    n
                }
                Some(m) if position < m.data_at() + m.size => {
                    let offset = position - m.data_at();
                    let n = (m.size - offset).min(out.len() as u64) as usize;
                    if m.content == Content::Manifest {
                        out[..n].copy_from_slice(&digest.manifest[offset as usize..][..n]);
                    } else {
                        fill_lines(m, offset, &mut out[..n]);
                    }
                    n
                }
                // Padding after a member, or the two zero blocks that end a tar.
                other => {
                    let zeros_end = other.map_or(self.tar_len, Member::padded_end);
                    let n = (zeros_end - position).min(out.len() as u64) as usize;
                    out[..n].fill(0);
                    n
                }
            };
            position += n as u64;
            out = &mut out[n..];
        }
    }

    /// A ustar header for `member`.
    fn header(&self, member: &Member, header: &mut [u8; 512]) {
        header.fill(0);
        header[..member.path.len()].copy_from_slice(member.path.as_bytes());
        octal(&mut header[100..108], 0o644);
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], member.size);
        octal(&mut header[136..148], MTIME);
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[265..269].copy_from_slice(b"root");
        header[297..301].copy_from_slice(b"root");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        octal(&mut header[148..155], u64::from(sum));
        header[155] = b' ';
    }
}

/// Writes `value` as zero-padded octal digits and a NUL into `field`.
fn octal(field: &mut [u8], mut value: u64) {
    let digits = field.len() - 1;
    for i in (0..digits).rev() {
        field[i] = b'0' + (value & 7) as u8;
        value >>= 3;
    }
    field[digits] = 0;
}

/// Produces an archive's bytes in chunks of at most [`CHUNK`].
pub struct ArchiveReader<'a> {
    layout: &'a ArchiveLayout,
    digest: &'a ArchiveDigest,
    position: u64,
    end: u64,
}

impl ArchiveReader<'_> {
    /// The next chunk, or `None` at the end of the range.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        let n = self.end.saturating_sub(self.position).min(CHUNK as u64) as usize;
        if n == 0 {
            return None;
        }
        let mut chunk = BytesMut::zeroed(n);
        self.layout.fill(self.digest, self.position, &mut chunk);
        self.position += n as u64;
        Some(chunk.freeze())
    }

    /// Where the next chunk starts.
    pub fn position(&self) -> u64 {
        self.position
    }
}

/// Fills `out` with `member`'s generated lines from `offset`.
fn fill_lines(member: &Member, offset: u64, out: &mut [u8]) {
    let mut line = [0u8; LINE];
    let mut index = offset / LINE as u64;
    let mut skip = (offset % LINE as u64) as usize;
    let mut written = 0;
    while written < out.len() {
        render_line(member.content, member.seed, index, &mut line);
        let n = (LINE - skip).min(out.len() - written);
        out[written..written + n].copy_from_slice(&line[skip..skip + n]);
        written += n;
        skip = 0;
        index += 1;
    }
}

const KERNEL_MESSAGES: [&str; 8] = [
    "kernel: mlx5_core 0000:3b:00.0: Port module event: module 0, Cable plugged",
    "kernel: EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0",
    "systemd[1]: Started Session of user root.",
    "kernel: nvme nvme0: I/O 312 QID 4 timeout, completion polled",
    "sshd[2211]: Accepted publickey for ops from 10.0.12.7 port 51144",
    "kernel: i40e 0000:5e:00.1 eth1: NIC Link is Up, 25 Gbps Full Duplex",
    "chronyd[981]: Selected source 10.0.0.1 (ntp.internal)",
    "kernel: mce: [Hardware Error]: Machine check events logged",
];
const SEL_EVENTS: [&str; 6] = [
    "Power Supply PS1 | Power Supply AC lost | Asserted",
    "Temperature CPU1_Temp | Upper Non-critical going high | Asserted",
    "Fan FAN3 | Lower Critical going low | Deasserted",
    "Memory DIMM_A1 | Correctable ECC | Asserted",
    "System Event | Timestamp Clock Sync | Asserted",
    "Drive Slot Disk4 | Drive Present | Asserted",
];
const SENSORS: [(&str, &str); 6] = [
    ("CPU1_Temp", "degrees C"),
    ("CPU2_Temp", "degrees C"),
    ("Inlet_Temp", "degrees C"),
    ("FAN1_Speed", "RPM"),
    ("PS1_Input_Power", "Watts"),
    ("P12V", "Volts"),
];

/// Writes fields left to right into a line, never past its newline.
struct LineWriter<'a> {
    line: &'a mut [u8; LINE],
    at: usize,
}

impl LineWriter<'_> {
    fn text(&mut self, text: &str) -> &mut Self {
        let n = text.len().min(LINE - 1 - self.at);
        self.line[self.at..self.at + n].copy_from_slice(&text.as_bytes()[..n]);
        self.at += n;
        self
    }

    fn number(&mut self, mut value: u64, width: usize, radix: u64) -> &mut Self {
        let width = width.min(LINE - 1 - self.at);
        for i in (0..width).rev() {
            self.line[self.at + i] = b"0123456789ABCDEF"[(value % radix) as usize];
            value /= radix;
        }
        self.at += width;
        self
    }

    fn time(&mut self, h: u64, m: u64, s: u64) -> &mut Self {
        self.number(h, 2, 10)
            .text(":")
            .number(m, 2, 10)
            .text(":")
            .number(s, 2, 10)
    }
}

/// Renders line `index` of a member into `line` (exactly [`LINE`] bytes).
fn render_line(content: Content, seed: u64, index: u64, line: &mut [u8; LINE]) {
    line.fill(b' ');
    line[LINE - 1] = b'\n';
    let r = mix(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // A clock that advances 33 to 64 ms a line, from midnight.
    let millis = index * 33 + (r & 31);
    let (secs, ms) = (millis / 1000, millis % 1000);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let mut w = LineWriter { line, at: 0 };
    match content {
        Content::Messages => {
            let message = KERNEL_MESSAGES[(r >> 8) as usize % KERNEL_MESSAGES.len()];
            w.text("2026-11-23T")
                .time(h, m, s)
                .text(".")
                .number(ms, 3, 10)
                .text("Z ");
            w.text(message).text(" #").number(index, 10, 10);
        }
        Content::Sel => {
            let event = SEL_EVENTS[(r >> 8) as usize % SEL_EVENTS.len()];
            w.number(index + 1, 4, 16)
                .text(" | 11/23/2026 | ")
                .time(h, m, s);
            w.text(" | ").text(event);
        }
        Content::Sensors => {
            let (name, unit) = SENSORS[index as usize % SENSORS.len()];
            w.text("2026-11-23T")
                .time(h, m, s)
                .text("Z,")
                .text(name)
                .text(",");
            w.number(20 + (r >> 16) % 60, 3, 10)
                .text(".")
                .number((r >> 32) % 100, 2, 10);
            w.text(",").text(unit).text(",ok");
        }
        // Never asked for: the manifest's bytes come from the digest.
        Content::Manifest => {}
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn whole(layout: &ArchiveLayout, digest: &ArchiveDigest) -> Vec<u8> {
        let mut out = Vec::new();
        let mut reader = layout.reader(digest, 0, layout.len());
        while let Some(chunk) = reader.next_chunk() {
            out.extend_from_slice(&chunk);
        }
        out
    }

    #[test]
    fn is_a_real_tar_gz_whose_manifest_matches_its_members() {
        let layout = ArchiveLayout::new(7, "srv-0001", "e1", 300 * 1024);
        let digest = layout.digest();
        let bytes = whole(&layout, &digest);
        assert_eq!(bytes.len() as u64, layout.len());
        assert_eq!(layout.len(), 300 * 1024);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut manifest = String::new();
        let mut hashes = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            if path.ends_with("MANIFEST.sha256") {
                manifest = String::from_utf8(data).unwrap();
            } else {
                hashes.push(format!("{:x}  {path}\n", Sha256::digest(&data)));
            }
        }
        assert_eq!(hashes.len(), 3);
        assert_eq!(manifest, hashes.concat());
        assert!(manifest.contains("srv-0001/var/log/messages"));
    }

    #[test]
    fn every_size_from_the_smallest_archive_up_is_exact() {
        let smallest = ArchiveLayout::new(0, "srv", "e", 0).len();
        for target in (smallest..smallest + 2000).chain([65_535, 65_540, 1 << 20, 5 << 30]) {
            assert_eq!(ArchiveLayout::new(0, "srv", "e", target).len(), target);
        }
        let padded = ArchiveLayout::new(0, "srv", "e", smallest + 700);
        let digest = padded.digest();
        let bytes = whole(&padded, &digest);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        assert_eq!(archive.entries().unwrap().count(), 4);
    }

    #[test]
    fn any_range_equals_the_same_slice_of_the_whole() {
        let layout = ArchiveLayout::new(1, "srv", "e", 200_000);
        let digest = layout.digest();
        let bytes = whole(&layout, &digest);
        for (start, end) in [
            (0, 10),
            (5, 70_000),
            (65_540, 65_560),
            (150_000, layout.len()),
        ] {
            let mut part = Vec::new();
            let mut reader = layout.reader(&digest, start, end);
            while let Some(chunk) = reader.next_chunk() {
                part.extend_from_slice(&chunk);
            }
            assert_eq!(part, bytes[start as usize..end as usize], "{start}..{end}");
        }
    }

    #[test]
    fn content_is_deterministic_per_seed_server_and_export() {
        let sha = |seed, server, export| ArchiveLayout::new(seed, server, export, 16_384).sha256();
        assert_eq!(sha(1, "a", "e"), sha(1, "a", "e"));
        assert_ne!(sha(1, "a", "e"), sha(2, "a", "e"));
        assert_ne!(sha(1, "a", "e"), sha(1, "b", "e"));
        assert_ne!(sha(1, "a", "e"), sha(1, "a", "f"));
    }

    #[test]
    fn tiny_and_hostile_names_make_valid_archives() {
        for server in ["../../etc/passwd", "", "sérvér ☃", &"x".repeat(128)] {
            let layout = ArchiveLayout::new(0, server, "e", 0);
            assert!(!layout.file_name().contains('/'), "{}", layout.file_name());
            assert!(!layout.file_name().starts_with('.'));
            let digest = layout.digest();
            let bytes = whole(&layout, &digest);
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
            assert_eq!(archive.entries().unwrap().count(), 4, "{server:?}");
        }
    }
}
