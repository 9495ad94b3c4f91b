//! The connection driver: what every door does alike for one connection,
//! whatever its wire.
//!
//! A door supplies a [`Wire`]: it reads what the client sends and says what
//! each message asks for ([`Ask`]), encodes and writes batches of events,
//! keeps its own liveness timer, and says goodbye in its own words. The
//! driver does the rest, once for every door: it lets the client into the
//! hub (a [`Session`] for requests, an [`Inbox`] for events), holds each
//! message to the connection's rate limit, reads history from the store
//! ([`Recall`]: after a join, on resume, and to catch up a reader that fell
//! behind), counts what goes in and out ([`Meter`]), and at the end leaves
//! the hub, writes what was still queued when the reason allows, and lets the
//! wire say goodbye.
//!
//! One task serves a connection, and its size is every idle connection's
//! cost: so the driver keeps a connection's state in one struct, and the rare
//! paths (opening, closing, a client's message, a catch-up) are boxed when
//! they run rather than sizing the task.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use shared::{Credentials, ErrorCode, ServerMsg};
use tokio::time::{Instant, sleep_until, timeout};

use super::meter::Meter;
use super::recall::{Recall, Settle};
use crate::accounts::{Accounts, SignedIn};
use crate::guard::{MessageRate, Verdict};
use crate::hub::{Auth, Hub, Peer, QueueWait, Request, Session};
use crate::outbox::{CloseReason, Inbox, KEPT_BATCH, Outgoing, SENDS_IN_FLIGHT};
use crate::store::Store;

/// Most events written in one batch; a client with more queued gets several
/// batches, so that a long backlog does not delay reading what it sends.
pub(crate) const MAX_BATCH: usize = 64;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The server closes it, telling the client why.
    Close(CloseReason),
    /// The client said goodbye: a close frame, `/quit`, a datagram `close`.
    Left,
    /// The connection broke or the client vanished: nobody is left to tell.
    /// Says how, for the log.
    Lost(&'static str),
}

impl End {
    /// Why the connection ended, for the log.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            End::Close(reason) => reason.describe(),
            End::Left => "closed by client",
            End::Lost(how) => how,
        }
    }
}

/// What one message from a client asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ask<L> {
    /// A request for the hub.
    Hub(Request),
    /// Older messages of a room, which the driver reads from the store.
    History {
        room: String,
        before: u64,
        limit: Option<u32>,
    },
    /// The messages of a room strictly between two bounds: the oldest
    /// `limit` of them, or the newest when `newest` (IRC's `CHATHISTORY`).
    /// Answered with one `history` page.
    Range {
        room: String,
        after: Bound,
        before: Bound,
        limit: usize,
        newest: bool,
    },
    /// An answer given at once, without the hub: a mistake in what was sent.
    Reply(ServerMsg),
    /// An answer only this wire gives (the terminal's `/help`).
    Local(L),
    /// The client ends the connection, or broke its wire.
    End(End),
}

impl<L> Ask<L> {
    /// A message the hub answers with an ack or an error.
    fn awaits_answer(&self) -> bool {
        matches!(self, Ask::Hub(request) if request.awaits_answer())
    }
}

/// One end of an [`Ask::Range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The room's first message, or its latest.
    Open,
    /// A message, by its sequence number.
    Seq(u64),
    /// A moment, in milliseconds since the epoch.
    Time(i64),
}

