//! `use_chat`: the client's one connection to the server, and the only code
//! that touches the WebSocket.
//!
//! It owns: opening `ws(s)://<page host>/ws` with the `hubbub.v2`
//! subprotocol once there is a nickname to say hello with; turning frames
//! (one or more messages each, one per line) into [`Action`]s (messages that
//! do not decode are logged and skipped); sending what
//! the UI asks for, or keeping it until the connection is back; reconnecting
//! with capped exponential backoff and jitter (at once when the browser says
//! it is back online or the tab becomes visible; the socket is dropped when
//! it says it went offline), saying hello again with the last accepted
//! nickname and a `resume` of every room, so that the server replays what
//! was missed; resending what was on the wire under the same ids; throttling
//! typing notifications; and remembering that nickname in localStorage for
//! the next visit. The decisions themselves live in
//! [`crate::session`], tested natively.
//!
//! One task (spawned on mount, stopped on unmount) runs the connection. The UI
//! talks to it through a channel of [`Command`]s, so callbacks never hold the
//! socket and the task never holds component state.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{self, Either};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use gloo_events::EventListener;
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State};
use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Timeout;
use shared::limits::MAX_HISTORY_PAGE;
use shared::validate::precheck_nick;
use shared::{
    ChatMessage, ClientMsg, ClientMsgId, SUBPROTOCOL_BATCHED, ServerMsg, direct_room,
    frame_messages,
};
use yew::platform::pinned::mpsc::{self, UnboundedReceiver, UnboundedSender};
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use crate::input::{self, Input, help_text};
use crate::session::{Session, Verdict};
use crate::state::{Action, ChatState, Delivery, Pending};

/// localStorage key of the last nickname the server accepted.
const NICK_KEY: &str = "hubbub.nick";

type Dispatcher = UseReducerDispatcher<ChatState>;

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

/// What the UI asks of the connection task.
enum Command {
    /// Register with this normalized nickname.
    Hello(String),
    Send(ClientMsg),
    /// Tell the server we are typing in this room, if it is time to again.
    /// Never queued: it means nothing later.
    Typing(String),
    /// Send this if connected, else forget it (a question whose answer
    /// only matters now).
    Ephemeral(ClientMsg),
    /// The browser says it lost the network: the socket is as good as gone.
    Offline,
    /// Cut a reconnect wait short.
    RetryNow,
    /// The component is going away.
    Stop,
}

/// Lives as long as the component that uses the hook.
struct Link {
    commands: UnboundedSender<Command>,
    /// Taken by the connection task when it starts.
    inbox: RefCell<Option<UnboundedReceiver<Command>>>,
    ids: MessageIds,
}

impl Link {
    fn new() -> Self {
        let (commands, inbox) = mpsc::unbounded();
        Link {
            commands,
            inbox: RefCell::new(Some(inbox)),
            ids: MessageIds::new(random_tag()),
        }
    }

    fn send(&self, command: Command) {
        // Fails only once the task has ended, i.e. after unmounting.
        let _ = self.commands.send_now(command);
    }
}

/// Ids for outgoing messages: unique for this page, and a random prefix so
/// that a reloaded page does not reuse the ids of the previous one.
struct MessageIds {
    prefix: String,
    next: Cell<u64>,
}

impl MessageIds {
    fn new(prefix: String) -> Self {
        MessageIds {
            prefix,
            next: Cell::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.next.get() + 1;
        self.next.set(n);
        format!("{}-{n}", self.prefix)
    }
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
        let joined = state.joined_rooms();
        let deps = (state.active_room.clone(), state.me.clone(), joined);
        use_callback(deps, move |raw: String, (room, me, joined)| {
            match input::parse(&raw) {
                Err(err) => dispatcher.dispatch(Action::Notice(err.to_string())),
                Ok(Input::Help) => dispatcher.dispatch(Action::Info(help_text())),
                Ok(Input::Nick(nick)) => link.send(Command::Send(ClientMsg::Nick { nick })),
                Ok(Input::Join(target)) => {
                    dispatcher.dispatch(Action::JoinRequested(target.clone()));
                    if !joined.contains(&target) {
                        link.send(Command::Send(ClientMsg::Join { room: target }));
                    }
                }
                Ok(Input::Leave(target)) => {
                    let room = target.unwrap_or_else(|| room.clone());
                    link.send(Command::Send(ClientMsg::Leave { room }));
                }
                Ok(Input::Direct { to, text }) => {
                    let Some(nick) = me.clone() else {
                        return;
                    };
                    let id = link.ids.next();
                    let draft = ChatMessage {
                        room: direct_room(&nick, &to),
                        seq: 0,
                        ts: js_sys::Date::now() as i64,
                        nick,
                        text: text.clone(),
                        kind: shared::MessageKind::Text,
                        attachment: None,
                    };
                    dispatcher.dispatch(Action::DirectRequested { to: to.clone() });
                    dispatcher.dispatch(Action::Queued(Pending::queued(id.clone(), draft)));
                    link.send(Command::Send(ClientMsg::Direct {
                        id,
                        to,
                        text,
                        kind: shared::MessageKind::Text,
                    }));
                }
                Ok(Input::Say { text, kind }) => {
                    let id = link.ids.next();
                    let draft = ChatMessage {
                        room: room.clone(),
                        seq: 0,
                        ts: js_sys::Date::now() as i64,
                        nick: me.clone().unwrap_or_default(),
                        text: text.clone(),
                        kind,
                        attachment: None,
                    };
                    // Recorded before the task can send it, so its ack always
                    // finds it.
                    dispatcher.dispatch(Action::Queued(Pending::queued(id.clone(), draft)));
                    link.send(Command::Send(ClientMsg::Send {
                        id,
                        room: room.clone(),
                        text,
                        kind,
                    }));
                }
            }
        })
    };

