//! One chat message, or the person's own message on its way, or what is
//! left of a deleted one; with a "Delete" action for those the person may
//! delete.

use std::rc::Rc;

use shared::{ChatMessage, ClientMsg, MessageKind, direct_members};
use yew::prelude::*;

use super::attachment_view::AttachmentView;
use crate::clock::{hh_mm, iso_utc, local_offset_minutes};
use crate::linkify::{Segment, segments};
use crate::state::Delivery;

#[derive(Properties, PartialEq)]
pub struct MessageViewProps {
    pub message: Rc<ChatMessage>,
    /// Written by the person using this client.
    #[prop_or_default]
    pub mine: bool,
    /// Continues a group by the same author: the author and avatar are left
    /// out (screen readers still hear the author).
    #[prop_or_default]
    pub continued: bool,
    /// `None` once the server has confirmed it.
    #[prop_or_default]
    pub delivery: Option<Delivery>,
    /// For a failed message: send it again.
    #[prop_or_default]
    pub onretry: Callback<()>,
    /// For a failed message: give it up.
    #[prop_or_default]
    pub ondismiss: Callback<()>,
    /// The person may delete it (`moderation::may_delete`).
    #[prop_or_default]
    pub deletable: bool,
    /// Sends its deletion, once the person confirms. The list's one
    /// callback for all its messages (`ChatActions::command`), so that a
    /// new message re-renders none of the others.
    #[prop_or_default]
    pub ondelete: Callback<ClientMsg>,
}

/// A message as a list item: avatar, author and time heading a group, then
/// the text. Author and text are text nodes, never markup: whatever people
/// type is shown as typed; only http(s) and mailto links become links.
#[component]
pub fn MessageView(props: &MessageViewProps) -> Html {
    let msg = &props.message;
    let action = msg.kind == MessageKind::Action && !msg.deleted;
    let failed = matches!(props.delivery, Some(Delivery::Failed(_)));
    let class = classes!(
        "msg",
        action.then_some("msg--action"),
        msg.deleted.then_some("msg--deleted"),
        props.mine.then_some("msg--mine"),
        props.continued.then_some("msg--continued"),
        props.delivery.is_some().then_some("msg--pending"),
        failed.then_some("msg--failed"),
    );
    // Unconfirmed messages get their own test id, so that "the message
    // arrived" means the server has it.
    let testid = if props.delivery.is_none() {
        "message"
    } else {
        "message-pending"
    };
    let time = html! {
        <time class="msg__time" datetime={iso_utc(msg.ts)}>
            { hh_mm(msg.ts, local_offset_minutes(msg.ts)) }
        </time>
    };
    let gutter = if props.continued || action {
        html! { <div class="msg__gutter">{ time.clone() }</div> }
    } else {
        html! {
            <div class="msg__gutter" aria-hidden="true">
                <span class={classes!("avatar", format!("avatar--{}", hue(&msg.nick)))}>
                    { initial(&msg.nick) }
                </span>
            </div>
        }
    };
    let head = if props.continued {
        html! { <span class="sr-only">{ format!("{}: ", msg.nick) }</span> }
    } else if action {
        html! {}
    } else {
        html! {
            <div class="msg__head">
                <span class="msg__nick">{ msg.nick.clone() }</span>
                if props.mine {
                    <span class="msg__you">{ "you" }</span>
                }
                { time }
            </div>
        }
    };
    let text = html! {
        <span class="msg__text">
            { for segments(&msg.text).into_iter().map(|segment| match segment {
                Segment::Text(text) => html! { { text } },
                Segment::Link(href) => html! {
                    <a href={href.to_owned()} target="_blank" rel="noopener noreferrer">{ href }</a>
                },
            }) }
        </span>
    };
    let body = if msg.deleted {
        html! {
            <div class="msg__body">
                <span class="msg__deleted" data-testid="message-deleted">{ "Message deleted" }</span>
            </div>
        }
    } else if let Some(file) = &msg.attachment {
        // The text is the file's name, which the attachment shows.
        let direct = direct_members(&msg.room).is_some();
        html! { <div class="msg__body"><AttachmentView attachment={file.clone()} {direct} /></div> }
    } else if action {
        html! {
            <div class="msg__body">
                <span class="msg__star" aria-hidden="true">{ "* " }</span>
                <span class="msg__nick">{ msg.nick.clone() }</span>
                { " " }
                { text }
            </div>
        }
    } else {
        html! { <div class="msg__body">{ text }</div> }
    };
    let status = match &props.delivery {
        None => html! {},
        Some(Delivery::Queued) => html! {
            <div class="msg__status">{ "waiting for the connection" }</div>
        },
        Some(Delivery::Sending) => html! { <div class="msg__status">{ "sending…" }</div> },
        Some(Delivery::Failed(why)) => {
            let retry = props.onretry.reform(|_: MouseEvent| ());
            let dismiss = props.ondismiss.reform(|_: MouseEvent| ());
            html! {
                <div class="msg__status msg__status--failed" role="alert">
                    { format!("Not sent: {why}.") }
                    <button type="button" class="link-button" data-testid="retry-message" onclick={retry}>
                        { "Retry" }
                    </button>
                    <button type="button" class="link-button" data-testid="dismiss-message" onclick={dismiss}>
                        { "Dismiss" }
                    </button>
                </div>
            }
        }
    };
    let tools = (props.deletable && !msg.deleted && props.delivery.is_none()).then(|| {
        let (room, seq) = (msg.room.clone(), msg.seq);
        let ondelete = props.ondelete.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            if confirmed("Delete this message? Everyone in the room will see that it was deleted.")
            {
                let room = room.clone();
                ondelete.emit(ClientMsg::Delete { room, seq });
            }
        });
        html! {
            <button
                type="button"
                class="msg__delete"
                data-testid="delete-message"
                aria-label={format!("Delete {}'s message", msg.nick)}
                {onclick}
            >
                { "Delete" }
            </button>
        }
    });
    html! {
        <li {class} data-testid={testid} data-author={msg.nick.clone()} data-seq={msg.seq.to_string()}>
            { gutter }
            <div class="msg__main">
                { head }
                { body }
                { status }
            </div>
            { tools }
        </li>
    }
}

