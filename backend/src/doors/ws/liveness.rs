//! When to ping a WebSocket client and when to give up on a silent one, on
//! one timer.
//!
//! A frame from the client only notes the time: the timer is not moved for
//! every frame. When it fires, [`Liveness::due`] looks at what actually came
//! due, and the timer is set again for [`Liveness::deadline`].

use tokio::time::Instant;

use crate::config::Heartbeat;

/// The two instants a connection keeps; the intervals are the server's
/// [`Heartbeat`], shared by every connection rather than copied into each.
#[derive(Debug)]
pub(super) struct Liveness {
    /// When the client was last heard from.
    heard: Instant,
    next_ping: Instant,
}

/// What the timer found due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// Nothing arrived for the idle limit: the connection ends.
    Idle,
    /// Time to ping; the next ping is scheduled from now.
    Ping,
    /// The client spoke since the timer was set: nothing yet.
    Nothing,
}

impl Liveness {
    pub(super) fn new(now: Instant, heartbeat: &Heartbeat) -> Self {
        Self {
            heard: now,
            next_ping: now + heartbeat.ping_every,
        }
    }

    /// Any frame from the client, a pong included, proves it alive.
    pub(super) fn heard(&mut self, now: Instant) {
        self.heard = now;
    }

    /// When the timer should next fire.
    pub(super) fn deadline(&self, heartbeat: &Heartbeat) -> Instant {
        self.next_ping.min(self.silent_until(heartbeat))
    }

    pub(super) fn due(&mut self, now: Instant, heartbeat: &Heartbeat) -> Due {
        if now >= self.silent_until(heartbeat) {
            Due::Idle
        } else if now >= self.next_ping {
            // From now rather than from when it was due: a late ping does not
            // bring the next one closer.
            self.next_ping = now + heartbeat.ping_every;
            Due::Ping
        } else {
            Due::Nothing
        }
    }

    fn silent_until(&self, heartbeat: &Heartbeat) -> Instant {
        self.heard + heartbeat.idle_after
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn heartbeat(ping_every: u64, idle_after: u64) -> Heartbeat {
        Heartbeat {
            ping_every: Duration::from_secs(ping_every),
            idle_after: Duration::from_secs(idle_after),
            ..Heartbeat::default()
        }
    }

    #[test]
    fn a_quiet_client_is_pinged_on_schedule_then_dropped() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let hb = heartbeat(54, 60);
        let mut liveness = Liveness::new(start, &hb);
        assert_eq!(liveness.deadline(&hb), at(54));
        assert_eq!(liveness.due(at(54), &hb), Due::Ping);
        assert_eq!(liveness.deadline(&hb), at(60), "the silence ends first now");
        assert_eq!(liveness.due(at(60), &hb), Due::Idle);
    }

    #[test]
    fn hearing_from_the_client_moves_the_idle_limit_not_the_pings() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let hb = heartbeat(54, 60);
        let mut liveness = Liveness::new(start, &hb);
        liveness.due(at(54), &hb);
        liveness.heard(at(55));
        // The timer was set for 60; the client spoke at 55, so nothing is due.
        assert_eq!(liveness.due(at(60), &hb), Due::Nothing);
        assert_eq!(
            liveness.deadline(&hb),
            at(108),
            "the next ping, 54 s after the last"
        );
        assert_eq!(liveness.due(at(108), &hb), Due::Ping);
        assert_eq!(liveness.due(at(115), &hb), Due::Idle);
    }

    #[test]
    fn a_late_timer_pings_once_and_counts_the_next_ping_from_then() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let hb = heartbeat(10, 60);
        let mut liveness = Liveness::new(start, &hb);
        liveness.heard(at(25));
        assert_eq!(liveness.due(at(25), &hb), Due::Ping);
        assert_eq!(liveness.deadline(&hb), at(35));
        assert_eq!(liveness.due(at(30), &hb), Due::Nothing);
    }
}