    let retry = {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        use_callback(state.pending.clone(), move |id: ClientMsgId, pending| {
            let Some(p) = pending.iter().find(|p| p.id == id) else {
                return;
            };
            if !matches!(p.delivery, Delivery::Failed(_)) {
                return;
            }
            // A new id: the old one may have reached the server.
            let new_id = link.ids.next();
            dispatcher.dispatch(Action::Retry {
                id,
                new_id: new_id.clone(),
            });
            link.send(Command::Send(ClientMsg::Send {
                id: new_id,
                room: p.draft.room.clone(),
                text: p.draft.text.clone(),
                kind: p.draft.kind,
            }));
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
            dispatcher.dispatch(Action::JoinRequested(room.clone()));
            if !joined.contains(&room) {
                link.send(Command::Send(ClientMsg::Join { room }));
            }
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
            dispatcher.dispatch(Action::OlderRequested(room.clone()));
            link.send(Command::Send(ClientMsg::History {
                room: room.clone(),
                before,
                limit: u32::try_from(MAX_HISTORY_PAGE).ok(),
            }));
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
            if let Some(inbox) = link.inbox.borrow_mut().take() {
                spawn_local(run(inbox, dispatcher.clone()));
            }
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

/// Listens for the browser coming back online and for the tab being shown
/// or hidden: either is a good moment to reconnect at once rather than at
/// the end of a long backoff, and visibility decides what counts as unread.
fn watch_page(link: &Rc<Link>, dispatch: &Dispatcher) -> Vec<EventListener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let mut listeners = Vec::new();
    let online = Rc::clone(link);
    listeners.push(EventListener::new(&window, "online", move |_| {
        online.send(Command::RetryNow);
    }));
    let offline = Rc::clone(link);
    listeners.push(EventListener::new(&window, "offline", move |_| {
        offline.send(Command::Offline);
    }));
    if let Some(document) = window.document() {
        dispatch.dispatch(Action::PageVisible(!document.hidden()));
        let shown = Rc::clone(link);
        let dispatch = dispatch.clone();
        let target = document.clone();
        listeners.push(EventListener::new(&target, "visibilitychange", move |_| {
            let visible = !document.hidden();
            dispatch.dispatch(Action::PageVisible(visible));
            if visible {
                shown.send(Command::RetryNow);
            }
        }));
    }
    listeners
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

/// How a connection ended.
enum End {
    Lost,
    Stop,
}

/// What to do after a command that arrived while not on a welcomed socket.
enum Flow {
    Continue,
    RetryNow,
    Stop,
}

/// One wake-up of the task: something from the socket or from the UI.
enum Step<T> {
    Socket(T),
    Command(Option<Command>),
}

/// The connection task.
async fn run(mut commands: UnboundedReceiver<Command>, dispatch: Dispatcher) {
    let Some(url) = socket_url() else {
        warn("hubbub: cannot tell the page's address; not connecting");
        return;
    };
    let mut session = Session::default();
    loop {
        // A socket without a nickname would have nothing to say.
        while session.nick.is_none() {
            if let Flow::Stop = offline_command(commands.next().await, &mut session, &dispatch) {
                return;
            }
        }
        dispatch.dispatch(Action::Connecting {
            attempt: session.backoff.attempt(),
        });
        if let End::Stop = connect(&url, &mut commands, &dispatch, &mut session).await {
            return;
        }
        session.lost();
        if session.nick.is_none() {
            dispatch.dispatch(Action::Disconnected {
                attempt: session.backoff.attempt(),
                retry_at: None,
            });
            continue;
        }
        let wait = session.backoff.next_delay_ms(js_sys::Math::random());
        dispatch.dispatch(Action::Disconnected {
            attempt: session.backoff.attempt(),
            retry_at: Some(js_sys::Date::now() as i64 + i64::from(wait)),
        });
        let mut timer = pin!(sleep(Duration::from_millis(u64::from(wait))));
        loop {
            let command = match future::select(timer.as_mut(), commands.next()).await {
                Either::Left(((), _)) => break,
                Either::Right((command, _)) => command,
            };
            match offline_command(command, &mut session, &dispatch) {
                Flow::Continue => {}
                Flow::RetryNow => break,
                Flow::Stop => return,
            }
        }
    }
}

/// Handles a command while not on a welcomed socket: messages wait in the
/// session's outbox; a rename cannot wait (the hello would race it).
fn offline_command(command: Option<Command>, session: &mut Session, dispatch: &Dispatcher) -> Flow {
    match command {
        Some(Command::Hello(nick)) => session.nick = Some(nick),
        Some(Command::Send(ClientMsg::Nick { .. })) => dispatch.dispatch(Action::Notice(
            "Not connected; change your nickname once the connection is back.".into(),
        )),
        Some(Command::Send(msg)) => session.queue(msg),
        Some(Command::Typing(_) | Command::Ephemeral(_) | Command::Offline) => {}
        Some(Command::RetryNow) => return Flow::RetryNow,
        Some(Command::Stop) | None => return Flow::Stop,
    }
    Flow::Continue
}

/// One socket, from opening to closing.
async fn connect(
    url: &str,
    commands: &mut UnboundedReceiver<Command>,
    dispatch: &Dispatcher,
    session: &mut Session,
) -> End {
    // The server that serves this page speaks hubbub.v2: a frame may carry
    // several messages, one per line.
    let mut ws = match WebSocket::open_with_protocol(url, SUBPROTOCOL_BATCHED) {
        Ok(ws) => ws,
        Err(err) => {
            warn(&format!("hubbub: cannot open {url}: {err}"));
            return End::Lost;
        }
    };

    // The sink becomes ready when the socket opens or fails; keep serving
    // the UI meanwhile, since a slow server must not freeze the nickname form.
    loop {
        let step = {
            let opening = poll_fn(|cx| ws.poll_ready_unpin(cx));
            match future::select(pin!(opening), commands.next()).await {
                // Open or failed: `state()` below tells which.
                Either::Left((_, _)) => Step::Socket(()),
                Either::Right((command, _)) => Step::Command(command),
            }
        };
        match step {
            Step::Socket(()) => break,
            Step::Command(command) => {
                if let Flow::Stop = offline_command(command, session, dispatch) {
                    return End::Stop;
                }
            }
        }
    }
    if !matches!(ws.state(), State::Open) {
        return End::Lost;
    }
    dispatch.dispatch(Action::Connected);

    let (mut write, mut read) = ws.split();
    if let Some(nick) = session.nick.clone()
        && !send(
            &mut write,
            &ClientMsg::Hello {
                nick,
                resume: session.resume(),
            },
        )
        .await
    {
        return End::Lost;
    }
    loop {
        let step = match future::select(read.next(), commands.next()).await {
            Either::Left((frame, _)) => Step::Socket(frame),
            Either::Right((command, _)) => Step::Command(command),
        };
        match step {
            Step::Socket(Some(Ok(Message::Text(frame)))) => {
                for line in frame_messages(&frame) {
                    let msg = match ServerMsg::from_json(line) {
                        Ok(msg) => msg,
                        Err(err) => {
                            warn(&format!(
                                "hubbub: ignoring a message that does not decode ({err}): {line:.200}"
                            ));
                            continue;
                        }
                    };
                    let welcome = matches!(msg, ServerMsg::Welcome { .. });
                    match session.observe(&msg, js_sys::Date::now()) {
                        Verdict::Pass => dispatch.dispatch(action_for(msg)),
                        Verdict::Reclaim { first } => {
                            if first && let Some(nick) = &session.nick {
                                dispatch.dispatch(Action::Info(format!(
                                    "The server still holds your previous connection as \
                                     {nick}; trying again until it lets go."
                                )));
                            }
                            // Dropping the socket closes it; the backoff
                            // decides when to say hello again.
                            return End::Lost;
                        }
                    }
                    if welcome && !flush(&mut write, session, dispatch).await {
                        return End::Lost;
                    }
                }
            }
            Step::Socket(Some(Ok(Message::Bytes(_)))) => {
                warn("hubbub: ignoring a binary frame");
            }
            Step::Socket(Some(Err(err))) => {
                warn(&format!("hubbub: connection lost: {err}"));
                return End::Lost;
            }
            Step::Socket(None) => return End::Lost,
            Step::Command(Some(Command::Hello(nick))) => {
                let msg = if session.welcomed {
                    ClientMsg::Nick { nick }
                } else {
                    session.nick = Some(nick.clone());
                    ClientMsg::Hello {
                        nick,
                        resume: session.resume(),
                    }
                };
                if !send(&mut write, &msg).await {
                    return End::Lost;
                }
            }
            Step::Command(Some(Command::Send(msg))) => {
                if !session.welcomed {
                    if let Flow::Stop = offline_command(Some(Command::Send(msg)), session, dispatch)
                    {
                        return End::Stop;
                    }
                } else if !transmit(&mut write, msg, session, dispatch).await {
                    return End::Lost;
                }
            }
            Step::Command(Some(Command::Typing(room))) => {
                if session.welcomed
                    && session.typing_due(&room, js_sys::Date::now())
                    && !send(&mut write, &ClientMsg::Typing { room }).await
                {
                    return End::Lost;
                }
            }
            Step::Command(Some(Command::Ephemeral(msg))) => {
                if session.welcomed && !send(&mut write, &msg).await {
                    return End::Lost;
                }
            }
            // Dropping the socket closes it; the `online` event brings it
            // back at once.
            Step::Command(Some(Command::Offline)) => return End::Lost,
            Step::Command(Some(Command::RetryNow)) => {}
            // Dropping the socket closes it.
            Step::Command(Some(Command::Stop) | None) => return End::Stop,
        }
    }
}

/// Right after a welcome (the hello's `resume` put us back in our rooms):
/// send everything that waited for the connection, in order, starting with
/// what was on the wire unconfirmed when the last one dropped.
async fn flush(
    write: &mut SplitSink<WebSocket, Message>,
    session: &mut Session,
    dispatch: &Dispatcher,
) -> bool {
    while let Some(msg) = session.next_queued() {
        if !transmit(write, msg, session, dispatch).await {
            return false;
        }
    }
    true
}

/// Sends one message on a welcomed socket. A message that could not be
/// written goes back to the front of the queue for the next connection.
async fn transmit(
    write: &mut SplitSink<WebSocket, Message>,
    msg: ClientMsg,
    session: &mut Session,
    dispatch: &Dispatcher,
) -> bool {
    if !send(write, &msg).await {
        session.requeue(msg);
        return false;
    }
    session.sent(&msg);
    if let ClientMsg::Send { id, .. } | ClientMsg::Direct { id, .. } = msg {
        dispatch.dispatch(Action::Transmitted(id));
    }
    true
}

/// The action for a message from the server. Typing notifications carry
/// the time they arrived, so that the state can let them run out.
fn action_for(msg: ServerMsg) -> Action {
    match msg {
        ServerMsg::Typing { room, nick } => Action::Typing {
            room,
            nick,
            at: js_sys::Date::now() as i64,
        },
        msg => Action::Server(msg),
    }
}

async fn send(write: &mut SplitSink<WebSocket, Message>, msg: &ClientMsg) -> bool {
    match write.send(Message::Text(msg.to_json())).await {
        Ok(()) => true,
        Err(err) => {
            warn(&format!("hubbub: send failed: {err}"));
            false
        }
    }
}

/// `ws://host/ws` for a page served over http, `wss://host/ws` over https.
pub fn ws_url(page_protocol: &str, host: &str) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{host}/ws")
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    Some(ws_url(&location.protocol().ok()?, &location.host().ok()?))
}

/// Eight base-36 digits from the browser's random source.
fn random_tag() -> String {
    let mut n = (js_sys::Math::random() * 36f64.powi(8)) as u64;
    let mut tag = String::with_capacity(8);
    for _ in 0..8 {
        let digit = (n % 36) as u32;
        tag.push(char::from_digit(digit, 36).unwrap_or('0'));
        n /= 36;
    }
    tag
}

fn warn(what: &str) {
    web_sys::console::warn_1(&wasm_bindgen::JsValue::from_str(what));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_lives_at_ws_on_the_pages_host() {
        assert_eq!(ws_url("http:", "localhost:8081"), "ws://localhost:8081/ws");
        assert_eq!(ws_url("https:", "chat.example"), "wss://chat.example/ws");
    }

    #[test]
    fn message_ids_are_unique_and_short_enough() {
        let ids = MessageIds::new("k3x9a0bz".into());
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert!(shared::validate::validate_id(&a));
        assert_eq!(a, "k3x9a0bz-1");
    }
}
