//! The commit pipeline: everything the hub writes, from being handed to a
//! store to being answered.
//!
//! Messages go to the message store ([`Commits::append`]); accounts,
//! sessions and moderation actions to the directory ([`Commits::push`]).
//! Either way the hub goes on, and the answers come back in the order the
//! writes were handed over ([`Commits::next`]). Only then does a write take
//! effect: a message is acknowledged to whoever waits for it (its sender,
//! or the upload that announces a file) and handed to the fan-out
//! ([`super::fanout`]); a moderation action is made in memory and announced
//! ([`super::moderate`]). A message the store recognized as a resend is
//! acknowledged again and not delivered twice.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use shared::validate;
use shared::{ChatMessage, ClientMsgId, ErrorCode, Limits, MessageKind, Secret, ServerMsg};
use tokio::sync::oneshot;

use super::actor::{Refusal, State};
use super::{ClientId, RegisterRefusal, Share, ShareRefusal};
use crate::accounts::{NewSession, SignedIn};
use crate::incident::Incident;
use crate::pace::WritePace;
use crate::store::{
    AccountId, Appended, Directory, NewMessage, Record, SecretHash, Store, StoreError,
};

/// Writes handed to a store and not yet answered. Past this the hub
/// refuses new ones instead of queueing without bound.
const MAX_IN_FLIGHT: usize = 4_096;

/// Who waits for a write on its way through a store, and what it does once
/// it is kept.
pub(super) enum Pending {
    /// A connected client's message, acknowledged through its outbox.
    Client {
        sender: ClientId,
        msg_id: Option<ClientMsgId>,
    },
    /// A shared file's announcement; the upload waits for it.
    Share(oneshot::Sender<Result<ChatMessage, ShareRefusal>>),
    /// A moderation action: made and announced once kept, and the
    /// connections in `remove` are taken out of the room.
    Moderation {
        actor: ClientId,
        record: Record,
        remove: Vec<ClientId>,
    },
    /// A new account.
    Register {
        registrant: Registrant,
        nick: String,
        session: NewSession,
        session_hash: SecretHash,
    },
    /// Ended sessions: their connections close.
    SignOut {
        account: AccountId,
        session: Option<SecretHash>,
    },
    /// A new invite code, for its operator.
    Invite {
        client: ClientId,
        code: Secret,
        expires: i64,
    },
}

/// Who registers: a connection's guest, or a request to the HTTP API.
pub(super) enum Registrant {
    Connection(ClientId),
    Http(oneshot::Sender<Result<SignedIn, RegisterRefusal>>),
    /// A guest registering the nickname its connection holds over HTTP:
    /// the answer goes to the request, and the connection is signed in.
    GuestOverHttp {
        id: ClientId,
        reply: oneshot::Sender<Result<SignedIn, RegisterRefusal>>,
    },
}

/// What a store answered.
pub(super) enum Outcome {
    Message(Result<Appended, StoreError>),
    Account(Result<AccountId, StoreError>),
    Directory(Result<(), StoreError>),
}

type Commit = BoxFuture<'static, (Pending, Outcome)>;

/// The writes on their way through the stores, in the order handed over.
pub(super) struct Commits {
    pub(super) store: Arc<dyn Store>,
    pub(super) directory: Arc<dyn Directory>,
    /// The connections' write budget, which says how long a message may
    /// wait for its commit unseen.
    pace: Arc<WritePace>,
    queue: FuturesOrdered<Commit>,
}

