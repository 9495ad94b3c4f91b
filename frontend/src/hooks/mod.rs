//! Custom hooks. `use_chat` is the client's connection to the server.

mod use_chat;

pub use use_chat::{UseChatHandle, use_chat, ws_url};
