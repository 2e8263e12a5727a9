//! Storage latency: every `Store` call is timed into the `db_query_duration_seconds`
//! histogram, labelled with the operation (`get_runner`, `update_runner`, …). Recorded through
//! the `metrics` facade: the server's exporter publishes it, a program without one pays
//! nothing.

use std::time::Instant;

/// Records the time from its creation to its drop, whatever way the call ends.
pub(crate) struct QueryTimer {
    op: &'static str,
    started: Instant,
}

impl QueryTimer {
    pub(crate) fn new(op: &'static str) -> Self {
        Self { op, started: Instant::now() }
    }
}

impl Drop for QueryTimer {
    fn drop(&mut self) {
        metrics::histogram!("db_query_duration_seconds", "op" => self.op).record(self.started.elapsed().as_secs_f64());
    }
}
