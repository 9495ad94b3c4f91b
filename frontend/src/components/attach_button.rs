//! The composer's attach button: a file picker behind a labelled button.
//! The chosen files are shared through `ChatActions::share`.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::actions::use_chat_actions;
use crate::upload::{Chosen, files_in};

#[derive(Properties, PartialEq)]
pub struct AttachButtonProps {
    #[prop_or_default]
    pub disabled: bool,
}

/// A `<label>` that looks like a button around an `<input type=file>` that is
/// hidden only visually, so the keyboard and screen readers still reach it.
#[component]
pub fn AttachButton(props: &AttachButtonProps) -> Html {
    let share = use_chat_actions().share;
    let onchange = {
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let files: Vec<Chosen> = files_in(input.files())
                .into_iter()
                .map(Chosen::new)
                .collect();
            // Emptied, so that choosing the same file again is a change too.
            input.set_value("");
            if !files.is_empty() {
                share.emit(files);
            }
        })
    };
    html! {
        <label
            class={classes!("composer__attach", props.disabled.then_some("composer__attach--disabled"))}
            title="Attach files"
        >
            <input
                type="file"
                multiple=true
                class="sr-only"
                data-testid="file-input"
                aria-label="Attach files"
                disabled={props.disabled}
                {onchange}
            />
            <svg class="composer__clip" viewBox="0 0 24 24" aria-hidden="true">
                <path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
            </svg>
        </label>
    }
}
