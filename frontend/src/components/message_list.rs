//! A room's scrollback: day separators, messages grouped by author, notices,
//! then the person's own messages still awaiting their ack.
//!
//! Only the newest lines are in the DOM ([`WINDOW`] of them, however many the
//! room holds), so a new message costs the same with 10,000 lines loaded as
//! with 10. Scrolling to the top (or the "Show earlier messages" button) adds
//! [`PAGE`] older lines at a time, keeping what is on screen in place;
//! returning to the bottom drops them again. Once every line held here is
//! shown, reaching the top asks the server for older messages
//! (`ChatActions::load_older`) while it has some; when they arrive above, the view stays
//! where the reader was. A hole left by a long absence is a marker that
//! loads what is missing. A search result's message or a quoted one
//! (`found`) is brought into the window, scrolled to the middle and
//! highlighted.

use std::rc::Rc;

use shared::protocol::Role;
use shared::protocol::{Quote, Reaction};
use shared::{ChatMessage, ClientMsg};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::day_separator::DaySeparator;
use super::message_view::{CLOSED, EDITING, MessageView, PICKING};
use crate::actions::{ChatActions, use_chat_actions};
use crate::clock::{day_label, local_day, local_offset_minutes};
use crate::moderation::{may_delete, may_edit};
use crate::scrollback::Scrollback;
use crate::state::{Found, Line, LineBody, Pending, Tone, chats_after};
use crate::timeline::Grouper;

/// Within this many pixels of the bottom the list follows new messages;
/// further up, the person is reading history and the list stays put.
const STICK_PX: i32 = 48;
/// Lines rendered while following the newest.
pub const WINDOW: usize = 150;
/// Older lines added each time the reader reaches the top.
pub const PAGE: usize = 150;
/// How close to the top counts as reaching it.
const LOAD_PX: i32 = 120;
/// How far back to look for the day of the line before the window.
const DAY_LOOKBACK: usize = 500;
/// How far from the start to look for the line that was first: lines added
/// above it arrive a page (at most 100) at a time.
const PREPEND_LOOKUP: usize = 1_000;

#[derive(Properties, PartialEq)]
pub struct MessageListProps {
    pub lines: Scrollback<Line>,
    #[prop_or_default]
    pub pending: Vec<Pending>,
    /// The person using this client, to mark their messages.
    #[prop_or_default]
    pub me: Option<AttrValue>,
    /// The server has messages older than these.
    #[prop_or_default]
    pub has_older: bool,
    /// Older messages were asked for and are on their way.
    #[prop_or_default]
    pub loading: bool,
    /// The person is signed in: their own messages may be deleted.
    #[prop_or_default]
    pub account: bool,
    /// The person's role in the room: a moderator deletes any message.
    #[prop_or(Role::Member)]
    pub role: Role,
    /// A message to bring into view and highlight (a search result).
    #[prop_or_default]
    pub found: Option<Found>,
}

