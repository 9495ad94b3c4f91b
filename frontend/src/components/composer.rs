//! Where messages are written.

use shared::limits::MAX_TEXT_BYTES;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::input;

/// Below this many bytes left, the composer shows how many remain.
const SHOW_LEFT_BELOW: isize = 256;

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// A line to send, already checked with [`input::parse`].
    pub onsend: Callback<String>,
    /// Whether sending is possible now. While it is not, typing still is, and
    /// the text waits in the box.
    #[prop_or(true)]
    pub enabled: bool,
    /// The room messages go to, for the placeholder.
    #[prop_or_default]
    pub room: AttrValue,
    /// The server's limit on a message, in bytes.
    #[prop_or(MAX_TEXT_BYTES)]
    pub max_bytes: usize,
}

/// A text area: Enter sends, Shift+Enter starts a new line. Bad input
/// (an unknown command, a message over the limit) is explained here and kept,
/// never sent and never lost.
#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    // Only for the byte counter: the text area is left uncontrolled, so a
    // re-render (an error appearing, the connection coming back) can never
    // overwrite what the person is typing.
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let area = use_node_ref();

    let submit = {
        let area = area.clone();
        let draft = draft.clone();
        let error = error.clone();
        let onsend = props.onsend.clone();
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
            match input::parse(&text) {
                Ok(_) => {
                    onsend.emit(text);
                    el.set_value("");
                    draft.set(String::new());
                    error.set(None);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        })
    };

    let oninput = {
        let draft = draft.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            draft.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
            if error.is_some() {
                error.set(None);
            }
        })
    };
    let onkeydown = {
        let submit = submit.clone();
        Callback::from(move |e: KeyboardEvent| {
            // While an input method is composing, Enter picks a candidate.
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                e.prevent_default();
                submit.emit(());
            }
        })
    };
    let onsubmit = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        submit.emit(());
    });

    let left = props.max_bytes as isize - draft.len() as isize;
    let hint = if let Some(err) = &*error {
        html! { <p class="composer__hint composer__hint--error" role="alert">{ err.clone() }</p> }
    } else if left < 0 {
        html! { <p class="composer__hint composer__hint--error">{ format!("{} bytes over the limit", -left) }</p> }
    } else if left < SHOW_LEFT_BELOW {
        html! { <p class="composer__hint">{ format!("{left} bytes left") }</p> }
    } else if !props.enabled {
        html! { <p class="composer__hint">{ "Waiting for the connection; your text stays here." }</p> }
    } else {
        html! {}
    };
    let placeholder = if props.room.is_empty() {
        "Message".to_owned()
    } else {
        format!("Message #{}", props.room)
    };

    html! {
        <form class="composer" {onsubmit}>
            <div class="composer__row">
                <textarea
                    ref={area}
                    class="composer__input"
                    data-testid="message-input"
                    rows="1"
                    aria-label="Message"
                    {placeholder}
                    {oninput}
                    {onkeydown}
                />
                <button
                    type="submit"
                    class="button"
                    data-testid="send-button"
                    disabled={!props.enabled}
                >
                    { "Send" }
                </button>
            </div>
            { hint }
        </form>
    }
}
