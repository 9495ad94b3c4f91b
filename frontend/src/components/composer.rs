//! Where messages are written, and what holds them back: slow mode (with
//! the wait it imposes after a message), a mute, the connection; and in a
//! room a moderator took the person out of, joining again instead. A reply
//! being written shows what it answers above the box.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use shared::limits::MAX_TEXT_BYTES;
use shared::protocol::Quote;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, HtmlTextAreaElement};
use yew::prelude::*;

use super::attach_button::AttachButton;
use crate::actions::use_chat_actions;
use crate::clock::local_time;
use crate::input::{self, History};
use crate::upload::{Chosen, files_in};

/// Below this many bytes left, the composer shows how many remain.
pub const SHOW_LEFT_BELOW: isize = 256;

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// Whether sending is possible at all. While it is not, typing still is,
    /// and the text waits in the box.
    #[prop_or(true)]
    pub enabled: bool,
    /// The connection is down: messages are queued until it is back.
    #[prop_or_default]
    pub offline: bool,
    /// The room messages go to, for the placeholder.
    #[prop_or_default]
    pub room: AttrValue,
    /// The server's limit on a message, in bytes.
    #[prop_or(MAX_TEXT_BYTES)]
    pub max_bytes: usize,
    /// How the target reads, when not `#room` (a conversation: `bob`).
    #[prop_or_default]
    pub label: Option<AttrValue>,
    /// Slow mode in the room: seconds between a member's messages (0: off).
    #[prop_or_default]
    pub slow: u32,
    /// The person is not slowed (moderators are not).
    #[prop_or_default]
    pub unslowed: bool,
    /// When the person's last message here was sent (ms since the epoch).
    #[prop_or_default]
    pub posted_at: Option<i64>,
    /// Muted here: until when (ms), `Some(None)` for good.
    #[prop_or_default]
    pub muted_until: Option<Option<i64>>,
    /// A moderator took the person out of the room (kicked or banned): no
    /// composer, but "Join again" (`ChatActions::join_room`; a ban is
    /// refused with the server's reason) and "Close"
    /// (`ChatActions::close_room`).
    #[prop_or_default]
    pub closed: bool,
    /// The message the next one answers: shown above the box, with a way
    /// to cancel (× or Escape; `ChatActions::reply` with `None`).
    #[prop_or_default]
    pub replying: Option<Quote>,
}

