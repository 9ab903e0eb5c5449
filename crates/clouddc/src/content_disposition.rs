//! The file name a `Content-Disposition` header proposes, reduced to a name that
//! is safe to create inside a directory the caller chose.
//!
//! The header comes from the network and is treated as hostile: whatever it
//! says, [`safe_file_name`] returns a single path component (no separators, no
//! `.`/`..`, no drive, no control or invisible characters, no leading dot, not a
//! Windows device name, at most [`MAX_FILE_NAME_BYTES`] bytes) or `None`, and the
//! caller then uses its own fallback name, itself passed through
//! [`sanitize_file_name`].
//!
//! Parsing follows RFC 6266 leniently: any parameter order and case, quoted or
//! bare values, `\"` and `\\` escapes in quoted strings (any other backslash
//! is kept, and then acts as a path separator), and the RFC 5987 extended
//! `filename*=UTF-8''%E2%82%AC.tar.gz` form, which wins over `filename=` when
//! it yields a usable name. RFC 2231 continuations (`filename*0=`) are ignored.

use percent_encoding::percent_decode_str;

/// The longest name [`sanitize_file_name`] returns, in bytes. Leaves room under
/// the usual 255-byte limit for the `.N` suffix added when the name is taken.
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// Extensions longer than this (in bytes) are not kept when a name is cut.
const MAX_EXTENSION_BYTES: usize = 32;

/// Two-part extensions kept together when a name is cut or numbered.
const COMPOUND_EXTENSIONS: &[&str] = &[
    ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.lz4", ".tar.lz", ".tar.z",
];

/// The safe file name a `Content-Disposition` header value proposes, or `None`
/// when it proposes none or nothing safe remains of it.
///
/// `filename*` (RFC 5987, UTF-8 or ISO-8859-1) is preferred over `filename`;
/// when it does not decode or sanitises to nothing, `filename` is used.
pub fn safe_file_name(header_value: &[u8]) -> Option<String> {
    let params = parse_params(header_value);
    params
        .filename_ext
        .as_deref()
        .and_then(decode_ext_value)
        .and_then(|name| sanitize_file_name(&name))
        .or_else(|| {
            params
                .filename
                .as_deref()
                .and_then(|raw| sanitize_file_name(&String::from_utf8_lossy(raw)))
        })
}

/// Reduces `name` to a single safe path component, or `None` when nothing safe
/// remains (for example `..`, `/`, or a name whose stem is only dots,
/// underscores, dashes and whitespace).
///
/// - only the last non-empty component of a `/` or `\` separated path is kept,
///   and a `C:` drive prefix is dropped;
/// - control characters (NUL included), invisible and bidirectional formatting
///   characters, slash look-alikes and the characters Windows forbids
///   (`<>:"|?*`) become `_`;
/// - leading dots and whitespace (hidden files, `.`, `..`) and trailing dots and
///   whitespace (which Windows drops) are removed; a leading `-` or `~` becomes
///   `_` so the name cannot pass for an option or a home directory in a shell;
/// - Windows device names (`CON`, `nul.tar.gz`, `COM1`, ...) get a `_` prefix;
/// - the name is cut to [`MAX_FILE_NAME_BYTES`] bytes on a character boundary,
///   keeping its extension (`.tar.gz` counts as one).
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let last = name
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())?;
    let last = strip_drive(last);
    let mapped: String = last
        .chars()
        .map(|c| if is_unsafe_char(c) { '_' } else { c })
        .collect();
    let trimmed = mapped
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if !split_extension(trimmed).0.chars().any(is_meaningful) {
        return None;
    }
    let mut out = String::with_capacity(trimmed.len() + 1);
    let mut chars = trimmed.chars();
    match chars.next() {
        Some('-' | '~') => out.push('_'),
        Some(c) => out.push(c),
        None => return None,
    }
    out.extend(chars);
    let mut out = truncate_keeping_extension(out, MAX_FILE_NAME_BYTES);
    if is_windows_device_name(&out) {
        out.insert(0, '_');
        out = truncate_keeping_extension(out, MAX_FILE_NAME_BYTES);
    }
    Some(out)
}