/// Whether the person says yes to `question` (the browser's own dialog).
fn confirmed(question: &str) -> bool {
    web_sys::window().is_some_and(|w| w.confirm_with_message(question).unwrap_or(false))
}

/// The first letter of a nickname, for its avatar (upper case for ASCII;
/// Unicode's case tables are not worth their weight in the bundle here).
fn initial(nick: &str) -> String {
    nick.chars()
        .find(|c| c.is_ascii_alphanumeric() || !c.is_ascii())
        .or_else(|| nick.chars().next())
        .map(|c| c.to_ascii_uppercase().to_string())
        .unwrap_or_default()
}

/// Avatar colours in the stylesheet (`.avatar--0` …): classes, since the
/// page's Content-Security-Policy allows no inline styles.
const HUES: u32 = 12;

/// A stable colour (0 to [`HUES`] - 1) for a nickname, so each person keeps
/// theirs.
pub fn hue(nick: &str) -> u32 {
    // FNV-1a: tiny, and stable across builds and browsers.
    let hash = nick.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % HUES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_use_a_letter_and_a_stable_hue() {
        assert_eq!(initial("alice"), "A");
        assert_eq!(initial("_bob"), "B");
        assert_eq!(initial("ßtraße"), "ß");
        assert_eq!(initial("élan"), "é");
        assert_eq!(initial("__"), "_");
        assert_eq!(hue("alice"), hue("alice"));
        assert_ne!(hue("alice"), hue("bob"));
        assert!(hue("zoë") < HUES);
    }
}
