//! Background servers for the contract suites: started, waited for, and killed
//! when their guard is dropped, so no run leaves a server behind.

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

    /// Starts `command` and returns it with the first line it prints on stdout
    /// (the simulator prints `listening on http://ADDR`).
    pub fn start_reading_first_line(
        name: &str,
        command: &mut Command,
        timeout: Duration,
    ) -> Result<(Self, String), String> {
        let (child, lines) = spawn_with_stdout_lines(name, command, Stdio::inherit())?;
        let guard = Self {
            name: name.to_string(),
            child,
        };
        let line = lines
            .recv_timeout(timeout)
            .map_err(|_| format!("{name} printed nothing within {timeout:?}"))?;
        Ok((guard, line.trim().to_string()))
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

/// A free port on 127.0.0.1, for tools that need one named up front.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}
