//! `use_chat`: the chat state and what the UI may ask of the server, as one
//! hook. It keeps the [`ChatState`] reducer, starts the connection
//! ([`crate::connection`]) on mount and stops it on unmount, turns the UI's
//! requests into what they send ([`crate::outgoing`]), signs in, registers
//! and signs out through the account API ([`crate::api`]) and then has the
//! connection start over (a guest registering the nickname it holds does so
//! over its socket, and then signs in over HTTP for the session cookie),
//! lets "bob is typing…" run out, remembers the accepted nickname and the
//! rooms in localStorage for the next visit (a signed-in browser's cookie
//! says who it is; the nickname only says hello), moves read markers and
//! loads the page around a search result; shows desktop notifications once
//! the person turned them on.

use std::rc::Rc;

use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Timeout;
use shared::protocol::Quote;
use shared::validate::precheck_nick;
use shared::{ClientMsg, ClientMsgId};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::actions::SearchAsk;
use crate::api;
use crate::connection::{Command, Link, watch_page};
use crate::markers::{self, Pace, ReadPace, local_storage};
use crate::notify;
use crate::outgoing::{self, Composing};
use crate::state::{Action, AuthMode, ChatState, Entry};

/// localStorage key of the last nickname the server accepted.
const NICK_KEY: &str = "hubbub.nick";

/// localStorage key of the rooms the person was in, one a line: a new page
/// joins them again (a hello without `resume` joins the lobby only), so
/// that their unread counts are there after a reload.
const ROOMS_KEY: &str = "hubbub.rooms";

/// What the chat UI gets: the state to render and what it may ask for.
#[derive(Clone, PartialEq)]
pub struct UseChatHandle {
    pub state: UseReducerHandle<ChatState>,
    /// Who the person is: going in, signing out, registering.
    pub account: Callback<AccountRequest>,
    /// A message about a room that the page keeps no record of (moderation,
    /// deletions, edits, reactions, the log).
    pub command: Callback<ClientMsg>,
    /// Take a room the person is no longer in off the page.
    pub close_room: Callback<String>,
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
    /// Search, the next page of results, closing them.
    pub search: Callback<SearchAsk>,
    /// Show a message in its room.
    pub jump: Callback<(String, u64)>,
    /// Answer this message of the active room (`None`: no longer).
    pub reply: Callback<Option<Quote>>,
    /// Turn desktop notifications on (the browser asks first) or off.
    pub notify: Callback<bool>,
}

/// What the nickname form and the account menu ask for. (No `Debug`: it
/// carries passwords.)
#[derive(Clone, PartialEq, Eq)]
pub enum AccountRequest {
    /// The nickname form: a guest's nickname, or a sign-in, or a new
    /// account (checked first; a refusal lands in `state.nick_error`).
    Enter(Entry),
    /// The nickname form switched to another way in.
    Mode(AuthMode),
    /// Sign out (`everywhere`: every session of the account), and show the
    /// form again.
    SignOut { everywhere: bool },
    /// A guest leaves, to sign in to an account.
    SwitchAccount,
    /// A guest registers its nickname.
    Register { password: String, invite: String },
}

