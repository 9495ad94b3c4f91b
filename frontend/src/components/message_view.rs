//! One chat message.

use std::rc::Rc;

use shared::{ChatMessage, MessageKind};
use yew::prelude::*;

use crate::clock::{hh_mm, iso_utc, local_offset_minutes};

/// Whether the server has confirmed a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Delivery {
    #[default]
    Delivered,
    /// Sent, no ack yet.
    Sending,
    /// Not delivered, and why.
    Failed(AttrValue),
}

#[derive(Properties, PartialEq)]
pub struct MessageViewProps {
    pub message: Rc<ChatMessage>,
    /// Written by the person using this client.
    #[prop_or_default]
    pub mine: bool,
    #[prop_or_default]
    pub delivery: Delivery,
}

/// A message as a list item: time, author, text. Author and text are text
/// nodes, never markup: whatever people type is shown as typed.
#[component]
pub fn MessageView(props: &MessageViewProps) -> Html {
    let msg = &props.message;
    let action = msg.kind == MessageKind::Action;
    let delivered = props.delivery == Delivery::Delivered;
    let failed = matches!(props.delivery, Delivery::Failed(_));
    let class = classes!(
        "msg",
        action.then_some("msg--action"),
        props.mine.then_some("msg--mine"),
        (!delivered).then_some("msg--pending"),
        failed.then_some("msg--failed"),
    );
    // Unconfirmed messages get their own test id, so that "the message
    // arrived" means the server has it.
    let testid = if delivered {
        "message"
    } else {
        "message-pending"
    };
    let author = if action {
        format!("* {}", msg.nick)
    } else {
        msg.nick.clone()
    };
    let status = match &props.delivery {
        Delivery::Delivered => html! {},
        Delivery::Sending => html! { <span class="msg__status">{ "sending…" }</span> },
        Delivery::Failed(why) => html! {
            <span class="msg__status msg__status--failed" role="alert">
                { format!("not sent: {why}") }
            </span>
        },
    };
    html! {
        <li {class} data-testid={testid}>
            <time class="msg__time" datetime={iso_utc(msg.ts)}>
                { hh_mm(msg.ts, local_offset_minutes(msg.ts)) }
            </time>
            { " " }
            <span class="msg__nick">{ author }</span>
            { " " }
            <span class="msg__text">{ msg.text.clone() }</span>
            { status }
        </li>
    }
}
