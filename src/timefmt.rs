//! Time as stored (unix seconds, UTC) and as shown (RFC 3339 in JSON, relative in tables).

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix seconds to RFC 3339 in UTC (`2026-11-26T17:38:14Z`).
pub fn rfc3339(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How long ago `unix` was, as of `now`, in one short unit ("12m ago", "3d ago", "in 5m").
pub fn relative(unix: i64, now: i64) -> String {
    let delta = now - unix;
    let (ahead, secs) = if delta < 0 {
        (true, -delta)
    } else {
        (false, delta)
    };
    let text = match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    };
    if ahead {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// The unix time `ago` before `now` (saturating: a huge duration is the beginning of time).
pub fn before(now: i64, ago: std::time::Duration) -> i64 {
    now.saturating_sub(i64::try_from(ago.as_secs()).unwrap_or(i64::MAX))
}

pub fn now_unix() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(relative(100, 820), "12m ago");
        assert_eq!(relative(1000, 700), "in 5m");
        assert_eq!(relative(0, 3 * 86400 + 5), "3d ago");
        assert_eq!(before(1000, std::time::Duration::from_secs(60)), 940);
        assert_eq!(before(1000, std::time::Duration::MAX), i64::MIN + 1001);
    }
}