impl Commits {
    pub(super) fn new(
        store: Arc<dyn Store>,
        directory: Arc<dyn Directory>,
        pace: Arc<WritePace>,
    ) -> Self {
        Self {
            store,
            directory,
            pace,
            queue: FuturesOrdered::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(super) fn is_full(&self) -> bool {
        self.queue.len() >= MAX_IN_FLIGHT
    }

    /// Hands a message to the store; its answer comes from [`Commits::next`]
    /// with `pending`.
    fn append(&mut self, message: NewMessage, pending: Pending) {
        let append = self.store.append(message);
        self.queue.push_back(Box::pin(async move {
            (pending, Outcome::Message(append.await))
        }));
    }

    /// Queues a directory write (made with [`Commits::directory`]); its
    /// answer comes from [`Commits::next`] with `pending`, in order with the
    /// messages.
    pub(super) fn push(&mut self, write: BoxFuture<'static, Outcome>, pending: Pending) {
        self.queue
            .push_back(Box::pin(async move { (pending, write.await) }));
    }

    /// The next answer of a store, in the order the writes were handed
    /// over; `None` when none is on its way.
    pub(super) async fn next(&mut self) -> Option<(Pending, Outcome)> {
        self.queue.next().await
    }
}

/// Where a client's message goes, and under which name.
pub(super) struct Target {
    pub room: String,
    pub nick: String,
}

/// A client's message as it sent it.
pub(super) struct Draft {
    pub msg_id: Option<ClientMsgId>,
    pub text: String,
    pub kind: MessageKind,
    /// The message of the room it answers.
    pub reply_to: Option<u64>,
}

/// A change to message `seq` of a room (a deletion, an edit, a reaction),
/// which the store checks against the message as it writes it.
pub(super) struct ChangeDraft {
    pub msg_id: Option<ClientMsgId>,
    pub kind: MessageKind,
    pub seq: u64,
    pub text: String,
    pub moderator: bool,
    pub edit_window: Option<Duration>,
}

impl State {
    /// Validates a client's message to `target` and hands it to the store.
    pub(super) fn submit(
        &mut self,
        sender: ClientId,
        target: Target,
        draft: Draft,
    ) -> Result<(), Refusal> {
        let Target { room, nick } = target;
        let Draft {
            msg_id,
            text,
            kind,
            reply_to,
        } = draft;
        let refuse = |code, message: String| Refusal::about(msg_id.as_ref(), code, message);
        if let Some(msg_id) = &msg_id
            && !validate::validate_id(msg_id)
        {
            return Err(refuse(
                ErrorCode::IdInvalid,
                format!("a message id has 1 to {} bytes", Limits::V1.max_id_bytes),
            ));
        }
        validate::validate_text(&text).map_err(|e| {
            let code = match e {
                validate::TextError::Empty => ErrorCode::TextEmpty,
                validate::TextError::TooLong(_) => ErrorCode::TextTooLong,
            };
            refuse(code, e.to_string())
        })?;
        if !matches!(kind, MessageKind::Text | MessageKind::Action) {
            return Err(refuse(
                ErrorCode::Malformed,
                "a message is text or an action".to_owned(),
            ));
        }
        if self.commits.is_full() {
            return Err(refuse(
                ErrorCode::StoreFailed,
                "the server is busy storing messages; send it again in a moment".to_owned(),
            ));
        }
        let patience = self
            .commits
            .pace
            .commit_patience(tokio::time::Instant::now());
        let message = NewMessage {
            room,
            nick,
            text,
            kind,
            client_id: msg_id.clone(),
            file: None,
            patience,
            account: self.account_of(sender),
            target: reply_to,
            moderator: false,
            edit_window: None,
        };
        self.commits
            .append(message, Pending::Client { sender, msg_id });
        self.note_in_flight(sender);
        Ok(())
    }

    /// Hands a change of message `seq` to the store, which checks, as it
    /// writes it, that the message exists and that `sender` may change it.
    pub(super) fn submit_change(
        &mut self,
        sender: ClientId,
        target: Target,
        change: ChangeDraft,
    ) -> Result<(), Refusal> {
        let ChangeDraft {
            msg_id,
            kind,
            seq,
            text,
            moderator,
            edit_window,
        } = change;
        if self.commits.is_full() {
            return Err(Refusal::about(
                msg_id.as_ref(),
                ErrorCode::StoreFailed,
                "the server is busy storing messages; try again in a moment".to_owned(),
            ));
        }
        let message = NewMessage {
            room: target.room,
            nick: target.nick,
            text,
            kind,
            client_id: msg_id.clone(),
            file: None,
            patience: Duration::ZERO,
            account: self.account_of(sender),
            target: Some(seq),
            moderator,
            edit_window,
        };
        self.commits
            .append(message, Pending::Client { sender, msg_id });
        self.note_in_flight(sender);
        Ok(())
    }

    /// Hands the announcement of a shared file to the store. Nobody need be
    /// in the room: like any message, it is kept for those who come later.
    pub(super) fn share(
        &mut self,
        share: Share,
        reply: oneshot::Sender<Result<ChatMessage, ShareRefusal>>,
    ) {
        let Share {
            uploader,
            ip,
            room,
            file,
        } = share;
        let (nick, room, account) = match self.check_uploader(&uploader, ip, &room) {
            Ok(checked) => checked,
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        if self.commits.is_full() {
            let _ = reply.send(Err(ShareRefusal::Busy));
            return;
        }
        let message = NewMessage {
            room,
            nick,
            // The name is cleaned and at most 255 bytes: a valid text.
            text: file.attachment.name.clone(),
            kind: MessageKind::Text,
            client_id: None,
            file: Some(Box::new(file)),
            // An upload's announcement is answered to its uploader over
            // HTTP, which no write budget paces.
            patience: Duration::ZERO,
            account,
            target: None,
            moderator: false,
            edit_window: None,
        };
        self.commits.append(message, Pending::Share(reply));
    }

    /// A write a store has answered for: make it take effect.
    pub(super) fn committed(&mut self, pending: Pending, outcome: Outcome) {
        match (pending, outcome) {
            (Pending::Client { sender, msg_id }, Outcome::Message(result)) => {
                self.acknowledge(sender, msg_id, &result);
                self.deliver(result);
            }
            (Pending::Share(reply), Outcome::Message(result)) => {
                let answer = match &result {
                    Ok(appended) => Ok(appended.msg.clone()),
                    Err(StoreError::Overloaded) => Err(ShareRefusal::Busy),
                    Err(StoreError::Closed) => Err(ShareRefusal::Stopped),
                    Err(error) => Err(ShareRefusal::Store(Incident::log(
                        "a shared file could not be announced",
                        error,
                    ))),
                };
                // An uploader that went away misses only the answer.
                let _ = reply.send(answer);
                self.deliver(result);
            }
            (
                Pending::Moderation {
                    actor,
                    record,
                    remove,
                },
                Outcome::Directory(result),
            ) => self.moderated(actor, record, remove, result),
            (
                Pending::Register {
                    registrant,
                    nick,
                    session,
                    session_hash,
                },
                Outcome::Account(result),
            ) => self.enrolled(registrant, &nick, session, session_hash, result),
            (Pending::SignOut { account, session }, Outcome::Directory(result)) => {
                if let Err(error) = &result {
                    Incident::log("a session could not be ended", error);
                }
                self.close_sessions(account, session.as_ref());
            }
            (
                Pending::Invite {
                    client,
                    code,
                    expires,
                },
                Outcome::Directory(result),
            ) => match result {
                Ok(()) => self.tell(client, ServerMsg::Invite { code, expires }),
                Err(error) => {
                    let incident = Incident::log("an invite could not be stored", &error);
                    self.tell(
                        client,
                        ServerMsg::error(ErrorCode::StoreFailed, incident.to_string()),
                    );
                }
            },
            (_, _) => tracing::error!("a write's answer did not match what waited for it"),
        }
    }

    /// Hands a new message to the fan-out. A resend was delivered the first
    /// time and only needed its ack; a message not stored was refused to its
    /// sender.
    fn deliver(&mut self, result: Result<Appended, StoreError>) {
        if let Ok(Appended {
            msg,
            duplicate: false,
        }) = result
        {
            self.fanout.committed(msg, &mut self.rooms);
        }
    }

    /// Answers a client about one of its messages: the ack, or why it was
    /// not kept.
    fn acknowledge(
        &mut self,
        sender: ClientId,
        msg_id: Option<ClientMsgId>,
        result: &Result<Appended, StoreError>,
    ) {
        let answer = match result {
            Ok(Appended { msg, .. }) => msg_id.map(|id| ServerMsg::Ack {
                id,
                room: msg.room.clone(),
                seq: msg.seq,
                ts: msg.ts,
            }),
            Err(StoreError::NoSuchMessage { seq }) => Some(ServerMsg::Error {
                code: ErrorCode::NoSuchMessage,
                message: format!("there is no message {seq} in this room (or it was deleted)"),
                id: msg_id,
            }),
            Err(StoreError::NotYours { seq }) => Some(ServerMsg::Error {
                code: ErrorCode::Forbidden,
                message: format!(
                    "message {seq} is someone else's: only its author (signed in) edits it, and only its author or a moderator deletes it"
                ),
                id: msg_id,
            }),
            Err(StoreError::TooOldToEdit { seq }) => Some(ServerMsg::Error {
                code: ErrorCode::EditWindowOver,
                message: format!("message {seq} is too old to edit now"),
                id: msg_id,
            }),
            Err(error @ StoreError::Unchanged(_)) => Some(ServerMsg::Error {
                code: ErrorCode::Unchanged,
                message: error.to_string(),
                id: msg_id,
            }),
            Err(error @ StoreError::NoReaction(_)) => Some(ServerMsg::Error {
                code: ErrorCode::ReactionInvalid,
                message: error.to_string(),
                id: msg_id,
            }),
            Err(error) => {
                let why = if error.is_internal() {
                    Incident::log("a message could not be stored", error).to_string()
                } else {
                    error.to_string()
                };
                Some(ServerMsg::Error {
                    code: ErrorCode::StoreFailed,
                    message: format!("your message was not delivered: {why}"),
                    id: msg_id,
                })
            }
        };
        self.answer(sender, answer);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use futures_util::FutureExt as _;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::accounts::Policy;
    use crate::hub::{Auth, Hub, LocalFanout, Peer, Request, Settings, Stores};
    use crate::store::{Committed, FileRecord, Snapshot};

    /// A store whose disk has failed: every append fails with SQLite's kind
    /// of detail, which no client may see.
    struct BrokenDisk;

    const DETAIL: &str = "disk I/O error: /var/lib/hubbub/hubbub.db-wal";

    impl Store for BrokenDisk {
        fn append(&self, _: NewMessage) -> BoxFuture<'static, Result<Appended, StoreError>> {
            async { Err(StoreError::Write(DETAIL.to_owned())) }.boxed()
        }
        fn history(
            &self,
            _: &str,
            _: Option<u64>,
            _: usize,
        ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
            async { Ok(Vec::new()) }.boxed()
        }
        fn since(
            &self,
            _: &str,
            _: u64,
            _: usize,
        ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
            async { Ok(Vec::new()) }.boxed()
        }
        fn heads(&self) -> BoxFuture<'static, Result<HashMap<String, u64>, StoreError>> {
            async { Ok(HashMap::new()) }.boxed()
        }
        fn find_by_client_id(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> BoxFuture<'static, Result<Option<Committed>, StoreError>> {
            async { Ok(None) }.boxed()
        }
        fn file(
            &self,
            _: &str,
        ) -> BoxFuture<'static, Result<Option<(FileRecord, String)>, StoreError>> {
            async { Ok(None) }.boxed()
        }
        fn search(
            &self,
            _: Vec<String>,
            _: String,
            _: Option<u64>,
            _: usize,
        ) -> BoxFuture<'static, Result<crate::store::SearchPage, StoreError>> {
            async { Err(StoreError::Read(DETAIL.to_owned())) }.boxed()
        }
        fn unread(
            &self,
            _: crate::store::Reader,
            _: Vec<String>,
        ) -> BoxFuture<'static, Result<Vec<shared::protocol::UnreadCount>, StoreError>> {
            async { Err(StoreError::Read(DETAIL.to_owned())) }.boxed()
        }
        fn mark_read(
            &self,
            _: crate::store::AccountId,
            _: String,
            _: u64,
        ) -> BoxFuture<'static, Result<u64, StoreError>> {
            async { Err(StoreError::Write(DETAIL.to_owned())) }.boxed()
        }
        fn read_markers(
            &self,
            _: crate::store::AccountId,
        ) -> BoxFuture<'static, Result<std::collections::BTreeMap<String, u64>, StoreError>>
        {
            async { Err(StoreError::Read(DETAIL.to_owned())) }.boxed()
        }
        fn seq_before_time(&self, _: &str, _: i64) -> BoxFuture<'static, Result<u64, StoreError>> {
            async { Err(StoreError::Read(DETAIL.to_owned())) }.boxed()
        }
        fn close(&self) -> BoxFuture<'static, Result<(), StoreError>> {
            async { Ok(()) }.boxed()
        }
    }

    #[tokio::test]
    async fn a_store_failure_reaches_the_sender_as_a_reference_not_its_detail() {
        let shutdown = CancellationToken::new();
        let settings = Settings {
            max_lag: Duration::from_secs(60),
            writes_per_second: crate::pace::WRITES_PER_SECOND,
            edit_window: Duration::from_secs(3600),
        };
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config::default();
        let stores = Stores {
            messages: Arc::new(BrokenDisk),
            heads: HashMap::new(),
            directory: Arc::new(crate::store::SqliteStore::open(dir.path()).unwrap()),
            snapshot: Snapshot::default(),
            policy: Arc::new(Policy::new(&config.accounts, &config.moderation)),
        };
        let (hub, _task) = Hub::spawn(&shutdown, stores, settings, Box::new(LocalFanout));
        let peer = Peer {
            ip: std::net::IpAddr::from([127, 0, 0, 1]),
            presented: None,
        };
        let (session, mut inbox) = hub.connect(peer).await.unwrap();
        let hello = Request::Hello {
            nick: "ada".into(),
            resume: BTreeMap::new(),
            auth: Auth::Guest,
        };
        session.request(hello).await;
        let send = Request::Send {
            id: Some("m1".into()),
            room: "lobby".into(),
            text: "hello".into(),
            kind: MessageKind::Text,
            reply_to: None,
        };
        session.request(send).await;
        let mut batch = Vec::new();
        let refusal = loop {
            assert!(inbox.recv_many(&mut batch, 64).await > 0, "the hub stopped");
            if let Some(error) = batch.iter().find_map(|event| match event.msg() {
                ServerMsg::Error { code, message, id } => {
                    Some((*code, message.clone(), id.clone()))
                }
                _ => None,
            }) {
                break error;
            }
            batch.clear();
        };
        let (code, message, id) = refusal;
        assert_eq!(code, ErrorCode::StoreFailed);
        assert_eq!(id.as_deref(), Some("m1"), "the client can mark it not sent");
        assert!(message.contains("not delivered"), "{message}");
        assert!(message.contains("reference"), "{message}");
        assert!(
            !message.contains("disk") && !message.contains("/var"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn answers_come_back_in_the_order_messages_were_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(crate::store::SqliteStore::open(dir.path()).unwrap());
        let pace = Arc::new(WritePace::new(crate::pace::WRITES_PER_SECOND));
        let mut commits = Commits::new(sqlite.clone(), sqlite, pace);
        for (i, room) in ["a", "b", "a"].into_iter().enumerate() {
            let message = NewMessage {
                room: room.into(),
                nick: "ada".into(),
                text: format!("m{i}"),
                kind: MessageKind::Text,
                client_id: None,
                file: None,
                patience: Duration::ZERO,
                account: None,
                target: None,
                moderator: false,
                edit_window: None,
            };
            let pending = Pending::Client {
                sender: ClientId(1),
                msg_id: Some(format!("m{i}")),
            };
            commits.append(message, pending);
        }
        let mut seen = Vec::new();
        while let Some((pending, outcome)) = commits.next().await {
            let (Pending::Client { msg_id, .. }, Outcome::Message(result)) = (pending, outcome)
            else {
                panic!("only clients sent");
            };
            let msg = result.unwrap().msg;
            seen.push((msg_id.unwrap(), msg.room, msg.seq));
        }
        assert_eq!(
            seen,
            [
                ("m0".to_owned(), "a".to_owned(), 1),
                ("m1".to_owned(), "b".to_owned(), 1),
                ("m2".to_owned(), "a".to_owned(), 2),
            ]
        );
        assert!(commits.is_empty());
    }
}