/// One door's wire: everything about a connection that is not the same for
/// every door.
///
/// Reading, replying and timers are separate from writing: [`Wire::decode`],
/// [`Wire::reply`], [`Wire::answer`] and [`Wire::timer`] only queue what is
/// to be written, and [`Wire::flush`] writes it, so that the answers to
/// several messages read at once go out in one write.
pub(crate) trait Wire: Send + Sized + 'static {
    /// The door's name in logs and metrics.
    const DOOR: &'static str;
    /// Whether the connection's writes share the server's write budget
    /// (`crate::pace`): true for a wire that makes a system call per batch.
    const PACED: bool = true;

    /// One read from the client: a frame, a chunk of bytes, a datagram.
    type Input: Send;
    /// What only this wire answers; `Infallible` for a wire with nothing of
    /// its own.
    type Local: Send;

    /// Who is on the other end, for the log.
    fn peer(&self) -> SocketAddr;

    /// The protocol spoken, for the log.
    fn protocol(&self) -> &'static str;

    /// A request to make on the client's behalf as soon as it is in the hub
    /// (the plain-text mode's guest nickname). A greeting, if the wire has
    /// one, is queued for the first [`Wire::flush`].
    fn opening(&mut self) -> Option<Request> {
        None
    }

    /// Waits for the client's next input. Cancel-safe: the driver waits on
    /// it beside the hub's events and the timer.
    fn read(&mut self) -> impl Future<Output = Self::Input> + Send + '_;

    /// Says what an input asks for, in order: none (a ping), one, or several
    /// (a chunk of lines). Notes that the client is alive.
    fn decode(&mut self, input: Self::Input, asks: &mut Vec<Ask<Self::Local>>);

    /// What the wire held back until something it waited for was written,
    /// now that it was (the terminal's lines typed before its nickname was
    /// accepted). Asked after every batch written.
    fn held(&mut self, _asks: &mut Vec<Ask<Self::Local>>) {}

    /// Queues an answer from the server: a reply to a mistake, a page of
    /// history, a refusal.
    fn reply(&mut self, msg: ServerMsg);

    /// Queues one of the wire's own answers.
    fn answer(&mut self, local: Self::Local);

    /// Writes a batch of events.
    fn write<'a>(
        &'a mut self,
        events: &'a [Arc<Outgoing>],
    ) -> impl Future<Output = Result<(), End>> + Send + 'a;

    /// Writes what was queued, and says whether the wire has ended.
    fn flush(&mut self) -> impl Future<Output = Result<(), End>> + Send + '_;

    /// How long the events still queued when the connection closes may take
    /// to write.
    fn write_deadline(&self) -> Duration;

    /// When [`Wire::timer`] should next run, if ever.
    fn deadline(&self) -> Option<Instant>;

    /// The deadline passed: queue what it calls for (a ping, a warning), or
    /// end the connection (silent too long).
    fn timer(&mut self, now: Instant) -> Result<(), End>;

    /// Whether the wire takes more events now. A wire with a window of its
    /// own (the datagram door's) says no while it is full; the hub's queue
    /// holds what comes meanwhile, and a reader that stays full catches up
    /// from the store.
    fn ready(&self) -> bool {
        true
    }

    /// Whether a signed-in client that says nothing of where it left off
    /// resumes from its account's read markers: a wire whose clients keep
    /// no history of their own (IRC's) gets what it missed replayed.
    fn resumes_from_markers(&self) -> bool {
        false
    }

    /// Says goodbye as the wire's protocol asks, for how the connection
    /// ended (events still queued are already written).
    fn goodbye(&mut self, end: End) -> impl Future<Output = ()> + Send + '_;
}

/// What a connection starts with, in one box: until [`Driver::open`]
/// (boxed too, and gone once it returns) unpacks it, the task's state holds
/// a pointer rather than every part. A future keeps its arguments' places
/// for as long as it lives, even once they are moved out.
pub(crate) struct Start<W> {
    pub wire: W,
    pub hub: Hub,
    pub rate: MessageRate,
    pub store: Arc<dyn Store>,
    pub accounts: Arc<Accounts>,
    /// The account of the session the handshake presented (a browser's
    /// cookie), checked already.
    pub presented: Option<SignedIn>,
}

/// The hub's answer to a catch-up step (never, if none is asked).
async fn settled(settling: &mut Option<Settle>) -> bool {
    match settling {
        Some(settle) => settle.await,
        None => std::future::pending().await,
    }
}

