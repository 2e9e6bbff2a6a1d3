//! Chainsignal's own logging setup, as `RUST_LOG=trace` makes it, captured in memory:
//! one subscriber for a whole test binary, for the tests that search the log for
//! secrets.

use chainsignal::logging;
use chainsignal_core::config::LogFormat;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let buf = captured.0.clone();
        logging::init_with_writer(
            LogFormat::Text,
            "trace",
            move || CapturedWriter(buf.clone()),
            false,
        );
        tracing::trace!("trace logging captured");
        captured
    })
}

/// Start capturing (once per test binary; later calls do nothing).
pub fn log() {
    captured();
}

/// Everything logged so far.
pub fn log_text() -> String {
    String::from_utf8_lossy(&captured().0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// None of `needles` in any log line; the log really is at TRACE and busy.
pub fn assert_not_logged(needles: &[&str]) {
    let text = log_text();
    assert!(
        text.contains("trace logging captured"),
        "the log is captured at TRACE"
    );
    assert!(text.lines().count() > 50, "the log is busy at TRACE:\n{text}");
    for n in needles {
        let hits: Vec<&str> = text.lines().filter(|l| l.contains(n)).collect();
        assert!(hits.is_empty(), "{n} logged:\n{}", hits.join("\n"));
    }
}
