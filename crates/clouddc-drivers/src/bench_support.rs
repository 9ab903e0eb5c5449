//! What the benchmark drivers (`bench_*`, run by `cargo xtask bench`) share:
//! the `main` that runs them and the latency figures they print.

use std::future::Future;
use std::process::ExitCode;

/// Parses the arguments and runs `run` on a multi-threaded runtime: exit 2
/// with `name: message` for bad arguments, 1 when the run fails.
pub fn main<A, F, Fut>(name: &str, parse: impl FnOnce() -> Result<A, String>, run: F) -> ExitCode
where
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{name}: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The `q` quantile, in milliseconds, of latencies in microseconds sorted
/// ascending; 0 when there are none.
pub fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    let Some(last) = sorted_us.len().checked_sub(1) else {
        return 0.0;
    };
    let index = ((q * sorted_us.len() as f64) as usize).min(last);
    f64::from(sorted_us[index]) / 1000.0
}