/// Until the request that waits is in the hub's queue (never, if none waits).
async fn queued<L>(waiting: &mut Option<Box<Waiting<L>>>) {
    match waiting.as_mut().and_then(|waiting| waiting.queued.as_mut()) {
        Some(queued) => queued.await,
        None => std::future::pending().await,
    }
}

/// Serves one connection until it ends.
pub(crate) async fn serve<W: Wire>(start: Box<Start<W>>) {
    let Some(mut driver) = Box::pin(Driver::open(start)).await else {
        return;
    };
    let end = driver.run().await;
    // By reference: a driver moved into its close would need a drop flag
    // beside it in every connection's task.
    Box::pin(driver.close(end)).await;
}

/// What a connection holds while it serves. One struct rather than separate
/// locals of `serve`: the compiler packs a struct's fields, while locals
/// held across awaits leave gaps in the task's state.
struct Driver<W: Wire> {
    wire: W,
    session: Session,
    inbox: Inbox,
    recall: Recall,
    rate: MessageRate,
    meter: Meter,
    accounts: Arc<Accounts>,
    /// Events taken from the inbox, kept between batches for its capacity.
    batch: Vec<Arc<Outgoing>>,
    /// The hub stopped queueing room events because the reader fell behind,
    /// and it has written what was queued: it reads the rest from the store.
    catching_up: bool,
    /// A catch-up step's question whether the reader is level, while the
    /// hub has not answered: meanwhile the connection writes what still
    /// reaches it (acks, replies), which a full hub can take a while to.
    settling: Option<Settle>,
    /// The client's messages the hub holds unanswered: see
    /// [`SENDS_IN_FLIGHT`].
    in_flight: usize,
    /// What the client asked that waits: behind a request the hub's queue
    /// has no room for yet, or behind [`SENDS_IN_FLIGHT`] messages
    /// unanswered. Meanwhile the connection reads nothing more (the client
    /// is slowed, as TCP slows it) and goes on writing events, its own acks
    /// among them, so that a sender above what the hub can take is held
    /// back rather than closed as a slow reader.
    waiting: Option<Box<Waiting<W::Local>>>,
}

struct Waiting<L> {
    /// The request waiting for room in the hub's queue, if one is.
    queued: Option<QueueWait>,
    rest: VecDeque<Ask<L>>,
}

impl<W: Wire> Driver<W> {
    /// Lets the client into the hub; `None` if the hub has stopped.
    async fn open(start: Box<Start<W>>) -> Option<Self> {
        let Start {
            mut wire,
            hub,
            rate,
            store,
            accounts,
            presented,
        } = *start;
        let peer = Peer {
            ip: wire.peer().ip(),
            presented,
        };
        let (session, inbox) = hub.connect(peer).await?;
        tracing::info!(
            door = W::DOOR,
            peer = %wire.peer(),
            client = %session.id(),
            protocol = wire.protocol(),
            "connection opened"
        );
        if let Some(request) = wire.opening() {
            session.request(request).await;
        }
        Some(Self {
            wire,
            session,
            inbox,
            recall: Recall::new(store),
            rate,
            meter: Meter::new(W::DOOR),
            accounts,
            batch: Vec::new(),
            catching_up: false,
            settling: None,
            in_flight: 0,
            waiting: None,
        })
    }

