//! One chat message, or the person's own message on its way, or what is
//! left of a deleted one: the message it answers (a button that goes
//! there), its text with "(edited)", its reactions as chips that toggle the
//! person's own; and, on hover or focus, the actions the person may take:
//! Reply, React (a small picker), Edit (inline) and Delete (which asks
//! first), which the list around it carries out.

use std::rc::Rc;

use shared::protocol::QUICK_REACTIONS;
use shared::{ChatMessage, MessageKind, direct_members};
use yew::prelude::*;

use super::attachment_view::AttachmentView;
use crate::clock::{hh_mm, iso_utc, local_offset_minutes, local_time};
use crate::linkify::{mentions_me, render};
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
    /// The person's nickname, when they may answer and react to it (a
    /// confirmed message): their own reactions are marked.
    #[prop_or_default]
    pub me: Option<AttrValue>,
    /// The person may delete it (`moderation::may_delete`).
    #[prop_or_default]
    pub deletable: bool,
    /// The person may edit it (`moderation::may_edit`).
    #[prop_or_default]
    pub editable: bool,
    /// What of it is open: nothing ([`CLOSED`]), the editor
    /// ([`EDITING`]) or the reaction picker ([`PICKING`]). Its buttons
    /// (each known by its `data-act`) and keys are handled by the list
    /// around it (`message_list`), one handler for all its messages.
    #[prop_or_default]
    pub open: usize,
}

/// A message as a list item: avatar, author and time heading a group, then
/// the text. Author and text are text nodes, never markup: whatever people
/// type is shown as typed; only http(s) and mailto links become links, and
/// `@name` a mention (`msg--mention` on the message when it names the person).
#[component]
pub fn MessageView(props: &MessageViewProps) -> Html {
    let msg = &props.message;
    let open = props.open;
    let live = props.delivery.is_none() && !msg.deleted;
    let me = props.me.as_deref().filter(|_| live);
    let action = msg.kind == MessageKind::Action && !msg.deleted;
    let failed = matches!(props.delivery, Some(Delivery::Failed(_)));
    let to_me = !props.mine && me.is_some_and(|me| mentions_me(&msg.text, me));
    let class = classes!(
        "msg",
        action.then_some("msg--action"),
        msg.deleted.then_some("msg--deleted"),
        props.mine.then_some("msg--mine"),
        props.continued.then_some("msg--continued"),
        props.delivery.is_some().then_some("msg--pending"),
        failed.then_some("msg--failed"),
        to_me.then_some("msg--mention"),
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
    let edited = msg.edited.map(|at| {
        let title = format!("Edited {}", local_time(at, js_sys::Date::now() as i64));
        html! { <span class="msg__edited" data-testid="edited" {title}>{ " (edited)" }</span> }
    });
    let text = html! {
        <>
            <span class="msg__text">{ render(&msg.text, me) }</span>
            { edited }
        </>
    };
    let quote = msg.quote.as_deref().filter(|_| !msg.deleted).map(|q| {
        let (class, text) = if q.deleted {
            ("quote__text quote__text--deleted", "deleted message")
        } else {
            ("quote__text", q.text.as_str())
        };
        html! {
            <button
                type="button"
                class="quote"
                data-testid="quote"
                data-act="jump"
                aria-label={format!("Go to the message from {}", q.nick)}
            >
                <span class="quote__nick">{ q.nick.clone() }</span>
                <span {class}>{ text.to_owned() }</span>
            </button>
        }
    });
    let body = if open == EDITING {
        html! {
            <div class="msg__body">
                <textarea
                    class="msg__editor"
                    data-testid="edit-input"
                    aria-label="Edit your message. Enter saves, Escape cancels."
                    value={msg.text.clone()}
                />
                <div class="msg__status">{ "Enter saves · Escape cancels" }</div>
            </div>
        }
    } else if msg.deleted {
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
    let reactions = (live && !msg.reactions.is_empty()).then(|| {
        html! {
            <div class="reactions">
                { for msg.reactions.iter().map(|r| {
                    let mine = me.is_some_and(|me| r.nicks.iter().any(|n| n == me));
                    let mut who = String::new();
                    for nick in &r.nicks {
                        if !who.is_empty() {
                            who.push_str(", ");
                        }
                        who.push_str(nick);
                    }
                    html! {
                        <button
                            type="button"
                            class={if mine { "reaction reaction--mine" } else { "reaction" }}
                            data-testid="reaction"
                            data-act="react"
                            data-emoji={r.emoji.clone()}
                            aria-pressed={if mine { "true" } else { "false" }}
                            title={who}
                        >
                            { format!("{} {}", r.emoji, r.nicks.len()) }
                        </button>
                    }
                }) }
            </div>
        }
    });
    let picker = (open == PICKING && me.is_some()).then(|| {
        html! {
            <div class="picker" data-testid="reaction-picker" role="group" aria-label="Add a reaction">
                { for QUICK_REACTIONS.iter().map(|emoji| html! {
                    <button
                        type="button"
                        class="picker__emoji"
                        data-testid="pick-reaction"
                        data-act="react"
                        data-emoji={*emoji}
                    >
                        { *emoji }
                    </button>
                }) }
                // Enter in the field presses its submit button.
                <form class="picker__other" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                    <input class="picker__input" data-testid="reaction-input" aria-label="Another emoji" maxlength="32" size="3" />
                    <button type="submit" class="link-button" data-act="other">{ "Add" }</button>
                </form>
            </div>
        }
    });
    let edit = props.editable && live && open != EDITING;
    let delete = props.deletable && live;
    let tools = (me.is_some() || delete).then(|| {
        html! { <Tools react={me.is_some()} {edit} {delete} /> }
    });
    html! {
        <li {class} data-testid={testid} data-author={msg.nick.clone()} data-seq={msg.seq.to_string()}>
            { gutter }
            <div class="msg__main">
                { head }
                { quote }
                { body }
                { reactions }
                { picker }
                { status }
            </div>
            { tools }
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct ToolsProps {
    react: bool,
    edit: bool,
    delete: bool,
}

/// A message's actions, each known to the list's click handler by its
/// `data-act`. A component of its own: when a message renders again with
/// the same actions (as every row does when the list's callbacks change),
/// they are not diffed again.
#[component]
fn Tools(props: &ToolsProps) -> Html {
    html! {
        <div class="msg__tools">
            if props.react {
                { tool("reply", "reply-message", "Reply to this message", "Reply") }
                { tool("pick", "add-reaction", "Add a reaction", "☺+") }
            }
            if props.edit {
                { tool("edit", "edit-message", "Edit your message", "Edit") }
            }
            if props.delete {
                { tool("delete", "delete-message", "Delete this message", "Delete") }
            }
        </div>
    }
}

/// One of a message's actions.
fn tool(act: &'static str, testid: &'static str, label: &'static str, text: &'static str) -> Html {
    html! {
        <button type="button" data-testid={testid} data-act={act} aria-label={label}>{ text }</button>
    }
}

/// Nothing of a message is open.
pub const CLOSED: usize = 0;
/// A message's text is being edited.
pub const EDITING: usize = 1;
/// A message's reaction picker is open.
pub const PICKING: usize = 2;

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
