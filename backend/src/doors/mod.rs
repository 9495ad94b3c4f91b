//! The doors: each one translates its own wire to hub requests and the hub's
//! events back to its wire. No door knows about another.

pub mod ws;