    /// Serves until the connection ends, and says how.
    async fn run(&mut self) -> End {
        if let Err(end) = self.wire.flush().await {
            return end;
        }
        let timer = sleep_until(self.wire.deadline().unwrap_or_else(Instant::now));
        tokio::pin!(timer);
        loop {
            if self.catching_up && self.settling.is_none() && self.wire.ready() {
                if let Err(end) = Box::pin(self.catch_up()).await {
                    return end;
                }
                continue;
            }
            // The timer moves only when the wire's deadline does (or once it
            // fired): a wire that notes the time of each input and looks when
            // the timer fires costs no timer update per message.
            let timed = match self.wire.deadline() {
                Some(at) => {
                    if at != timer.deadline() || timer.is_elapsed() {
                        timer.as_mut().reset(at);
                    }
                    true
                }
                None => false,
            };
            // While catching up only the client's own events arrive (the
            // hub queues no room events for a reader behind): they are
            // written as they come, so its acks never pile up.
            let take = self.wire.ready();
            tokio::select! {
                () = self.session.closer().closed() => {
                    return End::Close(self.session.closer().reason());
                }
                () = &mut timer, if timed => {
                    if let Err(end) = self.on_timer().await {
                        return end;
                    }
                }
                received = self.inbox.take(&mut self.batch, MAX_BATCH, W::PACED), if take => {
                    if received == 0 {
                        // The hub dropped this client: it closed it first
                        // (the select may see the queue end before the
                        // closer), or it is stopping, which gives no reason.
                        return End::Close(self.session.closer().reason());
                    }
                    if let Err(end) = self.deliver().await {
                        return end;
                    }
                }
                level = settled(&mut self.settling), if self.settling.is_some() => {
                    self.settling = None;
                    if level {
                        self.catching_up = false;
                    }
                }
                () = queued(&mut self.waiting), if self.is_queueing() => {
                    if let Some(waiting) = &mut self.waiting {
                        waiting.queued = None;
                    }
                    if let Err(end) = Box::pin(self.resume()).await {
                        return end;
                    }
                }
                input = self.wire.read(), if self.waiting.is_none() && self.in_flight < SENDS_IN_FLIGHT => {
                    // Boxed: what a message asks for can take a few hundred
                    // bytes of state that an idle connection would carry.
                    if let Err(end) = Box::pin(self.on_input(input)).await {
                        return end;
                    }
                }
            }
        }
    }

    async fn on_timer(&mut self) -> Result<(), End> {
        self.wire.timer(Instant::now())?;
        // What the wire waited for may have been time (a read marker it
        // sends at most so often).
        let mut held = Vec::new();
        self.wire.held(&mut held);
        if !held.is_empty() {
            return Box::pin(self.answer(held)).await;
        }
        self.wire.flush().await
    }

    /// Writes the batch taken from the inbox (with the history that goes
    /// with each join, see [`Recall::expand`]), and notes whether the reader
    /// has fallen behind.
    async fn deliver(&mut self) -> Result<(), End> {
        self.recall.expand(&mut self.batch).await;
        self.meter.sent(&self.batch);
        if self.in_flight > 0 {
            let answers = self
                .batch
                .iter()
                .filter(|event| {
                    matches!(event.msg(), ServerMsg::Ack { .. } | ServerMsg::Error { .. })
                })
                .count();
            self.in_flight = self.in_flight.saturating_sub(answers);
        }
        let written = self.wire.write(&self.batch).await;
        self.batch.clear();
        self.batch.shrink_to(KEPT_BATCH);
        written?;
        // Only a settled catch-up ends one: the events of a reader behind
        // are its own, and written meanwhile.
        self.catching_up |= self.inbox.needs_catch_up();
        let mut held = Vec::new();
        self.wire.held(&mut held);
        if !held.is_empty() {
            Box::pin(self.answer(held)).await?;
        }
        if self.waiting.is_some() && !self.is_queueing() && self.in_flight < SENDS_IN_FLIGHT {
            Box::pin(self.resume()).await?;
        }
        Ok(())
    }

