//! Custom hooks. `use_chat` is the client's connection to the server;
//! `use_uploads` runs the files the person shares.

mod use_chat;
mod use_uploads;

pub use use_chat::{AccountRequest, UseChatHandle, use_chat};
pub use use_uploads::{UseUploadsHandle, use_uploads};
