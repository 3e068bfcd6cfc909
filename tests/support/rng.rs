//! Chance: random choices for the tests that crash things at random
//! moments, from a seed that is printed (`ZWARM_TEST_SEED` replays one),
//! and how many rounds a race is run (`ZWARM_RACE_ROUNDS`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Rng(u64);

impl Rng {
    /// A generator for `test`, whose seed is printed on stderr.
    pub fn new(test: &str) -> Rng {
        let seed = std::env::var("ZWARM_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("{test}: seed {seed}");
        Rng(seed)
    }

    /// xorshift64*: plenty for choosing moments to crash.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A duration below `n` milliseconds.
    pub fn millis(&mut self, n: u64) -> Duration {
        Duration::from_micros(self.below(n * 1000))
    }
}

/// How many times each race is run: `ZWARM_RACE_ROUNDS`, else 30.
pub fn rounds() -> usize {
    rounds_or(30)
}

/// `ZWARM_RACE_ROUNDS`, else `default` (fewer for the slow ones in CI).
pub fn rounds_or(default: usize) -> usize {
    std::env::var("ZWARM_RACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}