    /// A request waits for room in the hub's queue.
    fn is_queueing(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| w.queued.is_some())
    }

    /// One step of catching up from the store (see [`Recall::settle`]).
    async fn catch_up(&mut self) -> Result<(), End> {
        let pages = self.recall.missed().await;
        let wrote = !pages.is_empty();
        self.wire.write(&pages).await?;
        self.settling = Some(self.recall.settle(&self.session, wrote));
        Ok(())
    }

    /// Does what an input from the client asks for, then writes the answers,
    /// those to the messages before one that ends the connection (`/quit`
    /// after a line of chat) included.
    async fn on_input(&mut self, input: W::Input) -> Result<(), End> {
        let mut asks = Vec::new();
        self.wire.decode(input, &mut asks);
        self.answer(asks).await
    }

    /// Does what each message asks, in order, then writes the answers. Once
    /// a request waits for room in the hub, the rest wait behind it.
    async fn answer(&mut self, asks: impl IntoIterator<Item = Ask<W::Local>>) -> Result<(), End> {
        if let Some(waiting) = &mut self.waiting {
            waiting.rest.extend(asks);
            return Ok(());
        }
        let mut asks = asks.into_iter();
        let mut ended = Ok(());
        while let Some(ask) = asks.next() {
            if self.in_flight >= SENDS_IN_FLIGHT && ask.awaits_answer() {
                let rest = std::iter::once(ask).chain(asks).collect();
                self.waiting = Some(Box::new(Waiting { queued: None, rest }));
                break;
            }
            match self.ask(ask).await {
                Ok(None) => {}
                Ok(Some(queued)) => {
                    let rest = asks.collect();
                    let queued = Some(queued);
                    self.waiting = Some(Box::new(Waiting { queued, rest }));
                    break;
                }
                Err(end) => {
                    ended = Err(end);
                    break;
                }
            }
        }
        self.wire.flush().await?;
        ended
    }

    /// The request that waited is in the hub's queue, or answers made room
    /// for more messages: on with what the client asked after it.
    async fn resume(&mut self) -> Result<(), End> {
        let rest = match self.waiting.take() {
            Some(waiting) => waiting.rest,
            None => VecDeque::new(),
        };
        self.answer(rest).await
    }

    /// Does what one message asks for, if the rate limit lets it through;
    /// gives back the wait of a request the hub has no room for yet.
    async fn ask(&mut self, ask: Ask<W::Local>) -> Result<Option<QueueWait>, End> {
        if let Ask::End(end) = ask {
            return Err(end);
        }
        self.meter.received();
        match self.rate.check() {
            Verdict::Allow => {}
            Verdict::Refuse => {
                metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                self.wire.reply(refusal(&ask));
                return Ok(None);
            }
            Verdict::Disconnect => return Err(End::Close(CloseReason::Flooding)),
        }
        match ask {
            Ask::Hub(request) => {
                // Credentials are checked here, once for every door; the hub
                // only ever sees an identity already proven.
                let address = self.wire.peer().ip();
                let request = match check(&self.accounts, address, request).await {
                    Ok(request) => request,
                    Err(refusal) => {
                        self.wire.reply(refusal);
                        return Ok(None);
                    }
                };
                let request = self.resume_from_markers(request).await;
                self.recall.note(&request);
                if request.awaits_answer() {
                    self.in_flight += 1;
                }
                return Ok(self.session.request_or_wait(request));
            }
            Ask::History {
                room,
                before,
                limit,
            } => {
                for page in self.recall.older(&room, before, limit).await {
                    self.wire.reply(page);
                }
            }
            Ask::Range {
                room,
                after,
                before,
                limit,
                newest,
            } => {
                let page = self.recall.range(&room, after, before, limit, newest).await;
                self.wire.reply(page);
            }
            Ask::Reply(msg) => self.wire.reply(msg),
            Ask::Local(local) => self.wire.answer(local),
            Ask::End(end) => return Err(end),
        }
        Ok(None)
    }

    /// A signed-in `hello` that names no resume point, from a wire whose
    /// clients keep no history: it resumes where the account last read.
    async fn resume_from_markers(&mut self, mut request: Request) -> Request {
        if let Request::Hello {
            resume,
            auth: Auth::SignedIn(signed_in, _),
            ..
        } = &mut request
            && resume.is_empty()
            && self.wire.resumes_from_markers()
        {
            match self.recall.read_markers(signed_in.account).await {
                Ok(markers) => *resume = markers,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the read markers to resume from");
                }
            }
        }
        request
    }

    /// Leaves the hub, writes what it had queued if the reason allows, and
    /// lets the wire say goodbye.
    async fn close(&mut self, end: End) {
        // Leave the hub first: the people in the client's rooms learn it is
        // gone now, not after the goodbye below has waited for a client that
        // may never answer.
        self.session.disconnect().await;
        if let End::Close(reason) = end
            && reason.delivers_backlog()
        {
            self.deliver_backlog().await;
        }
        self.wire.goodbye(end).await;
        tracing::info!(
            door = W::DOOR,
            peer = %self.wire.peer(),
            client = %self.session.id(),
            reason = end.describe(),
            "connection closed"
        );
    }

    /// Writes what the hub queued for the client before it left: answers to
    /// its last requests (acks included) must not be lost because the
    /// connection is closing. The hub handled those requests before the
    /// `Disconnect` that followed them, and closes the queue after it, so
    /// this ends.
    async fn deliver_backlog(&mut self) {
        let mut batch = Vec::new();
        let (wire, inbox) = (&mut self.wire, &mut self.inbox);
        let _ = timeout(wire.write_deadline(), async {
            while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let written = wire.write(&batch).await;
                batch.clear();
                if written.is_err() {
                    break;
                }
            }
        })
        .await;
    }
}

