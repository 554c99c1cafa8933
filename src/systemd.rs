//! The service manager's side channel (`sd_notify(3)`): READY once the store is migrated,
//! STATUS lines, WATCHDOG pings, STOPPING. Each message is one datagram to the socket named by
//! `NOTIFY_SOCKET` (a path, or an abstract name when it starts with `@`). Without that variable
//! (a terminal, a test, another init system) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

enum Target {
    Path(std::path::PathBuf),
    #[cfg(target_os = "linux")]
    Abstract(Vec<u8>),
}

pub struct Notifier {
    target: Option<(UnixDatagram, Target)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, and `WATCHDOG_USEC` where `WATCHDOG_PID` is unset or this process.
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|socket| {
            let bytes = socket.as_encoded_bytes();
            let target = match bytes.first() {
                #[cfg(target_os = "linux")]
                Some(b'@') => Target::Abstract(bytes[1..].to_vec()),
                Some(b'/') => Target::Path(socket.clone().into()),
                _ => {
                    tracing::warn!(socket = ?socket, "NOTIFY_SOCKET is neither a path nor an abstract name; not notifying");
                    return None;
                }
            };
            match UnixDatagram::unbound() {
                Ok(sock) => Some((sock, target)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create a socket for systemd notifications");
                    None
                }
            }
        });
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|pid| pid.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|usec| *usec > 0 && for_us)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            target: None,
            watchdog: None,
        }
    }

    /// The watchdog period systemd expects pings within, when it asked for them.
    pub fn watchdog(&self) -> Option<Duration> {
        self.target.as_ref().and(self.watchdog)
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    pub fn watchdog_ping(&self) {
        self.send("WATCHDOG=1");
    }

    pub fn stopping(&self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
    }

    fn send(&self, message: &str) {
        let Some((socket, target)) = &self.target else {
            return;
        };
        let sent = match target {
            Target::Path(path) => socket.send_to(message.as_bytes(), path),
            #[cfg(target_os = "linux")]
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|addr| socket.send_to_addr(message.as_bytes(), &addr))
            }
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "systemd notification not delivered");
        }
    }
}

/// STATUS is one line: a newline would start another assignment.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_path_socket_as_datagrams() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier {
            target: Some((UnixDatagram::unbound().unwrap(), Target::Path(path))),
            watchdog: Some(Duration::from_secs(30)),
        };
        notifier.ready("3 feeds\nready");
        notifier.watchdog_ping();
        let mut buf = [0u8; 256];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=3 feeds ready");
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
        assert_eq!(notifier.watchdog(), Some(Duration::from_secs(30)));
        assert_eq!(Notifier::disabled().watchdog(), None);
    }
}
