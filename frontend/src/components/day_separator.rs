//! The line between two days in a message list.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct DaySeparatorProps {
    /// `Today`, `Yesterday`, `Tuesday, 25 November`.
    pub label: AttrValue,
}

#[component]
pub fn DaySeparator(props: &DaySeparatorProps) -> Html {
    html! {
        <li class="day" data-testid="day-separator">
            <span class="day__label">{ props.label.clone() }</span>
        </li>
    }
}
