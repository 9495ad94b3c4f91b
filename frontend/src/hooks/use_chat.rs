//! `use_chat`: the client's one connection to the server, and the only code
//! that touches the WebSocket.
//!
//! It owns: opening `ws(s)://<page host>/ws` with the `hubbub.v1`
//! subprotocol once there is a nickname to say hello with; turning frames into
//! [`Action`]s (frames that do not decode are logged and skipped); sending what
//! the UI asks for; reconnecting with capped exponential backoff and jitter,
//! saying hello again with the last accepted nickname; and remembering that
//! nickname in localStorage for the next visit.
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
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State};
use gloo_storage::{LocalStorage, Storage};
use shared::validate::precheck_nick;
use shared::{ChatMessage, ClientMsg, ErrorCode, SUBPROTOCOL, ServerMsg};
use yew::platform::pinned::mpsc::{self, UnboundedReceiver, UnboundedSender};
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use crate::backoff::Backoff;
use crate::input::{self, Input};
use crate::state::{Action, ChatState, Pending};

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
    /// Send a composer line to the active room: text, `/me …` or `/nick …`.
    pub send_text: Callback<String>,
}

/// What the UI asks of the connection task.
enum Command {
    /// Register with this normalized nickname.
    Hello(String),
    Send(ClientMsg),
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
        let deps = (state.active_room.clone(), state.me.clone());
        use_callback(deps, move |raw: String, (room, me)| {
            match input::parse(&raw) {
                Err(err) => dispatcher.dispatch(Action::Notice(err.to_string())),
                Ok(Input::Nick(nick)) => link.send(Command::Send(ClientMsg::Nick { nick })),
                Ok(Input::Say { text, kind }) => {
                    let id = link.ids.next();
                    let draft = ChatMessage {
                        room: room.clone(),
                        seq: 0,
                        ts: js_sys::Date::now() as i64,
                        nick: me.clone().unwrap_or_default(),
                        text: text.clone(),
                        kind,
                    };
                    // Recorded before the task can send it, so its ack always
                    // finds it.
                    dispatcher.dispatch(Action::Sent(Pending {
                        id: id.clone(),
                        draft: Rc::new(draft),
                        failed: None,
                    }));
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

    {
        let link = Rc::clone(&link);
        let dispatcher = state.dispatcher();
        // On the first render `joining` holds the remembered nickname.
        let remembered = state.joining.clone();
        use_effect_with((), move |()| {
            if let Some(inbox) = link.inbox.borrow_mut().take() {
                spawn_local(run(inbox, dispatcher));
            }
            if let Some(nick) = remembered {
                link.send(Command::Hello(nick));
            }
            move || link.send(Command::Stop)
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

/// What the task keeps between connections.
#[derive(Debug, Default)]
struct Connection {
    /// The nickname to say hello with on the next connection: the one asked
    /// for, then the one the server accepted. `None` after a refusal, until
    /// the person picks another; no socket is opened without one.
    nick: Option<String>,
    backoff: Backoff,
    /// Welcomed on the current socket.
    welcomed: bool,
}

impl Connection {
    /// Follows what the server says about who we are.
    fn observe(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Welcome { nick, .. } => {
                self.welcomed = true;
                self.nick = Some(nick.clone());
                self.backoff.reset();
            }
            ServerMsg::NickChanged { old, new, .. }
                if self.welcomed && self.nick.as_deref() == Some(old.as_str()) =>
            {
                self.nick = Some(new.clone());
            }
            ServerMsg::Error {
                code: ErrorCode::NickTaken | ErrorCode::NickInvalid,
                id: None,
                ..
            } if !self.welcomed => self.nick = None,
            _ => {}
        }
    }
}

/// How a connection ended.
enum End {
    Lost,
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
    let mut conn = Connection::default();
    loop {
        // A socket without a nickname would have nothing to say.
        while conn.nick.is_none() {
            if !offline_command(commands.next().await, &mut conn, &dispatch) {
                return;
            }
        }
        dispatch.dispatch(Action::Connecting {
            attempt: conn.backoff.attempt(),
        });
        if let End::Stop = connect(&url, &mut commands, &dispatch, &mut conn).await {
            return;
        }
        conn.welcomed = false;
        if conn.nick.is_none() {
            dispatch.dispatch(Action::Disconnected {
                attempt: conn.backoff.attempt(),
                retry_in_ms: None,
            });
            continue;
        }
        let wait = conn.backoff.next_delay_ms(js_sys::Math::random());
        dispatch.dispatch(Action::Disconnected {
            attempt: conn.backoff.attempt(),
            retry_in_ms: Some(wait),
        });
        let mut timer = pin!(sleep(Duration::from_millis(u64::from(wait))));
        loop {
            let command = match future::select(timer.as_mut(), commands.next()).await {
                Either::Left(((), _)) => break,
                Either::Right((command, _)) => command,
            };
            if !offline_command(command, &mut conn, &dispatch) {
                return;
            }
        }
    }
}

/// Handles a command while not registered on a live socket. Returns false
/// when the task should stop.
fn offline_command(command: Option<Command>, conn: &mut Connection, dispatch: &Dispatcher) -> bool {
    match command {
        Some(Command::Hello(nick)) => conn.nick = Some(nick),
        Some(Command::Send(msg)) => refuse_unregistered(msg, dispatch),
        Some(Command::Stop) | None => return false,
    }
    true
}

fn refuse_unregistered(msg: ClientMsg, dispatch: &Dispatcher) {
    match msg {
        ClientMsg::Send { id, .. } => dispatch.dispatch(Action::SendFailed {
            id,
            reason: "Not connected, so it was not sent.".into(),
        }),
        _ => dispatch.dispatch(Action::Notice(
            "Not connected; try again once the connection is back.".into(),
        )),
    }
}

/// One socket, from opening to closing.
async fn connect(
    url: &str,
    commands: &mut UnboundedReceiver<Command>,
    dispatch: &Dispatcher,
    conn: &mut Connection,
) -> End {
    let mut ws = match WebSocket::open_with_protocol(url, SUBPROTOCOL) {
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
                if !offline_command(command, conn, dispatch) {
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
    if let Some(nick) = conn.nick.clone()
        && !send(&mut write, &ClientMsg::Hello { nick }).await
    {
        return End::Lost;
    }
    loop {
        let step = match future::select(read.next(), commands.next()).await {
            Either::Left((frame, _)) => Step::Socket(frame),
            Either::Right((command, _)) => Step::Command(command),
        };
        match step {
            Step::Socket(Some(Ok(Message::Text(frame)))) => match ServerMsg::from_json(&frame) {
                Ok(msg) => {
                    conn.observe(&msg);
                    dispatch.dispatch(Action::Server(msg));
                }
                Err(err) => warn(&format!(
                    "hubbub: ignoring a frame that does not decode ({err}): {frame:.200}"
                )),
            },
            Step::Socket(Some(Ok(Message::Bytes(_)))) => {
                warn("hubbub: ignoring a binary frame");
            }
            Step::Socket(Some(Err(err))) => {
                warn(&format!("hubbub: connection lost: {err}"));
                return End::Lost;
            }
            Step::Socket(None) => return End::Lost,
            Step::Command(Some(Command::Hello(nick))) => {
                let msg = if conn.welcomed {
                    ClientMsg::Nick { nick }
                } else {
                    conn.nick = Some(nick.clone());
                    ClientMsg::Hello { nick }
                };
                if !send(&mut write, &msg).await {
                    return End::Lost;
                }
            }
            Step::Command(Some(Command::Send(msg))) => {
                if !conn.welcomed {
                    refuse_unregistered(msg, dispatch);
                } else if !send(&mut write, &msg).await {
                    return End::Lost;
                }
            }
            // Dropping the socket closes it.
            Step::Command(Some(Command::Stop) | None) => return End::Stop,
        }
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
    use shared::Limits;

    use super::*;

    fn welcome(nick: &str) -> ServerMsg {
        ServerMsg::Welcome {
            nick: nick.into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
        }
    }

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

    #[test]
    fn a_welcome_resets_backoff_and_remembers_the_accepted_nick() {
        let mut conn = Connection {
            nick: Some("ａｌｉｃｅ".into()),
            ..Connection::default()
        };
        conn.backoff.next_delay_ms(0.5);
        conn.observe(&welcome("alice"));
        assert!(conn.welcomed);
        assert_eq!(conn.nick.as_deref(), Some("alice"));
        assert_eq!(conn.backoff.attempt(), 0);
    }

    #[test]
    fn a_refused_hello_forgets_the_nick_so_reconnects_do_not_retry_it() {
        let mut conn = Connection {
            nick: Some("alice".into()),
            ..Connection::default()
        };
        conn.observe(&ServerMsg::error(ErrorCode::NickTaken, "taken"));
        assert_eq!(conn.nick, None);
    }

    #[test]
    fn a_refused_rename_keeps_the_registered_nick() {
        let mut conn = Connection::default();
        conn.observe(&welcome("alice"));
        conn.observe(&ServerMsg::error(ErrorCode::NickTaken, "taken"));
        assert_eq!(conn.nick.as_deref(), Some("alice"));
    }

    #[test]
    fn my_rename_is_what_the_next_hello_uses() {
        let mut conn = Connection::default();
        conn.observe(&welcome("alice"));
        conn.observe(&ServerMsg::NickChanged {
            old: "bob".into(),
            new: "robert".into(),
            rooms: vec![],
        });
        assert_eq!(conn.nick.as_deref(), Some("alice"));
        conn.observe(&ServerMsg::NickChanged {
            old: "alice".into(),
            new: "alicia".into(),
            rooms: vec![],
        });
        assert_eq!(conn.nick.as_deref(), Some("alicia"));
    }
}
