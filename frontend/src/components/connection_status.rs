//! The connection indicator in the top bar.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::state::ConnState;

#[derive(Properties, PartialEq)]
pub struct ConnectionStatusProps {
    pub conn: ConnState,
    /// Skip the rest of a reconnect wait.
    #[prop_or_default]
    pub onretry: Callback<()>,
}

/// Says where the connection stands, counting down to the next reconnect.
/// The pill has a fixed width, so the countdown and state changes never move
/// the rest of the bar. The text is lowercase on purpose: tests and people
/// read "connected", "reconnecting" or "offline" in it, and the word
/// "disconnected" is avoided because it contains "connected".
///
/// Screen readers hear the state once per change (the `role="status"` text
/// has no countdown), not a tick every second.
#[component]
pub fn ConnectionStatus(props: &ConnectionStatusProps) -> Html {
    let now = use_state(js_sys::Date::now);
    {
        // Tick while a countdown is on show; stop when it is not.
        let now = now.clone();
        use_effect_with(props.conn, move |conn| {
            now.set(js_sys::Date::now());
            let ticking = matches!(
                conn,
                ConnState::Reconnecting {
                    retry_at: Some(_),
                    ..
                }
            );
            let interval =
                ticking.then(|| Interval::new(250, move || now.set(js_sys::Date::now())));
            move || drop(interval)
        });
    }
    let name = props.conn.name();
    let text = label(props.conn, *now as i64);
    let waiting = matches!(
        props.conn,
        ConnState::Reconnecting {
            retry_at: Some(_),
            ..
        }
    );
    let inner = html! {
        <>
            <span class="status__dot" aria-hidden="true"></span>
            <span class="status__text" aria-hidden="true">{ text }</span>
            <span class="sr-only" role="status">{ spoken(props.conn) }</span>
        </>
    };
    html! {
        <div
            class={classes!("status", format!("status--{name}"))}
            data-testid="connection-status"
            data-state={name}
        >
            if waiting {
                <button
                    type="button"
                    class="status__inner status__inner--button"
                    title="Reconnect now"
                    onclick={props.onretry.reform(|_: MouseEvent| ())}
                >
                    { inner }
                    <span class="sr-only">{ ", reconnect now" }</span>
                </button>
            } else {
                <span class="status__inner">{ inner }</span>
            }
        </div>
    }
}

/// Seconds until `retry_at`, rounded up; zero once it has passed.
pub fn seconds_left(retry_at: i64, now: i64) -> i64 {
    if retry_at <= now {
        0
    } else {
        (retry_at - now + 999) / 1000
    }
}

/// What the pill shows at `now` (ms since the epoch).
pub fn label(conn: ConnState, now: i64) -> String {
    match conn {
        ConnState::Offline => "offline".into(),
        ConnState::Connecting => "connecting…".into(),
        ConnState::Connected => "connected".into(),
        ConnState::Reconnecting {
            retry_at: Some(at), ..
        } if seconds_left(at, now) > 0 => {
            format!("reconnecting in {} s", seconds_left(at, now))
        }
        ConnState::Reconnecting { .. } => "reconnecting…".into(),
    }
}

/// What screen readers hear: the state without the countdown.
fn spoken(conn: ConnState) -> &'static str {
    match conn {
        ConnState::Offline => "offline",
        ConnState::Connecting => "connecting",
        ConnState::Connected => "connected",
        ConnState::Reconnecting { .. } => "connection lost, reconnecting",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_028_800_000;

    fn waiting(ms: i64) -> ConnState {
        ConnState::Reconnecting {
            attempt: 1,
            retry_at: Some(NOW + ms),
        }
    }

    #[test]
    fn the_countdown_counts_down_and_never_below_zero() {
        assert_eq!(label(waiting(1500), NOW), "reconnecting in 2 s");
        assert_eq!(label(waiting(1500), NOW + 600), "reconnecting in 1 s");
        assert_eq!(label(waiting(1500), NOW + 1000), "reconnecting in 1 s");
        assert_eq!(label(waiting(1500), NOW + 1500), "reconnecting…");
        assert_eq!(label(waiting(1500), NOW + 9000), "reconnecting…");
        assert_eq!(seconds_left(NOW + 30_000, NOW), 30);
        assert_eq!(seconds_left(NOW + 29_001, NOW), 30);
        assert_eq!(seconds_left(NOW, NOW + 1), 0);
    }

    #[test]
    fn only_the_connected_state_reads_connected() {
        let states = [
            ConnState::Offline,
            ConnState::Connecting,
            waiting(1500),
            ConnState::Reconnecting {
                attempt: 2,
                retry_at: None,
            },
        ];
        for conn in states {
            for text in [label(conn, NOW), spoken(conn).to_owned()] {
                assert!(!text.contains(" connected"), "{text}");
                assert_ne!(text, "connected");
            }
        }
        assert_eq!(label(ConnState::Connected, NOW), "connected");
    }
}
