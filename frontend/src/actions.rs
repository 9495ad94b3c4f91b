//! What the views may ask of the chat, shared as a Yew context: sending,
//! typing, retrying or dismissing a message, replying and editing, older
//! pages, switching,
//! joining and closing rooms, sharing files, moderating and deleting
//! messages, searching and jumping to a message. `App` provides one [`ChatActions`], made of the callbacks of
//! `use_chat` and `use_uploads`; a view reads it with [`use_chat_actions`],
//! so a callback reaches the component that uses it without passing through
//! every layer in between. It also carries the one thing views need to
//! fetch what the page cannot simply link: a guest's bearer token.
//!
//! Props keep what belongs to one component: what it shows, and events that
//! are its own (the nickname form's submit, one message's retry button, the
//! connection pill's "reconnect now").

use shared::protocol::{Quote, Secret};
use shared::{ClientMsg, ClientMsgId};
use yew::prelude::*;

use crate::upload::Chosen;

/// The chat's callbacks. Each is memoized by its hook, so the context (and
/// the views that read it) changes only when one of them does.
#[derive(Clone, PartialEq, Default)]
pub struct ChatActions {
    /// A composer line for the room on screen, already checked with
    /// `input::parse`: text, or a command (`/me`, `/nick`, `/join`,
    /// `/leave`, `/msg`, `/help`).
    pub send_text: Callback<String>,
    /// The person is writing a message in the room on screen (throttling is
    /// the connection's business).
    pub typing: Callback<()>,
    /// Send a failed message again (by its id).
    pub retry: Callback<ClientMsgId>,
    /// Give up a failed message (by its id).
    pub dismiss: Callback<ClientMsgId>,
    /// Load the messages of the room on screen before this `seq`.
    pub load_older: Callback<u64>,
    /// Answer this message of the room on screen with the composer's next
    /// message (`None`: not any more).
    pub reply: Callback<Option<Quote>>,
    /// Show another room the client is in.
    pub switch_room: Callback<String>,
    /// Join a room (a normalized name) and show it.
    pub join_room: Callback<String>,
    /// Ask the server which rooms exist.
    pub list_rooms: Callback<()>,
    /// Share these files in the room on screen.
    pub share: Callback<Vec<Chosen>>,
    /// Stop an upload under way (by its id).
    pub cancel_upload: Callback<u64>,
    /// Close the row of an upload that ended (by its id).
    pub dismiss_upload: Callback<u64>,
    /// A message about a room that the page keeps no record of: a
    /// moderator's (kick, ban, mute, a role, the log), a deletion, an edit
    /// (whose empty id the chat fills in), a reaction, the page around a
    /// quoted message. The server decides whether it is allowed.
    pub command: Callback<ClientMsg>,
    /// Take a room the person is no longer in off the page.
    pub close_room: Callback<String>,
    /// Search, fetch the next page of results, or close the results.
    pub search: Callback<SearchAsk>,
    /// Show a message in its room (a search result): its room and `seq`.
    pub jump: Callback<(String, u64)>,
    /// How the page fetches the files of conversations, which only their
    /// two people may read: a guest has no session cookie for `<img>` and
    /// links to carry, so its token goes with a `fetch` instead. `None` for
    /// a signed-in browser (its cookie does it).
    pub bearer: Option<Secret>,
}

/// What the search box and the results ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchAsk {
    /// Search for `q` in the room on screen, or in every room (`all`).
    Find { q: String, all: bool },
    /// The next page of results: the search's words and room, and the
    /// `next` its last page gave.
    More {
        q: String,
        room: Option<String>,
        before: u64,
    },
    /// Close the results.
    Close,
}

/// The chat's callbacks from the nearest provider. A view mounted without
/// one (alone in a test) gets callbacks that do nothing.
#[hook]
pub fn use_chat_actions() -> ChatActions {
    use_context::<ChatActions>().unwrap_or_default()
}
