//! The real server on port 0, spoken to by real WebSocket and HTTP clients.
//! One test binary, split by subject.

mod accounts;
mod chat;
mod files;
mod guard;
mod history;
mod http;
mod irc;
mod living;
mod lossy;
mod moderation;
mod support;
mod tcp;
mod udp;
mod ws_conformance;
