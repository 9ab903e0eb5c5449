//! Byte sizes on the command line: `512`, `64K`, `512M`, `10G`, `1T`, with an
//! optional `iB` or `B` (`10GiB`, `10GB`). Units are binary, as `ls -h` and
//! curl count: `1K` is 1024 bytes.

/// Parses a size; zero is allowed (it turns a floor off).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (expected e.g. 512M or 10G)"))?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("iB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(unit);
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{text:?}: unknown unit (expected K, M, G or T)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Parses a size of at least one byte.
pub fn parse_bound(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("must be at least 1 byte".into()),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        for (text, bytes) in [
            ("0", 0),
            ("512", 512),
            ("1K", 1024),
            ("64k", 64 << 10),
            ("512M", 512 << 20),
            ("10G", 10 << 30),
            ("10GiB", 10 << 30),
            ("10GB", 10 << 30),
            (" 2T ", 2 << 40),
            ("1 G", 1 << 30),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "G", "-1G", "1.5G", "10X", "10 GiBs", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_bound("1"), Ok(1));
        assert_eq!(parse_bound("0G"), Err("must be at least 1 byte".into()));
    }
}