/// Checks the credentials of a `hello` and prepares a registration (both
/// slow on purpose: argon2), or refuses them.
async fn check(
    accounts: &Accounts,
    address: IpAddr,
    request: Request,
) -> Result<Request, ServerMsg> {
    match request {
        Request::Hello {
            nick,
            resume,
            auth: Auth::Unchecked(credentials),
        } => {
            let auth = match credentials {
                Credentials::Password(password) => accounts
                    .with_password(&nick, &password, address)
                    .await
                    .map(|(signed_in, session)| Auth::SignedIn(signed_in, Some(session))),
                Credentials::Token(token) => accounts
                    .with_token(&token)
                    .await
                    .map(|signed_in| Auth::SignedIn(signed_in, None)),
            }
            .map_err(|error| error.to_msg())?;
            Ok(Request::Hello { nick, resume, auth })
        }
        Request::Register { password, invite } => accounts
            .prepare(None, &password, invite.as_ref(), address)
            .await
            .map(Request::Enroll)
            .map_err(|error| error.to_msg()),
        request => Ok(request),
    }
}

/// The refusal of a message over the rate limit, naming the message when it
/// has an id so that the client can mark it as not sent.
fn refusal<L>(ask: &Ask<L>) -> ServerMsg {
    if let Ask::History { .. } | Ask::Range { .. } = ask {
        return ServerMsg::error(
            ErrorCode::RateLimited,
            "slow down: you are asking for history too fast",
        );
    }
    let id = match ask {
        Ask::Hub(Request::Send { id, .. } | Request::Direct { id, .. }) => id.clone(),
        _ => None,
    };
    ServerMsg::Error {
        code: ErrorCode::RateLimited,
        message: "slow down: you are sending too fast; this message was not delivered".to_owned(),
        id,
    }
}

#[cfg(test)]
mod tests {
    use shared::MessageKind;

    use super::*;

    #[test]
    fn a_refused_message_is_named_so_the_client_can_mark_it() {
        let send = Ask::<()>::Hub(Request::Send {
            id: Some("m1".into()),
            room: "lobby".into(),
            text: "hi".into(),
            kind: MessageKind::Text,
            reply_to: None,
        });
        let ServerMsg::Error { code, id, message } = refusal(&send) else {
            panic!("a refusal is an error");
        };
        assert_eq!(code, ErrorCode::RateLimited);
        assert_eq!(id.as_deref(), Some("m1"));
        assert!(message.contains("not delivered"), "{message}");

        let history = Ask::<()>::History {
            room: "lobby".into(),
            before: 10,
            limit: None,
        };
        let ServerMsg::Error { message, id, .. } = refusal(&history) else {
            panic!("a refusal is an error");
        };
        assert_eq!(id, None);
        assert!(message.contains("history"), "{message}");
    }
}
