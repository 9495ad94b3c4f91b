//! The head of the room on screen: its name, its topic under it, slow mode,
//! and for moderators the way to the moderation log.

use shared::ClientMsg;
use yew::prelude::*;

use crate::actions::use_chat_actions;
use crate::linkify::render;

#[derive(Properties, PartialEq)]
pub struct RoomHeadProps {
    /// The room's name on the wire (`rust`, `@alice+bob`).
    pub room: AttrValue,
    /// How it reads: `#rust`, or the other person in a conversation.
    pub label: AttrValue,
    #[prop_or_default]
    pub topic: AttrValue,
    /// Slow mode: seconds between a member's messages (0: off).
    #[prop_or_default]
    pub slow: u32,
    /// The person moderates this room.
    #[prop_or_default]
    pub moderator: bool,
}

/// The topic is people's text: text nodes, never markup, with its http(s)
/// and mailto links made links as in messages. On a phone the
/// head shows only when it has something to say beyond the name (which the
/// room strip shows).
#[component]
pub fn RoomHead(props: &RoomHeadProps) -> Html {
    let actions = use_chat_actions();
    let plain = props.topic.is_empty() && props.slow == 0 && !props.moderator;
    let log = {
        let room = props.room.to_string();
        actions
            .command
            .reform(move |_: MouseEvent| ClientMsg::ModLog {
                room: room.clone(),
                before: None,
                limit: None,
            })
    };
    html! {
        <div class={if plain { "room-head room-head--plain" } else { "room-head" }} data-testid="room-head">
            <div class="room-head__text">
                <h2 class="room-head__name">{ props.label.clone() }</h2>
                if !props.topic.is_empty() {
                    <p class="room-head__topic" data-testid="room-topic" title={props.topic.clone()}>
                        { render(&props.topic, None) }
                    </p>
                }
            </div>
            if props.slow > 0 {
                <span
                    class="room-head__badge"
                    data-testid="slow-badge"
                    title={format!("Slow mode: one message every {} s", props.slow)}
                >
                    { format!("slow · {} s", props.slow) }
                </span>
            }
            if props.moderator {
                <button
                    type="button"
                    class="room-head__log link-button"
                    data-testid="modlog-button"
                    onclick={log}
                >
                    { "Moderation log" }
                </button>
            }
        </div>
    }
}