/// Splits `name` into stem and extension (with its dot): `x.tar.gz` gives
/// `("x", ".tar.gz")`, `x.log` gives `("x", ".log")`, and a name without an
/// extension, or whose only dot leads it, or whose extension is longer than 32
/// bytes, gives `(name, "")`.
pub fn split_extension(name: &str) -> (&str, &str) {
    for ext in COMPOUND_EXTENSIONS {
        if let Some(cut) = name.len().checked_sub(ext.len())
            && cut > 0
            && name.is_char_boundary(cut)
            && name[cut..].eq_ignore_ascii_case(ext)
        {
            return name.split_at(cut);
        }
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    }
}

/// The raw values of the two file name parameters, first occurrence of each.
#[derive(Debug, Default)]
struct Params {
    filename: Option<Vec<u8>>,
    filename_ext: Option<String>,
}

/// Reads `type; name=value; name="quoted \" value"; ...`, leniently: a missing
/// disposition type, stray semicolons, junk after a closing quote and an
/// unterminated quote are all tolerated.
fn parse_params(value: &[u8]) -> Params {
    let mut params = Params::default();
    let mut pos = 0;
    while pos < value.len() {
        while pos < value.len() && (value[pos].is_ascii_whitespace() || value[pos] == b';') {
            pos += 1;
        }
        let name_start = pos;
        while pos < value.len() && value[pos] != b'=' && value[pos] != b';' {
            pos += 1;
        }
        let name = value[name_start..pos].trim_ascii();
        if pos >= value.len() || value[pos] == b';' {
            // The disposition type, or a parameter without a value.
            continue;
        }
        pos += 1; // '='
        while pos < value.len() && value[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut raw = Vec::new();
        if value.get(pos) == Some(&b'"') {
            pos += 1;
            while pos < value.len() {
                match value[pos] {
                    // Only `\"` and `\\` are escapes: servers put unescaped
                    // Windows paths in quoted names.
                    b'\\' if matches!(value.get(pos + 1), Some(b'"' | b'\\')) => {
                        raw.push(value[pos + 1]);
                        pos += 2;
                    }
                    b'"' => {
                        pos += 1;
                        break;
                    }
                    byte => {
                        raw.push(byte);
                        pos += 1;
                    }
                }
            }
            while pos < value.len() && value[pos] != b';' {
                pos += 1;
            }
        } else {
            let start = pos;
            while pos < value.len() && value[pos] != b';' {
                pos += 1;
            }
            raw.extend_from_slice(value[start..pos].trim_ascii());
        }
        if name.eq_ignore_ascii_case(b"filename") {
            params.filename.get_or_insert(raw);
        } else if name.eq_ignore_ascii_case(b"filename*") && params.filename_ext.is_none() {
            params.filename_ext = Some(String::from_utf8_lossy(&raw).into_owned());
        }
    }
    params
}

/// Decodes an RFC 5987 `ext-value`: `charset'language'percent-encoded`. Only
/// UTF-8 and ISO-8859-1 are understood; anything else gives `None`.
fn decode_ext_value(value: &str) -> Option<String> {
    let (charset, rest) = value.trim().split_once('\'')?;
    let (_language, encoded) = rest.split_once('\'')?;
    let bytes: Vec<u8> = percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        None
    }
}

/// Whether `c` carries meaning in a name: not whitespace, not a dot, and not
/// one of the characters this module substitutes (`_`) or neutralises (`-`, `~`).
fn is_meaningful(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '.' | '_' | '-' | '~'))
}

/// Drops a leading `C:` drive designator.
fn strip_drive(name: &str) -> &str {
    match name.as_bytes() {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => &name[2..],
        _ => name,
    }
}

