//! Hubbub's web client, a Yew app that trunk compiles to wasm.
//!
//! Code map:
//! - `state`: [`state::ChatState`], the whole client-side view of the chat
//!   (who the person is, rooms with their settings, deletions and what
//!   moderators did), and the [`state::Action`]s that change it. Plain Rust,
//!   tested natively.
//! - `connection`: the only code that touches the WebSocket. Its task turns
//!   frames into actions and the UI's commands into protocol messages
//!   (`shared::protocol`; no JSON is written by hand), and reconnects.
//! - `outgoing`: what a request sends (a composer line, a retry, a join, an
//!   older page): the actions to record and the message. Plain Rust.
//! - `hooks::use_chat`: the state's reducer and the callbacks the UI calls;
//!   it starts the connection and drives it, and signs in, registers and
//!   signs out through `api`.
//! - `components`: one view per file; they render props and report what the
//!   person did to the `actions::ChatActions` context, or through `on*`
//!   callbacks for events that are a component's own.
//! - `app`: the root component that wires the two together: it provides
//!   the hooks' callbacks as `ChatActions`.
//! - `session`: what the connection task decides (the nickname to say hello
//!   with, the `resume` of every room, the outbox of messages typed while offline
//!   or unconfirmed when the socket dropped, the typing throttle,
//!   reclaiming our own nickname after a reconnect). Plain Rust.
//! - `scrollback`, `timeline`, `linkify`: how a room's lines are stored
//!   (shared chunks, cheap to copy), grouped (authors, days) and split into
//!   text, links and `@mentions`. Plain Rust.
//! - `upload`: the only code that touches `XMLHttpRequest`: sending a file to
//!   a room with progress, and reading the server's answer. `hooks::use_uploads`
//!   turns its events into actions.
//! - `api`: the account API (`/api/register`, `/api/login`, `/api/logout`,
//!   `/api/me`) and fetching a conversation's file with a guest's token, with
//!   `fetch`.
//! - `moderation`: who may moderate whom, what the member menu offers and
//!   sends, who may delete a message, the online list's order. Plain Rust.
//! - `input`, `backoff`, `clock`, `filesize`: small pure helpers (composer
//!   commands, reconnect delays, message times, `47.1 KB`).
//! - `lowercase`: nicknames in lowercase as the server compares them, by the
//!   browser's Unicode tables in the browser.
//! - `markers`: read markers on the client (how often `read` is sent, a
//!   guest's markers in localStorage).
//! - `notify`: desktop notifications (the person's opt-in, the browser's
//!   permission, showing one and what its click does).
//!
//! Invariants: user text is only ever rendered as text (no `inner_html`);
//! nothing but `connection` knows there is a socket, nothing but `upload` and
//! `api` make HTTP requests; the client keeps no session token (the
//! HttpOnly cookie is the session); this crate never depends on the backend.

pub mod actions;
pub mod api;
pub mod app;
pub mod backoff;
pub mod clock;
pub mod components;
pub mod connection;
pub mod filesize;
pub mod hooks;
pub mod input;
pub mod linkify;
pub mod lowercase;
pub mod markers;
pub mod moderation;
pub mod notify;
pub mod outgoing;
pub mod scrollback;
pub mod session;
pub mod state;
pub mod timeline;
pub mod upload;

pub use app::App;
