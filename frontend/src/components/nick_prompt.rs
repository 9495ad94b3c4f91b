//! The nickname form shown before the chat.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NickPromptProps {
    /// What the field starts with: a remembered or refused nickname.
    #[prop_or_default]
    pub initial: AttrValue,
    /// A nickname is on its way to the server.
    #[prop_or_default]
    pub busy: bool,
    /// Why the last nickname was refused.
    #[prop_or_default]
    pub error: Option<AttrValue>,
    /// The nickname as typed; checking it is the receiver's business.
    pub onsubmit: Callback<String>,
}

/// Asks for a nickname. Enter in the field submits, as in any form.
#[component]
pub fn NickPrompt(props: &NickPromptProps) -> Html {
    let value = use_state(|| props.initial.to_string());

    let oninput = {
        let value = value.clone();
        Callback::from(move |e: InputEvent| {
            value.set(e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let input = use_node_ref();
    let onsubmit = {
        let input = input.clone();
        let value = value.clone();
        let emit = props.onsubmit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // The field itself is the truth: a submit can overtake the
            // re-render that follows typing.
            let typed = input
                .cast::<HtmlInputElement>()
                .map_or_else(|| (*value).clone(), |el| el.value());
            emit.emit(typed);
        })
    };

    html! {
        <form class="nick-prompt" {onsubmit} novalidate=true>
            <h2 class="nick-prompt__title">{ "Pick a nickname" }</h2>
            <p class="nick-prompt__hint">{ "It is how others see you here." }</p>
            <div class="nick-prompt__row">
                <input
                    ref={input}
                    id="nick-input"
                    data-testid="nick-input"
                    type="text"
                    aria-label="Nickname"
                    placeholder="nickname"
                    autocomplete="nickname"
                    autocapitalize="off"
                    spellcheck="false"
                    autofocus=true
                    aria-invalid={props.error.is_some().then_some("true")}
                    aria-describedby={props.error.is_some().then_some("nick-error")}
                    value={(*value).clone()}
                    {oninput}
                />
                <button type="submit" class="button" data-testid="nick-submit">
                    { if props.busy { "Joining…" } else { "Join" } }
                </button>
            </div>
            if let Some(error) = &props.error {
                <p id="nick-error" class="error" data-testid="nick-error" role="alert">{ error.clone() }</p>
            }
        </form>
    }
}
