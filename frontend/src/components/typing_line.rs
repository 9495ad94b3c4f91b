//! "alice is typing…" under the messages.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TypingLineProps {
    /// Who is typing, oldest first.
    #[prop_or_default]
    pub names: Vec<String>,
}

/// One line, always there (empty when nobody types), so that people starting
/// and stopping typing never move the messages above it. Screen readers hear
/// it politely.
#[component]
pub fn TypingLine(props: &TypingLineProps) -> Html {
    let names: Vec<&str> = props.names.iter().map(String::as_str).collect();
    html! {
        <div class="typing" data-testid="typing" aria-live="polite">
            { crate::state::typing_text(&names).unwrap_or_default() }
        </div>
    }
}
