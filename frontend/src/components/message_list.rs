//! A room's scrollback: confirmed messages, notices, then the person's own
//! messages still awaiting their ack.

use std::rc::Rc;

use web_sys::Element;
use yew::prelude::*;

use super::message_view::{Delivery, MessageView};
use crate::state::{Line, LineBody, Pending, Tone};

/// Within this many pixels of the bottom the list follows new messages;
/// further up, the person is reading history and the list stays put.
const STICK_PX: i32 = 48;

#[derive(Properties, PartialEq)]
pub struct MessageListProps {
    pub lines: Vec<Line>,
    #[prop_or_default]
    pub pending: Vec<Pending>,
    /// The person using this client, to mark their messages.
    #[prop_or_default]
    pub me: Option<AttrValue>,
}

#[component]
pub fn MessageList(props: &MessageListProps) -> Html {
    let list = use_node_ref();
    let stick = use_mut_ref(|| true);

    let onscroll = {
        let list = list.clone();
        let stick = Rc::clone(&stick);
        Callback::from(move |_: Event| {
            if let Some(el) = list.cast::<Element>() {
                *stick.borrow_mut() =
                    el.scroll_height() - el.scroll_top() - el.client_height() < STICK_PX;
            }
        })
    };

    {
        let list = list.clone();
        let newest = (props.lines.last().map(|l| l.id), props.pending.len());
        use_effect_with(newest, move |_| {
            if *stick.borrow()
                && let Some(el) = list.cast::<Element>()
            {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    let me = props.me.as_deref();
    let lines = props.lines.iter().map(|line| match &line.body {
        LineBody::Chat(msg) => html! {
            <MessageView
                key={format!("l{}", line.id)}
                message={Rc::clone(msg)}
                mine={Some(msg.nick.as_str()) == me}
            />
        },
        LineBody::Notice { text, tone } => html! {
            <li
                key={format!("l{}", line.id)}
                class={classes!("notice", (*tone == Tone::Error).then_some("notice--error"))}
                data-testid="notice"
            >
                { text.clone() }
            </li>
        },
    });
    let pending = props.pending.iter().map(|p| {
        let delivery = match &p.failed {
            Some(why) => Delivery::Failed(AttrValue::from(why.clone())),
            None => Delivery::Sending,
        };
        html! {
            <MessageView key={format!("p{}", p.id)} message={Rc::clone(&p.draft)} mine=true {delivery} />
        }
    });
    let empty = props.lines.is_empty() && props.pending.is_empty();

    html! {
        <ol class="messages" data-testid="message-list" ref={list} {onscroll} role="log" aria-label="Messages">
            if empty {
                <li class="messages__empty">{ "No messages yet. Say hello!" }</li>
            }
            { for lines }
            { for pending }
        </ol>
    }
}
