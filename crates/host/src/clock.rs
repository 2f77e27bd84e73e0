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
            eprintln!("wasmleak: {what}: {:.1} ms", (now - t.get()).as_secs_f64() * 1e3);
            t.set(now);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