/// Characters replaced by `_`.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\')
        || matches!(
            c,
            // Replacement character (undecodable input).
            '\u{FFFD}'
            // Slash look-alikes.
            | '\u{2044}' | '\u{2215}' | '\u{29F8}' | '\u{29F9}' | '\u{FF0F}' | '\u{FF3C}'
            // Invisible and bidirectional formatting characters.
            | '\u{00AD}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether Windows treats `name` as a device (`CON`, `nul.tar.gz`, `COM1 .x`).
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$" => true,
        _ => {
            let mut chars = upper.chars();
            let prefix: String = chars.by_ref().take(3).collect();
            let rest: Vec<char> = chars.collect();
            (prefix == "COM" || prefix == "LPT")
                && matches!(rest.as_slice(), [d] if d.is_ascii_digit() || matches!(d, '¹' | '²' | '³'))
        }
    }
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping its
/// extension when it has a short one.
fn truncate_keeping_extension(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let (stem, ext) = split_extension(&name);
    let budget = max.saturating_sub(ext.len());
    let mut cut = budget.min(stem.len());
    while cut > 0 && !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let joined = format!("{stem}{ext}");
    joined
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(header: &str) -> Option<String> {
        safe_file_name(header.as_bytes())
    }

    /// Every property a returned name must have, whatever the input.
    fn assert_safe(result: &Option<String>, input: &str) {
        let Some(n) = result else { return };
        assert!(!n.is_empty(), "{input:?}");
        assert!(n.len() <= MAX_FILE_NAME_BYTES, "{input:?} -> {n:?}");
        assert!(!n.contains(['/', '\\', '\0', ':']), "{input:?} -> {n:?}");
        assert!(!n.starts_with('.'), "{input:?} -> {n:?}");
        assert!(!n.starts_with('-'), "{input:?} -> {n:?}");
        assert!(!n.chars().any(char::is_control), "{input:?} -> {n:?}");
        assert_ne!(n, "..");
        assert!(!is_windows_device_name(n), "{input:?} -> {n:?}");
        let path = std::path::Path::new(n);
        let components: Vec<_> = path.components().collect();
        assert_eq!(components.len(), 1, "{input:?} -> {n:?}");
        assert!(
            matches!(components[0], std::path::Component::Normal(_)),
            "{input:?} -> {n:?}"
        );
    }

    #[test]
    fn plain_quoted_and_bare_values() {
        assert_eq!(
            name("attachment; filename=x.tar.gz").as_deref(),
            Some("x.tar.gz")
        );
        assert_eq!(
            name(r#"attachment; filename="srv 1 logs.tar.gz""#).as_deref(),
            Some("srv 1 logs.tar.gz")
        );
        assert_eq!(
            name(r#"attachment; filename="a\"b\\c.tar.gz""#).as_deref(),
            // `\\` unescapes to a backslash, a separator: the last component wins.
            Some("c.tar.gz")
        );
        assert_eq!(
            name(r#"attachment; filename="say \"hi\".log""#).as_deref(),
            Some("say _hi_.log")
        );
        assert_eq!(
            name("ATTACHMENT;FILENAME = logs.tgz ;size=3").as_deref(),
            Some("logs.tgz")
        );
        assert_eq!(
            name("filename=no-type.tar.gz").as_deref(),
            Some("no-type.tar.gz")
        );
        assert_eq!(
            name(r#"inline; creation-date="x;y"; filename="a.tar.gz""#).as_deref(),
            Some("a.tar.gz")
        );
        assert_eq!(
            name(r#"attachment; filename="first.gz"; filename="second.gz""#).as_deref(),
            Some("first.gz")
        );
        assert_eq!(
            name(r#"attachment; filename="unterminated.tar.gz"#).as_deref(),
            Some("unterminated.tar.gz")
        );
    }

    #[test]
    fn extended_filename_wins_in_any_order() {
        let euro = Some("€.tar.gz".to_string());
        assert_eq!(name("attachment; filename*=UTF-8''%E2%82%AC.tar.gz"), euro);
        assert_eq!(
            name("attachment; filename=\"fallback.tar.gz\"; filename*=UTF-8''%E2%82%AC.tar.gz"),
            euro
        );
        assert_eq!(
            name("attachment; FILENAME*=utf-8'en'%E2%82%AC.tar.gz; filename=fallback.tar.gz"),
            euro
        );
        assert_eq!(
            name("attachment; filename*=iso-8859-1'de'%E4rger.log").as_deref(),
            Some("ärger.log")
        );
        // Quoted, which RFC 5987 does not allow but servers send.
        assert_eq!(
            name("attachment; filename*=\"UTF-8''%E2%82%AC.tar.gz\""),
            euro
        );
    }

    #[test]
    fn unusable_extended_filename_falls_back_to_filename() {
        for header in [
            "attachment; filename*=UTF-8''%FF%FE.gz; filename=plain.gz",
            "attachment; filename*=KOI8-R''%E1.gz; filename=plain.gz",
            "attachment; filename*=garbage; filename=plain.gz",
            "attachment; filename*=UTF-8''..%2F..%2F; filename=plain.gz",
        ] {
            assert_eq!(name(header).as_deref(), Some("plain.gz"), "{header}");
        }
    }

    #[test]
    fn traversal_and_absolute_paths_keep_only_the_basename() {
        for (header, expected) in [
            ("attachment; filename=../../etc/passwd", Some("passwd")),
            ("attachment; filename=/etc/cron.d/evil", Some("evil")),
            (
                r#"attachment; filename="..\..\windows\system32\evil.dll""#,
                Some("evil.dll"),
            ),
            (
                r#"attachment; filename="C:\temp\x.tar.gz""#,
                Some("x.tar.gz"),
            ),
            ("attachment; filename=C:x.tar.gz", Some("x.tar.gz")),
            ("attachment; filename=\"//server/share/x.gz\"", Some("x.gz")),
            (
                "attachment; filename*=UTF-8''..%2F..%2Fetc%2Fshadow",
                Some("shadow"),
            ),
            (
                "attachment; filename*=UTF-8''..%5Cboot.ini",
                Some("boot.ini"),
            ),
            ("attachment; filename=logs/", Some("logs")),
            ("attachment; filename=..", None),
            ("attachment; filename=.", None),
            ("attachment; filename=\"a/..\"", None),
            ("attachment; filename=/", None),
            ("attachment; filename=\"\"", None),
            ("attachment; filename=", None),
            ("attachment; filename=\"...\"", None),
        ] {
            let got = name(header);
            assert_safe(&got, header);
            assert_eq!(got.as_deref(), expected, "{header}");
        }
    }

    #[test]
    fn hidden_control_and_invisible_characters() {
        for (header, expected) in [
            ("attachment; filename=.bashrc", Some("bashrc")),
            (
                "attachment; filename=\"..hidden.tar.gz\"",
                Some("hidden.tar.gz"),
            ),
            ("attachment; filename=\" . x.gz\"", Some("x.gz")),
            (
                "attachment; filename*=UTF-8''a%00b.tar.gz",
                Some("a_b.tar.gz"),
            ),
            ("attachment; filename*=UTF-8''a%0Ab%0D.gz", Some("a_b_.gz")),
            (
                "attachment; filename*=UTF-8''%1B%5B31mred.gz",
                Some("_[31mred.gz"),
            ),
            // Right-to-left override disguising the extension.
            (
                "attachment; filename*=UTF-8''x%E2%80%AEzg.rat.exe",
                Some("x_zg.rat.exe"),
            ),
            ("attachment; filename*=UTF-8''%E2%80%8B.gz", None),
            (
                "attachment; filename=\"xy:b|c?d*e<f>g.gz\"",
                Some("xy_b_c_d_e_f_g.gz"),
            ),
            ("attachment; filename=\"x.tar.gz. . \"", Some("x.tar.gz")),
            ("attachment; filename=-rf.gz", Some("_rf.gz")),
            ("attachment; filename=~", None),
            ("attachment; filename=~root.gz", Some("_root.gz")),
            (
                "attachment; filename*=UTF-8''a%EF%BC%8Fb.gz",
                Some("a_b.gz"),
            ),
            ("attachment; filename=\"___\"", None),
            ("attachment; filename=\"\t\"", None),
        ] {
            let got = name(header);
            assert_safe(&got, header);
            assert_eq!(got.as_deref(), expected, "{header}");
        }
    }

    #[test]
    fn windows_device_names_are_prefixed() {
        for (header, expected) in [
            ("attachment; filename=CON", "_CON"),
            ("attachment; filename=nul.tar.gz", "_nul.tar.gz"),
            ("attachment; filename=\"Com1 .log\"", "_Com1 .log"),
            ("attachment; filename=LPT9", "_LPT9"),
            ("attachment; filename=aux.", "_aux"),
            ("attachment; filename*=UTF-8''COM%C2%B9.gz", "_COM¹.gz"),
            ("attachment; filename=CONOUT$", "_CONOUT$"),
        ] {
            assert_eq!(name(header).as_deref(), Some(expected), "{header}");
        }
        for fine in ["CONSOLE.log", "COM10", "nullable.gz", "LPT"] {
            assert!(!is_windows_device_name(fine), "{fine}");
        }
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("attachment; filename={}.tar.gz", "a".repeat(1000));
        let got = name(&long).unwrap();
        assert_eq!(got.len(), MAX_FILE_NAME_BYTES);
        assert!(got.ends_with("a.tar.gz"));

        // Multi-byte characters are never split.
        let euros = format!(
            "attachment; filename*=UTF-8''{}.log",
            "%E2%82%AC".repeat(200)
        );
        let got = name(&euros).unwrap();
        assert!(got.len() <= MAX_FILE_NAME_BYTES);
        assert!(got.ends_with("€.log"), "{got}");

        // An absurd extension is not kept.
        let ext = format!("attachment; filename=x.{}", "b".repeat(500));
        let got = name(&ext).unwrap();
        assert_eq!(got.len(), MAX_FILE_NAME_BYTES);
        assert!(got.starts_with("x.bbb"));
    }

    #[test]
    fn garbage_never_panics_and_never_yields_an_unsafe_name() {
        let mut inputs: Vec<Vec<u8>> = [
            "",
            ";",
            ";;;==;;",
            "=",
            "attachment",
            "attachment;",
            "attachment; filename",
            "attachment; filename=\"",
            "attachment; filename=\"\\",
            "attachment; filename*=",
            "attachment; filename*='",
            "attachment; filename*=''",
            "attachment; filename*=UTF-8'",
            "attachment; filename*=UTF-8''%",
            "attachment; filename*=UTF-8''%E2%82",
            "attachment; filename*=UTF-8''%%%.gz",
            "attachment; filename*0=a; filename*1=b",
            "attachment; filename=\"\u{202e}\u{200f}\"",
            "attachment; filename=\u{ff0f}etc\u{ff0f}passwd",
            "attachment; filename=\"=?UTF-8?B?L2V0Yy9wYXNzd2Q=?=\"",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        inputs.push(b"attachment; filename=\xff\xfe\xc3(.gz".to_vec());
        inputs.push(b"attachment; filename=\"\x00\x01\x02\"".to_vec());
        inputs.push(vec![b'"'; 10_000]);
        inputs.push((0u8..=255).collect());
        for input in &inputs {
            let got = safe_file_name(input);
            assert_safe(&got, &String::from_utf8_lossy(input));
        }
        assert_eq!(
            safe_file_name(b"attachment; filename=r\xffx.gz").as_deref(),
            Some("r_x.gz")
        );
    }

    #[test]
    fn fallback_names_are_sanitised_the_same_way() {
        assert_eq!(
            sanitize_file_name("srv-1-42.tar.gz").as_deref(),
            Some("srv-1-42.tar.gz")
        );
        assert_eq!(
            sanitize_file_name("rack/srv-1-42.tar.gz").as_deref(),
            Some("srv-1-42.tar.gz")
        );
        assert_eq!(
            sanitize_file_name("..-x.tar.gz").as_deref(),
            Some("_x.tar.gz")
        );
        assert_eq!(sanitize_file_name("..-...tar.gz"), None);
        assert_eq!(sanitize_file_name("../"), None);
    }

    #[test]
    fn splits_extensions() {
        assert_eq!(split_extension("x.tar.gz"), ("x", ".tar.gz"));
        assert_eq!(split_extension("x.1.2.TAR.GZ"), ("x.1.2", ".TAR.GZ"));
        assert_eq!(split_extension("x.tgz"), ("x", ".tgz"));
        assert_eq!(split_extension("x"), ("x", ""));
        assert_eq!(split_extension(".tar.gz"), (".tar", ".gz"));
        assert_eq!(split_extension("€.gz"), ("€", ".gz"));
    }
}
