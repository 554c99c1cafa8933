//! Pure scheduling rules: when a feed is due again after a success or after failures.
//! Time comes in as an argument; nothing here reads a clock.

use std::time::Duration;

/// The longest a feed is ever left alone, whatever the backoff or the server's hints.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Delay before the next attempt after `consecutive_failures` failures in a row (0 = success):
/// the interval, doubled per failure after the first, never above [`MAX_DELAY`].
pub fn next_delay(interval: Duration, consecutive_failures: u32) -> Duration {
    if consecutive_failures <= 1 {
        return interval.min(MAX_DELAY);
    }
    let factor = 1u32
        .checked_shl(consecutive_failures - 1)
        .unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(MAX_DELAY)
}

/// Spreads a delay by up to ±10 % so that feeds added together do not stay in lock-step.
/// `unit` is a number in [0, 1) chosen by the caller (random in the daemon, fixed in tests).
pub fn jitter(delay: Duration, unit: f64) -> Duration {
    let factor = 0.9 + 0.2 * unit.clamp(0.0, 1.0);
    delay.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let i = Duration::from_secs(1800);
        assert_eq!(next_delay(i, 0), i);
        assert_eq!(next_delay(i, 1), i);
        assert_eq!(next_delay(i, 2), i * 2);
        assert_eq!(next_delay(i, 3), i * 4);
        assert_eq!(next_delay(i, 10), MAX_DELAY);
        assert_eq!(next_delay(i, 200), MAX_DELAY);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let d = Duration::from_secs(1000);
        assert_eq!(jitter(d, 0.0), Duration::from_secs(900));
        assert_eq!(jitter(d, 1.0), Duration::from_secs(1100));
    }
}
