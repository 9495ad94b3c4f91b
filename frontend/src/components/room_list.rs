//! The rooms and conversations the client is in, to switch between them,
//! and the '+' that joins another room. Switching, joining and asking which
//! rooms exist go to `ChatActions`.

use shared::RoomInfo;
use shared::validate::normalize_room;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::actions::use_chat_actions;

/// One room (or conversation) as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomTab {
    /// The room's name on the wire: `rust`, `@alice+bob`.
    pub name: String,
    /// How it reads: `#rust`, or the other person's nickname.
    pub label: String,
    /// A conversation between two people.
    pub direct: bool,
    /// Unread messages from others.
    pub unread: u32,
    /// Those of them that mention the person.
    pub mentions: u32,
}

impl RoomTab {
    /// A room named `name`, labelled `#name`.
    pub fn room(name: &str, unread: u32) -> Self {
        RoomTab {
            name: name.to_owned(),
            label: format!("#{name}"),
            direct: false,
            unread,
            mentions: 0,
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct RoomListProps {
    pub rooms: Vec<RoomTab>,
    /// The room on screen.
    pub active: AttrValue,
    /// The rooms that exist, once the server has said.
    #[prop_or_default]
    pub directory: Option<Vec<RoomInfo>>,
}

/// Two lists of buttons, rooms then direct messages, the one on screen
/// marked `aria-current`; each entry carries `data-room` (its name),
/// `data-unread` and `data-mentions`, with badges for both counts.
#[component]
pub fn RoomList(props: &RoomListProps) -> Html {
    let actions = use_chat_actions();
    let adding = use_state_eq(|| false);
    let error = use_state_eq(|| None::<String>);
    let input = use_node_ref();

    let toggle = {
        let adding = adding.clone();
        let error = error.clone();
        // Opening the '+' asks the server which rooms exist.
        let list_rooms = actions.list_rooms.clone();
        Callback::from(move |_: MouseEvent| {
            if !*adding {
                list_rooms.emit(());
            }
            error.set(None);
            adding.set(!*adding);
        })
    };
    let join = {
        let adding = adding.clone();
        let error = error.clone();
        let join_room = actions.join_room.clone();
        Callback::from(move |raw: String| match normalize_room(&raw) {
            Ok(room) => {
                error.set(None);
                adding.set(false);
                join_room.emit(room);
            }
            Err(err) => error.set(Some(err.to_string())),
        })
    };
    let onsubmit = {
        let input = input.clone();
        let join = join.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(el) = input.cast::<HtmlInputElement>() {
                join.emit(el.value());
            }
        })
    };
    {
        // The field is ready to type in as soon as it opens.
        let input = input.clone();
        use_effect_with(*adding, move |open| {
            if *open && let Some(el) = input.cast::<HtmlInputElement>() {
                let _ = el.focus();
            }
        });
    }

    let entry = |room: &RoomTab| {
        let current = room.name == props.active.as_str();
        let name = room.name.clone();
        let onclick = actions
            .switch_room
            .reform(move |_: MouseEvent| name.clone());
        let label = match (room.unread, room.mentions) {
            (0, _) => room.label.clone(),
            (n, 0) => format!("{}, {n} unread", room.label),
            (n, m) => format!("{}, {n} unread, {m} mentioning you", room.label),
        };
        let (mark, text) = match room.label.strip_prefix('#') {
            Some(text) if !room.direct => ("#", text.to_owned()),
            _ => ("@", room.label.clone()),
        };
        html! {
            <li key={room.name.clone()}>
                <button
                    type="button"
                    class={classes!("room", current.then_some("room--current"))}
                    aria-current={current.then_some("true")}
                    aria-label={label}
                    data-room={room.name.clone()}
                    data-unread={room.unread.to_string()}
                    data-mentions={room.mentions.to_string()}
                    {onclick}
                >
                    <span class="room__hash" aria-hidden="true">{ mark }</span>
                    <span class="room__name">{ text }</span>
                    if room.mentions > 0 {
                        <span class="room__mentions" data-testid="mentions" aria-hidden="true">
                            { "@" }{ room.mentions }
                        </span>
                    }
                    if room.unread > 0 {
                        <span class="room__unread" data-testid="unread" aria-hidden="true">
                            { room.unread }
                        </span>
                    }
                </button>
            </li>
        }
    };
    let rooms: Vec<&RoomTab> = props.rooms.iter().filter(|r| !r.direct).collect();
    let direct: Vec<&RoomTab> = props.rooms.iter().filter(|r| r.direct).collect();

    // Rooms that exist and that the client is not in, busiest first.
    let others: Vec<&RoomInfo> = {
        let mut list: Vec<&RoomInfo> = props
            .directory
            .iter()
            .flatten()
            .filter(|info| !props.rooms.iter().any(|r| r.name == info.room))
            .collect();
        // Names are unique, so the order is total and an unstable sort gives
        // the same list, with less code than the stable one.
        list.sort_unstable_by(|a, b| b.members.cmp(&a.members).then(a.room.cmp(&b.room)));
        list
    };

    html! {
        <nav class="rooms" aria-label="Rooms">
            <div class="rooms__head">
                <h2 class="side__title">{ "Rooms" }</h2>
                <button
                    type="button"
                    class="rooms__add"
                    data-testid="room-add"
                    aria-expanded={if *adding { "true" } else { "false" }}
                    aria-label="Join a room"
                    title="Join a room"
                    onclick={toggle}
                >
                    { if *adding { "×" } else { "+" } }
                </button>
            </div>
            if *adding {
                <form class="rooms__form" {onsubmit} novalidate=true>
                    <input
                        ref={input}
                        class="rooms__input"
                        data-testid="room-add-input"
                        type="text"
                        aria-label="Room to join"
                        placeholder="room name"
                        autocapitalize="off"
                        spellcheck="false"
                        aria-invalid={error.is_some().then_some("true")}
                    />
                    <button type="submit" class="button rooms__join">{ "Join" }</button>
                    if let Some(err) = &*error {
                        <p class="error rooms__error" role="alert">{ err.clone() }</p>
                    }
                    if !others.is_empty() {
                        <ul class="rooms__directory" data-testid="room-directory">
                            { for others.into_iter().map(|info| {
                                let name = info.room.clone();
                                let onclick = join.reform(move |_: MouseEvent| name.clone());
                                html! {
                                    <li key={info.room.clone()}>
                                        <button
                                            type="button"
                                            class="link-button"
                                            data-room={info.room.clone()}
                                            {onclick}
                                        >
                                            { format!("#{}", info.room) }
                                            <span class="rooms__members">
                                                { format!(" · {}", info.members) }
                                            </span>
                                        </button>
                                    </li>
                                }
                            }) }
                        </ul>
                    }
                </form>
            }
            <ul class="rooms__list" data-testid="room-list">
                { for rooms.into_iter().map(&entry) }
            </ul>
            if !direct.is_empty() {
                <h2 class="side__title side__title--sub">{ "Direct messages" }</h2>
                <ul class="rooms__list" data-testid="dm-list">
                    { for direct.into_iter().map(entry) }
                </ul>
            }
        </nav>
    }
}
