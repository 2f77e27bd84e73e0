/// Where the time of a check goes, on stderr with `WASMLEAK_STATS=1` (for BENCHMARKS.md).
pub struct Clock(Option<std::cell::Cell<std::time::Instant>>);

impl Clock {
    pub fn new() -> Clock {
        Clock(std::env::var_os("WASMLEAK_STATS").map(|_| std::cell::Cell::new(std::time::Instant::now())))
    }

    /// The time since the last lap (or the start), named `what`.
    pub fn lap(&self, what: &str) {
        if let Some(t) = &self.0 {
            let now = std::time::Instant::now();
            eprintln!("wasmleak: {what}: {:.1} ms (resident {})", (now - t.get()).as_secs_f64() * 1e3, resident());
            t.set(now);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// The process's resident memory and its peak so far, from /proc (on a VM whose host backs memory lazily, first
/// touches of pages are slow: the peak is part of the time, BENCHMARKS.md).
fn resident() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(hwm)) => format!("{} MB, peak {} MB", rss.parse::<u64>().unwrap_or(0) / 1024, hwm.parse::<u64>().unwrap_or(0) / 1024),
        _ => "unknown".into(),
    }
}