#[hook]
pub fn use_chat() -> UseChatHandle {
    let state = use_reducer(|| ChatState::starting(load_nick(), markers::load()));
    let link = use_memo((), |()| Link::new());

    let account = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let guest = (state.me.clone(), state.token.clone());
        use_callback(guest, move |request: AccountRequest, (me, token)| {
            let (link, dispatcher) = (Rc::clone(&link), dispatcher.clone());
            match request {
                AccountRequest::Enter(entry) => enter(entry, link, dispatcher),
                AccountRequest::Mode(mode) => dispatcher.dispatch(Action::AuthMode(mode)),
                AccountRequest::SignOut { everywhere } => sign_out(everywhere, &link, dispatcher),
                AccountRequest::SwitchAccount => {
                    dispatcher.dispatch(Action::SignedOut {
                        mode: AuthMode::SignIn,
                        note: None,
                    });
                    link.send(Command::SignOut);
                }
                AccountRequest::Register { password, invite } => {
                    if password.is_empty() {
                        return dispatcher.dispatch(Action::AccountFailed(
                            "Choose a password for the account.".into(),
                        ));
                    }
                    let Some(nick) = me.clone() else {
                        return;
                    };
                    dispatcher.dispatch(Action::AccountBusy);
                    // Over HTTP with the guest's token: the server makes this
                    // connection the account's and the browser keeps the
                    // same session as its cookie. The socket hears
                    // `registered`; a refusal comes back here.
                    let token = token.clone();
                    spawn_local(async move {
                        let registered =
                            api::register(&nick, &password, &invite, token.as_ref()).await;
                        if let Err(why) = registered {
                            dispatcher.dispatch(Action::AccountFailed(why));
                        }
                    });
                }
            }
        })
    };

    // The callbacks that depend on nothing, made once, and those that
    // depend on the room on screen, made again when it changes: one memo
    // each rather than a `use_callback` per callback, whose code each
    // costs the bundle.
    let steady = {
        let (link, dispatcher) = (Rc::clone(&link), state.dispatcher());
        use_memo((), move |()| Steady::new(&link, &dispatcher))
    };
    let here = {
        let (link, dispatcher) = (Rc::clone(&link), state.dispatcher());
        use_memo(state.active_room.clone(), move |room| {
            Here::new(room, &link, &dispatcher)
        })
    };

    let send_text = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let composing = Composing {
            room: state.active_room.clone(),
            me: state.me.clone(),
            joined: state.joined_rooms(),
            replying: state.active().and_then(|r| r.replying.clone()),
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

    let join_room = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let joined = state.joined_rooms();
        // Kept for the next page; conversations are not joined by name.
        use_effect_with(joined.clone(), |joined| {
            let mut rooms = String::new();
            for room in joined.iter().filter(|r| !r.starts_with('@')) {
                rooms.push_str(room);
                rooms.push('\n');
            }
            if let (false, Some(storage)) = (rooms.is_empty(), local_storage()) {
                let _ = storage.set_item(ROOMS_KEY, &rooms);
            }
        });
        use_callback(joined, move |room: String, joined| {
            link.submit(outgoing::join(room, joined), &dispatcher);
        })
    };

    // A message to jump to that is not loaded: the page around it. And
    // when the person sees the room's newest message, its read marker
    // moves: a guest keeps it in this browser, a signed-in page tells the
    // server, at most every 2 s per room. (One effect: each costs the
    // bundle its own code.)
    {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        let pace = use_mut_ref(ReadPace::default);
        let due = state.read_due();
        let kept = (!state.account && due.is_some()).then(|| state.read_markers());
        use_effect_with((due, state.awaiting()), move |(due, awaiting)| {
            if let Some((room, seq)) = awaiting.clone() {
                link.send(Command::Send(outgoing::around(&room, seq)));
            }
            if let Some((room, seq)) = due.clone() {
                dispatcher.dispatch(Action::MarkRead {
                    room: room.clone(),
                    seq,
                });
                match kept {
                    Some(mut kept) => {
                        match kept.iter_mut().find(|(r, _)| *r == room) {
                            Some(marker) => marker.1 = seq,
                            None => kept.push((room, seq)),
                        }
                        markers::save(&kept);
                    }
                    None => tell_read(&link, &pace, room, seq),
                }
            }
        });
    }

    {
        let dispatcher = state.dispatcher();
        use_effect_with(state.alert.clone(), move |alert| {
            if let Some(alert) = alert {
                notify::show(alert, dispatcher);
            }
        });
    }

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
            dispatcher.dispatch(Action::Alerts(notify::current()));
            // The rooms of the last visit, joined once welcomed.
            let rooms = local_storage()
                .and_then(|s| s.get_item(ROOMS_KEY).ok().flatten())
                .unwrap_or_default();
            for room in rooms.lines().filter(|r| *r != shared::DEFAULT_ROOM) {
                let room = room.to_owned();
                link.send(Command::Send(ClientMsg::Join { room }));
            }
            match remembered {
                Some(nick) => link.send(Command::Hello(nick)),
                // Nothing remembered (storage cleared or refused): a
                // session cookie may still say who this is.
                None => {
                    let (link, dispatcher) = (Rc::clone(&link), dispatcher.clone());
                    spawn_local(async move {
                        if let Some(nick) = api::me().await {
                            dispatcher.dispatch(Action::Joining(nick.clone()));
                            link.send(Command::Hello(nick));
                        }
                    });
                }
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
        account,
        command: steady.command.clone(),
        close_room: steady.close_room.clone(),
        send_text,
        retry,
        dismiss: steady.dismiss.clone(),
        switch_room: steady.switch_room.clone(),
        reconnect_now: steady.reconnect_now.clone(),
        join_room,
        list_rooms: steady.list_rooms.clone(),
        load_older: here.load_older.clone(),
        typing: here.typing.clone(),
        search: here.search.clone(),
        jump: steady.jump.clone(),
        reply: here.reply.clone(),
        notify: steady.notify.clone(),
    }
}

