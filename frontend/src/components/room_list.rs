//! The rooms the client is in, to switch between them.

use yew::prelude::*;

/// One room as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomTab {
    pub name: String,
    /// Unread messages from others.
    pub unread: u32,
}

#[derive(Properties, PartialEq)]
pub struct RoomListProps {
    pub rooms: Vec<RoomTab>,
    /// The room on screen.
    pub active: AttrValue,
    /// Show this room.
    pub onselect: Callback<String>,
}

/// Buttons, one per room, the one on screen marked `aria-current`.
#[component]
pub fn RoomList(props: &RoomListProps) -> Html {
    html! {
        <nav class="rooms" aria-label="Rooms">
            <h2 class="side__title">{ "Rooms" }</h2>
            <ul class="rooms__list" data-testid="room-list">
                { for props.rooms.iter().map(|room| {
                    let current = room.name == props.active.as_str();
                    let name = room.name.clone();
                    let onclick = props.onselect.reform(move |_: MouseEvent| name.clone());
                    let label = if room.unread > 0 {
                        format!("#{}, {} unread", room.name, room.unread)
                    } else {
                        format!("#{}", room.name)
                    };
                    html! {
                        <li key={room.name.clone()}>
                            <button
                                type="button"
                                class={classes!("room", current.then_some("room--current"))}
                                aria-current={current.then_some("true")}
                                aria-label={label}
                                {onclick}
                            >
                                <span class="room__hash" aria-hidden="true">{ "#" }</span>
                                <span class="room__name">{ room.name.clone() }</span>
                                if room.unread > 0 {
                                    <span class="room__unread" aria-hidden="true">{ room.unread }</span>
                                }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </nav>
    }
}
