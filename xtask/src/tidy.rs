//! Tidy checks that keep ARCHITECTURE.md true: the `cargo xtask` commands it
//! names are the ones `main.rs` dispatches, its module list is every module
//! each crate declares, none missing and none extra, and the simulator stays
//! independent of the client.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use crate::shell::workspace_root;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The text of the `## {title}` section of ARCHITECTURE.md.
    fn section(title: &str) -> String {
        let text = read(&workspace_root().join("ARCHITECTURE.md"));
        let heading = format!("## {title}\n");
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{}` section", heading.trim()));
        let body = &text[start + heading.len()..];
        body[..body.find("\n## ").unwrap_or(body.len())].to_string()
    }

    /// The names between backticks in `text`.
    fn quoted(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }

    /// The modules a Rust file declares with `mod name;`, in file order.
    fn declared(source: &str) -> Vec<String> {
        source
            .lines()
            .filter_map(|line| {
                let line = line.trim_start();
                let line = line
                    .strip_prefix("pub(crate) ")
                    .or_else(|| line.strip_prefix("pub "))
                    .unwrap_or(line);
                let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    .then(|| name.to_string())
            })
            .collect()
    }

    /// Every module under the crate root `root` (`lib.rs` or `main.rs`), as
    /// `a` or `a::b`; unit-test modules named `tests` are not listed.
    fn modules_of(root: &Path) -> BTreeSet<String> {
        fn walk(file: &Path, dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
            for name in declared(&read(file)) {
                if name == "tests" {
                    continue;
                }
                let path = format!("{prefix}{name}");
                let flat = dir.join(format!("{name}.rs"));
                let (file, child_dir) = if flat.exists() {
                    (flat, dir.join(&name))
                } else {
                    (dir.join(&name).join("mod.rs"), dir.join(&name))
                };
                walk(&file, &child_dir, &format!("{path}::"), out);
                out.insert(path);
            }
        }
        let mut out = BTreeSet::new();
        let dir = root.parent().expect("a crate root is in a directory");
        walk(root, dir, "", &mut out);
        out
    }

    /// Every crate's source directory, and the directory of each of its
    /// integration-test binaries (`tests/NAME/main.rs`), with its root file.
    fn crate_roots() -> BTreeMap<String, PathBuf> {
        let root = workspace_root();
        let mut packages: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
            .expect("crates/ is readable")
            .map(|entry| entry.expect("an entry").path())
            .collect();
        packages.extend([root.join("tests"), root.join("xtask")]);
        let mut dirs = Vec::new();
        for package in packages {
            dirs.push(package.join("src"));
            if let Ok(entries) = std::fs::read_dir(package.join("tests")) {
                dirs.extend(entries.map(|entry| entry.expect("an entry").path()));
            }
        }
        dirs.into_iter()
            .filter_map(|src| {
                let file = ["lib.rs", "main.rs"]
                    .into_iter()
                    .map(|name| src.join(name))
                    .find(|file| file.exists())?;
                let relative = src.strip_prefix(&root).expect("inside the workspace");
                Some((relative.display().to_string(), file))
            })
            .collect()
    }

    #[test]
    fn the_module_list_is_every_module() {
        let listed: BTreeMap<String, BTreeSet<String>> = section("Modules")
            .lines()
            .filter_map(|line| {
                let (dir, names) = line.strip_prefix("- `")?.split_once("`:")?;
                let names = quoted(names).into_iter().map(str::to_string).collect();
                Some((dir.to_string(), names))
            })
            .collect();
        let crates = crate_roots();
        assert_eq!(
            listed.keys().collect::<Vec<_>>(),
            crates.keys().collect::<Vec<_>>(),
            "ARCHITECTURE.md's module list names a line per crate source directory"
        );
        for (dir, file) in &crates {
            let actual = modules_of(file);
            let named = &listed[dir];
            let missing: Vec<_> = actual.difference(named).collect();
            let stale: Vec<_> = named.difference(&actual).collect();
            assert!(
                missing.is_empty() && stale.is_empty(),
                "ARCHITECTURE.md's modules of {dir}: add {missing:?}, remove {stale:?}"
            );
        }
    }

    /// Each package links at most one integration-test binary: its tests are
    /// modules of `tests/NAME/main.rs`, not files `tests/*.rs` cargo would
    /// build one binary each.
    #[test]
    fn each_package_has_at_most_one_integration_test_binary() {
        let roots = crate_roots();
        let mut packages: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("crates"))
            .expect("crates/ is readable")
            .map(|entry| entry.expect("an entry").path())
            .collect();
        packages.extend([
            workspace_root().join("tests"),
            workspace_root().join("xtask"),
        ]);
        let mut binaries_seen = 0;
        for package in packages {
            let Ok(entries) = std::fs::read_dir(package.join("tests")) else {
                continue;
            };
            let binaries: Vec<PathBuf> = entries
                .map(|entry| entry.expect("an entry").path())
                .filter(|path| {
                    path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").exists()
                })
                .collect();
            assert!(
                binaries.len() <= 1,
                "{} links {} test binaries, {binaries:?}: make each a module of one \
                 tests/it/main.rs",
                package.display(),
                binaries.len()
            );
            binaries_seen += binaries.len();
        }
        assert!(binaries_seen >= 2, "found no integration-test binary");
        assert!(roots.contains_key("tests/tests/it"), "{roots:?}");
    }

    #[test]
    fn the_commands_named_are_the_commands_dispatched() {
        let main = read(&workspace_root().join("xtask/src/main.rs"));
        let dispatched: BTreeSet<&str> = main
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("[\"")?.split('"').next())
            .collect();
        let entry_points = section("Entry points");
        let named: BTreeSet<&str> = entry_points
            .split("`cargo xtask ")
            .skip(1)
            .filter_map(|rest| rest.split([' ', '`']).next())
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        assert!(dispatched.contains("ci"), "read no commands from main.rs");
        assert_eq!(
            named, dispatched,
            "the `cargo xtask` commands in ARCHITECTURE.md's entry points"
        );
    }

    /// The names in the `[dependencies]` table of a crate's manifest.
    fn dependencies(crate_dir: &str) -> Vec<String> {
        let manifest = read(&workspace_root().join(crate_dir).join("Cargo.toml"));
        let mut in_table = false;
        let mut names = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_table = line == "[dependencies]";
            } else if in_table && !line.is_empty() && !line.starts_with('#') {
                let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
                names.push(name.to_string());
            }
        }
        names
    }

    /// The simulator links no HTTP client and no generated code: it depends on
    /// `clouddc-auth`, which depends on neither (`cargo tree -p clouddc-sim`
    /// shows no reqwest).
    #[test]
    fn the_simulator_does_not_depend_on_the_client() {
        for crate_dir in ["crates/clouddc-sim", "crates/clouddc-auth"] {
            let names = dependencies(crate_dir);
            assert!(names.len() > 3, "read no dependencies of {crate_dir}");
            for forbidden in ["clouddc", "reqwest", "progenitor-client"] {
                assert!(
                    !names.iter().any(|name| name == forbidden),
                    "{crate_dir} depends on {forbidden}"
                );
            }
        }
        assert!(dependencies("crates/clouddc-sim").contains(&"clouddc-auth".to_string()));
    }

    #[test]
    fn declared_modules_are_read_as_written() {
        let source =
            "mod a;\npub mod b;\n#[cfg(test)]\nmod tests;\npub(crate) mod c;\nmod d {\n// mod e;\n";
        assert_eq!(declared(source), ["a", "b", "tests", "c"]);
    }
}