type Dispatcher = UseReducerDispatcher<ChatState>;

/// The callbacks that depend on nothing but the connection and the
/// reducer.
struct Steady {
    command: Callback<ClientMsg>,
    close_room: Callback<String>,
    dismiss: Callback<ClientMsgId>,
    switch_room: Callback<String>,
    reconnect_now: Callback<()>,
    list_rooms: Callback<()>,
    jump: Callback<(String, u64)>,
    notify: Callback<bool>,
}

impl Steady {
    fn new(link: &Rc<Link>, dispatcher: &Dispatcher) -> Self {
        let sends = Rc::clone(link);
        let command = Callback::from(move |mut msg: ClientMsg| {
            // An edit is acknowledged like a message: it gets an id of
            // this page's.
            if let ClientMsg::Edit { id, .. } = &mut msg {
                *id = sends.ids().next();
            }
            sends.send(Command::Send(msg));
        });
        let d = dispatcher.clone();
        let close_room = Callback::from(move |room| d.dispatch(Action::CloseRoom(room)));
        let d = dispatcher.clone();
        let dismiss = Callback::from(move |id| d.dispatch(Action::Dismiss(id)));
        let d = dispatcher.clone();
        let switch_room = Callback::from(move |room| d.dispatch(Action::SwitchRoom(room)));
        let l = Rc::clone(link);
        let reconnect_now = Callback::from(move |()| l.send(Command::RetryNow));
        let l = Rc::clone(link);
        let list_rooms = Callback::from(move |()| l.send(Command::Ephemeral(ClientMsg::Rooms)));
        let d = dispatcher.clone();
        let jump = Callback::from(move |(room, seq)| d.dispatch(Action::Jump { room, seq }));
        let d = dispatcher.clone();
        let notify = Callback::from(move |on| notify::choose(on, d.clone()));
        Steady {
            command,
            close_room,
            dismiss,
            switch_room,
            reconnect_now,
            list_rooms,
            jump,
            notify,
        }
    }
}

/// The callbacks about the room on screen.
struct Here {
    load_older: Callback<u64>,
    typing: Callback<()>,
    search: Callback<SearchAsk>,
    reply: Callback<Option<Quote>>,
}

