//! `use_chat`: the chat state and what the UI may ask of the server, as one
//! hook. It keeps the [`ChatState`] reducer, starts the connection
//! ([`crate::connection`]) on mount and stops it on unmount, turns the UI's
//! requests into what they send ([`crate::outgoing`]), lets "bob is
//! typing…" run out, and remembers the accepted nickname in localStorage for
//! the next visit.

use std::rc::Rc;

use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Timeout;
use shared::validate::precheck_nick;
use shared::{ClientMsg, ClientMsgId};
use yew::prelude::*;

use crate::connection::{Command, Link, watch_page};
use crate::outgoing::{self, Composing};
use crate::state::{Action, ChatState};

/// localStorage key of the last nickname the server accepted.
const NICK_KEY: &str = "hubbub.nick";

/// What the chat UI gets: the state to render and what it may ask for.
#[derive(Clone, PartialEq)]
pub struct UseChatHandle {
    pub state: UseReducerHandle<ChatState>,
    /// Register with a nickname as typed (it is normalized and checked first;
    /// a refusal lands in `state.nick_error`).
    pub set_nick: Callback<String>,
    /// A composer line for the active room: text, or a command (`/me`,
    /// `/nick`, `/join`, `/leave`, `/help`).
    pub send_text: Callback<String>,
    /// Send a failed message again.
    pub retry: Callback<ClientMsgId>,
    /// Give up a failed message.
    pub dismiss: Callback<ClientMsgId>,
    /// Show another joined room.
    pub switch_room: Callback<String>,
    /// Skip the rest of the reconnect wait.
    pub reconnect_now: Callback<()>,
    /// Join a room (a normalized name) and show it.
    pub join_room: Callback<String>,
    /// Ask the server which rooms exist (they land in `state.directory`).
    pub list_rooms: Callback<()>,
    /// Load the messages of the active room before this `seq`.
    pub load_older: Callback<u64>,
    /// The person is typing in the active room.
    pub typing: Callback<()>,
}

#[hook]
pub fn use_chat() -> UseChatHandle {
    let state = use_reducer(|| ChatState::starting(load_nick()));
    let link = use_memo((), |()| Link::new());

    let set_nick = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        use_callback((), move |raw: String, ()| match precheck_nick(&raw) {
            Ok(nick) => {
                dispatcher.dispatch(Action::Joining(nick.clone()));
                link.send(Command::Hello(nick));
            }
            Err(err) => dispatcher.dispatch(Action::NickRejected(err.to_string())),
        })
    };

    let send_text = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let composing = Composing {
            room: state.active_room.clone(),
            me: state.me.clone(),
            joined: state.joined_rooms(),
        };
        use_callback(composing, move |raw: String, composing| {
            let now = js_sys::Date::now() as i64;
            link.submit(
                outgoing::line(&raw, composing, link.ids(), now),
                &dispatcher,
            );
        })
    };

    let retry = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        use_callback(state.pending.clone(), move |id: ClientMsgId, pending| {
            link.submit(outgoing::retry(pending, id, link.ids()), &dispatcher);
        })
    };

    let dismiss = {
        let dispatcher = state.dispatcher();
        use_callback((), move |id: ClientMsgId, ()| {
            dispatcher.dispatch(Action::Dismiss(id));
        })
    };
    let switch_room = {
        let dispatcher = state.dispatcher();
        use_callback((), move |room: String, ()| {
            dispatcher.dispatch(Action::SwitchRoom(room));
        })
    };
    let reconnect_now = {
        let link = Rc::clone(&link);
        use_callback((), move |(), ()| link.send(Command::RetryNow))
    };
    let join_room = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let joined = state.joined_rooms();
        use_callback(joined, move |room: String, joined| {
            link.submit(outgoing::join(room, joined), &dispatcher);
        })
    };
    let list_rooms = {
        let link = Rc::clone(&link);
        use_callback((), move |(), ()| {
            link.send(Command::Ephemeral(ClientMsg::Rooms));
        })
    };
    let load_older = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        use_callback(state.active_room.clone(), move |before: u64, room| {
            link.submit(outgoing::older(room, before), &dispatcher);
        })
    };
    let typing = {
        let link = Rc::clone(&link);
        use_callback(state.active_room.clone(), move |(), room| {
            link.send(Command::Typing(room.clone()));
        })
    };

    // "bob is typing…" goes when its time is up.
    {
        let dispatcher = state.dispatcher();
        use_effect_with(state.next_typing_expiry(), move |next| {
            let timer = next.map(|at| {
                let wait = (at - js_sys::Date::now() as i64).clamp(0, 60_000) as u32;
                Timeout::new(wait + 20, move || {
                    dispatcher.dispatch(Action::ExpireTyping(js_sys::Date::now() as i64));
                })
            });
            move || drop(timer)
        });
    }

    {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        // On the first render `joining` holds the remembered nickname.
        let remembered = state.joining.clone();
        use_effect_with((), move |()| {
            link.start(dispatcher.clone());
            if let Some(nick) = remembered {
                link.send(Command::Hello(nick));
            }
            let listeners = watch_page(&link, &dispatcher);
            move || {
                drop(listeners);
                link.send(Command::Stop);
            }
        });
    }

    use_effect_with(state.me.clone(), |me| {
        if let Some(nick) = me
            && storage_available()
        {
            // A full or read-only storage only means the nickname is not
            // remembered.
            let _ = LocalStorage::set(NICK_KEY, nick);
        }
    });

    UseChatHandle {
        state,
        set_nick,
        send_text,
        retry,
        dismiss,
        switch_room,
        reconnect_now,
        join_room,
        list_rooms,
        load_older,
        typing,
    }
}

/// The remembered nickname, if it still passes today's rules.
fn load_nick() -> Option<String> {
    if !storage_available() {
        return None;
    }
    let stored: String = LocalStorage::get(NICK_KEY).ok()?;
    precheck_nick(&stored).ok()
}

/// Whether localStorage can be used. gloo-storage throws (ending the app)
/// when the browser refuses it, as Chromium does with cookies blocked.
fn storage_available() -> bool {
    web_sys::window().is_some_and(|w| matches!(w.local_storage(), Ok(Some(_))))
}
