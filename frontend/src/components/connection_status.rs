//! The connection indicator in the top bar.

use yew::prelude::*;

use crate::state::ConnState;

#[derive(Properties, PartialEq)]
pub struct ConnectionStatusProps {
    pub conn: ConnState,
}

/// Says where the connection stands. The text is lowercase on purpose: tests
/// and people read "connected", "reconnecting" or "offline" in it, and the
/// word "disconnected" is avoided because it contains "connected".
#[component]
pub fn ConnectionStatus(props: &ConnectionStatusProps) -> Html {
    let name = props.conn.name();
    html! {
        <div
            class={classes!("status", format!("status--{name}"))}
            data-testid="connection-status"
            data-state={name}
            role="status"
        >
            <span class="status__dot" aria-hidden="true"></span>
            { label(props.conn) }
        </div>
    }
}

fn label(conn: ConnState) -> String {
    match conn {
        ConnState::Offline => "offline".into(),
        ConnState::Connecting => "offline, connecting…".into(),
        ConnState::Connected => "connected".into(),
        ConnState::Reconnecting {
            retry_in_ms: Some(ms),
            ..
        } => format!("reconnecting in {} s…", ms.div_ceil(1000)),
        ConnState::Reconnecting {
            retry_in_ms: None, ..
        } => "reconnecting…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_connected_state_reads_connected() {
        let states = [
            ConnState::Offline,
            ConnState::Connecting,
            ConnState::Reconnecting {
                attempt: 1,
                retry_in_ms: Some(1500),
            },
            ConnState::Reconnecting {
                attempt: 2,
                retry_in_ms: None,
            },
        ];
        for conn in states {
            let text = label(conn);
            assert!(!text.contains("connected"), "{text}");
            assert!(
                text.contains("offline") || text.contains("reconnecting"),
                "{text}"
            );
        }
        assert_eq!(label(ConnState::Connected), "connected");
        assert_eq!(
            label(ConnState::Reconnecting {
                attempt: 1,
                retry_in_ms: Some(1500)
            }),
            "reconnecting in 2 s…"
        );
    }
}
