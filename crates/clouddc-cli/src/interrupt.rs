//! Ctrl-C and SIGTERM as ordinary events.
//!
//! A process killed by the default handler never runs destructors, so the
//! library's temporary `.part` files would stay behind. Commands instead race
//! their work against [`signal`] and drop the work when it wins: dropping is
//! what removes the temporary files.

use std::future::Future;

/// The signal that stopped a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The signal's number, for the conventional exit status 128 + number.
    pub fn number(self) -> u8 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }
}

/// Resolves when the process receives SIGINT or SIGTERM. From the first poll on,
/// those signals no longer kill the process: the caller decides what happens.
pub async fn signal() -> Signal {
    Listener::install().recv().await
}

/// SIGINT and SIGTERM handlers installed when it is created, not when first
/// awaited: for a caller that announces itself (a listening address) and must
/// not be killed by a signal sent the moment the announcement is read.
pub struct Listener {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Listener {
    /// Installs the handlers. Must be called within the tokio runtime.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// The next SIGINT or SIGTERM. A signal whose handler could not be
    /// installed is never reported, as a process with the default handler
    /// would never see one it could act on.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                if let Some(signal) = signal {
                    // `None` only when the runtime is shutting down.
                    if signal.recv().await.is_some() {
                        return;
                    }
                }
                std::future::pending().await
            }
            tokio::select! {
                () = next(&mut self.interrupt) => Signal::Interrupt,
                () = next(&mut self.terminate) => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            Signal::Interrupt
        }
    }
}

/// Runs `work` unless a signal comes first; then `work` is dropped (cancelling
/// its requests and removing its temporary files) and the signal returned.
pub async fn interruptible<T>(work: impl Future<Output = T>) -> Result<T, Signal> {
    tokio::select! {
        value = work => Ok(value),
        signal = signal() => Err(signal),
    }
}
