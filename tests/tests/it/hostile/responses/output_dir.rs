//! The output directory: created when missing, never escaped or followed.
//!
//! Two cases need a process of their own ([`child`]), run with [`CHILD`] set:
//! a full disk (a file-size limit, `RLIMIT_FSIZE`, set only in the child: a
//! tmpfs would need root, and `/dev/full` cannot stand in for a directory) and
//! a read-only directory (run as `nobody` when the tests run as root, whom
//! permissions do not stop).

use super::*;
use crate::support::child;

/// Marks a child process run by [`in_child`], with the directory it works in.
const CHILD: &str = "CLOUDDC_HOSTILE_CHILD_DIR";

/// A server that serves `archive` as `srv-1-dump.tar.gz` for every export.
async fn archive_server(archive: Arc<Vec<u8>>) -> Hostile {
    Hostile::start(move |_| {
        let headers = archive_head(
            &archive,
            &["content-disposition: attachment; filename=srv-1-dump.tar.gz"],
        );
        archive_reply(&archive, &headers)
    })
    .await
}

#[tokio::test]
async fn a_missing_output_directory_is_created_with_its_parents() {
    let archive = Arc::new(gzip_archive(10_000));
    let server = archive_server(archive.clone()).await;
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("new/deeper/out");
    let got = download(&server.client(), "e1", &out, &download_options(0))
        .await
        .unwrap();
    assert_eq!(got.path, out.join("srv-1-dump.tar.gz"));
    assert_eq!(std::fs::read(&got.path).unwrap(), *archive);
}

#[cfg(unix)]
#[tokio::test]
async fn whatever_holds_the_target_name_is_never_replaced_or_followed() {
    let archive = Arc::new(gzip_archive(10_000));
    let server = archive_server(archive.clone()).await;
    let nest = Nest::new();
    let out = nest.out();
    let outside = nest.root.path().join("a/b/precious");
    let target = out.join("srv-1-dump.tar.gz");
    let overwrite = DownloadOptions {
        overwrite: true,
        ..download_options(0)
    };
    // A file at the name: kept, and the download fails naming it (no `.1`).
    std::fs::write(&target, b"old").unwrap();
    let error = download(&server.client(), "e1", &out, &download_options(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Io { path, source, .. } if *path == target && source.kind() == std::io::ErrorKind::AlreadyExists),
        "{error:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(listing(&out), ["srv-1-dump.tar.gz"]);
    // A directory at the name: never replaced, even when overwriting.
    std::fs::remove_file(&target).unwrap();
    std::fs::create_dir(&target).unwrap();
    assert!(
        download(&server.client(), "e1", &out, &overwrite)
            .await
            .is_err()
    );
    assert!(target.is_dir());
    // A symlink pointing outside: replaced when overwriting, never followed.
    std::fs::remove_dir(&target).unwrap();
    std::os::unix::fs::symlink(&outside, &target).unwrap();
    let got = download(&server.client(), "e1", &out, &overwrite)
        .await
        .unwrap();
    assert_eq!(got.path, target);
    assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), *archive);
    assert!(!outside.exists(), "the symlink was followed");
    assert_eq!(listing(&out), ["srv-1-dump.tar.gz"]);
    nest.assert_contained();
}

/// Runs this test binary's test `name` again in a child process with [`CHILD`]
/// set to `dir`; returns its combined output after checking it succeeded.
fn in_child(name: &str, dir: &Path, as_nobody: bool) -> String {
    let mut command = child::command(module_path!(), name);
    command.env(CHILD, dir);
    #[cfg(unix)]
    if as_nobody {
        use std::os::unix::process::CommandExt;
        command.uid(65534).gid(65534);
    }
    child::output(command)
}

/// The directory a child works in, when this process is one.
fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD).map(PathBuf::from)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_an_io_error_and_leaves_no_partial_file() {
    const LIMIT: u64 = 1 << 20;
    if let Some(dir) = child_dir() {
        // The child: files may grow to 1 MiB; past it write() fails with EFBIG
        // instead of SIGXFSZ killing the process.
        // SAFETY: plain libc calls with valid arguments, before any thread of
        // this process writes a file.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        runtime().block_on(async {
            let server = archive_server(Arc::new(gzip_archive(4 << 20))).await;
            let error = download(&server.client(), "e1", &dir, &download_options(0))
                .await
                .unwrap_err();
            match &error {
                Error::Io { source, .. } => {
                    assert_eq!(source.raw_os_error(), Some(libc::EFBIG), "{error:?}")
                }
                other => panic!("{other:?}"),
            }
            println!("child: {error}");
        });
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let text = in_child(
        "a_full_disk_is_an_io_error_and_leaves_no_partial_file",
        &out,
        false,
    );
    assert!(text.contains("child: "), "{text}");
    assert!(listing(&out).is_empty(), "{:?}", listing(&out));
    assert_eq!(listing(root.path()), ["out"]);
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_an_io_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = child_dir() {
        runtime().block_on(async {
            let server = archive_server(Arc::new(gzip_archive(10_000))).await;
            let error = download(&server.client(), "e1", &dir, &download_options(0))
                .await
                .unwrap_err();
            match &error {
                Error::Io { path, source, .. } => {
                    assert_eq!(path, &dir);
                    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
                }
                other => panic!("{other:?}"),
            }
            println!("child: {error}");
        });
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = root.path().join("read-only");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permissions: the child runs as nobody then.
    let as_root = unsafe { libc::geteuid() } == 0;
    let text = in_child(
        "a_read_only_directory_is_an_io_error_naming_it",
        &out,
        as_root,
    );
    assert!(
        text.contains("child: creating a temporary file in"),
        "{text}"
    );
    assert!(listing(&out).is_empty());
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
}
