//! The server list of `logs collect`: arguments and a servers file, combined.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use crate::exit::CliError;

/// Reads a servers file: one id a line, surrounding whitespace trimmed, blank
/// lines skipped. `#` starts a comment at the beginning of a line or after
/// whitespace; ids may themselves contain `#` (`rack#4`) or inner spaces.
pub fn parse_servers_file(text: &str) -> Vec<String> {
    text.lines()
        .map(strip_comment)
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn strip_comment(line: &str) -> &str {
    let mut previous_is_space = true;
    for (index, c) in line.char_indices() {
        if c == '#' && previous_is_space {
            return &line[..index];
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// The servers to collect: the arguments first, then the file's (`-` reads
/// stdin), then those `selected` from the inventory, duplicates dropped keeping
/// the first occurrence. Ids are not checked
/// here: the library rejects a bad one for that server alone, and the summary
/// says why.
pub fn gather(
    arguments: &[String],
    file: Option<&Path>,
    selected: Vec<String>,
) -> Result<Vec<String>, CliError> {
    let from_file = match file {
        None => Vec::new(),
        Some(path) => parse_servers_file(&read(path)?),
    };
    let mut seen = HashSet::new();
    let servers: Vec<String> = arguments
        .iter()
        .cloned()
        .chain(from_file)
        .chain(selected)
        .filter(|server| seen.insert(server.clone()))
        .collect();
    if servers.is_empty() {
        return Err(CliError::Config(match file {
            None if arguments.is_empty() => {
                "no servers to collect: the inventory has none that pass the filters".into()
            }
            Some(path) => format!(
                "no servers to collect: {} lists none; give SERVER arguments or ids in the file, one a line",
                path.display()
            ),
            None => "no servers to collect: give SERVER arguments or --servers-file FILE".into(),
        }));
    }
    Ok(servers)
}

fn read(path: &Path) -> Result<String, CliError> {
    let mut text = String::new();
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    result.map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_whitespace() {
        let text =
            "# fleet A\nsrv-0001\n\n  srv-0002  # rack 4\nrack#7\nSN 12\r\n\t# indented comment\n";
        assert_eq!(
            parse_servers_file(text),
            ["srv-0001", "srv-0002", "rack#7", "SN 12"]
        );
    }

    #[test]
    fn arguments_then_file_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("servers.txt");
        std::fs::write(&file, "srv-2\nsrv-3\nsrv-1\nsrv-3\n").unwrap();
        let args = [
            "srv-1".to_string(),
            "srv-2".to_string(),
            "srv-1".to_string(),
        ];
        assert_eq!(
            gather(&args, Some(&file), Vec::new()).unwrap(),
            ["srv-1", "srv-2", "srv-3"]
        );
    }

    #[test]
    fn nothing_to_collect_or_unreadable_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n\n").unwrap();
        assert!(matches!(
            gather(&[], Some(&empty), Vec::new()),
            Err(CliError::Config(_))
        ));
        assert!(matches!(
            gather(&[], Some(&dir.path().join("missing")), Vec::new()),
            Err(CliError::Read { .. })
        ));
    }
}