impl Here {
    fn new(room: &str, link: &Rc<Link>, dispatcher: &Dispatcher) -> Self {
        let (l, d, r) = (Rc::clone(link), dispatcher.clone(), room.to_owned());
        let load_older = Callback::from(move |before| l.submit(outgoing::older(&r, before), &d));
        let (l, r) = (Rc::clone(link), room.to_owned());
        let typing = Callback::from(move |()| l.send(Command::Typing(r.clone())));
        let (d, r) = (dispatcher.clone(), room.to_owned());
        let reply = Callback::from(move |to| {
            d.dispatch(Action::Replying {
                room: r.clone(),
                to,
            });
        });
        let (l, d, r) = (Rc::clone(link), dispatcher.clone(), room.to_owned());
        let search = Callback::from(move |ask| {
            let msg = match ask {
                SearchAsk::Find { q, all } => {
                    let room = (!all).then(|| r.clone());
                    let q = q.trim().to_owned();
                    d.dispatch(Action::Search {
                        q: q.clone(),
                        room: room.clone(),
                    });
                    ClientMsg::Search {
                        q,
                        room,
                        before: None,
                    }
                }
                SearchAsk::More { q, room, before } => {
                    d.dispatch(Action::SearchMore);
                    ClientMsg::Search {
                        q,
                        room,
                        before: Some(before),
                    }
                }
                SearchAsk::Close => return d.dispatch(Action::CloseSearch),
            };
            l.send(Command::Send(msg));
        });
        Here {
            load_older,
            typing,
            search,
            reply,
        }
    }
}

/// Sends `read` for `room` now, or once its turn comes ([`ReadPace`]).
fn tell_read(link: &Rc<Link>, pace: &Rc<std::cell::RefCell<ReadPace>>, room: String, seq: u64) {
    let now = js_sys::Date::now();
    let step = pace.borrow_mut().read(&room, seq, now);
    match step {
        Pace::Now => link.send(Command::Ephemeral(ClientMsg::Read { room, seq })),
        Pace::Later(wait) => {
            let (link, pace) = (Rc::clone(link), Rc::clone(pace));
            // Runs once; a page closed before it only loses that marker
            // move, which the next visit makes again.
            Timeout::new(wait.max(0.0) as u32 + 1, move || {
                if let Some(seq) = pace.borrow_mut().due(&room, js_sys::Date::now()) {
                    link.send(Command::Ephemeral(ClientMsg::Read { room, seq }));
                }
            })
            .forget();
        }
        Pace::Skip => {}
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

/// The nickname form's entry: a guest says hello at once; a sign-in or a
/// registration goes through the account API first, and its cookie then
/// signs a new socket in.
fn enter(entry: Entry, link: Rc<Link>, dispatcher: UseReducerDispatcher<ChatState>) {
    let nick = match entry.check() {
        Ok(nick) => nick,
        Err(why) => return dispatcher.dispatch(Action::NickRejected(why)),
    };
    dispatcher.dispatch(Action::Joining(nick.clone()));
    if entry.mode == AuthMode::Guest {
        return link.send(Command::Hello(nick));
    }
    spawn_local(async move {
        let signed = match entry.mode {
            AuthMode::Register => api::register(&nick, &entry.password, &entry.invite, None).await,
            _ => api::login(&nick, &entry.password).await,
        };
        match signed {
            Ok(account) => link.send(Command::Reconnect(account)),
            Err(why) => dispatcher.dispatch(Action::NickRejected(why)),
        }
    });
}

/// Signs out. The socket goes first: the server closes it anyway, and a
/// reconnect must not race the sign-out as a guest.
fn sign_out(everywhere: bool, link: &Link, dispatcher: UseReducerDispatcher<ChatState>) {
    let note = if everywhere {
        "You signed out on every browser and device."
    } else {
        "You signed out."
    };
    dispatcher.dispatch(Action::SignedOut {
        mode: AuthMode::SignIn,
        note: Some(note.to_owned()),
    });
    link.send(Command::SignOut);
    forget_nick();
    spawn_local(async move {
        if let Err(why) = api::logout(everywhere).await {
            dispatcher.dispatch(Action::NickRejected(format!(
                "Signing out failed: {why} This browser may still be signed in."
            )));
        }
    });
}

/// Forgets the remembered nickname and rooms: after signing out, the next
/// visit starts at the form.
fn forget_nick() {
    if storage_available() {
        LocalStorage::delete(NICK_KEY);
        LocalStorage::delete(ROOMS_KEY);
    }
}

/// Whether localStorage can be used. gloo-storage throws (ending the app)
/// when the browser refuses it, as Chromium does with cookies blocked.
fn storage_available() -> bool {
    web_sys::window().is_some_and(|w| matches!(w.local_storage(), Ok(Some(_))))
}
