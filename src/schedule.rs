//! Pure scheduling rules: when a feed is due again after a success or after failures, raised by
//! what the server asked for. Time comes in as an argument; nothing here reads a clock.

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

/// When a feed attempted at `at` (unix seconds) is due again: the interval (or the backoff after
/// `consecutive_failures`), raised to the server's `hint` (RSS `ttl`, `Cache-Control`, `Expires`,
/// `Retry-After`), spread by [`jitter`] with `unit`, never sooner than the hint and never later
/// than [`MAX_DELAY`].
pub fn next_due(
    at: i64,
    interval: Duration,
    consecutive_failures: u32,
    hint: Option<Duration>,
    unit: f64,
) -> i64 {
    let hint = hint.unwrap_or_default().min(MAX_DELAY);
    let base = next_delay(interval, consecutive_failures).max(hint);
    let delay = jitter(base, unit).max(hint).min(MAX_DELAY);
    at.saturating_add(delay.as_secs() as i64)
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

    #[test]
    fn hints_raise_the_delay_up_to_the_ceiling_and_jitter_never_undercuts_them() {
        let half_hour = Duration::from_secs(1800);
        let at = 1_000_000;
        // No hint: the interval, jittered.
        assert_eq!(next_due(at, half_hour, 0, None, 0.5), at + 1800);
        assert_eq!(next_due(at, half_hour, 0, None, 0.0), at + 1620);
        // A longer hint wins, and the low jitter does not bring it forward.
        let two_hours = Duration::from_secs(7200);
        assert_eq!(next_due(at, half_hour, 0, Some(two_hours), 0.0), at + 7200);
        assert_eq!(next_due(at, half_hour, 0, Some(two_hours), 1.0), at + 7920);
        // A shorter hint changes nothing.
        assert_eq!(
            next_due(at, half_hour, 0, Some(Duration::from_secs(60)), 0.5),
            at + 1800
        );
        // Ten years of hint, or a long backoff with high jitter: a day at most.
        let decade = Duration::from_secs(10 * 365 * 86400);
        assert_eq!(next_due(at, half_hour, 0, Some(decade), 1.0), at + 86400);
        assert_eq!(next_due(at, half_hour, 30, None, 1.0), at + 86400);
        // Backoff and a Retry-After: the longer of the two.
        assert_eq!(
            next_due(at, half_hour, 3, Some(Duration::from_secs(600)), 0.5),
            at + 7200
        );
    }
}