#[component]
pub fn MessageList(props: &MessageListProps) -> Html {
    let actions = use_chat_actions();
    let list = use_node_ref();
    // Following the newest line. A ref, not state: it changes on every
    // scroll and needs no render of its own.
    let stick = use_mut_ref(|| true);
    let shown = use_state_eq(|| WINDOW);
    // The newest line id when the reader scrolled away from the bottom.
    let away = use_state_eq(|| None::<u64>);
    // After older lines are added above: the distance from the bottom to
    // restore, so that what the reader looks at stays put.
    let restore = use_mut_ref(|| None::<i32>);
    let pending_before = use_mut_ref(|| props.pending.len());
    // Lines present at mount are history, not news for screen readers.
    let announced_after = use_state(|| props.lines.last().map_or(0, |l| l.id));
    // Lines that arrived above the first one since the window was last
    // reset: shown as well, since the reader went up to fetch them.
    let extra = use_mut_ref(|| 0usize);
    let first = props.lines.get(0).map(|l| l.id);
    let first_before = use_mut_ref(|| first);
    // A jump to a message: the last one handled, the lines to show so that
    // it is among them, and the row highlighted.
    let jumped = use_mut_ref(|| None::<Found>);
    let reach = use_mut_ref(|| 0usize);
    let marked = use_mut_ref(|| None::<Element>);
    let jump_to = props.found.filter(|f| *jumped.borrow() != Some(*f));
    if let Some(found) = jump_to {
        *jumped.borrow_mut() = Some(found);
        let len = props.lines.len();
        let back = props
            .lines
            .iter()
            .rev()
            .position(|l| l.chat().is_some_and(|m| m.seq == found.seq));
        if let Some(back) = back {
            // Some context above it too.
            *reach.borrow_mut() = (back + 1 + 20).min(len);
            *stick.borrow_mut() = false;
            *restore.borrow_mut() = None;
        }
    }

    if *first_before.borrow() != first {
        let added = first_before.borrow().and_then(|old| {
            props
                .lines
                .iter()
                .take(PREPEND_LOOKUP)
                .position(|l| l.id == old)
        });
        if let Some(added) = added.filter(|n| *n > 0) {
            *extra.borrow_mut() += added;
            // The DOM still shows the previous render: remember where the
            // reader is, measured from the bottom, which the new lines above
            // do not move.
            if let Some(el) = list.cast::<Element>() {
                *restore.borrow_mut() = Some(el.scroll_height() - el.scroll_top());
            }
        }
        *first_before.borrow_mut() = first;
    }

    // The message whose editor or reaction picker is open, and which.
    let open = use_state_eq(|| None::<(u64, usize)>);
    {
        // The editor opens with the focus in it.
        let list = list.clone();
        use_effect_with(*open, move |open| {
            if let Some((_, EDITING)) = open
                && let Some(Ok(Some(el))) = list
                    .cast::<Element>()
                    .map(|l| l.query_selector("[data-testid=edit-input]"))
            {
                let _ = el.unchecked_into::<HtmlElement>().focus();
            }
        });
    }
    // The buttons of every message, by their `data-act`: one handler here
    // rather than closures in each message, which would cost every row's
    // render and the bundle.
    let onclick = {
        let (lines, open, me) = (props.lines.clone(), open.clone(), props.me.clone());
        let (command, reply, jump) = (
            actions.command.clone(),
            actions.reply.clone(),
            actions.jump.clone(),
        );
        Callback::from(move |e: MouseEvent| {
            let Some((button, msg)) = acted_on(&e, &lines) else {
                return;
            };
            let (room, seq) = (msg.room.clone(), msg.seq);
            let mut emoji = button.get_attribute("data-emoji");
            match button.get_attribute("data-act").as_deref() {
                Some("jump") => {
                    if let Some(quote) = &msg.quote {
                        jump.emit((room, quote.seq));
                    }
                }
                Some("reply") => {
                    // Its first line; the server quotes it the same way
                    // (cut at 80 characters, which the page cuts to fit).
                    let text = msg.text.split('\n').next().unwrap_or_default().to_owned();
                    let nick = msg.nick.clone();
                    let deleted = false;
                    reply.emit(Some(Quote {
                        seq,
                        nick,
                        text,
                        deleted,
                    }));
                }
                Some("edit") => open.set(Some((seq, EDITING))),
                Some("pick") => open.set(match *open {
                    Some((at, PICKING)) if at == seq => None,
                    _ => Some((seq, PICKING)),
                }),
                Some("delete")
                    if confirmed(
                        "Delete this message? Everyone in the room will see that it was deleted.",
                    ) =>
                {
                    command.emit(ClientMsg::Delete { room, seq });
                }
                Some("delete") => {}
                Some(act) => {
                    // "other": the emoji typed in the picker's field.
                    if act == "other" {
                        emoji = button
                            .previous_element_sibling()
                            .map(|input| input.unchecked_into::<HtmlInputElement>().value());
                    }
                    if let Some(emoji) = emoji.as_deref().map(str::trim).filter(|e| !e.is_empty())
                        && let Some(me) = me.as_deref()
                    {
                        command.emit(reaction(room, seq, emoji, &msg.reactions, me));
                        open.set(None);
                    }
                }
                None => {}
            }
        })
    };
    // Enter saves an edit and Escape cancels it (or closes the picker).
    let onkeydown = open.is_some().then(|| {
        let (lines, open, command) = (props.lines.clone(), open.clone(), actions.command.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.is_composing() {
                return;
            }
            if e.key() == "Escape" {
                open.set(None);
                return;
            }
            let Some(area) = e.target_dyn_into::<HtmlTextAreaElement>() else {
                return;
            };
            if e.key() != "Enter" || e.shift_key() {
                return;
            }
            e.prevent_default();
            let text = area.value();
            let text = text.trim_end();
            if text.trim_start().is_empty() {
                return;
            }
            if let Some((_, msg)) = acted_on(&e, &lines)
                && text != msg.text
            {
                command.emit(ClientMsg::Edit {
                    id: String::new(),
                    room: msg.room.clone(),
                    seq: msg.seq,
                    text: text.to_owned(),
                });
            }
            open.set(None);
        })
    });

    let len = props.lines.len();
    let start = len.saturating_sub((*shown + *extra.borrow()).max(*reach.borrow()));
    let newest = props.lines.last().map_or(0, |l| l.id);
    let oldest_seq = props.lines.iter().find_map(Line::chat).map(|m| m.seq);
    let can_load = start == 0 && props.has_older && !props.loading && oldest_seq.is_some();
    let load_older = {
        let ask = actions.load_older.clone();
        move || {
            if let Some(seq) = oldest_seq.filter(|_| can_load) {
                ask.emit(seq);
            }
        }
    };

    // Sending a message brings the reader back to the bottom.
    if props.pending.len() > *pending_before.borrow() {
        *stick.borrow_mut() = true;
    }
    *pending_before.borrow_mut() = props.pending.len();

    let show_earlier = {
        let list = list.clone();
        let restore = Rc::clone(&restore);
        let shown = shown.clone();
        let extra = Rc::clone(&extra);
        move || {
            if let Some(el) = list.cast::<Element>() {
                *restore.borrow_mut() = Some(el.scroll_height() - el.scroll_top());
            }
            let more = std::mem::take(&mut *extra.borrow_mut());
            shown.set(*shown + more + PAGE);
        }
    };

    let onscroll = {
        let list = list.clone();
        let stick = Rc::clone(&stick);
        let shown = shown.clone();
        let away = away.clone();
        let show_earlier = show_earlier.clone();
        let extra = Rc::clone(&extra);
        let reach = Rc::clone(&reach);
        let load_older = load_older.clone();
        Callback::from(move |_: Event| {
            let Some(el) = list.cast::<Element>() else {
                return;
            };
            let from_bottom = el.scroll_height() - el.scroll_top() - el.client_height();
            let at_bottom = from_bottom < STICK_PX;
            *stick.borrow_mut() = at_bottom;
            if at_bottom {
                away.set(None);
                if *shown != WINDOW || *extra.borrow() != 0 || *reach.borrow() != 0 {
                    *extra.borrow_mut() = 0;
                    *reach.borrow_mut() = 0;
                    shown.set(WINDOW);
                }
            } else {
                if away.is_none() {
                    away.set(Some(newest));
                }
                if el.scroll_top() < LOAD_PX {
                    if start > 0 {
                        show_earlier();
                    } else {
                        load_older();
                    }
                }
            }
        })
    };

    let earlier = Callback::from(move |_: MouseEvent| show_earlier());
    let fetch = Callback::from(move |_: MouseEvent| load_older());

    let jump = {
        let list = list.clone();
        let stick = Rc::clone(&stick);
        let away = away.clone();
        let extra = Rc::clone(&extra);
        let reach = Rc::clone(&reach);
        Callback::from(move |_: MouseEvent| {
            *stick.borrow_mut() = true;
            away.set(None);
            *extra.borrow_mut() = 0;
            *reach.borrow_mut() = 0;
            shown.set(WINDOW);
            if let Some(el) = list.cast::<HtmlElement>() {
                el.set_scroll_top(el.scroll_height());
                // The button goes away; keep keyboard focus in the list.
                let _ = el.focus();
            }
        })
    };

    {
        let list = list.clone();
        let stick = Rc::clone(&stick);
        let restore = Rc::clone(&restore);
        let away = away.clone();
        use_effect(move || {
            let Some(el) = list.cast::<Element>() else {
                return;
            };
            let restored = restore.borrow_mut().take();
            if let Some(found) = jump_to {
                show_found(&el, found.seq, &marked);
                let from_bottom = el.scroll_height() - el.scroll_top() - el.client_height();
                *stick.borrow_mut() = from_bottom < STICK_PX;
                if from_bottom >= STICK_PX {
                    away.set(Some(newest));
                }
            } else if let Some(from_bottom) = restored {
                el.set_scroll_top(el.scroll_height() - from_bottom);
            } else if *stick.borrow() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    let rows = rows(props, &actions, *open, start);
    let empty = props.lines.is_empty() && props.pending.is_empty();
    let new_count = away.map_or(0, |seen| chats_after(&props.lines, seen));
    let announcement = props
        .lines
        .last()
        .filter(|line| line.id > *announced_after)
        .and_then(Line::chat)
        .filter(|msg| Some(msg.nick.as_str()) != props.me.as_deref() && !msg.deleted)
        .map(|msg| match msg.attachment {
            Some(_) => format!("{} shared {}", msg.nick, msg.text),
            None => format!("{}: {}", msg.nick, msg.text),
        });

    html! {
        <div class="messages">
            <ol
                class="messages__list"
                data-testid="message-list"
                ref={list}
                {onscroll}
                {onclick}
                {onkeydown}
                tabindex="0"
                aria-label="Messages"
            >
                if start > 0 {
                    <li class="messages__earlier">
                        <button type="button" class="link-button" onclick={earlier}>
                            { "Show earlier messages" }
                        </button>
                    </li>
                } else if props.loading {
                    <li class="messages__earlier" data-testid="loading-older" aria-busy="true">
                        { "Loading earlier messages…" }
                    </li>
                } else if props.has_older && oldest_seq.is_some() {
                    <li class="messages__earlier">
                        <button
                            type="button"
                            class="link-button"
                            data-testid="load-older"
                            onclick={fetch}
                        >
                            { "Load earlier messages" }
                        </button>
                    </li>
                } else if oldest_seq.is_some() {
                    <li class="messages__earlier messages__start">
                        { "This is the beginning of the conversation." }
                    </li>
                }
                if empty {
                    <li class="messages__empty">{ "No messages yet. Say hello!" }</li>
                }
                { rows }
            </ol>
            if away.is_some() {
                <button
                    type="button"
                    class="jump"
                    data-testid="jump-to-latest"
                    onclick={jump}
                >
                    <span aria-hidden="true">{ "↓ " }</span>
                    { "Jump to latest" }
                    if new_count > 0 {
                        { format!(" ({new_count} new)") }
                    }
                </button>
            }
            <div class="sr-only" aria-live="polite" aria-atomic="true">
                { announcement.unwrap_or_default() }
            </div>
        </div>
    }
}

/// Scrolls the list so that the message `seq` is in its middle and marks
/// it `data-found` (the stylesheet highlights it for a moment), taking the
/// mark off the one found before.
fn show_found(list: &Element, seq: u64, marked: &Rc<std::cell::RefCell<Option<Element>>>) {
    if let Some(old) = marked.borrow_mut().take() {
        let _ = old.remove_attribute("data-found");
    }
    let selector = format!("[data-testid=message][data-seq=\"{seq}\"]");
    let Ok(Some(row)) = list.query_selector(&selector) else {
        return;
    };
    if let Some(item) = row.dyn_ref::<HtmlElement>() {
        let middle = item.offset_top() - (list.client_height() - item.offset_height()) / 2;
        list.set_scroll_top(middle.max(0));
    }
    let _ = row.set_attribute("data-found", "");
    *marked.borrow_mut() = Some(row);
}

/// The button of a message that an event came from (the nearest with a
/// `data-act`, or the event's target itself for a key) and the message, by
/// the `data-seq` of its row.
fn acted_on(e: &Event, lines: &Scrollback<Line>) -> Option<(Element, Rc<ChatMessage>)> {
    let target = e.target_dyn_into::<Element>()?;
    let button = target
        .closest("[data-act]")
        .ok()
        .flatten()
        .unwrap_or(target);
    let row = button.closest("[data-testid=message]").ok()??;
    let seq: u64 = row.get_attribute("data-seq")?.parse().ok()?;
    let msg = lines.iter().rev().find_map(|line| match &line.body {
        LineBody::Chat(msg) if msg.seq == seq => Some(Rc::clone(msg)),
        _ => None,
    })?;
    Some((button, msg))
}

/// Reacting to message `seq` of `room` with `emoji`, or taking it back if
/// `me` gave it already.
fn reaction(room: String, seq: u64, emoji: &str, reactions: &[Reaction], me: &str) -> ClientMsg {
    let remove = reactions
        .iter()
        .any(|r| r.emoji == emoji && r.nicks.iter().any(|n| n == me));
    ClientMsg::React {
        room,
        seq,
        emoji: emoji.to_owned(),
        remove,
    }
}

/// Whether the person says yes to `question` (the browser's own dialog).
fn confirmed(question: &str) -> bool {
    web_sys::window().is_some_and(|w| w.confirm_with_message(question).unwrap_or(false))
}

/// The rows from line `start` on, then pending messages, with day separators
/// and grouping.
fn rows(
    props: &MessageListProps,
    actions: &ChatActions,
    open: Option<(u64, usize)>,
    start: usize,
) -> Html {
    let lines = &props.lines;
    let before = start.checked_sub(1).and_then(|i| lines.get(i));
    let last_ts_before = lines
        .range(start.saturating_sub(DAY_LOOKBACK)..start)
        .filter_map(|(_, line)| line.chat())
        .last()
        .map(|msg| msg.ts);
    let mut grouper = Grouper::new(
        local_offset_minutes,
        before.and_then(Line::chat),
        last_ts_before,
    );
    let now = js_sys::Date::now() as i64;
    let today = local_day(now, local_offset_minutes(now));
    let me = props.me.as_deref();
    let mut out: Vec<Html> = Vec::with_capacity(WINDOW + props.pending.len() + 8);
    for (_, line) in lines.range(start..lines.len()) {
        match &line.body {
            LineBody::Chat(msg) => {
                let marks = grouper.chat(msg);
                if let Some(day) = marks.new_day {
                    out.push(html! {
                        <DaySeparator key={format!("d{}", line.id)} label={day_label(day, today)} />
                    });
                }
                out.push(html! {
                    <MessageView
                        key={format!("l{}", line.id)}
                        message={Rc::clone(msg)}
                        mine={Some(msg.nick.as_str()) == me}
                        continued={marks.continued}
                        me={props.me.clone()}
                        deletable={may_delete(msg, me, props.account, props.role)}
                        editable={may_edit(msg, me, props.account)}
                        open={open.filter(|(seq, _)| *seq == msg.seq).map_or(CLOSED, |(_, what)| what)}
                    />
                });
            }
            LineBody::Gap { from, to } => {
                grouper.notice();
                let missed = to.saturating_sub(*from) + 1;
                let before = to + 1;
                let onclick = actions.load_older.reform(move |_: MouseEvent| before);
                out.push(html! {
                    <li key={format!("l{}", line.id)} class="notice notice--gap" data-testid="gap">
                        { format!("{missed} messages not shown. ") }
                        <button type="button" class="link-button" {onclick}>
                            { "Load them" }
                        </button>
                    </li>
                });
            }
            LineBody::Notice { text, tone } => {
                grouper.notice();
                out.push(html! {
                    <li
                        key={format!("l{}", line.id)}
                        class={classes!("notice", (*tone == Tone::Error).then_some("notice--error"))}
                        data-testid="notice"
                    >
                        { text.to_string() }
                    </li>
                });
            }
        }
    }
    for p in &props.pending {
        let marks = grouper.chat(&p.draft);
        if let Some(day) = marks.new_day {
            out.push(html! {
                <DaySeparator key={format!("dp{}", p.id)} label={day_label(day, today)} />
            });
        }
        let id = p.id.clone();
        let onretry = actions.retry.reform(move |()| id.clone());
        let id = p.id.clone();
        let ondismiss = actions.dismiss.reform(move |()| id.clone());
        out.push(html! {
            <MessageView
                key={format!("p{}", p.id)}
                message={Rc::clone(&p.draft)}
                mine=true
                continued={marks.continued}
                delivery={Some(p.delivery.clone())}
                {onretry}
                {ondismiss}
            />
        });
    }
    out.into_iter().collect()
}
