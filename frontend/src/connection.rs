//! The client's one connection to the server, and the only code that
//! touches the WebSocket (gloo-net).
//!
//! It owns: opening `ws(s)://<page host>/ws` with the `hubbub.v2`
//! subprotocol once there is a nickname to say hello with; turning frames
//! (one or more messages each, one per line) into [`Action`]s (messages that
//! do not decode are logged and skipped); sending what the UI asks for, or
//! keeping it until the connection is back; reconnecting with capped
//! exponential backoff and jitter (at once when the browser says it is back
//! online or the tab becomes visible; the socket is dropped when it says it
//! went offline), saying hello again with the last accepted nickname and a
//! `resume` of every room, so that the server replays what was missed;
//! resending what was on the wire under the same ids; throttling typing
//! notifications; asking a signed-in page's unread counts after the welcome
//! and each join; and starting over on a new socket after a sign-in or a
//! registration over HTTP (only a new handshake carries the new session
//! cookie, which is what signs the browser in), or forgetting everything at
//! a sign-out. The decisions themselves live in [`crate::session`], and
//! what a request sends in [`crate::outgoing`], both tested natively.
//!
//! One task runs the connection ([`Link::start`]); `hooks::use_chat` starts
//! it on mount and stops it on unmount. The UI talks to it through a channel
//! of [`Command`]s, so callbacks never hold the socket and the task never
//! holds component state.

use std::cell::RefCell;
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
use shared::{ClientMsg, SUBPROTOCOL_BATCHED, ServerMsg, frame_messages};
use yew::UseReducerDispatcher;
use yew::platform::pinned::mpsc::{self, UnboundedReceiver, UnboundedSender};
use yew::platform::spawn_local;
use yew::platform::time::sleep;

use crate::outgoing::{MessageIds, Outgoing};
use crate::session::{Session, Verdict};
use crate::state::{Action, ChatState};

/// How the connection changes the state.
pub type Dispatcher = UseReducerDispatcher<ChatState>;

/// What the UI asks of the connection task.
pub enum Command {
    /// Register with this normalized nickname.
    Hello(String),
    /// Drop the socket and open another at once, saying hello as this
    /// nickname: a session cookie was just set (sign-in, registration), and
    /// only a new handshake carries it.
    Reconnect(String),
    /// The person signed out: forget the nickname, the rooms and what is
    /// queued, and drop the socket. None opens until a nickname is chosen.
    SignOut,
    /// Send this on a welcomed socket, or keep it until there is one.
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

/// The UI's end of the connection: lives as long as the component that uses
/// the hook.
pub struct Link {
    commands: UnboundedSender<Command>,
    /// Taken by the connection task when it starts.
    inbox: RefCell<Option<UnboundedReceiver<Command>>>,
    ids: MessageIds,
}

impl Link {
    pub fn new() -> Self {
        let (commands, inbox) = mpsc::unbounded();
        Link {
            commands,
            inbox: RefCell::new(Some(inbox)),
            ids: MessageIds::new(random_tag()),
        }
    }

    /// Starts the connection task; only the first call does anything.
    pub fn start(&self, dispatch: Dispatcher) {
        if let Some(inbox) = self.inbox.borrow_mut().take() {
            spawn_local(run(inbox, dispatch));
        }
    }

    pub fn send(&self, command: Command) {
        // Fails only once the task has ended, i.e. after unmounting.
        let _ = self.commands.send_now(command);
    }

    /// The ids of this page's messages.
    pub fn ids(&self) -> &MessageIds {
        &self.ids
    }

    /// Carries out a request: its actions first, then its message (sent, or
    /// kept until the connection is back).
    pub fn submit(&self, request: Outgoing, dispatch: &Dispatcher) {
        for action in request.actions {
            dispatch.dispatch(action);
        }
        if let Some(msg) = request.send {
            self.send(Command::Send(msg));
        }
    }
}

impl Default for Link {
    fn default() -> Self {
        Link::new()
    }
}

/// Listens for the browser coming back online and for the tab being shown
/// or hidden: either is a good moment to reconnect at once rather than at
/// the end of a long backoff, and visibility decides what counts as unread.
pub fn watch_page(link: &Rc<Link>, dispatch: &Dispatcher) -> Vec<EventListener> {
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

/// How a connection ended.
enum End {
    Lost,
    /// Dropped on purpose: start over at once (with whatever nickname the
    /// session has now, none after a sign-out).
    Again,
    Stop,
}

/// What to do after a command that arrived while not on a welcomed socket.
enum Flow {
    Continue,
    RetryNow,
    /// Drop a socket that is opening and start over.
    Restart,
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
        match connect(&url, &mut commands, &dispatch, &mut session).await {
            End::Stop => return,
            End::Again => {
                session.lost();
                session.backoff.reset();
                dispatch.dispatch(Action::Redialing);
                continue;
            }
            End::Lost => {}
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
                Flow::RetryNow | Flow::Restart => break,
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
        Some(Command::Reconnect(nick)) => {
            session.nick = Some(nick);
            session.backoff.reset();
            return Flow::Restart;
        }
        Some(Command::SignOut) => {
            session.forget();
            return Flow::Restart;
        }
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
            Step::Command(command) => match offline_command(command, session, dispatch) {
                Flow::Stop => return End::Stop,
                // The handshake under way may not carry the new cookie.
                Flow::Restart => return End::Again,
                Flow::Continue | Flow::RetryNow => {}
            },
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
                auth: None,
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
                    if session.take_unread_due() && !send(&mut write, &ClientMsg::Unread).await {
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
                        auth: None,
                    }
                };
                if !send(&mut write, &msg).await {
                    return End::Lost;
                }
            }
            Step::Command(Some(Command::Reconnect(nick))) => {
                session.nick = Some(nick);
                return End::Again;
            }
            Step::Command(Some(Command::SignOut)) => {
                session.forget();
                return End::Again;
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
}
