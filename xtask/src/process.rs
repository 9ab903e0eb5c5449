//! Background servers for the contract suites and the benchmarks: started the
//! same way (the simulator's command line, the wait for `listening on URL`),
//! and killed when their guard is dropped, so no run leaves a server behind.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process that is killed when this is dropped.
pub struct Background {
    name: String,
    child: Child,
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Background {
    /// Starts `command` with its output to `log` (a file under `target/`).
    pub fn start(name: &str, command: &mut Command, log: &Path) -> Result<Self, String> {
        let file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
        Ok(Self {
            name: name.to_string(),
            child,
        })
    }

    /// Starts a server `command` with its stderr on ours and returns it with
    /// the URL it listens on (see [`start_listening`]).
    pub fn start_listening(
        name: &str,
        command: &mut Command,
        timeout: Duration,
    ) -> Result<(Self, String), String> {
        let listening = start_listening(name, command, Stdio::inherit(), timeout)?;
        let guard = Self {
            name: name.to_string(),
            child: listening.child,
        };
        Ok((guard, listening.url))
    }

    /// Waits until `addr` accepts connections.
    pub fn wait_for_port(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited early with {status}", self.name));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "{} did not listen on {addr} within {timeout:?}",
            self.name
        ))
    }
}

/// Starts `command` with `stderr` as given and its stdout read by a thread that
/// hands every line to the returned receiver. The thread keeps reading after the
/// receiver is dropped, so the child never blocks on a full pipe.
pub fn spawn_with_stdout_lines(
    name: &str,
    command: &mut Command,
    stderr: Stdio,
) -> Result<(Child, mpsc::Receiver<String>), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        // Bytes, not `lines()`: a line that is not UTF-8 must not stop the draining.
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(String::from_utf8_lossy(&line).trim_end().to_string());
            line.clear();
        }
    });
    Ok((child, rx))
}

/// `clouddc sim` on a port of 127.0.0.1 the system picks, for `project`: the
/// simulator as the contract suites and the benchmarks start it (`clouddc` is
/// the binary they run; they add their own credentials and flags).
pub fn simulator(mut clouddc: Command, project: &str) -> Command {
    clouddc.args(["sim", "--addr", "127.0.0.1:0", "--project-id", project]);
    clouddc
}

/// A server that said where it listens.
pub struct Listening {
    /// The running server; the caller kills and reaps it.
    pub child: Child,
    /// Its base URL, without a trailing `/`.
    pub url: String,
    /// The stdout lines after the first.
    pub lines: mpsc::Receiver<String>,
}

/// Starts a server `command` (the simulator, the tee proxy) with `stderr` as
/// given and waits up to `timeout` for its first line, `listening on URL`.
/// On failure the child is killed and reaped.
pub fn start_listening(
    name: &str,
    command: &mut Command,
    stderr: Stdio,
    timeout: Duration,
) -> Result<Listening, String> {
    let (mut child, lines) = spawn_with_stdout_lines(name, command, stderr)?;
    let url = match lines.recv_timeout(timeout) {
        Ok(line) => {
            listening_url(&line).ok_or_else(|| format!("{name}: unexpected first line {line:?}"))
        }
        Err(_) => Err(format!("{name} printed nothing within {timeout:?}")),
    };
    match url {
        Ok(url) => Ok(Listening { child, url, lines }),
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(error)
        }
    }
}

/// The URL in a server's `listening on URL` line.
fn listening_url(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix("listening on ")?;
    Some(url.trim_end_matches('/').to_string())
}

/// A free port on 127.0.0.1, for tools that need one named up front.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listening_line() {
        let url = listening_url("listening on http://127.0.0.1:4000/\n");
        assert_eq!(url.as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(listening_url("error: address in use"), None);
    }

    #[test]
    fn a_server_that_says_something_else_is_stopped() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo starting; sleep 30"]);
        let started = Instant::now();
        let error = start_listening("sh", &mut command, Stdio::null(), Duration::from_secs(10))
            .err()
            .expect("not a listening line");
        assert!(error.contains("\"starting\""), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