/// A text area: Enter sends, Shift+Enter starts a new line, Up in an empty
/// box recalls what was sent. Bad input (an unknown command, a message over
/// the limit) is explained here and kept, never sent and never lost.
///
/// A line that passes [`input::parse`] goes to `ChatActions::send_text`;
/// writing a message (not a command) is reported to `ChatActions::typing`,
/// and pasted images to `ChatActions::share`.
#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    let actions = use_chat_actions();
    // Only for the byte counter: the text area is left uncontrolled, so a
    // re-render (an error appearing, the connection coming back) can never
    // overwrite what the person is typing.
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let history = use_mut_ref(History::default);
    let area = use_node_ref();
    {
        // Ready to type as soon as the chat appears (keyboard users start
        // here; `autofocus` only works once per page), and again once Reply
        // is chosen on a message (or the reply is done with).
        let area = area.clone();
        let replying = props.replying.as_ref().map(|q| q.seq);
        use_effect_with(replying, move |_| {
            if let Some(el) = area.cast::<HtmlTextAreaElement>() {
                let _ = el.focus();
            }
        });
    }
    // The server's limit, but never more than the rule both sides share.
    let max_bytes = props.max_bytes.min(MAX_TEXT_BYTES);
    // Slow mode's wait after a message: the hint counts it down.
    let now = use_state(js_sys::Date::now);
    let free_at = props
        .posted_at
        .filter(|_| props.slow > 0 && !props.unslowed)
        .map(|at| at + i64::from(props.slow) * 1000);
    {
        let now = now.clone();
        use_effect_with(free_at, move |free_at| {
            now.set(js_sys::Date::now());
            let ticking = free_at.is_some_and(|at| at > js_sys::Date::now() as i64);
            let interval =
                ticking.then(|| Interval::new(500, move || now.set(js_sys::Date::now())));
            move || drop(interval)
        });
    }
    let now = *now as i64;

    let submit = {
        let area = area.clone();
        let draft = draft.clone();
        let error = error.clone();
        let history = Rc::clone(&history);
        let send_text = actions.send_text.clone();
        let enabled = props.enabled;
        Callback::from(move |()| {
            // Read the element, not the state: Enter can overtake the
            // re-render that follows the last keystroke.
            let Some(el) = area.cast::<HtmlTextAreaElement>() else {
                return;
            };
            let text = el.value();
            if !enabled || text.trim().is_empty() {
                return;
            }
            let checked = match input::parse(&text) {
                Ok(_) if text.trim_end().len() > max_bytes => Err(format!(
                    "a message has at most {max_bytes} bytes; this one has {}",
                    text.trim_end().len()
                )),
                Ok(_) => Ok(()),
                Err(err) => Err(err.to_string()),
            };
            match checked {
                Ok(()) => {
                    history.borrow_mut().push(text.trim_end());
                    send_text.emit(text);
                    el.set_value("");
                    draft.set(String::new());
                    error.set(None);
                }
                Err(why) => error.set(Some(why)),
            }
        })
    };

    let oninput = {
        let draft = draft.clone();
        let error = error.clone();
        let typing = actions.typing.clone();
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            if is_typing(&value) {
                typing.emit(());
            }
            draft.set(value);
            if error.is_some() {
                error.set(None);
            }
        })
    };
    let onkeydown = {
        let submit = submit.clone();
        let draft = draft.clone();
        let reply = actions.reply.clone();
        let replying = props.replying.is_some();
        Callback::from(move |e: KeyboardEvent| {
            // While an input method is composing, keys belong to it.
            if e.is_composing() || e.alt_key() || e.ctrl_key() || e.meta_key() {
                return;
            }
            match e.key().as_str() {
                "Escape" if replying => {
                    e.prevent_default();
                    reply.emit(None);
                }
                "Enter" if !e.shift_key() => {
                    e.prevent_default();
                    submit.emit(());
                }
                "ArrowUp" | "ArrowDown" if !e.shift_key() => {
                    let el = e.target_unchecked_into::<HtmlTextAreaElement>();
                    let current = el.value();
                    let recalled = if e.key() == "ArrowUp" {
                        history.borrow_mut().up(&current)
                    } else {
                        history.borrow_mut().down(&current)
                    };
                    if let Some(text) = recalled {
                        e.prevent_default();
                        el.set_value(&text);
                        let end = text.encode_utf16().count() as u32;
                        let _ = el.set_selection_range(end, end);
                        draft.set(text);
                    }
                }
                _ => {}
            }
        })
    };
    // An image pasted (a screenshot, an image copied in a browser) is shared.
    // Not when the clipboard also holds text: spreadsheet cells come with a
    // picture of themselves, and the person meant the text.
    let onpaste = {
        let share = actions.share;
        let enabled = props.enabled;
        Callback::from(move |e: Event| {
            let Some(dt) = e
                .dyn_ref::<ClipboardEvent>()
                .and_then(|c| c.clipboard_data())
            else {
                return;
            };
            if !enabled || dt.types().includes(&"text/plain".into(), 0) {
                return;
            }
            let now = js_sys::Date::now() as i64;
            let files: Vec<Chosen> = files_in(dt.files())
                .into_iter()
                .map(|file| Chosen::pasted(file, now))
                .collect();
            if !files.is_empty() {
                e.prevent_default();
                share.emit(files);
            }
        })
    };
    let onsubmit = {
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            submit.emit(());
        })
    };

    let left = max_bytes as isize - draft.trim_end().len() as isize;
    let over = left < 0;
    let counter = if over {
        html! {
            <span class="composer__count composer__count--over" data-testid="composer-count">
                { format!("{} bytes over the limit", -left) }
            </span>
        }
    } else if left < SHOW_LEFT_BELOW {
        html! {
            <span class="composer__count" data-testid="composer-count">
                { format!("{left} bytes left") }
            </span>
        }
    } else {
        html! {}
    };
    let muted = props
        .muted_until
        .filter(|until| until.is_none_or(|at| at > now));
    let wait = free_at.map_or(0, |at| seconds_until(at, now));
    let hint = if let Some(err) = &*error {
        html! { <span class="composer__hint composer__hint--error" role="alert">{ err.clone() }</span> }
    } else if let Some(until) = muted {
        let text = match until {
            Some(at) => format!("You are muted here until {}.", local_time(at, now)),
            None => "You are muted here.".to_owned(),
        };
        html! {
            <span class="composer__hint composer__hint--warn" data-testid="muted-note">{ text }</span>
        }
    } else if wait > 0 {
        html! {
            <span class="composer__hint composer__hint--warn" data-testid="slow-note">
                { format!("Slow mode: you can post again in {wait} s.") }
            </span>
        }
    } else if props.offline {
        html! {
            <span class="composer__hint">
                { "Offline: messages are sent when the connection is back." }
            </span>
        }
    } else if props.slow > 0 {
        html! {
            <span class="composer__hint" data-testid="slow-note">
                { format!("Slow mode: one message every {} s.", props.slow) }
            </span>
        }
    } else {
        html! {
            <span class="composer__hint composer__hint--keys">
                { "Enter sends · Shift+Enter new line · ↑ last message · /help" }
            </span>
        }
    };
    let target = match &props.label {
        Some(label) => label.to_string(),
        None => format!("#{}", props.room),
    };
    let placeholder = if props.room.is_empty() && props.label.is_none() {
        "Message".to_owned()
    } else {
        format!("Message {target}")
    };

    if props.closed {
        let room = props.room.to_string();
        let rejoin = {
            let room = room.clone();
            actions.join_room.reform(move |_: MouseEvent| room.clone())
        };
        let close = actions.close_room.reform(move |_: MouseEvent| room.clone());
        return html! {
            <div class="room-closed" data-testid="room-closed">
                <span class="room-closed__text" role="status">
                    { format!("You are no longer in {target}.") }
                </span>
                <span class="room-closed__actions">
                    <button type="button" class="button" data-testid="rejoin-room" onclick={rejoin}>
                        { "Join again" }
                    </button>
                    <button type="button" class="link-button" data-testid="close-room" onclick={close}>
                        { "Close" }
                    </button>
                </span>
            </div>
        };
    }

    let replying = props.replying.as_ref().map(|q| {
        let cancel = actions.reply.reform(|_: MouseEvent| None);
        html! {
            <div class="composer__reply" data-testid="replying">
                <span class="composer__reply-text">
                    { "Replying to " }
                    <strong>{ q.nick.clone() }</strong>
                    { if q.deleted { ": deleted message" } else { ": " } }
                    { q.text.clone() }
                </span>
                <button
                    type="button"
                    class="composer__reply-cancel"
                    data-testid="cancel-reply"
                    aria-label="Cancel the reply"
                    onclick={cancel}
                >
                    { "×" }
                </button>
            </div>
        }
    });

    html! {
        <form class="composer" {onsubmit}>
            { replying }
            <div class={classes!("composer__row", over.then_some("composer__row--over"))}>
                <AttachButton disabled={!props.enabled} />
                <textarea
                    ref={area}
                    class="composer__input"
                    data-testid="message-input"
                    rows="1"
                    aria-label={format!("Message {target}")}
                    aria-describedby="composer-hint"
                    aria-invalid={over.then_some("true")}
                    {placeholder}
                    {oninput}
                    {onkeydown}
                    {onpaste}
                />
                <button
                    type="submit"
                    class="button composer__send"
                    data-testid="send-button"
                    disabled={!props.enabled || over}
                >
                    { "Send" }
                </button>
            </div>
            <div class="composer__meta" id="composer-hint">
                { hint }
                { counter }
            </div>
        </form>
    }
}

/// Whole seconds from `now` until `at` (ms), rounded up; 0 once passed.
pub fn seconds_until(at: i64, now: i64) -> i64 {
    if at <= now {
        0
    } else {
        (at - now + 999) / 1000
    }
}

/// Whether a draft is a message being written, worth a typing notification:
/// not empty, and not a command other than `/me`.
pub fn is_typing(draft: &str) -> bool {
    let draft = draft.trim_start();
    !draft.is_empty()
        && (!draft.starts_with('/') || draft.starts_with("/me ") || draft.starts_with("//"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_mode_wait_rounds_up_and_ends() {
        assert_eq!(seconds_until(31_000, 1_000), 30);
        assert_eq!(seconds_until(31_000, 1_001), 30);
        assert_eq!(seconds_until(31_000, 30_999), 1);
        assert_eq!(seconds_until(31_000, 31_000), 0);
        assert_eq!(seconds_until(31_000, 90_000), 0);
    }

    #[test]
    fn commands_are_not_typing() {
        assert!(is_typing("h"));
        assert!(is_typing("/me waves"));
        assert!(is_typing("//slash"));
        assert!(!is_typing(""));
        assert!(!is_typing("  "));
        assert!(!is_typing("/join rust"));
    }
}
